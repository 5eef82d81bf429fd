"""The voice gateway: Callbridge as a back-to-back user agent between callers and agents' phones.

Every voice call has two legs, each a SIP dialog with its own RTP session in our media engine:
the caller's (from a trunk or any SIP client) and the agent's (the phone registered for the
agent). The ACD never sees SIP: the gateway turns what happens on the wire into the same use
cases the REST API runs, and turns the ACD's events into SIP.

- An INVITE to an entry point (settings `voice_entry_points`: the called user or number ->
  queue) is answered at once, so the caller hears music on hold, and becomes a voice
  interaction in that queue.
- When the ACD offers the interaction, the agent's phone rings with the caller as From and
  the interaction id in `X-Callbridge-Interaction`. Answering it accepts the offer and
  bridges the two RTP sessions (relayed, not decoded, when the codecs match). A phone that
  fails (busy, declined, unreachable, not registered) rejects the offer: the call goes back
  to its place in line and the agent to Not Ready. An offer that times out in the ACD
  cancels the ringing.
- Either side hanging up ends the interaction and the other leg. An interaction ended
  through the API (or by the system) hangs up both legs.
- Hold (from the API) plays music to the caller, and the agent hears silence; resume bridges
  again. A transfer hangs up the agent's leg and the caller waits with music for the next
  offer.
- With a recordings directory, a call is recorded from the moment an agent has it to the end,
  both voices (one channel each) in `<interaction id>.wav`; pausing writes silence, so the
  times still line up (`POST /interactions/{id}/recording/pause` and `/resume`).

The gateway reacts to the events of the log (the bus), the same ones the event log stores,
so what the ACD and the log say is always what the calls do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import structlog

from callbridge.adapters.telephony.media.audio import Clip
from callbridge.adapters.telephony.media.conference import Conference
from callbridge.adapters.telephony.media.engine import MediaEngine
from callbridge.adapters.telephony.media.hold import hold_music
from callbridge.adapters.telephony.media.recorder import RecordingInfo
from callbridge.adapters.telephony.media.session import RtpSession
from callbridge.adapters.telephony.sip import (
    CallCancelled,
    CallEnded,
    CallFailed,
    Credentials,
    Dialog,
    IncomingCall,
    OutgoingCall,
    Progress,
    ReInvite,
    SipEndpoint,
    sdp,
)
from callbridge.adapters.telephony.sip.sdp import SessionDescription
from callbridge.adapters.telephony.sip.transport import Target
from callbridge.adapters.telephony.sip.uri import parse_uri
from callbridge.domain.channels import Channel
from callbridge.domain.errors import AgentUnavailable, CallbridgeError, InvalidInput, InvalidState
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.interactions import InteractionState
from callbridge.domain.telephony.registrations import Registrations, ringable_contacts
from callbridge.ports import EventBus, StoredEvent
from callbridge.services import interactions as svc
from callbridge.services.runtime import Runtime

if TYPE_CHECKING:
    from callbridge.domain.telephony.registrations import Binding

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


def _caller_number(call: IncomingCall) -> str:
    caller = call.caller
    return caller.uri.user or str(caller.uri)


class VoiceGateway:
    def __init__(
        self,
        rt: Runtime,
        bus: EventBus,
        endpoint: SipEndpoint,
        media: MediaEngine,
        registrations: Registrations,
        entry_points: dict[str, str],
        cache_dir: Path,
        new_id: Callable[[], str],
        recordings_dir: Path | None = None,
        trunk: Trunk | None = None,
    ) -> None:
        self.rt, self.bus, self.endpoint, self.media = rt, bus, endpoint, media
        self.registrations = registrations
        self.entry_points = entry_points
        self.cache_dir = cache_dir
        self.new_id = new_id
        self.recordings_dir = recordings_dir
        self.trunk = trunk
        self.calls: dict[InteractionId, VoiceCall] = {}
        self.dialing: set[InteractionId] = set()  # click-to-dial calls being set up
        # finished recordings of this process's calls, newest last (bounded)
        self.recorded: dict[InteractionId, RecordingInfo] = {}
        self._music: Clip | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        endpoint.on_invite = self.on_invite

    @property
    def music(self) -> Clip:
        if self._music is None:
            self._music = hold_music(self.cache_dir)
        return self._music

    async def run(self) -> None:
        """Follow the ACD's events until cancelled."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                async for event in self.bus.subscribe():
                    self._on_event(event)
            finally:
                for call in list(self.calls.values()):
                    with anyio.CancelScope(shield=True):
                        await self._hang_up(call, "shutdown")
                tg.cancel_scope.cancel()

    # --- callers ---------------------------------------------------------------------------

    async def on_invite(self, call: IncomingCall) -> None:
        callee = call.callee.uri.user or ""
        queue = self.entry_points.get(callee)
        if queue is None:
            await call.reject(404, "No such entry point")
            return
        if call.offer is None:
            await call.reject(488)
            return
        session = await self.media.open_session()
        try:
            answer = sdp.answer(call.offer, self.media.host, session.local_port)
            if not aim(session, call.offer):
                raise sdp.NoCommonCodec("no G.711 audio")
        except sdp.SdpError:
            session.close()
            await call.reject(488)
            return
        try:
            dialog = await call.answer(answer)
        except (CallCancelled, CallEnded):
            session.close()
            return
        number = _caller_number(call)
        try:
            stored = svc.do_create_interaction(
                self.rt,
                svc.NewInteraction(
                    channel=Channel.VOICE,
                    from_address=number,
                    to_address=callee,
                    queue_id=QueueId(queue),
                    attached={"sip_call_id": call.call_id[:200]},
                ),
            )
        except CallbridgeError as exc:
            log.error("voice.create_failed", error=exc.message, queue=queue)
            await dialog.bye()
            session.close()
            return
        iid = InteractionId(str(stored[0].interaction_id))
        voice = VoiceCall(iid, dialog, session, number)
        self.calls[iid] = voice
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.state is InteractionState.QUEUED:
            session.play(self.music, loop=True)
        log.info("voice.call_in", interaction_id=iid, caller=number, queue=queue)
        # the offer may have come already (an agent was free): its event ran before we knew
        # the call; ring now
        if ix is not None and ix.state is InteractionState.OFFERED and ix.agent_id is not None:
            self._spawn(self._ring(voice, ix.agent_id))
        reason = await dialog.wait_ended()
        if reason == "remote-bye" and not voice.closed:
            self._end(voice, "customer")

    # --- the ACD's events ------------------------------------------------------------------

    def _on_event(self, event: StoredEvent) -> None:
        iid = event.interaction_id
        call = self.calls.get(iid) if iid is not None else None
        if call is None and iid is not None and _is_dial(event):
            if event.agent_id is not None:
                self._spawn(self._dial_out(iid, event.agent_id))
            return
        if call is None or call.closed:
            return
        kind = event.kind
        if kind == "interaction_offered" and event.agent_id is not None:
            self._spawn(self._ring(call, event.agent_id))
        elif kind == "offer_missed":
            self._spawn(self._stop_ringing(call))
        elif kind == "interaction_held":
            self._hold(call)
        elif kind == "interaction_resumed":
            self._bridge(call)
        elif kind == "interaction_transferred":
            number = event.payload.get("to_number")
            if isinstance(number, str) and number:
                call.outside = number
                consult = call.consult
                if consult is not None and consult.number == number and consult.leg.dialog:
                    self._complete(call, consult)
                else:
                    self._spawn(self._transfer_out(call, number))
            else:
                self._spawn(self._drop_agent(call, play_music=True))
        elif kind == "interaction_ended" and call.outside is None:
            self._spawn(self._hang_up(call, "ended"))

    def _spawn(self, coroutine: object) -> None:
        assert self._tg is not None, "the gateway is not running"
        self._tg.start_soon(_quietly, coroutine)

    # --- agents ----------------------------------------------------------------------------

    def _contact(self, agent_id: AgentId) -> Binding | None:
        agent = self.rt.center.agents.get(agent_id)
        if agent is None:
            return None
        contacts = ringable_contacts(self.registrations, agent, self.endpoint.clock())
        return contacts[0] if contacts else None

    async def _ring(self, call: VoiceCall, agent_id: AgentId) -> None:
        if call.leg is not None and call.leg.agent_id == agent_id:
            return  # already ringing (or talking to) this agent
        binding = self._contact(agent_id)
        if binding is None:
            log.info(
                "voice.agent_unreachable", agent_id=agent_id, interaction_id=call.interaction_id
            )
            self._reject(call, agent_id)
            return
        leg = AgentLeg(agent_id, await self.media.open_session())
        self._replace_leg(call, leg)
        offer = sdp.offer(self.media.host, leg.media.local_port)
        try:
            leg.ringing = await self.endpoint.invite(
                parse_uri(binding.uri),
                offer,
                from_=f'"{call.caller_address}" <sip:{call.caller_address}@{self.endpoint.host}>',
                headers=[(INTERACTION_HEADER, call.interaction_id)],
                next_hop=_source_target(binding.source),
            )
            dialog = await leg.ringing.wait_answer()
        except (CallFailed, CallCancelled, CallEnded, OSError) as exc:
            log.info("voice.agent_no_answer", agent_id=agent_id, error=str(exc))
            leg.ringing = None
            if call.leg is leg:  # not cancelled or replaced meanwhile
                self._replace_leg(call, None)
                self._reject(call, agent_id)
            return
        leg.ringing, leg.dialog = None, dialog
        dialog.on_reinvite = self._phone_hold_handler(call, leg)
        answer = dialog.remote_sdp
        if call.leg is not leg or answer is None or not aim(leg.media, answer):
            await self._close_leg(leg)
            if call.leg is leg:
                self._replace_leg(call, None)
                self._reject(call, agent_id)
            return
        try:
            svc.do_accept(self.rt, call.interaction_id, agent_id)
        except CallbridgeError as exc:  # the offer timed out as the phone was answered
            log.info("voice.accept_too_late", error=exc.message)
            if call.leg is leg:
                self._replace_leg(call, None)
            await self._close_leg(leg)
            return
        self._bridge(call)
        log.info("voice.bridged", interaction_id=call.interaction_id, agent_id=agent_id)
        reason = await dialog.wait_ended()
        if reason == "remote-bye" and call.leg is leg and not call.closed:
            self._end(call, "agent", agent_id)

    def _progress(
        self, iid: InteractionId, leg: str, stage: str, status: int | None = None
    ) -> None:
        """Log a leg's progress in the event log, timestamped (the dialer's evidence)."""
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.is_open:
            with contextlib.suppress(CallbridgeError):
                svc.do_call_progress(self.rt, iid, leg, stage, status)

    def _on_ringing(self, iid: InteractionId, leg: str) -> Callable[[Progress], None]:
        told = False

        def on_provisional(progress: Progress) -> None:
            nonlocal told
            if progress.status in (180, 183) and not told:
                told = True
                self._progress(iid, leg, "ringing", progress.status)

        return on_provisional

    async def _dial_out(self, iid: InteractionId, agent_id: AgentId) -> None:
        """Click-to-dial: the agent's phone rings first; once it answers, the customer is
        called through the trunk; once they answer, the two are bridged."""
        ix = self.rt.center.interactions.get(iid)
        if ix is None or ix.channel is not Channel.VOICE or iid in self.dialing:
            return
        number = ix.to_address
        trunk, binding = self.trunk, self._contact(agent_id)
        if trunk is None or binding is None:
            why = "no trunk for outbound calls" if trunk is None else "the agent has no phone"
            log.info("voice.cannot_dial", interaction_id=iid, why=why)
            self._progress(iid, "agent" if trunk else "customer", "failed")
            self._end_dial(iid)
            return
        self.dialing.add(iid)
        agent = AgentLeg(agent_id, await self.media.open_session())
        customer_media: RtpSession | None = None
        try:
            agent.ringing = await self.endpoint.invite(
                parse_uri(binding.uri),
                sdp.offer(self.media.host, agent.media.local_port),
                from_=f'"{number}" <sip:{number}@{self.endpoint.host}>',
                headers=[(INTERACTION_HEADER, iid)],
                next_hop=_source_target(binding.source),
                on_provisional=self._on_ringing(iid, "agent"),
            )
            agent.dialog = await agent.ringing.wait_answer()
            agent.ringing = None
            self._progress(iid, "agent", "answered", 200)
            if agent.dialog.remote_sdp is None or not aim(agent.media, agent.dialog.remote_sdp):
                raise DialFailed(488, "the agent's phone has no audio we can send")
            customer_media = await self.media.open_session()
            caller_id = trunk.caller_id or ix.from_address
            outgoing = await self.endpoint.invite(
                f"sip:{number}@{trunk.target.host}",
                sdp.offer(self.media.host, customer_media.local_port),
                from_=f"<sip:{caller_id}@{self.endpoint.host}>",
                headers=[(INTERACTION_HEADER, iid)],
                next_hop=trunk.target,
                credentials=trunk.credentials,
                on_provisional=self._on_ringing(iid, "customer"),
            )
            try:
                with anyio.fail_after(trunk.ring_timeout_s):
                    customer = await outgoing.wait_answer()
            except TimeoutError:
                await outgoing.cancel()
                raise DialFailed(408, "no answer") from None
            self._progress(iid, "customer", "answered", 200)
            if customer.remote_sdp is None or not aim(customer_media, customer.remote_sdp):
                await customer.bye()
                raise DialFailed(488, "the customer's side has no audio we can send")
        except (CallFailed, DialFailed, CallCancelled, CallEnded, OSError) as exc:
            status = exc.status if isinstance(exc, CallFailed | DialFailed) else None
            leg = "customer" if agent.dialog is not None else "agent"
            self._progress(iid, leg, _stage(status), status)
            log.info("voice.dial_failed", interaction_id=iid, leg=leg, status=status)
            if customer_media is not None:
                customer_media.close()
            self.dialing.discard(iid)
            await self._close_leg(agent)
            self._end_dial(iid)
            return
        self.dialing.discard(iid)
        call = VoiceCall(iid, customer, customer_media, number, leg=agent)
        agent.dialog.on_reinvite = self._phone_hold_handler(call, agent)
        self.calls[iid] = call
        if not (self.rt.center.interactions.get(iid) or ix).is_open:
            await self._hang_up(call, "ended while dialling")
            return
        self._bridge(call)
        log.info("voice.dialled", interaction_id=iid, agent_id=agent_id)
        self._spawn(self._watch_agent(call, agent, agent_id))
        reason = await customer.wait_ended()
        if reason == "remote-bye" and not call.closed:
            self._end(call, "customer")

    async def _watch_agent(self, call: VoiceCall, leg: AgentLeg, agent_id: AgentId) -> None:
        assert leg.dialog is not None
        reason = await leg.dialog.wait_ended()
        if reason == "remote-bye" and call.leg is leg and not call.closed:
            self._end(call, "agent", agent_id)

    async def _transfer_out(self, call: VoiceCall, number: str) -> None:
        """A blind transfer to an outside number: the agent's leg goes, the caller waits with
        music while the number rings through the trunk, then the two are bridged. The call has
        left the center (the interaction ended `transferred`); Callbridge stays in the middle
        until one side hangs up, and the recording goes on."""
        old = self._replace_leg(call, None)
        call.caller_media.play(self.music, loop=True)
        if old is not None:
            await self._close_leg(old)
        trunk = self.trunk
        if trunk is None:
            log.info("voice.transfer_out_without_trunk", interaction_id=call.interaction_id)
            await self._hang_up(call, "no trunk for the transfer")
            return
        leg = AgentLeg(AgentId(""), await self.media.open_session())
        call.leg = leg
        try:
            leg.ringing = await self.endpoint.invite(
                f"sip:{number}@{trunk.target.host}",
                sdp.offer(self.media.host, leg.media.local_port),
                from_=f"<sip:{trunk.caller_id or call.caller_address}@{self.endpoint.host}>",
                headers=[(INTERACTION_HEADER, call.interaction_id)],
                next_hop=trunk.target,
                credentials=trunk.credentials,
            )
            with anyio.fail_after(trunk.ring_timeout_s):
                leg.dialog = await leg.ringing.wait_answer()
            leg.ringing = None
        except (TimeoutError, CallFailed, CallCancelled, CallEnded, OSError) as exc:
            log.info(
                "voice.transfer_out_failed", interaction_id=call.interaction_id, error=str(exc)
            )
            await self._hang_up(call, "the outside number did not answer")
            return
        answer = leg.dialog.remote_sdp
        if call.closed or call.leg is not leg or answer is None or not aim(leg.media, answer):
            await self._hang_up(call, "the transfer went away")
            return
        self._bridge(call)
        log.info("voice.transferred_out", interaction_id=call.interaction_id, number=number)
        reason = await leg.dialog.wait_ended()
        if reason == "remote-bye" and call.leg is leg and not call.closed:
            await self._hang_up(call, "the outside party hung up")

    def _end_dial(self, iid: InteractionId) -> None:
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.is_open:
            with contextlib.suppress(CallbridgeError):
                svc.do_end(self.rt, iid, "system")

    def _phone_hold_handler(
        self, call: VoiceCall, leg: AgentLeg
    ) -> Callable[[ReInvite], Awaitable[None]]:
        """Hold and resume pressed on the agent's phone (a re-INVITE with sendonly, inactive
        or c=0.0.0.0, then sendrecv) are the same hold and resume as from the API."""

        async def on_reinvite(reinvite: ReInvite) -> None:
            dialog, local = leg.dialog, leg.dialog.local_sdp if leg.dialog else None
            if dialog is None or local is None or local.audio is None or reinvite.offer is None:
                await reinvite.reject(488)
                return
            try:
                answer = sdp.answer(reinvite.offer, local.address, local.audio.port, previous=local)
            except sdp.NoCommonCodec:
                await reinvite.reject(488)
                return
            ix = self.rt.center.interactions.get(call.interaction_id)
            if call.leg is leg and ix is not None:
                try:
                    if reinvite.is_hold and ix.state is InteractionState.CONNECTED:
                        svc.do_hold(self.rt, call.interaction_id, leg.agent_id)
                    elif not reinvite.is_hold and ix.state is InteractionState.ON_HOLD:
                        svc.do_resume(self.rt, call.interaction_id, leg.agent_id)
                except CallbridgeError as exc:
                    log.info("voice.phone_hold_refused", error=exc.message)
            await reinvite.accept(answer)

        return on_reinvite

    def _reject(self, call: VoiceCall, agent_id: AgentId) -> None:
        ix = self.rt.center.interactions.get(call.interaction_id)
        if ix is not None and ix.state is InteractionState.OFFERED and ix.agent_id == agent_id:
            with contextlib.suppress(CallbridgeError):
                svc.do_reject(self.rt, call.interaction_id, agent_id)

    def _replace_leg(self, call: VoiceCall, leg: AgentLeg | None) -> AgentLeg | None:
        """Make `leg` the call's agent leg (None: no agent); returns the one it replaces, whose
        media is cut off from the caller at once (its SIP ending is the caller's to await)."""
        watch = self._unmix(call) if call.leg is not None else None
        if watch is not None:  # the agent they supervised left
            self._spawn(self._end_monitor(call, watch))
        old, call.leg = call.leg, leg
        if old is not None:
            call.caller_media.disconnect()
            old.media.close()
        return old

    async def _close_leg(self, leg: AgentLeg) -> None:
        """Hang up a leg that is no longer the call's: cancel its ringing or BYE its dialog."""
        if not leg.media.closed:
            leg.media.close()
        with contextlib.suppress(Exception):
            if leg.ringing is not None:
                await leg.ringing.cancel()
        with contextlib.suppress(Exception):
            if leg.dialog is not None and leg.dialog.end_reason is None:
                await leg.dialog.bye()

    async def _stop_ringing(self, call: VoiceCall) -> None:
        """A missed offer: stop the phone that still rings."""
        leg = call.leg
        if leg is not None and leg.dialog is None:
            self._replace_leg(call, None)
            await self._close_leg(leg)

    async def _drop_agent(self, call: VoiceCall, *, play_music: bool) -> None:
        """The agent's part is over (transfer): hang up the agent's leg, music for the caller."""
        old = self._replace_leg(call, None)
        if play_music and not call.closed:
            call.caller_media.play(self.music, loop=True)
        if old is not None:
            await self._close_leg(old)

    # --- media -----------------------------------------------------------------------------

    def _bridge(self, call: VoiceCall) -> None:
        if call.leg is None or call.leg.dialog is None or call.monitor is not None:
            return
        call.held = False
        call.caller_media.stop_playing()
        consult = call.consult
        if consult is not None and consult.leg.dialog is not None:
            # back from hold with a consulted party on the line: all three together
            call.leg.media.disconnect()
            mix = call.mix = call.mix or self.media.conference()
            for media in (call.caller_media, call.leg.media, consult.leg.media):
                mix.add(media)
        else:
            call.caller_media.connect(call.leg.media)
        if self.recordings_dir is not None and call.recording is None:
            # the caller's leg: left what the caller said, right what they heard
            call.recording = recording_path(self.recordings_dir, call.interaction_id)
            call.caller_media.record(call.recording)

    # --- supervision -----------------------------------------------------------------------

    async def monitor(self, interaction_id: InteractionId, supervisor: AgentId, mode: str) -> None:
        """Ring the supervisor's phone and, once answered, let them listen to the call (both
        sides), whisper to the agent (the customer does not hear), or barge in (all hear all).
        A supervisor already on the call just changes mode."""
        if mode not in MONITOR_MODES:
            raise InvalidInput(f"mode must be one of {', '.join(MONITOR_MODES)}", field="mode")
        call = self.calls.get(interaction_id)
        leg = call.leg if call is not None else None
        if call is None or call.closed or leg is None or leg.dialog is None or call.held:
            raise InvalidState(
                f"interaction {interaction_id} is not a call with an agent on it",
                interaction_id=interaction_id,
            )
        if call.monitor is not None:
            if call.monitor.supervisor_id != supervisor:
                raise InvalidState("another supervisor is on this call", field="agent_id")
            call.monitor.mode = mode
            if call.monitor.dialog is not None:
                self._set_mode(call.monitor, leg)
            return
        binding = self._contact(supervisor)
        if binding is None:
            raise AgentUnavailable(
                f"agent {supervisor} has no phone registered (or is logged out)",
                agent_id=supervisor,
            )
        media = await self.media.open_session()
        watch = Monitor(supervisor, mode, media, self.media.conference())
        call.monitor = watch
        self._spawn(self._ring_supervisor(call, watch, binding))

    async def _ring_supervisor(self, call: VoiceCall, watch: Monitor, binding: Binding) -> None:
        try:
            outgoing = await self.endpoint.invite(
                parse_uri(binding.uri),
                sdp.offer(self.media.host, watch.media.local_port),
                from_=f'"Monitor {call.caller_address}" <sip:monitor@{self.endpoint.host}>',
                headers=[
                    (INTERACTION_HEADER, call.interaction_id),
                    ("X-Callbridge-Monitor", watch.mode),
                ],
                next_hop=_source_target(binding.source),
            )
            watch.dialog = await outgoing.wait_answer()
        except (CallFailed, CallCancelled, CallEnded, OSError) as exc:
            log.info("voice.monitor_failed", interaction_id=call.interaction_id, error=str(exc))
            if call.monitor is watch:
                call.monitor = None
            _close_monitor_media(watch)
            return
        leg = call.leg
        answer = watch.dialog.remote_sdp
        if (
            call.monitor is not watch
            or call.closed
            or leg is None
            or answer is None
            or not aim(watch.media, answer)
        ):
            await self._end_monitor(call, watch)
            return
        conference = watch.conference
        conference.add(call.caller_media)
        conference.add(leg.media)
        conference.add(watch.media)
        self._set_mode(watch, leg)
        log.info("voice.monitoring", interaction_id=call.interaction_id, mode=watch.mode)
        await watch.dialog.wait_ended()
        await self._end_monitor(call, watch)

    def _set_mode(self, watch: Monitor, leg: AgentLeg) -> None:
        if watch.mode == "listen":
            watch.conference.listen(watch.media)
        elif watch.mode == "whisper":
            watch.conference.whisper(watch.media, to=leg.media)
        else:
            watch.conference.barge(watch.media)

    async def stop_monitor(self, interaction_id: InteractionId) -> None:
        """The supervisor leaves the call (their phone is hung up); the two talk directly."""
        call = self.calls.get(interaction_id)
        if call is not None and call.monitor is not None:
            await self._end_monitor(call, call.monitor)

    def _unmix(self, call: VoiceCall) -> Monitor | None:
        """Out of the conference, back to a direct bridge (when there is an agent to bridge)."""
        watch, call.monitor = call.monitor, None
        if watch is None:
            return None
        _close_monitor_media(watch)
        if not call.closed and not call.held:
            self._bridge(call)
        return watch

    async def _end_monitor(self, call: VoiceCall, watch: Monitor) -> None:
        if call.monitor is watch:
            self._unmix(call)
        else:
            _close_monitor_media(watch)
        with contextlib.suppress(Exception):
            if watch.dialog is not None and watch.dialog.end_reason is None:
                await watch.dialog.bye()

    # --- consultation ----------------------------------------------------------------------

    async def consult(self, interaction_id: InteractionId, agent_id: AgentId, number: str) -> None:
        """Put the caller on hold and call `number` through the trunk for the agent."""
        call = self._with_agent(interaction_id, agent_id)
        if call.consult is not None or call.monitor is not None:
            raise InvalidState("the agent is already consulting, or a supervisor is on the call")
        trunk = self.trunk
        if trunk is None:
            raise InvalidState("no trunk for outside calls (sip_trunk_host)", field="to_number")
        if not number.strip():
            raise InvalidInput("the number is empty", field="to_number")
        assert call.leg is not None
        svc.do_hold(self.rt, interaction_id, agent_id)  # the caller hears music meanwhile
        consult = Consultation(number.strip(), AgentLeg(agent_id, await self.media.open_session()))
        call.consult = consult
        self._spawn(self._ring_consult(call, consult, trunk))

    async def _ring_consult(self, call: VoiceCall, consult: Consultation, trunk: Trunk) -> None:
        leg, iid = consult.leg, call.interaction_id
        try:
            leg.ringing = await self.endpoint.invite(
                f"sip:{consult.number}@{trunk.target.host}",
                sdp.offer(self.media.host, leg.media.local_port),
                from_=f"<sip:{trunk.caller_id or call.caller_address}@{self.endpoint.host}>",
                headers=[(INTERACTION_HEADER, iid)],
                next_hop=trunk.target,
                credentials=trunk.credentials,
                on_provisional=self._on_ringing(iid, "consult"),
            )
            with anyio.fail_after(trunk.ring_timeout_s):
                leg.dialog = await leg.ringing.wait_answer()
            leg.ringing = None
        except (TimeoutError, CallFailed, CallCancelled, CallEnded, OSError) as exc:
            status = exc.status if isinstance(exc, CallFailed) else None
            self._progress(iid, "consult", _stage(status), status)
            await self._end_consult(call, consult, resume=True)
            return
        self._progress(iid, "consult", "answered", 200)
        answer = leg.dialog.remote_sdp
        if call.consult is not consult or answer is None or not aim(leg.media, answer):
            await self._end_consult(call, consult, resume=call.consult is consult)
            return
        if call.leg is not None:
            call.leg.media.connect(leg.media)  # the agent and the consulted party talk
        log.info("voice.consulting", interaction_id=iid, number=consult.number)
        reason = await leg.dialog.wait_ended()
        if reason == "remote-bye" and call.consult is consult:
            await self._end_consult(call, consult, resume=not call.closed)

    def _with_agent(self, interaction_id: InteractionId, agent_id: AgentId) -> VoiceCall:
        call = self.calls.get(interaction_id)
        if (
            call is None
            or call.closed
            or call.leg is None
            or call.leg.dialog is None
            or call.leg.agent_id != agent_id
        ):
            raise InvalidState(
                f"agent {agent_id} is not on a call in {interaction_id}",
                interaction_id=interaction_id,
            )
        return call

    async def cancel_consult(self, interaction_id: InteractionId, agent_id: AgentId) -> None:
        """Hang up the consulted party and go back to the caller."""
        call = self._with_agent(interaction_id, agent_id)
        if call.consult is None:
            raise InvalidState("the agent is not consulting anyone", interaction_id=interaction_id)
        await self._end_consult(call, call.consult, resume=True)

    async def complete_consult(self, interaction_id: InteractionId, agent_id: AgentId) -> None:
        """Hand the caller to the consulted party: a transfer to that number (the interaction
        ends `transferred`), without dialling it again."""
        call = self._with_agent(interaction_id, agent_id)
        consult = call.consult
        if consult is None or consult.leg.dialog is None:
            raise InvalidState("nobody has answered the consultation yet")
        svc.do_transfer(self.rt, interaction_id, agent_id, to_number=consult.number)

    async def three_way(self, interaction_id: InteractionId, agent_id: AgentId) -> None:
        """Caller, agent and the consulted party all together (the caller comes off hold)."""
        call = self._with_agent(interaction_id, agent_id)
        if call.consult is None or call.consult.leg.dialog is None:
            raise InvalidState("nobody has answered the consultation yet")
        svc.do_resume(self.rt, interaction_id, agent_id)  # its event mixes the three

    def _complete(self, call: VoiceCall, consult: Consultation) -> None:
        """The transfer event of a completed consultation: the consulted party's leg becomes
        the caller's other side; the agent's leg goes."""
        call.consult = None
        self._close_mix(call)
        old = self._replace_leg(call, consult.leg)
        self._bridge(call)
        if old is not None:
            self._spawn(self._close_leg(old))
        self._spawn(self._watch_outside(call, consult.leg))

    async def _watch_outside(self, call: VoiceCall, leg: AgentLeg) -> None:
        assert leg.dialog is not None
        reason = await leg.dialog.wait_ended()
        if reason == "remote-bye" and call.leg is leg and not call.closed:
            await self._hang_up(call, "the outside party hung up")

    async def _end_consult(self, call: VoiceCall, consult: Consultation, *, resume: bool) -> None:
        if call.consult is consult:
            call.consult = None
        self._close_mix(call)
        if call.leg is not None:
            call.leg.media.disconnect()
        await self._close_leg(consult.leg)
        ix = self.rt.center.interactions.get(call.interaction_id)
        if not resume or call.closed or ix is None or call.leg is None:
            return
        if ix.state is InteractionState.ON_HOLD:
            with contextlib.suppress(CallbridgeError):
                svc.do_resume(self.rt, call.interaction_id, call.leg.agent_id)
        else:
            self._bridge(call)  # was three-way: back to the two of them

    def _close_mix(self, call: VoiceCall) -> None:
        mix, call.mix = call.mix, None
        if mix is not None and not mix.closed:
            mix.close()

    # --- recording -------------------------------------------------------------------------

    def pause_recording(self, interaction_id: InteractionId) -> Path:
        """Silence in the recording from now (a card number is being read), until resumed."""
        call = self._recorded(interaction_id)
        call.caller_media.pause_recording()
        log.info("voice.recording_paused", interaction_id=interaction_id)
        assert call.recording is not None
        return call.recording

    def resume_recording(self, interaction_id: InteractionId) -> Path:
        call = self._recorded(interaction_id)
        call.caller_media.resume_recording()
        log.info("voice.recording_resumed", interaction_id=interaction_id)
        assert call.recording is not None
        return call.recording

    def _recorded(self, interaction_id: InteractionId) -> VoiceCall:
        call = self.calls.get(interaction_id)
        if call is None or call.closed or call.recording is None:
            raise InvalidState(
                f"interaction {interaction_id} is not a call being recorded",
                interaction_id=interaction_id,
            )
        return call

    def _hold(self, call: VoiceCall) -> None:
        call.held = True
        watch = self._unmix(call)  # nobody to supervise on hold
        if watch is not None:
            self._spawn(self._end_monitor(call, watch))
        self._close_mix(call)
        call.caller_media.disconnect()
        call.caller_media.play(self.music, loop=True)

    # --- the end ---------------------------------------------------------------------------

    def _end(self, call: VoiceCall, by: str, agent_id: AgentId | None = None) -> None:
        """A leg hung up: end the interaction (its event hangs up the other leg)."""
        ix = self.rt.center.interactions.get(call.interaction_id)
        if ix is not None and ix.state is not InteractionState.ENDED:
            try:
                svc.do_end(self.rt, call.interaction_id, by, agent_id)
            except CallbridgeError as exc:
                log.info("voice.end_refused", error=exc.message)
                svc.do_end(self.rt, call.interaction_id, "customer")
        else:
            self._spawn(self._hang_up(call, "gone"))

    async def _hang_up(self, call: VoiceCall, why: str) -> None:
        """Both legs down: media first (the recording is complete at once), then the BYEs,
        which may wait on a slow peer without holding anything up."""
        if call.closed:
            return
        call.closed = True
        consult, call.consult = call.consult, None
        self._close_mix(call)
        if consult is not None:
            self._spawn(self._close_leg(consult.leg))
        watch = self._unmix(call)
        leg = self._replace_leg(call, None)
        recorded = call.caller_media.close()
        self.calls.pop(call.interaction_id, None)
        if recorded is not None:
            self.recorded[call.interaction_id] = recorded
            if len(self.recorded) > KEEP_RECORDED:
                del self.recorded[next(iter(self.recorded))]
        log.info(
            "voice.call_over",
            interaction_id=call.interaction_id,
            why=why,
            recorded_s=None if recorded is None else round(recorded.duration_s, 2),
        )
        if leg is not None:
            await self._close_leg(leg)
        if watch is not None:
            await self._end_monitor(call, watch)
        with contextlib.suppress(Exception):
            if call.caller.end_reason is None:
                await call.caller.bye()


def _close_monitor_media(watch: Monitor) -> None:
    if not watch.conference.closed:
        watch.conference.close()
    if not watch.media.closed:
        watch.media.close()


def _is_dial(event: StoredEvent) -> bool:
    """An offer the agent made to itself by dialling (click-to-dial)."""
    if event.kind != "interaction_offered":
        return False
    decision = event.payload.get("decision")
    return isinstance(decision, dict) and decision.get("trigger") == "dial"


def _stage(status: int | None) -> str:
    """A failed INVITE's final status, as a call progress stage."""
    if status in (486, 600):
        return "busy"
    if status in (408, 480, 487):
        return "no_answer"
    return "failed"


def _source_target(source: str | None) -> Target | None:
    if not source:
        return None
    transport, host, port = source.split(":", 2)
    if transport not in ("udp", "tcp"):
        return None
    return Target(transport, host, int(port))  # type: ignore[arg-type]


async def _quietly(coroutine: object) -> None:
    try:
        await coroutine  # type: ignore[misc]
    except Exception:
        log.exception("voice.task_failed")
