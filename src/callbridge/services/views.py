"""Read models: what the API, the CLI and the pages show of the live center and the log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

from callbridge.domain.agents import Agent
from callbridge.domain.errors import NotFound
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.interactions import Interaction
from callbridge.domain.live import LiveState
from callbridge.domain.queues import Queue
from callbridge.domain.routing.explanation import (
    AgentCandidate,
    PassedOver,
    RoutingDecision,
    Trigger,
    WaitingCandidate,
)
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


def agents_serving(center: LiveState, queues: Collection[str]) -> set[AgentId]:
    """The agents who can serve at least one of these queues (their skills meet the queue's
    requirements at some escalation step): whom a supervisor limited to them oversees."""
    wanted = set(queues)
    return {a for a, levels in center.index.agent_levels.items() if not wanted.isdisjoint(levels)}


def list_queues(rt: Runtime) -> list[Queue]:
    return sorted(rt.center.queues.values(), key=lambda q: q.id)


def queue_stats(rt: Runtime, queue_id: QueueId) -> QueueStats:
    rt.center.queue(queue_id)
    return all_queue_stats(rt, [queue_id])[queue_id]


def all_queue_stats(
    rt: Runtime, queue_ids: list[QueueId] | None = None
) -> dict[QueueId, QueueStats]:
    """Stats of several queues (default: all) from one pass over the logged-in agents."""
    center = rt.center
    wanted = list(center.queues) if queue_ids is None else queue_ids
    now = rt.clock.now()
    logged_in: Counter[QueueId] = Counter()
    for agent_id, levels in center.index.agent_levels.items():
        if center.agents[agent_id].logged_in_at is not None:
            logged_in.update(levels.keys())
    stats: dict[QueueId, QueueStats] = {}
    for queue_id in wanted:
        waits = [
            now - (center.interactions[i].queue_entered_at or now)
            for i in center.index.waiting_in(queue_id)
        ]
        stats[queue_id] = QueueStats(
            queue_id,
            len(waits),
            max(waits, default=0.0),
            len(center.index.available[queue_id]),
            logged_in[queue_id],
        )
    return stats


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
    """A logged decision in sentences: the domain's own words, from the logged fields."""
    return decision_from_log(decision).describe()


def decision_from_log(d: dict[str, JsonValue]) -> RoutingDecision:
    """The RoutingDecision an `interaction_offered` event logged, read back from its JSON."""
    return RoutingDecision(
        trigger=Trigger(_str(d, "trigger")),
        interaction_id=InteractionId(_str(d, "interaction_id")),
        queue_id=QueueId(_str(d, "queue_id")),
        agent_id=AgentId(_str(d, "agent_id")),
        level=_int(d, "level"),
        requirement=_str(d, "requirement"),
        strategy=_str(d, "strategy"),
        rule=_str(d, "rule"),
        agent_candidates=tuple(
            AgentCandidate(AgentId(_str(c, "agent_id")), tuple(_floats(c.get("score"))))
            for c in _dicts(d.get("agent_candidates"))
        ),
        passed_over=tuple(
            PassedOver(AgentId(_str(p, "agent_id")), _str(p, "reason"))
            for p in _dicts(d.get("passed_over"))
        ),
        waiting_candidates=tuple(
            WaitingCandidate(
                InteractionId(_str(w, "interaction_id")),
                QueueId(_str(w, "queue_id")),
                _int(w, "priority"),
                (_floats([w.get("waited_s")]) or [0.0])[0],
            )
            for w in _dicts(d.get("waiting_candidates"))
        ),
        candidates_total=_int(d, "candidates_total"),
        pool_size=_int(d, "pool_size"),
    )


def _str(d: dict[str, JsonValue], key: str) -> str:
    value = d.get(key)
    return value if isinstance(value, str) else ""


def _int(d: dict[str, JsonValue], key: str) -> int:
    value = d.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _floats(value: JsonValue) -> list[float]:
    items = value if isinstance(value, list) else []
    return [float(x) for x in items if isinstance(x, int | float) and not isinstance(x, bool)]


def _dicts(value: JsonValue) -> list[dict[str, JsonValue]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def events(
    rt: Runtime, *, after_id: int = 0, limit: int = 100, interaction_id: InteractionId | None = None
) -> list[StoredEvent]:
    return rt.store.events(after_id=after_id, limit=limit, interaction_id=interaction_id)
