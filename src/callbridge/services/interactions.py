"""Interaction use cases: arrive, be offered, talk, hold, transfer, end, wrap up."""

from __future__ import annotations

from dataclasses import dataclass, field

from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.errors import InvalidInput
from callbridge.domain.events import Event
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId, QueueId, SkillId
from callbridge.ports import StoredEvent
from callbridge.services.runtime import Change, Runtime

MAX_ATTACHED = 64
MAX_ATTACHED_VALUE = 4096


@dataclass(frozen=True, slots=True)
class NewInteraction:
    channel: Channel
    from_address: str
    to_address: str
    queue_id: QueueId
    direction: Direction = Direction.INBOUND
    priority: int | None = None
    attached: dict[str, str] = field(default_factory=dict)
    extra_skills: dict[SkillId, int] = field(default_factory=dict)


def check_new_interaction(rt: Runtime, new: NewInteraction) -> None:
    """Reject what can never be right before anything is created."""
    rt.center.queue(new.queue_id)
    if len(new.attached) > MAX_ATTACHED:
        raise InvalidInput(f"at most {MAX_ATTACHED} attached values", field="attached")
    for key, value in new.attached.items():
        if not key or len(value) > MAX_ATTACHED_VALUE:
            raise InvalidInput(
                f"attached value {key!r} is empty-named or too long", field=f"attached.{key}"
            )


def arrival(new: NewInteraction, iid: InteractionId) -> Change:
    """The change that creates an inbound interaction and puts it in its queue.

    The API applies it through the runtime; the simulator applies the same change to its own
    center on a virtual clock.
    """

    def change(c: ContactCenter, now: float) -> list[Event]:
        events = c.create_interaction(
            iid, new.channel, new.direction, new.from_address, new.to_address, new.attached, now
        )
        try:
            events += c.enqueue(iid, new.queue_id, now, new.priority, new.extra_skills or None)
        except Exception:
            c.interactions.pop(iid, None)  # validated above; undo the creation all the same
            raise
        return events

    return change


def do_create_interaction(
    rt: Runtime, new: NewInteraction, interaction_id: InteractionId | None = None
) -> list[StoredEvent]:
    """Create an inbound interaction and put it in its queue: one transaction."""
    check_new_interaction(rt, new)
    return rt.apply(arrival(new, interaction_id or InteractionId(rt.new_id())))


def do_accept(rt: Runtime, iid: InteractionId, agent_id: AgentId) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.accept(iid, agent_id, now))


def do_reject(rt: Runtime, iid: InteractionId, agent_id: AgentId) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.reject(iid, agent_id, now))


def do_hold(rt: Runtime, iid: InteractionId, agent_id: AgentId) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.hold(iid, agent_id, now))


def do_resume(rt: Runtime, iid: InteractionId, agent_id: AgentId) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.resume(iid, agent_id, now))


def do_transfer(
    rt: Runtime,
    iid: InteractionId,
    agent_id: AgentId,
    *,
    to_queue: QueueId | None = None,
    to_agent: AgentId | None = None,
    to_number: str | None = None,
) -> list[StoredEvent]:
    """Transfer to a queue (back in line there), to a named agent (offered to them), or a
    call to an outside number (it leaves the center)."""
    if sum(x is not None for x in (to_queue, to_agent, to_number)) != 1:
        raise InvalidInput("give exactly one of queue_id, agent_id and number", field="queue_id")
    if to_number is not None:
        number = to_number
        return rt.apply(lambda c, now: c.transfer_out(iid, agent_id, number, now))
    if to_queue is not None:
        queue = to_queue
        return rt.apply(lambda c, now: c.transfer_to_queue(iid, agent_id, queue, now))
    assert to_agent is not None
    target = to_agent
    return rt.apply(lambda c, now: c.transfer_to_agent(iid, agent_id, target, now))


def do_end(
    rt: Runtime, iid: InteractionId, by: str, agent_id: AgentId | None = None
) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.end(iid, by, now, agent_id))


def do_wrap_up(
    rt: Runtime,
    iid: InteractionId,
    agent_id: AgentId,
    disposition: DispositionCode | None,
    notes: str | None,
) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.wrap_up(iid, agent_id, disposition, notes, now))


def do_request_callback(rt: Runtime, iid: InteractionId, number: str) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.request_callback(iid, number, now))


def do_tick(rt: Runtime) -> list[StoredEvent]:
    """Act on every deadline that has passed (offer time-outs, wrap-ups, escalations)."""
    deadline = rt.center.next_deadline()
    if deadline is None or deadline > rt.clock.now():
        return []
    return rt.apply(lambda c, now: c.tick(now))


def do_dial(
    rt: Runtime,
    agent_id: AgentId,
    to_address: str,
    from_address: str,
    attached: dict[str, str],
    interaction_id: InteractionId | None = None,
) -> list[StoredEvent]:
    """Click-to-dial: an outbound call placed by the agent and connected to them."""
    if len(attached) > MAX_ATTACHED:
        raise InvalidInput(f"at most {MAX_ATTACHED} attached values", field="attached")
    iid = interaction_id or InteractionId(rt.new_id())
    return rt.apply(lambda c, now: c.dial(iid, agent_id, to_address, from_address, attached, now))


def do_call_progress(
    rt: Runtime, iid: InteractionId, leg: str, stage: str, status: int | None = None
) -> list[StoredEvent]:
    """Log a call leg's progress (ringing, answered, busy, no answer, failed), timestamped."""
    return rt.apply(lambda c, now: c.call_progress(iid, leg, stage, status, now))


def do_outbound_answered(
    rt: Runtime,
    iid: InteractionId,
    to_address: str,
    from_address: str,
    attached: dict[str, str],
) -> list[StoredEvent]:
    """A call the dialer placed was answered: a new outbound voice interaction, in no queue
    yet (`do_offer_answered` gives it to an agent; `do_end` by the system abandons it)."""
    if len(attached) > MAX_ATTACHED:
        raise InvalidInput(f"at most {MAX_ATTACHED} attached values", field="attached")
    return rt.apply(
        lambda c, now: c.create_interaction(
            iid, Channel.VOICE, Direction.OUTBOUND, from_address, to_address, attached, now
        )
    )


def do_offer_answered(
    rt: Runtime, iid: InteractionId, agent_id: AgentId, rule: str
) -> list[StoredEvent]:
    """Offer an answered dialer call to the agent the dialer chose (`rule` says why)."""
    return rt.apply(lambda c, now: c.offer_answered(iid, agent_id, rule, now))
