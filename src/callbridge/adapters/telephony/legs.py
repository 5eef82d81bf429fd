"""The parts of a call Callbridge sits in the middle of: the caller, the agent's leg (one try
at a phone at a time), a supervisor on the line, a consultation, and the trunk outside calls go
through; with the small helpers that turn SDP and SIP outcomes into what the gateway needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from callbridge.adapters.telephony.keypad import Keypad
from callbridge.adapters.telephony.media.conference import Conference
from callbridge.adapters.telephony.media.session import RtpSession
from callbridge.adapters.telephony.sip import (
    Credentials,
    Dialog,
    IncomingCall,
    OutgoingCall,
)
from callbridge.adapters.telephony.sip.sdp import SessionDescription
from callbridge.adapters.telephony.sip.transport import Target
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.ivr import WaitPolicy, Walk
from callbridge.ports import StoredEvent

if TYPE_CHECKING:
    pass


log = structlog.get_logger(__name__)

INTERACTION_HEADER = "X-Callbridge-Interaction"
MONITOR_MODES = ("listen", "whisper", "barge")
KEEP_RECORDED = 1000


class DialFailed(Exception):
    """An outbound leg we gave up on ourselves (no answer in time, no usable audio)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status


@dataclass(frozen=True)
class Trunk:
    """Where outbound calls go: a carrier or a gateway, with credentials when it asks."""

    target: Target
    credentials: Credentials | None = None
    caller_id: str | None = None
    ring_timeout_s: float = 26.0


@dataclass(eq=False)
class AgentLeg:
    """One try at an agent's phone: ringing, then (once answered) a dialog."""

    agent_id: AgentId
    media: RtpSession
    ringing: OutgoingCall | None = None
    dialog: Dialog | None = None


@dataclass(eq=False)
class Monitor:
    """A supervisor on the call through their own phone: listening, whispering to the agent,
    or barged in. While one is on, the three are mixed in a conference instead of relayed."""

    supervisor_id: AgentId
    mode: str  # listen | whisper | barge
    media: RtpSession
    conference: Conference
    dialog: Dialog | None = None


@dataclass(eq=False)
class Consultation:
    """The agent consults an outside number while the caller waits on hold; then completes
    the transfer to it, joins all three, or goes back to the caller."""

    number: str
    leg: AgentLeg


@dataclass(eq=False)
class VoiceCall:
    """One caller's call and, while an agent's phone rings or has it, the agent's leg."""

    interaction_id: InteractionId
    caller: Dialog
    caller_media: RtpSession
    caller_address: str
    leg: AgentLeg | None = None
    monitor: Monitor | None = None
    held: bool = False
    outside: str | None = None  # put through to this outside number: no longer the ACD's
    consult: Consultation | None = None  # the agent talking to a third party, caller on hold
    mix: Conference | None = None  # three-way: caller, agent and the consulted party
    closed: bool = False
    recording: Path | None = None  # where the call is recorded, once an agent has it
    called: str = ""  # the entry point the caller dialled
    keypad: Keypad = field(default_factory=Keypad)  # what the caller presses, for flows
    walk: Walk | None = None  # the IVR flow the call is in (or went through)
    wait: WaitPolicy | None = None  # how its wait in queue goes, from the flow
    # after the interaction ends: take a message for this queue (its voicemail overflow),
    # or say this and hang up (its disconnect overflow)
    voicemail_queue: QueueId | None = None
    farewell: str | None = None
    callback: bool = False  # the caller hung up to be called back: the line keeps their place


def recording_path(directory: Path, interaction_id: str) -> Path:
    """Where a call's recording is: one WAV per interaction, named after it."""
    return directory / f"{interaction_id}.wav"


def aim(session: RtpSession, description: SessionDescription) -> bool:
    """Point `session` at the party `description` describes; False when it has no audio."""
    media = description.audio
    if media is None:
        return False
    codec = next((c for c in media.offered_codecs() if c.name.upper() in ("PCMU", "PCMA")), None)
    if codec is None:
        return False
    event = next((c for c in media.codecs if c.name.lower() == "telephone-event"), None)
    session.set_remote(
        description.connection_address(media),
        media.port,
        payload_type=codec.payload_type,
        telephone_event_pt=event.payload_type if event else None,
    )
    return True


def caller_number(call: IncomingCall) -> str:
    caller = call.caller
    return caller.uri.user or str(caller.uri)


def close_monitor_media(watch: Monitor) -> None:
    if not watch.conference.closed:
        watch.conference.close()
    if not watch.media.closed:
        watch.media.close()


def is_dial(event: StoredEvent) -> bool:
    """An offer the agent made to itself by dialling (click-to-dial)."""
    if event.kind != "interaction_offered":
        return False
    decision = event.payload.get("decision")
    return isinstance(decision, dict) and decision.get("trigger") == "dial"


def progress_stage(status: int | None) -> str:
    """A failed INVITE's final status, as a call progress stage."""
    if status in (486, 600):
        return "busy"
    if status in (408, 480, 487):
        return "no_answer"
    return "failed"


def source_target(source: str | None) -> Target | None:
    if not source:
        return None
    transport, host, port = source.split(":", 2)
    if transport not in ("udp", "tcp"):
        return None
    return Target(transport, host, int(port))  # type: ignore[arg-type]


async def quietly(coroutine: object) -> None:
    try:
        await coroutine  # type: ignore[misc]
    except Exception:
        log.exception("voice.task_failed")
