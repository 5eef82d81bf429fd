"""Small builders for the domain tests: a center, ready agents, arriving interactions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.events import Event, InteractionOffered
from callbridge.domain.ids import AgentId, GroupName, InteractionId, QueueId, SkillId
from callbridge.domain.queues import Queue

E = TypeVar("E", bound=Event)

SUPPORT = QueueId("support")
SALES = QueueId("sales")
CALLER = "+15555550100"
DIALED = "+15555550199"


def skills(**levels: int) -> dict[SkillId, int]:
    return {SkillId(name): level for name, level in levels.items()}


def center_with(*queues: Queue, now: float = 0.0) -> ContactCenter:
    center = ContactCenter()
    for queue in queues:
        center.save_queue(queue, now)
    return center


def agent(
    center: ContactCenter,
    name: str,
    proficiency: dict[SkillId, int] | None = None,
    *,
    capacity: dict[Channel, int] | None = None,
    groups: Iterable[str] = (),
    now: float = 0.0,
    ready: bool = True,
) -> AgentId:
    """Save an agent, log them in and (unless told otherwise) make them Ready."""
    agent_id = AgentId(name)
    group_names = [GroupName(g) for g in groups]
    center.save_agent(agent_id, name.title(), proficiency or {}, capacity, group_names, now)
    center.login(agent_id, now)
    if ready:
        center.set_ready(agent_id, now)
    return agent_id


def arrive(
    center: ContactCenter,
    name: str,
    queue_id: QueueId = SUPPORT,
    *,
    now: float = 0.0,
    channel: Channel = Channel.VOICE,
    priority: int | None = None,
    extra: dict[SkillId, int] | None = None,
) -> list[Event]:
    """Create an inbound interaction and put it in a queue; the events of both."""
    iid = InteractionId(name)
    events = center.create_interaction(iid, channel, Direction.INBOUND, CALLER, DIALED, {}, now)
    return events + center.enqueue(iid, queue_id, now, priority, extra)


def of_type(events: Iterable[Event], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def one(events: Iterable[Event], kind: type[E]) -> E:
    found = of_type(events, kind)
    assert len(found) == 1, f"expected one {kind.__name__}, got {found}"
    return found[0]


def offers(events: Iterable[Event]) -> dict[InteractionId, AgentId]:
    """Who was offered what, in these events."""
    return {e.interaction_id: e.agent_id for e in of_type(events, InteractionOffered)}


def waiting(center: ContactCenter, queue_id: QueueId = SUPPORT) -> list[InteractionId]:
    """The queue's line, best first."""
    return list(center.index.waiting_in(queue_id))
