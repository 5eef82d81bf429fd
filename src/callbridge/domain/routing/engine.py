"""The two routing decisions, as functions over the index.

- `pick_agent`: an interaction is waiting (it arrived, went back to its queue, or escalated);
  which available agent takes it?
- `pick_interaction`: an agent became available; which waiting interaction does it take?
  Priority first, then age, across every queue the agent may serve.
"""

from __future__ import annotations

from collections.abc import Mapping

from callbridge.domain.agents import Agent
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.interactions import Interaction
from callbridge.domain.queues import Queue
from callbridge.domain.routing.explanation import (
    MAX_LISTED,
    AgentCandidate,
    PassedOver,
    RoutingDecision,
    Trigger,
    WaitingCandidate,
)
from callbridge.domain.routing.index import RoutingIndex
from callbridge.domain.routing.strategies import STRATEGIES, Context, rule_text


def meets_extra_skills(agent: Agent, interaction: Interaction) -> bool:
    skills = agent.skills
    return all(skills.get(s, 0) >= p for s, p in interaction.extra_skills.items())


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
    level = queue.level_at(now - interaction.queue_entered_at)
    requirement = queue.levels[level]
    channel = interaction.channel
    candidates: list[Agent] = []
    passed: list[PassedOver] = []
    for agent_id, lowest in index.available[queue_id].items():
        agent = agents[agent_id]
        if lowest > level:
            if len(passed) < MAX_LISTED:
                passed.append(
                    PassedOver(
                        agent_id,
                        f"qualifies from level {lowest}, the interaction is at level {level}",
                    )
                )
        elif not agent.can_take(channel):
            if len(passed) < MAX_LISTED:
                passed.append(PassedOver(agent_id, f"no room for {channel.value}"))
        elif interaction.id in agent.work:
            if len(passed) < MAX_LISTED:
                passed.append(PassedOver(agent_id, "already holds this interaction"))
        elif interaction.extra_skills and not meets_extra_skills(agent, interaction):
            if len(passed) < MAX_LISTED:
                passed.append(PassedOver(agent_id, "lacks a skill this interaction needs"))
        else:
            candidates.append(agent)
    if not candidates:
        return None
    ctx = Context(requirement, now, last_ordinal.get(queue_id, -1))
    key = STRATEGIES[queue.strategy]
    if len(candidates) <= MAX_LISTED:
        ranked = sorted(candidates, key=lambda a: key(a, ctx))
        best = ranked[0]
        listed = tuple(AgentCandidate(a.id, key(a, ctx)) for a in ranked)
    else:
        best = min(candidates, key=lambda a: key(a, ctx))
        listed = (AgentCandidate(best.id, key(best, ctx)),)
    return RoutingDecision(
        trigger=Trigger.INTERACTION_WAITING,
        interaction_id=interaction.id,
        queue_id=queue_id,
        agent_id=best.id,
        level=level,
        requirement=requirement.describe(),
        strategy=queue.strategy.value,
        rule=rule_text(queue.strategy, best, ctx, len(candidates)),
        agent_candidates=listed,
        passed_over=tuple(passed),
        candidates_total=len(candidates),
    )


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
                    heads.append(
                        WaitingCandidate(iid, queue_id, priority, now - ix.queue_entered_at)
                    )
                if best_key is None or key < best_key:
                    best, best_key, best_queue = ix, key, queue
                break
    if best is None or best_queue is None:
        return None
    assert best.queue_entered_at is not None
    level = best_queue.level_at(now - best.queue_entered_at)
    return RoutingDecision(
        trigger=Trigger.AGENT_AVAILABLE,
        interaction_id=best.id,
        queue_id=best_queue.id,
        agent_id=agent.id,
        level=level,
        requirement=best_queue.levels[level].describe(),
        strategy="priority_then_age",
        rule=(
            f"priority {best.priority}, waited {now - best.queue_entered_at:.1f}s: first in "
            f"line among {len(heads)} queue head(s) the agent may take"
        ),
        waiting_candidates=tuple(heads),
        candidates_total=len(heads),
    )
