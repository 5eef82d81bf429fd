"""The naive router: the engine's two decisions made by brute force, with no index.

It exists to be obviously right, not fast: property tests check that the indexed engine makes
the same decisions, and the routing benchmark measures what the index buys. Every rule is
spelled out against the live objects, so a reader can check it against the routing design
without knowing how the index is kept.
"""

from __future__ import annotations

from collections.abc import Mapping

from callbridge.domain.agents import Agent
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.interactions import Interaction, InteractionState
from callbridge.domain.queues import Queue
from callbridge.domain.routing.strategies import STRATEGIES, Context


def may_take(agent: Agent, queue: Queue, interaction: Interaction, now: float) -> bool:
    """Whether the agent may be offered this waiting interaction right now.

    Ready with room in the channel, qualified for the queue at the interaction's current
    escalation level, holding every extra skill the interaction asks for, and not holding the
    interaction already (a transfer to a queue queues it while the sender still holds it).
    """
    assert interaction.queue_entered_at is not None
    level = queue.level_at(now - interaction.queue_entered_at)
    return (
        agent.can_take(interaction.channel)
        and agent.qualifies(queue.levels[level])
        and all(agent.skills.get(s, 0) >= p for s, p in interaction.extra_skills.items())
        and interaction.id not in agent.work
    )


def naive_pick_agent(
    agents: Mapping[AgentId, Agent],
    queues: Mapping[QueueId, Queue],
    interaction: Interaction,
    now: float,
    last_ordinal: Mapping[QueueId, int],
) -> AgentId | None:
    """The agent the queue's strategy ranks first among all who may take it, or None."""
    assert interaction.queue_id is not None and interaction.queue_entered_at is not None
    queue = queues[interaction.queue_id]
    level = queue.level_at(now - interaction.queue_entered_at)
    ctx = Context(queue.levels[level], now, last_ordinal.get(queue.id, -1))
    key = STRATEGIES[queue.strategy]
    best: Agent | None = None
    for agent in agents.values():
        if may_take(agent, queue, interaction, now) and (
            best is None or key(agent, ctx) < key(best, ctx)
        ):
            best = agent
    return None if best is None else best.id


def naive_pick_interaction(
    agents: Mapping[AgentId, Agent],
    queues: Mapping[QueueId, Queue],
    interactions: Mapping[InteractionId, Interaction],
    agent: Agent,
    now: float,
) -> InteractionId | None:
    """The waiting interaction first in line (priority, then time in queue) the agent may take.

    `agents` is not consulted: the choice depends on this agent alone. It is taken so that both
    decisions read the same state.
    """
    best: Interaction | None = None
    for ix in interactions.values():
        if ix.state is not InteractionState.QUEUED or ix.queue_id is None:
            continue
        if not may_take(agent, queues[ix.queue_id], ix, now):
            continue
        if best is None or _line_key(ix) < _line_key(best):
            best = ix
    return None if best is None else best.id


def _line_key(ix: Interaction) -> tuple[int, float, int]:
    assert ix.queue_entered_at is not None
    return (-ix.priority, ix.queue_entered_at, ix.seq)
