"""What the live pages show, read fresh: the agent desktop's and the wallboard's state.

A page starts from one of these and then applies the events of its queue with its own
reducer (`static/js/reduce_*.js`); the live-view tests check, after every action, that the
reducer's state equals a fresh snapshot read here. So each field is read from the source of
truth: presence, work, interaction states and deadlines from the live center; the times the
center does not keep (since when an agent has been in its state, since when an interaction has
been in its step, when the agent connected) and today's counts from the event log.

Timing from the log: an agent holds nothing when it logs in or out, so its state follows from
its own events since its last login or logout. Those are looked for six hours back, then four
times further each time. "Today" is the UTC day, as the KPI reports count it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from callbridge.domain.agents import LOGIN_REASON, Agent, AgentState
from callbridge.domain.channels import Direction
from callbridge.domain.ids import AgentId
from callbridge.ports import JsonValue, Store, StoredEvent
from callbridge.services.runtime import Runtime
from callbridge.services.views import agents_serving

DAY_S = 86_400.0
FIRST_LOOKBACK_S = 6 * 3600.0
PAGE = 5_000
Json = dict[str, JsonValue]


def day_start(at: float) -> float:
    return at - at % DAY_S


@dataclass(slots=True)
class _Item:
    phase: str
    state: str
    since: float
    connected_at: float | None = None


@dataclass(slots=True)
class Timeline:
    """One agent as its events tell it: since when in its state, and each item's times."""

    presence: str = ""  # unknown until the first presence event (the login or logout replayed)
    reason: str | None = None
    since: float | None = None
    handled: int = 0  # interactions wrapped up today
    work: dict[str, _Item] = field(default_factory=dict)

    def key(self) -> tuple[str, str | None]:
        """What the pages show as the agent's state; a change of it restarts the timer."""
        state = self.state()
        return state, self.reason if state == AgentState.NOT_READY else None

    def state(self) -> str:
        """The state shown to supervisors, derived as `Agent.state` derives it."""
        if self.presence in ("logged_out", ""):
            return self.presence
        phases = {item.phase for item in self.work.values()}
        for phase in ("reserved", "busy", "wrap_up"):
            if phase in phases:
                return phase
        return self.presence

    def apply(self, e: StoredEvent, today: float) -> None:
        before = self.key()
        iid = e.interaction_id
        item = self.work.get(iid) if iid is not None else None
        p = e.payload
        if e.kind == "agent_presence_changed":
            presence, reason = p.get("presence"), p.get("reason")
            self.presence = presence if isinstance(presence, str) else "logged_out"
            self.reason = reason if isinstance(reason, str) else None
        elif iid is None:
            pass
        elif e.kind == "interaction_wrapped_up":
            self.work.pop(iid, None)
            if e.at >= today:
                self.handled += 1
        elif e.kind == "interaction_offered":
            self.work[iid] = _Item("reserved", "offered", e.at)
        elif item is None:
            pass
        elif e.kind == "offer_missed" or (
            e.kind == "interaction_transferred" and p.get("to_number") is None
        ):
            del self.work[iid]
        elif e.kind == "interaction_connected":
            item.phase, item.state, item.since, item.connected_at = "busy", "connected", e.at, e.at
        elif e.kind in ("interaction_held", "interaction_resumed"):
            item.state = "on_hold" if e.kind == "interaction_held" else "connected"
            item.since = e.at
        elif e.kind == "interaction_ended":
            if item.phase == "reserved":
                del self.work[iid]
            else:
                item.phase, item.state, item.since = "wrap_up", "ended", e.at
        if self.key() != before:
            self.since = e.at


def timeline(store: Store, agent_id: AgentId, now: float) -> Timeline:
    """Replay the agent's events since its last login or logout (and since the day began)."""
    today = day_start(now)
    lookback = FIRST_LOOKBACK_S
    while True:
        start = min(today, now - lookback)
        events = _agent_events(store, agent_id, start)
        anchor = _last_login_or_logout(events)
        if anchor is not None or not store.events(agent_id=agent_id, until=start, limit=1):
            break
        lookback *= 4
    line = Timeline()
    for i, e in enumerate(events):
        if anchor is None or i >= anchor:
            line.apply(e, today)
        elif e.kind == "interaction_wrapped_up" and e.at >= today:
            line.handled += 1
    return line


def _agent_events(store: Store, agent_id: AgentId, since: float) -> list[StoredEvent]:
    found: list[StoredEvent] = []
    after = 0
    while page := store.events(agent_id=agent_id, since=since, after_id=after, limit=PAGE):
        found += page
        after = page[-1].id
        if len(page) < PAGE:
            break
    return found


def _last_login_or_logout(events: list[StoredEvent]) -> int | None:
    for i in range(len(events) - 1, -1, -1):
        e = events[i]
        if e.kind == "agent_presence_changed" and (
            e.payload.get("presence") == "logged_out" or e.payload.get("reason") == LOGIN_REASON
        ):
            return i
    return None


# --- the views ---------------------------------------------------------------------------------


def agent_view(rt: Runtime, agent_id: AgentId) -> Json:
    """The agent desktop: the agent, and the work in its hands."""
    now = rt.clock.now()
    agent = rt.center.agent(agent_id)
    line = timeline(rt.store, agent_id, now)
    work: Json = {}
    for iid in agent.work:
        ix = rt.center.interactions[iid]
        times = line.work.get(iid)
        work[iid] = {
            "phase": agent.work[iid].phase.value,
            "state": ix.state.value,
            "queue_id": ix.queue_id,
            "offer_deadline": ix.offer_deadline,
            "wrap_up_deadline": ix.wrap_up_deadline,
            "since": times.since if times else None,
            "connected_at": times.connected_at if times else None,
        }
    return {
        "day_start": day_start(now),
        "agent": _agent(agent, line),
        "handled": line.handled,
        "work": work,
    }


def wallboard_view(rt: Runtime, queues: Collection[str] | None = None) -> Json:
    """The supervisor's wallboard: queues (and who can serve each), agents, open interactions.

    `queues` limits it to a supervisor's queues (None: all): those queues, the agents who
    serve at least one of them (with all their work, so that their state is right, but only
    the interactions in these queues told apart), and the interactions in these queues. What
    its event stream sends agrees with it (`adapters/web/visibility.py`).

    Today's KPIs are not here: the page reads them from /reports/kpis when events say they
    changed (see docs/design/pages.md)."""
    now = rt.clock.now()
    center = rt.center
    scope = None if queues is None else frozenset(queues)
    shown = set(center.queues) if scope is None else scope & set(center.queues)
    serving: dict[str, list[JsonValue]] = {q: [] for q in shown}
    for agent_id, levels in sorted(center.index.agent_levels.items()):
        for queue_id in levels:
            if queue_id in serving:
                serving[queue_id].append(agent_id)
    seen = None if scope is None else agents_serving(center, scope)
    agents: Json = {}
    for agent in sorted(center.agents.values(), key=lambda a: a.ordinal):
        if seen is not None and agent.id not in seen:
            continue
        line = timeline(rt.store, agent.id, now)
        agents[agent.id] = {
            **_agent(agent, line),
            "work": {iid: item.phase.value for iid, item in agent.work.items()},
            "handled": line.handled,
            "skills": {str(s): p for s, p in sorted(agent.skills.items())},
        }
    interactions: Json = {
        ix.id: {
            "id": ix.id,
            "channel": ix.channel.value,
            "customer": ix.from_address if ix.direction is Direction.INBOUND else ix.to_address,
            "state": ix.state.value,
            "queue_id": ix.queue_id,
            "agent_id": ix.agent_id,
            "entered_at": ix.queue_entered_at,
            "callback": ix.callback_number is not None,
        }
        for ix in center.interactions.values()
        if scope is None or ix.queue_id in scope
    }
    listed: Json = {
        q.id: {"id": q.id, "name": q.name, "agents": serving[q.id]}
        for q in sorted(center.queues.values(), key=lambda q: q.id)
        if q.id in shown
    }
    return {
        "day_start": day_start(now),
        "queues": listed,
        "agents": agents,
        "interactions": interactions,
    }


def _agent(agent: Agent, line: Timeline) -> Json:
    return {
        "id": agent.id,
        "name": agent.name,
        "presence": agent.presence.value,
        "reason": agent.reason,
        "state": agent.state.value,
        "since": line.since,
    }
