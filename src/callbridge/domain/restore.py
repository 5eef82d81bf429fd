"""Rebuilding the live center from what was stored, after a restart or a failed write."""

from __future__ import annotations

from collections.abc import Iterable

from callbridge.domain.agents import Agent, WorkItem, WorkPhase
from callbridge.domain.center import ContactCenter
from callbridge.domain.events import Event
from callbridge.domain.interactions import Interaction
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.live import Disposition
from callbridge.domain.queues import Queue
from callbridge.domain.timers import TimerKind

WORK_PHASE = {
    S.OFFERED: WorkPhase.RESERVED,
    S.CONNECTED: WorkPhase.BUSY,
    S.ON_HOLD: WorkPhase.BUSY,
    S.ENDED: WorkPhase.WRAP_UP,
}


def restore(
    queues: Iterable[Queue],
    agents: Iterable[Agent],
    dispositions: Iterable[Disposition],
    interactions: Iterable[Interaction],
    next_seq: int,
    now: float,
) -> ContactCenter:
    """A center holding the stored state. It routes nothing: see `route_waiting`.

    Agents' work is derived from the interactions (offered, connected, wrapping up), so the two
    cannot disagree after a restart. Timers are set again from the stored deadlines.
    """
    center = ContactCenter()
    _restore_queues(center, list(queues))
    for d in dispositions:
        center.dispositions[d.code] = d
    for agent in sorted(agents, key=lambda a: a.ordinal):
        agent.work = {}
        center.agents[agent.id] = agent
        center.next_ordinal = max(center.next_ordinal, agent.ordinal + 1)
    center.next_seq = next_seq
    waiting: list[Interaction] = []
    for ix in interactions:
        center.interactions[ix.id] = ix
        center.next_seq = max(center.next_seq, ix.seq + 1)
        holder = center.agents.get(ix.agent_id) if ix.agent_id is not None else None
        phase = WORK_PHASE.get(ix.state)
        if holder is not None and phase is not None:
            holder.work[ix.id] = WorkItem(ix.id, ix.channel, phase)
        if ix.state is S.QUEUED and ix.queue_id in center.queues:
            waiting.append(ix)
        # A deadline passed while down is acted on now, not dated back into the outage (where
        # its consequences, such as offers nobody could see, would be dated too).
        elif ix.state is S.OFFERED and ix.offer_deadline is not None:
            at = max(now, ix.offer_deadline)
            center.timers.add(at, TimerKind.OFFER_TIMEOUT, ix.id, ix.version)
        elif ix.state is S.ENDED and ix.wrap_up_deadline is not None:
            at = max(now, ix.wrap_up_deadline)
            center.timers.add(at, TimerKind.WRAP_UP_END, ix.id, ix.version)
    for agent in center.agents.values():
        if agent.work and agent.busy_since is None:
            agent.busy_since = now
        center.index.set_agent(agent)
    waiting.sort(key=lambda i: (-i.priority, i.seq))
    for ix in waiting:
        assert ix.queue_id is not None
        center.index.add_waiting(ix)
        center.schedule_queue_timers(ix, center.queues[ix.queue_id], now)
    return center


def route_waiting(center: ContactCenter, now: float) -> list[Event]:
    """Offer every waiting interaction that an available agent can take now, best first."""
    events: list[Event] = []
    waiting = [
        center.interactions[iid]
        for queue_id in center.queues
        for iid in center.index.waiting_in(queue_id)
    ]
    waiting.sort(key=lambda i: (-i.priority, i.queue_entered_at or 0.0, i.seq))
    for ix in waiting:
        if ix.state is S.QUEUED:
            center.dispatch_interaction(ix, now, events)
    return events


def _restore_queues(center: ContactCenter, queues: list[Queue]) -> None:
    """Queues in an order where each overflow target is known before the queue that uses it."""
    ids = {q.id for q in queues}
    pending = list(queues)
    while pending:
        ready = [
            q for q in pending if all(t in center.queues or t not in ids for t in q.sends_to)
        ] or pending[:1]
        for queue in ready:
            center.index.set_queue(queue)
            pending.remove(queue)
