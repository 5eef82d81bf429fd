"""REST route for KPI reports: service level, waits, abandons, occupancy, from the event log."""

from __future__ import annotations

import math
from dataclasses import fields
from datetime import datetime

import anyio
from fastapi import APIRouter, Depends
from pydantic import BaseModel

from callbridge.adapters.web.auth import CallerDep, check_queue_scope, requires
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import QueueId
from callbridge.domain.reporting.kpis import Kpis
from callbridge.domain.security.permissions import Permission
from callbridge.services import reports as svc

router = APIRouter(tags=["reports"])


class KpisOut(BaseModel):
    """The `Kpis` of one queue (or "*": the whole center); null where nothing divides."""

    offered: int
    answered: int
    abandoned: int
    open: int
    service_level: float | None
    service_level_excl: float | None
    p_wait: float | None
    p_abandon: float | None
    asa_s: float | None
    mean_wait_s: float | None
    aht_s: float | None
    occupancy: float | None
    avg_waiting: float | None

    @classmethod
    def of(cls, kpis: Kpis) -> KpisOut:
        return cls(**_values(kpis))


class _Row(BaseModel):
    start: float  # epoch seconds; intervals line up with the UTC day
    queue_id: str


class IntervalKpisOut(KpisOut, _Row):
    """One interval of one queue (or "*"); its fields come first."""


class KpiReportOut(BaseModel):
    interval_s: int
    since: float
    until: float
    overall: dict[str, KpisOut]  # by queue id, and "*" for the whole center
    intervals: list[IntervalKpisOut]


@router.get("/reports/kpis", dependencies=[Depends(requires(Permission.REPORTS_READ))])
async def kpi_report(
    rt: RuntimeDep,
    caller: CallerDep,
    since: str | None = None,
    until: str | None = None,
    interval_s: int = 900,
    queue_id: str | None = None,
) -> KpiReportOut:
    """KPIs per interval and queue, and over the whole window, from the event log.

    `since` and `until` are epoch seconds or ISO-8601 with an offset (default: from the start
    of `until`'s UTC day to now); `interval_s` must divide a day. `queue_id` keeps only that
    queue's rows. A supervisor limited to some queues sees only theirs, without the whole
    center's row ("*"); another queue's `queue_id` is a 403.
    """
    check_queue_scope(caller.principal, queue_id, "reports")
    scope = caller.principal.scope.queues

    def shown(q: str) -> bool:
        return (queue_id is None or q == queue_id) and (scope is None or q in scope)

    now = rt.clock.now()
    end = _instant(until, "until")
    end = now if end is None else min(end, now)
    start = _instant(since, "since")
    if start is None:
        start = end - end % svc.DAY_S
    window = svc.report_window(rt, start, end, interval_s)
    if queue_id is not None:
        rt.center.queue(QueueId(queue_id))  # 404 for a queue that does not exist
    # a long window reads many events: off the event loop, which keeps routing
    report = await anyio.to_thread.run_sync(svc.report_from_log, rt.store, window)
    return KpiReportOut(
        interval_s=interval_s,
        since=report.start,
        until=report.end,
        overall={q: KpisOut.of(k) for q, k in report.overall.items() if shown(q)},
        intervals=[
            IntervalKpisOut(start=row.start, queue_id=row.queue_id, **_values(row.kpis))
            for row in report.intervals
            if shown(row.queue_id)
        ],
    )


def _values(kpis: Kpis) -> dict[str, int | float | None]:
    return {f.name: getattr(kpis, f.name) for f in fields(kpis)}


def _instant(value: str | None, name: str) -> float | None:
    """Epoch seconds, or an ISO-8601 time with its UTC offset."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"{name} must be epoch seconds or ISO-8601 (2026-11-26T09:00:00+01:00)",
                field=name,
            ) from None
        if parsed.tzinfo is None:
            raise InvalidInput(f"{name} needs its UTC offset (+01:00, Z)", field=name) from None
        return parsed.timestamp()
    if not math.isfinite(seconds):
        raise InvalidInput(f"{name} must be a finite number of seconds", field=name)
    return seconds
