"""KPI reports from the event log, folded by the one KPI code the simulator uses too
(`domain/reporting/kpis.py`).

A report covers a window from `since` to `until`. Interactions count in the interval they
arrived in, so those that arrived before `since` are left out; agents' time counts from `since`,
starting from the state each agent was in then, as the log tells it (not as the live center is
now).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from callbridge.domain.agents import LOGIN_REASON, Presence
from callbridge.domain.errors import InvalidInput
from callbridge.domain.events import (
    AgentPresenceChanged,
    InteractionConnected,
    InteractionEnded,
    InteractionOffered,
    InteractionTransferred,
    InteractionWrappedUp,
    OfferMissed,
)
from callbridge.domain.ids import AgentId
from callbridge.domain.reporting.kpis import KpiCollector, KpiReport, Kpis, Tally
from callbridge.ports import Store, StoredEvent
from callbridge.services.runtime import Runtime

DAY_S = 86_400
MIN_INTERVAL_S = 60
MAX_INTERVALS = 10_000  # rows per queue one report may hold
EVENT_PAGE = 5_000  # events read from the store at a time
FIRST_LOOKBACK_S = 6 * 3600.0  # where to look first for an agent's last login or logout
_RELEASES = frozenset({OfferMissed.kind, InteractionTransferred.kind, InteractionWrappedUp.kind})


@dataclass(frozen=True, slots=True)
class ReportWindow:
    """What a report covers, checked, and what it needs of the live center."""

    since: float
    until: float
    interval_s: float
    service_levels: dict[str, float]  # each live queue's target, seconds
    agent_ids: tuple[AgentId, ...]  # every agent, each seeded with its state at `since`


@dataclass(frozen=True, slots=True)
class AgentAt:
    """An agent's state at one instant, as the log tells it."""

    ready: bool
    held: dict[str, bool]  # interaction id -> connected (False while it still rings)


def kpi_report(rt: Runtime, since: float, until: float, interval_s: float) -> KpiReport:
    """The KPIs of the window, per interval and queue and overall, from the event log."""
    return report_from_log(rt.store, report_window(rt, since, until, interval_s))


def report_window(rt: Runtime, since: float, until: float, interval_s: float) -> ReportWindow:
    """Check the window and read what the report needs of the live center.

    `until` is cut to now: agents' time cannot be counted ahead. Raises InvalidInput naming
    the field at fault.
    """
    if not math.isfinite(interval_s) or not MIN_INTERVAL_S <= interval_s <= DAY_S:
        raise InvalidInput(
            f"interval_s must be from {MIN_INTERVAL_S} to {DAY_S} seconds", field="interval_s"
        )
    if DAY_S % interval_s:
        raise InvalidInput(
            f"interval_s must divide a day ({DAY_S} s) evenly, as 900 or 3600 do",
            field="interval_s",
        )
    for name, value in (("since", since), ("until", until)):
        if not math.isfinite(value):
            raise InvalidInput(f"{name} must be a finite time", field=name)
    since, until = _to_microsecond(since), _to_microsecond(min(until, rt.clock.now()))
    if since > until:
        raise InvalidInput("since must not be after until, nor in the future", field="since")
    count = math.floor(until / interval_s) - math.floor(since / interval_s) + 1
    if count > MAX_INTERVALS:
        raise InvalidInput(
            f"the window holds {count} intervals of {interval_s:g} s, more than "
            f"{MAX_INTERVALS}: ask for a shorter window or longer intervals",
            field="until",
        )
    center = rt.center
    return ReportWindow(
        since=since,
        until=until,
        interval_s=interval_s,
        service_levels={q.id: q.service_level_s for q in center.queues.values()},
        agent_ids=tuple(sorted(center.agents)),
    )


def report_from_log(store: Store, window: ReportWindow) -> KpiReport:
    """The report, from the store alone: it reads no live state, so it may run off the loop.

    Every live queue is in `overall`, with zeros if nothing arrived in it.
    """
    since, until = window.since, window.until
    collector = KpiCollector(
        interval_s=window.interval_s, origin=0.0, service_levels=window.service_levels
    )
    for agent_id in window.agent_ids:
        state = agent_at(store, agent_id, since)
        collector.seed_agent(
            agent_id, ready=state.ready, working=len(state.held), at=since, held=state.held
        )
    for event in _logged(store, since=since, until=until):
        collector.observe_logged(event.kind, event.at, event.interaction_id, event.payload)
    report = collector.report(until=until, since=since)
    quiet = {q: Tally() for q in window.service_levels if q not in report.overall}
    if not quiet:
        return report
    span = report.end - report.start
    overall = report.overall | {q: Kpis.of(t, span) for q, t in quiet.items()}
    return replace(report, overall=dict(sorted(overall.items())), tallies=report.tallies | quiet)


def agent_at(store: Store, agent_id: AgentId, at: float) -> AgentAt:
    """The agent's presence and the interactions it held just before `at`, from the log.

    Agents log in and out holding nothing, so the state follows from the agent's events since
    the last login or logout. That is looked for some hours back, then four times further each
    time, until found or nothing older is logged. An agent with no presence logged before `at`
    was logged out.
    """
    oldest = store.events(agent_id=agent_id, until=at, limit=1)
    if not oldest or oldest[0].at >= at:
        return AgentAt(ready=False, held={})
    lookback = FIRST_LOOKBACK_S
    while True:
        start = at - lookback
        events = [e for e in _logged(store, agent_id=agent_id, since=start, until=at) if e.at < at]
        anchor = _last_login_or_logout(events)
        if anchor is not None:
            return _replay(events[anchor:])
        if start <= oldest[0].at:  # no login or logout logged: follow all there is
            return _replay(events)
        lookback *= 4


def _last_login_or_logout(events: list[StoredEvent]) -> int | None:
    for i in range(len(events) - 1, -1, -1):
        e = events[i]
        if e.kind == AgentPresenceChanged.kind and (
            e.payload.get("presence") == Presence.LOGGED_OUT
            or e.payload.get("reason") == LOGIN_REASON
        ):
            return i
    return None


def _replay(events: list[StoredEvent]) -> AgentAt:
    """Follow one agent's events (all the log files under the agent) to where they end."""
    presence: object = Presence.LOGGED_OUT.value
    held: dict[str, bool] = {}
    for e in events:
        iid = e.interaction_id
        if e.kind == AgentPresenceChanged.kind:
            presence = e.payload.get("presence")
        elif iid is None:
            continue
        elif e.kind == InteractionOffered.kind:
            held[iid] = False
        elif e.kind == InteractionConnected.kind and iid in held:
            held[iid] = True
        elif e.kind in _RELEASES or (e.kind == InteractionEnded.kind and held.get(iid) is False):
            held.pop(iid, None)  # missed, transferred, wrapped up, or hung up while ringing
    return AgentAt(ready=presence == Presence.READY, held=held)


def _logged(
    store: Store, *, since: float, until: float, agent_id: AgentId | None = None
) -> Iterator[StoredEvent]:
    """The logged events dated in the window, in id order, a page at a time."""
    after = 0
    while True:
        page = store.events(
            agent_id=agent_id, since=since, until=until, after_id=after, limit=EVENT_PAGE
        )
        yield from page
        if len(page) < EVENT_PAGE:
            return
        after = page[-1].id


def _to_microsecond(at: float) -> float:
    """`at` as the log keeps times, so comparing in Python agrees with comparing in SQL."""
    return datetime.fromtimestamp(at, tz=UTC).timestamp()
