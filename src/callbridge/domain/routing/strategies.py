"""Agent-selection strategies as plain policy functions.

Each maps an agent to a sort key; the candidate with the smallest key wins. Every key ends with
the agent's ordinal, so ties are broken the same way every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from callbridge.domain.agents import Agent
from callbridge.domain.queues import Requirement, Strategy

ROUND_ROBIN_SPAN = 1 << 40


@dataclass(frozen=True, slots=True)
class Context:
    requirement: Requirement
    now: float
    last_ordinal: int  # round robin: the ordinal of the agent this queue served last


StrategyKey = Callable[[Agent, Context], tuple[float, ...]]


def longest_idle(agent: Agent, ctx: Context) -> tuple[float, ...]:
    return (agent.idle_since, agent.ordinal)


def most_skilled(agent: Agent, ctx: Context) -> tuple[float, ...]:
    return (-agent.proficiency_score(ctx.requirement), agent.idle_since, agent.ordinal)


def least_occupied(agent: Agent, ctx: Context) -> tuple[float, ...]:
    return (agent.load_ratio(), agent.occupancy(ctx.now), agent.idle_since, agent.ordinal)


def round_robin(agent: Agent, ctx: Context) -> tuple[float, ...]:
    return ((agent.ordinal - ctx.last_ordinal - 1) % ROUND_ROBIN_SPAN,)


STRATEGIES: dict[Strategy, StrategyKey] = {
    Strategy.LONGEST_IDLE: longest_idle,
    Strategy.MOST_SKILLED: most_skilled,
    Strategy.LEAST_OCCUPIED: least_occupied,
    Strategy.ROUND_ROBIN: round_robin,
}


def rule_text(strategy: Strategy, agent: Agent, ctx: Context, candidates: int) -> str:
    """Why the winner won, in words."""
    of = f"best of {candidates} candidate(s)"
    if strategy is Strategy.LONGEST_IDLE:
        return f"idle {ctx.now - agent.idle_since:.1f}s, the longest; {of}"
    if strategy is Strategy.MOST_SKILLED:
        return (
            f"proficiency {agent.proficiency_score(ctx.requirement)} in the required skills, "
            f"the highest (ties to longest idle); {of}"
        )
    if strategy is Strategy.LEAST_OCCUPIED:
        return (
            f"load {agent.load_ratio():.2f}, occupancy {agent.occupancy(ctx.now):.2f}, "
            f"the lowest; {of}"
        )
    return f"next in rotation after ordinal {ctx.last_ordinal}; {of}"
