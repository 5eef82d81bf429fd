"""The routing index: who could serve which queue at which level, who is free, who is waiting.

The naive way to route scans every agent for every decision. The index keeps, per queue, only
the agents who are available now and could qualify at some escalation level (with the lowest
level at which they do), and per queue, per (priority, channel), the waiting interactions in line
order. Line order within one bucket is also escalation order (older entries have waited longer),
which lets a freed agent stop at the first entry it is not yet allowed to take.
"""

from __future__ import annotations

import bisect
import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator

from callbridge.domain.agents import Agent, Presence
from callbridge.domain.channels import Channel
from callbridge.domain.ids import AgentId, GroupName, InteractionId, QueueId, SkillId
from callbridge.domain.interactions import Interaction
from callbridge.domain.queues import Queue, Strategy

Level = tuple[QueueId, int]
BucketKey = tuple[int, Channel]  # (priority, channel)
Entry = tuple[int, InteractionId]  # (seq, id)
# (strategy key, epoch, agent): a queue's free agents in the order its strategy ranks them
IdleEntry = tuple[tuple[float, ...], int, AgentId]
# Strategies whose ranking of an agent depends only on the agent (and, for most skilled, the
# queue's first level): their queues keep free agents in a heap in that order.
ORDERED = frozenset({Strategy.MOST_SKILLED})
_LONGEST_IDLE = Strategy.LONGEST_IDLE  # an Enum class attribute costs a Python call on 3.11
_READY = Presence.READY
_VOICE = Channel.VOICE
_NO_LEVELS: dict[QueueId, int] = {}  # an agent in no queue (never changed)


def order_key(queue: Queue, agent: Agent) -> tuple[float, ...]:
    """The agent's rank in the queue's order: the strategy's key at the first level."""
    if queue.strategy is Strategy.MOST_SKILLED:
        return (-agent.proficiency_score(queue.levels[0]), agent.idle_since, agent.ordinal)
    return (agent.idle_since, agent.ordinal)


class RoutingIndex:
    def __init__(self) -> None:
        self.queues: dict[QueueId, Queue] = {}
        # queue levels by what they ask for, to find an agent's queues without scanning all
        self._levels_by_skill: dict[SkillId, set[Level]] = defaultdict(set)
        self._levels_by_group: dict[GroupName, set[Level]] = defaultdict(set)
        self._levels_any: set[Level] = set()
        # agents by what they have, to find a queue's agents without scanning all
        self._agents: dict[AgentId, Agent] = {}
        self._agents_by_skill: dict[SkillId, set[AgentId]] = defaultdict(set)
        self._agents_by_group: dict[GroupName, set[AgentId]] = defaultdict(set)
        # agent -> queue -> lowest level at which the agent qualifies
        self.agent_levels: dict[AgentId, dict[QueueId, int]] = {}
        # queue -> available agent -> that lowest level
        self.available: dict[QueueId, dict[AgentId, int]] = {}
        self._available_agents: set[AgentId] = set()
        # Longest-idle queues keep their free agents in a heap, so a decision looks at the
        # front instead of every free agent. Entries are never removed in place: an entry whose
        # epoch is not the agent's current one is dropped when it reaches the front.
        self.idle_order: dict[QueueId, list[IdleEntry]] = {}
        self._epoch: dict[AgentId, int] = {}
        self._idle_key: dict[AgentId, float] = {}
        self._next_epoch = 0
        # Longest-idle queues keep their pool dict itself in idle order (agents mostly become
        # free "now", so appending keeps it sorted): a decision takes the first who can, and
        # an agent leaves the order in O(1). An insertion out of order marks the queue, and
        # its pool is sorted again before the next decision reads it.
        self._pool_tail: dict[QueueId, tuple[float, int]] = {}
        # the marked queues (pick_agent calls ordered_pool only for these)
        self.unordered: set[QueueId] = set()
        # queue -> (priority, channel) -> sorted entries
        self.waiting: dict[QueueId, dict[BucketKey, list[Entry]]] = {}
        self.waiting_total = 0  # in every queue: a freed agent skips the search when none
        # agent -> (queue, its pool, the agent's lowest level there, longest idle?) for each of
        # its queues: what freeing or busying the agent touches (twice per call), worked out
        # once after a change of queues or agents, which empties it, rather than every time
        self._pools_of: dict[AgentId, list[tuple[QueueId, dict[AgentId, int], int, bool]]] = {}

    # --- queues ------------------------------------------------------------------------------

    def set_queue(self, queue: Queue) -> None:
        self._pools_of.clear()
        if queue.id in self.queues:
            self._forget_queue_levels(queue.id)
            for levels in self.agent_levels.values():
                levels.pop(queue.id, None)
            self.available[queue.id].clear()
        self.queues[queue.id] = queue
        self.available.setdefault(queue.id, {})
        self.waiting.setdefault(queue.id, {})
        for level, req in enumerate(queue.levels):
            key = (queue.id, level)
            if req.groups:
                for group in req.groups:
                    self._levels_by_group[group].add(key)
            if req.skills:
                self._levels_by_skill[req.skills[0].skill].add(key)
            else:
                self._levels_any.add(key)
        for agent_id in self._agents_for_queue(queue):
            self._refresh_agent_queue(self._agents[agent_id], queue)
        self.idle_order.pop(queue.id, None)
        if queue.strategy in ORDERED:
            self.idle_order[queue.id] = self._fresh_idle_order(queue.id)
        self._pool_tail.pop(queue.id, None)
        self.unordered.discard(queue.id)
        if queue.strategy is Strategy.LONGEST_IDLE:
            self.unordered.add(queue.id)

    def ordered_pool(self, queue_id: QueueId) -> dict[AgentId, int]:
        """A longest-idle queue's free agents, longest idle first."""
        pool = self.available[queue_id]
        if queue_id in self.unordered:
            agents = self._agents
            items = sorted(
                pool.items(), key=lambda i: (agents[i[0]].idle_since, agents[i[0]].ordinal)
            )
            pool.clear()
            pool.update(items)
            self.unordered.discard(queue_id)
            if items:
                last = agents[items[-1][0]]
                self._pool_tail[queue_id] = (last.idle_since, last.ordinal)
        return pool

    def _append_in_order(self, queue_id: QueueId, agent: Agent, level: int) -> None:
        pool = self.available[queue_id]
        pool.pop(agent.id, None)
        pool[agent.id] = level
        key = (agent.idle_since, agent.ordinal)
        tail = self._pool_tail.get(queue_id)
        if tail is not None and key < tail:
            self.unordered.add(queue_id)
        else:
            self._pool_tail[queue_id] = key

    def _fresh_idle_order(self, queue_id: QueueId) -> list[IdleEntry]:
        queue = self.queues[queue_id]
        heap = [
            (order_key(queue, a), self._epoch[a.id], a.id)
            for a in (self._agents[i] for i in self.available[queue_id])
        ]
        heapq.heapify(heap)
        return heap

    def remove_queue(self, queue_id: QueueId) -> None:
        self._pools_of.clear()
        self._forget_queue_levels(queue_id)
        del self.queues[queue_id]
        del self.available[queue_id]
        self.idle_order.pop(queue_id, None)
        self._pool_tail.pop(queue_id, None)
        self.unordered.discard(queue_id)
        del self.waiting[queue_id]
        for levels in self.agent_levels.values():
            levels.pop(queue_id, None)

    def _forget_queue_levels(self, queue_id: QueueId) -> None:
        for table in (self._levels_by_skill, self._levels_by_group):
            for keys in table.values():
                for key in [k for k in keys if k[0] == queue_id]:
                    keys.discard(key)
        self._levels_any = {k for k in self._levels_any if k[0] != queue_id}

    def _agents_for_queue(self, queue: Queue) -> set[AgentId]:
        found: set[AgentId] = set()
        for req in queue.levels:
            for group in req.groups:
                found |= self._agents_by_group.get(group, set())
            if req.skills:
                found |= self._agents_by_skill.get(req.skills[0].skill, set())
            else:
                return set(self._agents)
        return found

    def _refresh_agent_queue(self, agent: Agent, queue: Queue) -> None:
        levels = self.agent_levels.setdefault(agent.id, {})
        lowest = next((i for i, req in enumerate(queue.levels) if agent.qualifies(req)), None)
        pool = self.available[queue.id]
        if lowest is None:
            levels.pop(queue.id, None)
            pool.pop(agent.id, None)
        else:
            levels[queue.id] = lowest
            if agent.id in self._available_agents:
                pool[agent.id] = lowest

    # --- agents ------------------------------------------------------------------------------

    def set_agent(self, agent: Agent) -> None:
        """Add an agent, or take in changed skills or groups."""
        self._pools_of.clear()
        self.remove_agent(agent.id)
        self._agents[agent.id] = agent
        for skill in agent.skills:
            self._agents_by_skill[skill].add(agent.id)
        for group in agent.groups:
            self._agents_by_group[group].add(agent.id)
        candidates: set[Level] = set(self._levels_any)
        for skill in agent.skills:
            candidates |= self._levels_by_skill.get(skill, set())
        for group in agent.groups:
            candidates |= self._levels_by_group.get(group, set())
        levels: dict[QueueId, int] = {}
        # Sorted: a freed agent looks through its queues in this order, and the explanation
        # lists the queue heads it saw in it. A set's order changes with the hash seed.
        for queue_id, level in sorted(candidates):
            if level < levels.get(queue_id, 1 << 30) and agent.qualifies(
                self.queues[queue_id].levels[level]
            ):
                levels[queue_id] = level
        self.agent_levels[agent.id] = levels
        self.sync_availability(agent)

    def remove_agent(self, agent_id: AgentId) -> None:
        self._pools_of.clear()
        agent = self._agents.pop(agent_id, None)
        if agent is None:
            return
        self._leave_pools(agent_id)
        for skill in agent.skills:
            self._agents_by_skill[skill].discard(agent_id)
        for group in agent.groups:
            self._agents_by_group[group].discard(agent_id)
        self.agent_levels.pop(agent_id, None)

    def sync_availability(self, agent: Agent) -> None:
        """Call after anything that may change whether the agent can take work or its idle time."""
        agent_id = agent.id
        # agent.is_available(), its usual cases inline (twice per call): not Ready, Ready with
        # nothing in hand, or holding a call (which takes all of an agent)
        if agent.presence is not _READY:
            available = False
        elif not agent.work:
            available = any(agent.capacity.values())
        else:
            for item in agent.work.values():
                if item.channel is _VOICE:
                    available = False
                    break
            else:
                available = agent.is_available()
        if available == (agent_id in self._available_agents):
            if available and self._idle_key.get(agent_id) != agent.idle_since:
                for queue_id, level in self.agent_levels.get(agent_id, _NO_LEVELS).items():
                    if self.queues[queue_id].strategy is _LONGEST_IDLE:
                        self._append_in_order(queue_id, agent, level)
                self._push_idle(agent)
        # Freed from work, or given work: each once per call, so the helpers are inline here.
        elif available:
            self._available_agents.add(agent_id)
            pools = self._pools_of.get(agent_id) or self._pools(agent_id)
            for queue_id, pool, level, longest_idle in pools:
                pool[agent_id] = level
                if not longest_idle:
                    continue
                # self._append_in_order(queue_id, agent, level): a freed agent is not in the pool
                key = (agent.idle_since, agent.ordinal)
                tail = self._pool_tail.get(queue_id)
                if tail is not None and key < tail:
                    self.unordered.add(queue_id)
                else:
                    self._pool_tail[queue_id] = key
            if self.idle_order:
                self._push_idle(agent)
            else:  # self._push_idle(agent), where no queue keeps a heap
                self._next_epoch += 1
                self._epoch[agent_id] = self._next_epoch
                self._idle_key[agent_id] = agent.idle_since
        else:  # self._leave_pools(agent_id)
            self._available_agents.discard(agent_id)
            for _, pool, _, _ in self._pools_of.get(agent_id) or self._pools(agent_id):
                pool.pop(agent_id, None)

    def _pools(self, agent_id: AgentId) -> list[tuple[QueueId, dict[AgentId, int], int, bool]]:
        pools = self._pools_of[agent_id] = [
            (
                queue_id,
                self.available[queue_id],
                level,
                self.queues[queue_id].strategy is _LONGEST_IDLE,
            )
            for queue_id, level in self.agent_levels.get(agent_id, _NO_LEVELS).items()
        ]
        return pools

    def is_current(self, agent_id: AgentId, epoch: int) -> bool:
        return self._epoch.get(agent_id) == epoch

    def _push_idle(self, agent: Agent) -> None:
        self._next_epoch += 1
        epoch = self._epoch[agent.id] = self._next_epoch
        self._idle_key[agent.id] = agent.idle_since
        if not self.idle_order:  # no queue keeps a heap (none ranks by skill)
            return
        for queue_id in self.agent_levels.get(agent.id, {}):
            heap = self.idle_order.get(queue_id)
            if heap is None:
                continue
            entry = (order_key(self.queues[queue_id], agent), epoch, agent.id)
            if len(heap) > 2 * len(self.available[queue_id]) + 32:
                # A quiet queue collects stale entries from agents busy elsewhere: start over
                # from its pool, so neither memory nor its next decision grows with them.
                self.idle_order[queue_id] = self._fresh_idle_order(queue_id)
            else:
                heapq.heappush(heap, entry)

    def _leave_pools(self, agent_id: AgentId) -> None:
        """The agent is no longer free: out of every queue's pool."""
        self._available_agents.discard(agent_id)
        for queue_id in self.agent_levels.get(agent_id, _NO_LEVELS):
            self.available[queue_id].pop(agent_id, None)

    # --- waiting interactions ------------------------------------------------------------

    def add_waiting(self, interaction: Interaction) -> None:
        assert interaction.queue_id is not None
        key = (interaction.priority, interaction.channel)
        bucket = self.waiting[interaction.queue_id].setdefault(key, [])
        entry = (interaction.seq, interaction.id)
        if not bucket or bucket[-1] < entry:
            bucket.append(entry)
        else:
            bisect.insort(bucket, entry)
        self.waiting_total += 1

    def remove_waiting(self, interaction: Interaction) -> None:
        assert interaction.queue_id is not None
        buckets = self.waiting[interaction.queue_id]
        key = (interaction.priority, interaction.channel)
        bucket = buckets[key]
        entry = (interaction.seq, interaction.id)
        i = bisect.bisect_left(bucket, entry)
        if i == len(bucket) or bucket[i] != entry:
            raise KeyError(interaction.id)
        del bucket[i]
        self.waiting_total -= 1
        if not bucket:
            del buckets[key]

    def waiting_in(self, queue_id: QueueId) -> Iterator[InteractionId]:
        """Everyone waiting in a queue, best first (priority, then line order)."""
        buckets = self.waiting[queue_id]
        entries: list[tuple[int, int, InteractionId]] = [
            (-prio, seq, iid) for (prio, _), bucket in buckets.items() for seq, iid in bucket
        ]
        for _, _, iid in sorted(entries):
            yield iid

    def waiting_count(self, queue_id: QueueId) -> int:
        return sum(len(b) for b in self.waiting[queue_id].values())

    def all_waiting(self) -> Iterable[InteractionId]:
        for buckets in self.waiting.values():
            for bucket in buckets.values():
                for _, iid in bucket:
                    yield iid
