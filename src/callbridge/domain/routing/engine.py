"""The two routing decisions, as functions over the index.

- `pick_agent`: an interaction is waiting (it arrived, went back to its queue, or escalated);
  which available agent takes it?
- `pick_interaction`: an agent became available; which waiting interaction does it take?
  Priority first, then age, across every queue the agent may serve.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import cast

from callbridge.domain.agents import Agent
from callbridge.domain.channels import Channel
from callbridge.domain.frozen import constructor
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.interactions import Interaction
from callbridge.domain.queues import Queue, Strategy
from callbridge.domain.routing.explanation import (
    MAX_LISTED,
    MAX_RANKED,
    AgentCandidate,
    PassedOver,
    RoutingDecision,
    Trigger,
    WaitingCandidate,
)
from callbridge.domain.routing.index import IdleEntry, RoutingIndex, order_key
from callbridge.domain.routing.strategies import STRATEGIES, Context, rule_text

VOICE = Channel.VOICE
# Enum members and values as module names: an Enum class attribute or `.value` costs a Python
# call on 3.11, and these run on every decision.
_LONGEST_IDLE = Strategy.LONGEST_IDLE
_INTERACTION_WAITING, _AGENT_AVAILABLE = Trigger.INTERACTION_WAITING, Trigger.AGENT_AVAILABLE
_STRATEGY_NAMES = {s: s.value for s in Strategy}
# Built for every decision by plain functions rather than by calling their classes (see
# frozen.constructor): the same values, in about a third of the time.
_decision = constructor(RoutingDecision)
_candidate = constructor(AgentCandidate)
_waiting = constructor(WaitingCandidate)


def _idle_rule(idle_s: float, free: int) -> str:
    return (
        f"idle {idle_s:.1f}s, the longest of the {free} free "
        f"agent(s) in this queue's order who could take it"
    )


def _skill_rule(proficiency: float, free: int) -> str:
    return (
        f"proficiency {proficiency:g} in the required skills, the highest of the "
        f"{free} free agent(s) in this queue's order who could take it"
    )


def _line_rule(priority: int, waited_s: float, heads: int) -> str:
    return (
        f"priority {priority}, waited {waited_s:.1f}s: first in "
        f"line among {heads} queue head(s) the agent may take"
    )


def meets_extra_skills(agent: Agent, interaction: Interaction) -> bool:
    skills = agent.skills
    return all(skills.get(s, 0) >= p for s, p in interaction.extra_skills.items())


def _unable(agent: Agent, lowest: int, level: int, interaction: Interaction) -> str | None:
    """Why a free agent of the queue cannot take this interaction now, or None if it can."""
    if lowest > level:
        return f"qualifies from level {lowest}, the interaction is at level {level}"
    if not agent.can_take(interaction.channel):
        return f"no room for {interaction.channel.value}"
    if interaction.id in agent.work:
        return "already holds this interaction"
    if interaction.extra_skills and not meets_extra_skills(agent, interaction):
        return "lacks a skill this interaction needs"
    return None


def pick_agent(
    index: RoutingIndex,
    agents: Mapping[AgentId, Agent],
    interaction: Interaction,
    now: float,
    last_ordinal: Mapping[QueueId, int],
) -> RoutingDecision | None:
    queue_id = interaction.queue_id
    assert queue_id is not None and interaction.queue_entered_at is not None
    queue = index.queues[queue_id]
    # queue.level_at(...), without the call where the queue does not escalate (most do not)
    level = (
        0 if len(queue.level_starts) == 1 else queue.level_at(now - interaction.queue_entered_at)
    )
    pool = index.available[queue_id]
    passed: list[PassedOver] = []  # agents who could not take it, as the explanation lists them
    if queue.strategy is _LONGEST_IDLE:
        if queue_id in index.unordered:  # else ordered_pool(queue_id) is the pool as it is
            pool = index.ordered_pool(queue_id)
        if not pool:
            return None
        best: Agent | None = None
        # The first free agent, longest idle, takes a plain call if it has nothing in hand and
        # room for voice: _first_in_idle_order would take it, after a call.
        for agent_id, lowest in pool.items():
            first = agents[agent_id]
            if (
                lowest <= level
                and not first.work
                and interaction.channel is VOICE
                and not interaction.extra_skills
                and first.capacity.get(VOICE)
            ):
                best = first
            break
        if best is None:
            best = _first_in_idle_order(agents, pool, level, interaction, passed)
            if best is None:
                return None
        listed: tuple[AgentCandidate, ...] = (_candidate(best.id, (best.idle_since, best.ordinal)),)
        ranked = 1
        # rule_on_read(_idle_rule, ...), inline: the text is written only if anyone reads it
        rule = cast(str, (_idle_rule, now - best.idle_since, len(pool)))
    # The heap ranks by the first level's requirement: most skilled past it ranks afresh.
    elif (heap := index.idle_order.get(queue_id)) is not None and level == 0:
        found = _front_of_order(index, agents, queue, heap, pool, level, interaction, passed)
        if found is None:
            return None
        best, score = found
        listed = (_candidate(best.id, score),)
        ranked = 1
        rule = cast(str, (_skill_rule, -score[0], len(pool)))  # rule_on_read(...), inline
    else:
        ctx = Context(queue.levels[level], now, last_ordinal.get(queue_id, -1))
        key = STRATEGIES[queue.strategy]
        scored: list[tuple[tuple[float, ...], AgentId]] = []
        # Fast path: pool agents are Ready, so one with no work takes a call if it has room.
        plain_voice = interaction.channel is VOICE and not interaction.extra_skills
        for agent_id, lowest in pool.items():
            agent = agents[agent_id]
            if plain_voice and lowest <= level and not agent.work and agent.capacity.get(VOICE):
                scored.append((key(agent, ctx), agent_id))
                continue
            reason = _unable(agent, lowest, level, interaction)
            if reason is None:
                scored.append((key(agent, ctx), agent_id))
            elif len(passed) < MAX_LISTED:
                passed.append(PassedOver(agent_id, reason))
        if not scored:
            return None
        top = heapq.nsmallest(MAX_RANKED, scored)  # keys end in the ordinal: no ties
        best = agents[top[0][1]]
        listed = tuple(AgentCandidate(agent_id, k) for k, agent_id in top)
        ranked = len(scored)
        rule = rule_text(queue.strategy, best, ctx, ranked)
    return _decision(
        trigger=_INTERACTION_WAITING,
        interaction_id=interaction.id,
        queue_id=queue_id,
        agent_id=best.id,
        level=level,
        requirement=queue.level_texts[level],
        strategy=_STRATEGY_NAMES[queue.strategy],
        rule=rule,
        agent_candidates=listed,
        passed_over=tuple(passed) if passed else (),
        candidates_total=ranked,
        pool_size=len(pool),
    )


def _first_in_idle_order(
    agents: Mapping[AgentId, Agent],
    pool: Mapping[AgentId, int],
    level: int,
    interaction: Interaction,
    passed: list[PassedOver],
) -> Agent | None:
    """The longest-idle free agent who can take the interaction: the first such in the pool."""
    plain_voice = interaction.channel is VOICE and not interaction.extra_skills
    for agent_id, lowest in pool.items():
        agent = agents[agent_id]
        if plain_voice and lowest <= level and not agent.work and agent.capacity.get(VOICE):
            return agent
        reason = _unable(agent, lowest, level, interaction)
        if reason is None:
            return agent
        if len(passed) < MAX_LISTED:
            passed.append(PassedOver(agent_id, reason))
    return None


def _front_of_order(
    index: RoutingIndex,
    agents: Mapping[AgentId, Agent],
    queue: Queue,
    heap: list[IdleEntry],
    pool: Mapping[AgentId, int],
    level: int,
    interaction: Interaction,
    passed: list[PassedOver],
) -> tuple[Agent, tuple[float, ...]] | None:
    """The first free agent in the queue's order who can take the interaction, and its key.

    Stale entries (the agent is no longer free, or freed again since) are dropped on the way;
    agents who are free but cannot take this one are put back afterwards.
    """
    skipped: list[IdleEntry] = []
    best: tuple[Agent, tuple[float, ...]] | None = None
    while heap:
        key, epoch, agent_id = heap[0]
        if agent_id not in pool or not index.is_current(agent_id, epoch):
            heapq.heappop(heap)
            continue
        agent = agents[agent_id]
        fresh = order_key(queue, agent)
        if fresh != key:  # changed without a sync: file it under its real key
            heapq.heapreplace(heap, (fresh, epoch, agent_id))
            continue
        reason = _unable(agent, pool[agent_id], level, interaction)
        if reason is None:
            best = (agent, key)
            break
        if len(passed) < MAX_LISTED:
            passed.append(PassedOver(agent_id, reason))
        skipped.append(heapq.heappop(heap))
    for entry in skipped:
        heapq.heappush(heap, entry)
    return best


def pick_interaction(
    index: RoutingIndex,
    interactions: Mapping[InteractionId, Interaction],
    agent: Agent,
    now: float,
) -> RoutingDecision | None:
    best: Interaction | None = None
    best_key: tuple[int, float, int] | None = None
    best_queue: Queue | None = None
    heads: list[WaitingCandidate] = []
    for queue_id, lowest in index.agent_levels.get(agent.id, {}).items():
        buckets = index.waiting[queue_id]
        if not buckets:
            continue
        queue = index.queues[queue_id]
        for (priority, channel), bucket in buckets.items():
            if best_key is not None and -priority > best_key[0]:
                continue
            if not agent.can_take(channel):
                continue
            for _, iid in bucket:
                ix = interactions[iid]
                assert ix.queue_entered_at is not None
                if queue.level_at(now - ix.queue_entered_at) < lowest:
                    break  # everyone behind has waited less: none is at a high enough level
                if iid in agent.work or (ix.extra_skills and not meets_extra_skills(agent, ix)):
                    continue
                key = (-priority, ix.queue_entered_at, ix.seq)
                if len(heads) < MAX_LISTED:
                    heads.append(_waiting(iid, queue_id, priority, now - ix.queue_entered_at))
                if best_key is None or key < best_key:
                    best, best_key, best_queue = ix, key, queue
                break
    if best is None or best_queue is None:
        return None
    assert best.queue_entered_at is not None
    level = best_queue.level_at(now - best.queue_entered_at)
    return _decision(
        trigger=_AGENT_AVAILABLE,
        interaction_id=best.id,
        queue_id=best_queue.id,
        agent_id=agent.id,
        level=level,
        requirement=best_queue.level_texts[level],
        strategy="priority_then_age",
        # rule_on_read(_line_rule, ...), inline: the text is written only if anyone reads it
        rule=cast(str, (_line_rule, best.priority, now - best.queue_entered_at, len(heads))),
        waiting_candidates=tuple(heads),
        candidates_total=len(heads),
    )
