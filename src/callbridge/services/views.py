"""Read models: what the API, the CLI and the pages show of the live center and the log."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from callbridge.domain.agents import Agent
from callbridge.domain.errors import NotFound
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.interactions import Interaction
from callbridge.domain.queues import Queue
from callbridge.ports import JsonValue, StoredEvent
from callbridge.services.runtime import Runtime


@dataclass(frozen=True, slots=True)
class QueueStats:
    queue_id: QueueId
    waiting: int
    longest_wait_s: float
    available_agents: int
    qualified_agents_logged_in: int


@dataclass(frozen=True, slots=True)
class RoutingExplanation:
    interaction_id: InteractionId
    decisions: list[dict[str, JsonValue]]  # the decisions as logged, oldest first
    summary: list[list[str]]  # each decision in sentences


def get_agent(rt: Runtime, agent_id: AgentId) -> Agent:
    return rt.center.agent(agent_id)


def list_agents(rt: Runtime) -> list[Agent]:
    return sorted(rt.center.agents.values(), key=lambda a: a.ordinal)


def list_queues(rt: Runtime) -> list[Queue]:
    return sorted(rt.center.queues.values(), key=lambda q: q.id)


def queue_stats(rt: Runtime, queue_id: QueueId) -> QueueStats:
    center = rt.center
    center.queue(queue_id)
    now = rt.clock.now()
    waits = [
        now - (center.interactions[i].queue_entered_at or now)
        for i in center.index.waiting_in(queue_id)
    ]
    logged_in = sum(
        1
        for agent_id in center.index.agent_levels
        if queue_id in center.index.agent_levels[agent_id]
        and center.agents[agent_id].logged_in_at is not None
    )
    return QueueStats(
        queue_id,
        len(waits),
        max(waits, default=0.0),
        len(center.index.available[queue_id]),
        logged_in,
    )


def waiting_in(rt: Runtime, queue_id: QueueId) -> list[Interaction]:
    rt.center.queue(queue_id)
    return [rt.center.interactions[i] for i in rt.center.index.waiting_in(queue_id)]


def get_interaction(rt: Runtime, iid: InteractionId) -> Interaction:
    live = rt.center.interactions.get(iid)
    if live is not None:
        return live
    stored = rt.store.get_interaction(iid)
    if stored is None:
        raise NotFound(f"no interaction {iid!r}", field="interaction_id")
    return stored


def agent_state_counts(rt: Runtime) -> Counter[str]:
    return Counter(a.state.value for a in rt.center.agents.values())


def explain_routing(rt: Runtime, iid: InteractionId) -> RoutingExplanation:
    """Every routing decision made for an interaction, from the event log."""
    get_interaction(rt, iid)
    decisions: list[dict[str, JsonValue]] = []
    for event in rt.store.events(interaction_id=iid, limit=10_000):
        if event.kind == "interaction_offered":
            decision = event.payload.get("decision")
            if isinstance(decision, dict):
                decisions.append(decision)
    return RoutingExplanation(iid, decisions, [describe(d) for d in decisions])


def describe(decision: dict[str, JsonValue]) -> list[str]:
    """A logged decision in sentences (the same words as RoutingDecision.describe)."""
    lines = [
        f"{decision.get('trigger')}: queue {decision.get('queue_id')} at escalation level "
        f"{decision.get('level')} needs {decision.get('requirement')}",
        f"chose agent {decision.get('agent_id')} by {decision.get('strategy')}: "
        f"{decision.get('rule')}",
    ]
    if decision.get("trigger") == "interaction_waiting":
        lines.append(
            f"{decision.get('pool_size')} agent(s) free for this queue, "
            f"{decision.get('candidates_total')} ranked by {decision.get('strategy')}"
        )
    chosen = decision.get("agent_id")
    for c in _dicts(decision.get("agent_candidates")):
        if c.get("agent_id") != chosen:
            lines.append(
                f"passed over {c.get('agent_id')}: ranked lower by "
                f"{decision.get('strategy')} (score {c.get('score')})"
            )
    for p in _dicts(decision.get("passed_over")):
        lines.append(f"passed over {p.get('agent_id')}: {p.get('reason')}")
    for w in _dicts(decision.get("waiting_candidates")):
        if w.get("interaction_id") != decision.get("interaction_id"):
            lines.append(
                f"left waiting {w.get('interaction_id')} in {w.get('queue_id')}: "
                f"priority {w.get('priority')}, waited {w.get('waited_s')}s"
            )
    return lines


def _dicts(value: JsonValue) -> list[dict[str, JsonValue]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def events(
    rt: Runtime, *, after_id: int = 0, limit: int = 100, interaction_id: InteractionId | None = None
) -> list[StoredEvent]:
    return rt.store.events(after_id=after_id, limit=limit, interaction_id=interaction_id)
