"""The live state of the center: who is where, kept in step with the routing index and timers.

`ContactCenter` (center.py) builds every operation on this: the bookkeeping that puts an
interaction in a line, offers it, and gives an agent work or takes it away, so that an
interaction is always in exactly one place and the index always knows who is free.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from callbridge.domain.agents import Agent, Presence, WorkItem, WorkPhase
from callbridge.domain.errors import NotFound
from callbridge.domain.events import (
    AgentPresenceChanged,
    Event,
    InteractionOffered,
    InteractionQueued,
)
from callbridge.domain.frozen import constructor
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId, QueueId
from callbridge.domain.interactions import TRANSITIONS, Interaction
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.queues import Queue, WrapUpPolicy
from callbridge.domain.routing.engine import pick_agent, pick_interaction
from callbridge.domain.routing.explanation import RoutingDecision
from callbridge.domain.routing.index import RoutingIndex
from callbridge.domain.timers import TimerKind, Timers

DEFAULT_OFFER_TIMEOUT_S = 15.0
NO_QUEUE_WRAP_UP = WrapUpPolicy(duration_s=0.0)
# Enum members as module names: an Enum class attribute costs a Python call on 3.11, and
# these run several times per interaction.
_QUEUED, _OFFERED, _ENDED = S.QUEUED, S.OFFERED, S.ENDED
_RESERVED = WorkPhase.RESERVED
_OFFER_TIMEOUT, _WRAP_UP_END = TimerKind.OFFER_TIMEOUT, TimerKind.WRAP_UP_END
# The events of every call, built by plain functions rather than by calling their classes
# (see frozen.constructor): the same values, in about a third of the time.
_queued = constructor(InteractionQueued)
_offered = constructor(InteractionOffered)


def when_waited(entered: float, wait: float) -> float:
    """The first clock reading at which `now - entered >= wait`.

    Not simply `entered + wait`: that sum can round down (0.7 + 0.1 < 0.8), and a timer set
    there finds the wait one ulp short, so nothing escalates or overflows.
    """
    at = entered + wait
    while at - entered < wait:
        at = math.nextafter(at, math.inf)
    return at


@dataclass(frozen=True, slots=True)
class Disposition:
    code: DispositionCode
    label: str


class LiveState:
    def __init__(self) -> None:
        self.agents: dict[AgentId, Agent] = {}
        self.dispositions: dict[DispositionCode, Disposition] = {}
        # open interactions, and ended ones whose agent is still wrapping up
        self.interactions: dict[InteractionId, Interaction] = {}
        self.index = RoutingIndex()
        self.timers = Timers()
        self.next_seq = 1
        # Interactions that left the live state since the last drain_closed(): the caller
        # stores their final form.
        self.closed: list[Interaction] = []
        self._last_ordinal: dict[QueueId, int] = {}
        # When the latest interaction entered a queue. A deadline acted on later than that is
        # dated then, not at the deadline: the line stays in entry order, and nobody's wait is
        # negative when an agent freed by the deadline looks for work.
        self._last_entry_at = 0.0
        self.next_ordinal = 0

    @property
    def queues(self) -> dict[QueueId, Queue]:
        return self.index.queues

    # --- look-ups --------------------------------------------------------------------------

    def agent(self, agent_id: AgentId) -> Agent:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise NotFound(f"no agent {agent_id!r}", field="agent_id", agent_id=agent_id) from None

    def queue(self, queue_id: QueueId) -> Queue:
        try:
            return self.index.queues[queue_id]
        except KeyError:
            raise NotFound(f"no queue {queue_id!r}", field="queue_id", queue_id=queue_id) from None

    def interaction(self, interaction_id: InteractionId) -> Interaction:
        try:
            return self.interactions[interaction_id]
        except KeyError:
            raise NotFound(
                f"no open interaction {interaction_id!r}",
                field="interaction_id",
                interaction_id=interaction_id,
            ) from None

    def next_deadline(self) -> float | None:
        """The next deadline that can still matter. Timers made void since they were set (an
        offer accepted, a wrap-up finished, a wait ended) are dropped rather than woken for."""
        heap, interactions = self.timers.heap, self.interactions
        while heap:
            at, _, kind, interaction_id, token = heap[0]
            ix = interactions.get(interaction_id)
            if ix is not None:
                if kind is _OFFER_TIMEOUT:
                    if ix.state is _OFFERED and ix.version == token:
                        return at
                elif kind is _WRAP_UP_END:
                    if ix.state is _ENDED and ix.version == token:
                        return at
                elif ix.state is _QUEUED and ix.seq == token:
                    return at
            heapq.heappop(heap)
        return None

    def _set_presence(
        self, agent: Agent, presence: Presence, reason: str | None, now: float
    ) -> list[Event]:
        agent.presence, agent.reason, agent.presence_since = presence, reason, now
        self.index.sync_availability(agent)
        return [
            AgentPresenceChanged(at=now, agent_id=agent.id, presence=presence.value, reason=reason)
        ]

    def _enter_queue(
        self,
        ix: Interaction,
        queue: Queue,
        priority: int,
        reason: str,
        now: float,
        events: list[Event],
    ) -> None:
        if _QUEUED not in TRANSITIONS[ix.state]:  # ix.move_to(_QUEUED), inline: per call
            raise ix.cannot_move(_QUEUED)
        ix.state, ix.version = _QUEUED, ix.version + 1
        ix.queue_id, ix.priority, ix.seq = queue.id, priority, self.next_seq
        ix.queue_entered_at, ix.escalation_level, ix.agent_id = now, 0, None
        self.next_seq += 1
        if now > self._last_entry_at:
            self._last_entry_at = now
        events.append(
            _queued(
                at=now,
                interaction_id=ix.id,
                queue_id=queue.id,
                priority=priority,
                seq=ix.seq,
                reason=reason,
            )
        )
        # Just in line: level 0 (set above), and no timer unless the queue escalates or has a
        # maximum wait (schedule_queue_timers would do nothing else).
        if queue.max_wait_s is not None or len(queue.level_starts) > 1:
            self.schedule_queue_timers(ix, queue, now)
        # As dispatch_interaction, but it goes in line only if no agent takes it now: one
        # offered the instant it enters never waits (pick_agent reads free agents, not the line).
        decision = pick_agent(self.index, self.agents, ix, now, self._last_ordinal)
        if decision is None:
            self.index.add_waiting(ix)
        else:
            self._offer(ix, self.agents[decision.agent_id], decision, now, events, in_line=False)

    def schedule_queue_timers(self, ix: Interaction, queue: Queue, now: float) -> None:
        assert ix.queue_entered_at is not None
        waited = now - ix.queue_entered_at
        # Not max() with the old level: that may come from the queue's rules before a change.
        ix.escalation_level = queue.level_at(waited)
        step = queue.next_level_after(waited)
        if step is not None:
            at = when_waited(ix.queue_entered_at, step)
            self.timers.add(at, TimerKind.ESCALATION, ix.id, ix.seq)
        if queue.max_wait_s is not None and ix.callback_number is None:
            # Never in the past: one that went back to its place after waiting out max_wait
            # overflows from now, so no event is dated before the ones already told.
            at = max(now, when_waited(ix.queue_entered_at, queue.max_wait_s))
            self.timers.add(at, TimerKind.MAX_WAIT, ix.id, ix.seq)

    # --- routing ---------------------------------------------------------------------------

    def dispatch_interaction(self, ix: Interaction, now: float, events: list[Event]) -> None:
        decision = pick_agent(self.index, self.agents, ix, now, self._last_ordinal)
        if decision is not None:
            self._offer(ix, self.agents[decision.agent_id], decision, now, events)

    def _dispatch_agent(self, agent: Agent, now: float, events: list[Event]) -> None:
        if not self.index.waiting_total:  # nothing to pick from: pick_interaction finds none
            return
        while agent.is_available():
            decision = pick_interaction(self.index, self.interactions, agent, now)
            if decision is None:
                return
            self._offer(self.interactions[decision.interaction_id], agent, decision, now, events)

    def _offer(
        self,
        ix: Interaction,
        agent: Agent,
        decision: RoutingDecision,
        now: float,
        events: list[Event],
        in_line: bool = True,  # False: queued this instant, not put in line (_enter_queue)
    ) -> None:
        if ix.state is _QUEUED and in_line:
            self.index.remove_waiting(ix)
        if _OFFERED not in TRANSITIONS[ix.state]:  # ix.move_to(_OFFERED), inline: per call
            raise ix.cannot_move(_OFFERED)
        ix.state, ix.version = _OFFERED, ix.version + 1
        queue = self.index.queues.get(ix.queue_id) if ix.queue_id is not None else None
        ix.agent_id = agent.id
        ix.offer_deadline = now + (queue.offer_timeout_s if queue else DEFAULT_OFFER_TIMEOUT_S)
        if queue is not None:
            self._last_ordinal[queue.id] = agent.ordinal
        if not agent.work:
            agent.busy_since = now
        agent.work[ix.id] = WorkItem(ix.id, ix.channel, _RESERVED)
        self.index.sync_availability(agent)
        timers = self.timers  # timers.add(...), inline: per call
        heapq.heappush(
            timers.heap, (ix.offer_deadline, next(timers.seq), _OFFER_TIMEOUT, ix.id, ix.version)
        )
        events.append(
            _offered(
                at=now,
                interaction_id=ix.id,
                agent_id=agent.id,
                queue_id=ix.queue_id,
                deadline=ix.offer_deadline,
                decision=decision,
            )
        )

    def _remove_work(self, agent: Agent, ix: Interaction, now: float, events: list[Event]) -> None:
        del agent.work[ix.id]
        if not agent.work:
            if agent.busy_since is not None:
                agent.busy_seconds += now - agent.busy_since
            agent.busy_since, agent.idle_since = None, now
        self.index.sync_availability(agent)
        if self.index.waiting_total:  # else _dispatch_agent finds nothing: skip the call
            self._dispatch_agent(agent, now, events)

    def _close(self, ix: Interaction) -> None:
        del self.interactions[ix.id]
        self.closed.append(ix)

    def drain_closed(self) -> list[Interaction]:
        closed, self.closed = self.closed, []
        return closed
