"""The caller's journey before and around the queue: into an IVR flow, out of it (to a queue,
a voicemail, an outside number or a hang-up), told their place in line, and messages left.

Each use case is one change on the live center, so what the call does and what the event log
says are written together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.errors import InvalidInput
from callbridge.domain.events import Event
from callbridge.domain.ids import InteractionId, QueueId, SkillId
from callbridge.domain.interactions import EndReason
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.waiting import WaitEstimate, estimate
from callbridge.ports import StoredEvent
from callbridge.services.interactions import MAX_ATTACHED, MAX_ATTACHED_VALUE
from callbridge.services.runtime import Runtime


def check_variables(variables: dict[str, str]) -> dict[str, str]:
    """What a flow attaches must fit the interaction's attached data; too long values are cut
    (a flow's variables come from callers and CRMs, and a call must not fail over one)."""
    if len(variables) > MAX_ATTACHED:
        raise InvalidInput(f"a flow can attach at most {MAX_ATTACHED} variables", field="variables")
    return {k: v[:MAX_ATTACHED_VALUE] for k, v in variables.items() if k}


def do_arrive_in_ivr(
    rt: Runtime,
    flow: str,
    from_address: str,
    to_address: str,
    attached: dict[str, str],
    channel: Channel = Channel.VOICE,
) -> list[StoredEvent]:
    """A new inbound interaction that goes through `flow` before any queue."""
    iid = InteractionId(rt.new_id())

    def change(c: ContactCenter, now: float) -> list[Event]:
        events = c.create_interaction(
            iid, channel, Direction.INBOUND, from_address, to_address, attached, now
        )
        try:
            events += c.enter_ivr(iid, flow, now)
        except Exception:
            c.interactions.pop(iid, None)
            raise
        return events

    return rt.apply(change)


@dataclass(frozen=True, slots=True)
class FlowOutcome:
    """How a walk through a flow ended, as the event log tells it."""

    flow: str
    outcome: str  # queue | voicemail | transfer | hangup
    path: tuple[str, ...]
    variables: dict[str, str] = field(default_factory=dict)


def do_route_from_ivr(
    rt: Runtime,
    iid: InteractionId,
    done: FlowOutcome,
    queue_id: QueueId,
    priority: int | None,
    skills: dict[SkillId, int],
) -> list[StoredEvent]:
    """The flow chose a queue: attach what it gathered and put the interaction in line."""
    rt.center.queue(queue_id)
    variables = check_variables(done.variables)

    def change(c: ContactCenter, now: float) -> list[Event]:
        events = c.finish_ivr(iid, done.flow, done.outcome, done.path, variables, now)
        return events + c.enqueue(iid, queue_id, now, priority, skills or None)

    return rt.apply(change)


def do_end_in_ivr(
    rt: Runtime, iid: InteractionId, done: FlowOutcome, by_caller: bool
) -> list[StoredEvent]:
    """The call ends inside the flow: the caller hung up (abandoned), or the flow ended it
    (a hang-up node, a transfer to an outside number)."""
    variables = check_variables(done.variables)
    reason = EndReason.TRANSFERRED if done.outcome == "transfer" else EndReason.SELF_SERVICE

    def change(c: ContactCenter, now: float) -> list[Event]:
        events = c.finish_ivr(iid, done.flow, done.outcome, done.path, variables, now)
        if by_caller:
            return events + c.end(iid, "customer", now)
        return events + c.end_in_ivr(iid, reason, now)

    return rt.apply(change)


@dataclass(frozen=True, slots=True)
class Message:
    """A voicemail a caller left: who left it, where the recording is, how long it runs."""

    from_address: str
    to_address: str
    recording: str
    duration_s: float
    attached: dict[str, str] = field(default_factory=dict)  # what the call carried


def do_leave_voicemail(
    rt: Runtime,
    iid: InteractionId,
    queue_id: QueueId,
    message: Message,
    done: FlowOutcome | None = None,
) -> list[StoredEvent]:
    """The caller left a message: their call ends (reason voicemail; a queue's voicemail
    overflow has ended it already), and the message becomes an interaction of its own on the
    voicemail channel, in `queue_id`, routed to agents like any other work."""
    rt.center.queue(queue_id)
    variables = check_variables(done.variables) if done is not None else {}
    message_id = InteractionId(rt.new_id())
    attached = check_variables(
        {
            **{k: v for k, v in message.attached.items() if k != "sip_call_id"},
            **variables,
            "voicemail_of": str(iid),
            "recording": message.recording,
            "duration_s": f"{message.duration_s:.1f}",
        }
    )

    def change(c: ContactCenter, now: float) -> list[Event]:
        call = c.interactions.get(iid)
        events: list[Event] = []
        if done is not None and call is not None and call.state is S.IN_IVR:
            events += c.finish_ivr(iid, done.flow, done.outcome, done.path, variables, now)
            events += c.end_in_ivr(iid, EndReason.VOICEMAIL, now)
        events += c.create_interaction(
            message_id,
            Channel.VOICEMAIL,
            Direction.INBOUND,
            message.from_address,
            message.to_address,
            attached,
            now,
        )
        return events + c.enqueue(message_id, queue_id, now)

    return rt.apply(change)


def wait_estimate(rt: Runtime, iid: InteractionId, handle_time_s: float) -> WaitEstimate:
    """Where a waiting interaction stands, from the live queue."""
    return estimate(rt.center, iid, handle_time_s)


def do_announce_wait(rt: Runtime, iid: InteractionId, told: WaitEstimate) -> list[StoredEvent]:
    """Log what the caller was just told about their wait."""
    return rt.apply(lambda c, now: c.announce_wait(iid, told.position, told.expected_wait_s, now))
