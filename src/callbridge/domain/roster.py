"""The roster: queues, dispositions and agents as configured, and the agents' presence.

`ContactCenter` (center.py) adds everything that happens to interactions. Like it, each
method checks its input first, changing nothing on error, and returns the events that tell
what changed; an agent who becomes Ready may be offered work in the same call.
"""

from __future__ import annotations

from collections.abc import Iterable

from callbridge.domain.agents import LOGIN_REASON, Agent, Presence
from callbridge.domain.channels import DEFAULT_CAPACITY, Channel
from callbridge.domain.errors import InvalidInput, InvalidState
from callbridge.domain.events import AgentSaved, DispositionSaved, Event, QueueRemoved, QueueSaved
from callbridge.domain.ids import AgentId, DispositionCode, GroupName, QueueId, SkillId
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.live import Disposition, LiveState
from callbridge.domain.queues import Queue


class Roster(LiveState):
    # --- configuration ---------------------------------------------------------------------

    def save_queue(self, queue: Queue, now: float) -> list[Event]:
        for target in sorted(queue.sends_to):
            self.queue(target)
        self.index.set_queue(queue)
        events: list[Event] = [QueueSaved(at=now, queue_id=queue.id, name=queue.name)]
        for iid in list(self.index.waiting_in(queue.id)):
            ix = self.interactions[iid]
            if ix.state is S.QUEUED:
                # The levels and max wait may have changed: time the rest of the wait anew.
                self.schedule_queue_timers(ix, queue, now)
                self.dispatch_interaction(ix, now, events)
        return events

    def remove_queue(self, queue_id: QueueId, now: float) -> list[Event]:
        self.queue(queue_id)
        if self.index.waiting_count(queue_id):
            raise InvalidState(
                f"queue {queue_id} still has interactions waiting", queue_id=queue_id
            )
        for other in self.queues.values():
            if queue_id in other.sends_to:
                raise InvalidState(f"queue {other.id} overflows into {queue_id}", queue_id=queue_id)
        self.index.remove_queue(queue_id)
        return [QueueRemoved(at=now, queue_id=queue_id)]

    def save_disposition(self, code: DispositionCode, label: str, now: float) -> list[Event]:
        if not code:
            raise InvalidInput("disposition code is empty", field="code")
        if not label:
            raise InvalidInput("disposition label is empty", field="label")
        self.dispositions[code] = Disposition(code, label)
        return [DispositionSaved(at=now, code=code, label=label)]

    def save_agent(
        self,
        agent_id: AgentId,
        name: str,
        skills: dict[SkillId, int],
        capacity: dict[Channel, int] | None,
        groups: Iterable[GroupName],
        now: float,
    ) -> list[Event]:
        existing = self.agents.get(agent_id)
        if existing is None:
            agent = Agent(
                agent_id,
                name,
                dict(skills),
                dict(DEFAULT_CAPACITY if capacity is None else capacity),
                frozenset(groups),
                ordinal=self.next_ordinal,
                idle_since=now,
                presence_since=now,
            )
            self.next_ordinal += 1
            self.agents[agent_id] = agent
        else:
            # validate on a throw-away copy so a bad update changes nothing
            Agent(
                agent_id,
                name,
                dict(skills),
                dict(existing.capacity if capacity is None else capacity),
            )
            agent = existing
            agent.name, agent.skills, agent.groups = name, dict(skills), frozenset(groups)
            if capacity is not None:
                agent.capacity = dict(capacity)
        self.index.set_agent(agent)
        events: list[Event] = [
            AgentSaved(
                at=now,
                agent_id=agent.id,
                name=agent.name,
                skills=dict(agent.skills),
                capacity={c.value: n for c, n in agent.capacity.items()},
                groups=tuple(sorted(agent.groups)),
            )
        ]
        self._dispatch_agent(agent, now, events)
        return events

    # --- agent presence --------------------------------------------------------------------

    def login(self, agent_id: AgentId, now: float) -> list[Event]:
        agent = self.agent(agent_id)
        if agent.presence is not Presence.LOGGED_OUT:
            raise InvalidState(f"agent {agent_id} is already logged in", agent_id=agent_id)
        agent.logged_in_at, agent.busy_seconds = now, 0.0
        return self._set_presence(agent, Presence.NOT_READY, LOGIN_REASON, now)

    def set_ready(self, agent_id: AgentId, now: float) -> list[Event]:
        agent = self._logged_in(agent_id)
        if agent.presence is Presence.READY:
            return []
        if not agent.work:
            agent.idle_since = now
        events = self._set_presence(agent, Presence.READY, None, now)
        self._dispatch_agent(agent, now, events)
        return events

    def set_not_ready(self, agent_id: AgentId, reason: str, now: float) -> list[Event]:
        if not reason.strip():
            raise InvalidInput("a reason code is required for Not Ready", field="reason")
        agent = self._logged_in(agent_id)
        return self._set_presence(agent, Presence.NOT_READY, reason.strip(), now)

    def logout(self, agent_id: AgentId, now: float) -> list[Event]:
        agent = self._logged_in(agent_id)
        if agent.work:
            raise InvalidState(
                f"agent {agent_id} still has {len(agent.work)} interaction(s)", agent_id=agent_id
            )
        agent.logged_in_at = None
        return self._set_presence(agent, Presence.LOGGED_OUT, None, now)

    def _logged_in(self, agent_id: AgentId) -> Agent:
        agent = self.agent(agent_id)
        if agent.presence is Presence.LOGGED_OUT:
            raise InvalidState(f"agent {agent_id} is logged out", agent_id=agent_id)
        return agent
