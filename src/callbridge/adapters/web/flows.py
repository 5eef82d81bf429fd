"""The IVR flows the server runs, and their business hours: what the admin page shows, and a
check of a flow being written (as `callbridge flow check` does, against the running flows)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from callbridge.adapters.web.auth import requires
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.domain.ivr import Flow, FlowBook
from callbridge.domain.ivr.hours import Schedule
from callbridge.domain.ivr.nodes import HoursNode
from callbridge.domain.security.permissions import Permission
from callbridge.services.flows import check_text

router = APIRouter(tags=["flows"])
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CLOSED_AHEAD = timedelta(days=366)


class ScheduleOut(BaseModel):
    timezone: str
    weekly: dict[str, list[str]] = Field(description="Opening windows by day, Mon first")
    holidays: str | None = Field(description="Public holidays of this country (and region)")
    closed: dict[str, str] = Field(description="The business's own closed days ahead, by date")
    open_now: bool
    now: str = Field(description="Why: open, outside hours, holiday <name>, closed day <name>")
    local_time: str

    @staticmethod
    def fields(s: Schedule, at: datetime) -> dict[str, Any]:
        """The schedule's fields, judged at `at`."""
        status = s.status(at)
        today = status.local.date()
        calendar = s.holidays
        holidays = None
        if calendar is not None:
            holidays = calendar.country + (
                f"-{calendar.subdivision}" if calendar.subdivision else ""
            )
        return dict(
            timezone=s.timezone,
            weekly={DAYS[i]: [str(w) for w in windows] for i, windows in enumerate(s.weekly)},
            holidays=holidays,
            closed={
                d.isoformat(): name
                for d, name in sorted(s.closed.items())
                if today <= d <= today + CLOSED_AHEAD
            },
            open_now=status.open,
            now=status.reason,
            local_time=status.local.isoformat(timespec="minutes"),
        )


class HoursOut(ScheduleOut):
    node: str
    schedule: str | None = Field(description="The named schedule the step uses, if any")
    shared: bool = Field(description="The center's business hours (edited on the admin page)")

    @classmethod
    def of(cls, node: HoursNode, hours: Mapping[str, Schedule], at: datetime) -> HoursOut | None:
        """The step's schedule; None for business hours the center no longer has."""
        s = node.schedule if node.schedule is not None else hours.get(node.schedule_name or "")
        if s is None:
            return None
        shared = node.schedule is None
        return cls(node=node.name, schedule=node.schedule_name, shared=shared, **cls.fields(s, at))


class FlowOut(BaseModel):
    name: str
    origin: str
    description: str
    numbers: list[str] = Field(description="Inbound numbers that start the flow")
    start: str
    nodes: int
    hours: list[HoursOut]

    @classmethod
    def of(cls, flow: Flow, hours: Mapping[str, Schedule], at: datetime) -> FlowOut:
        steps = [n for n in flow.nodes.values() if isinstance(n, HoursNode)]
        return cls(
            name=flow.name,
            origin=flow.origin,
            description=flow.description,
            numbers=list(flow.numbers),
            start=flow.start,
            nodes=len(flow.nodes),
            hours=[h for n in steps if (h := HoursOut.of(n, hours, at)) is not None],
        )


class FlowCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    yaml: str = Field(min_length=1, max_length=200_000)


def _book(request: Request) -> FlowBook | None:
    book: FlowBook | None = request.app.state.flows
    return book


def _directory(request: Request) -> Path | None:
    directory: Path | None = request.app.state.flows_dir
    return directory


BookDep = Annotated[FlowBook | None, Depends(_book)]


@router.get("/flows", dependencies=[Depends(requires(Permission.QUEUES_READ))])
async def flows(book: BookDep, rt: RuntimeDep) -> list[FlowOut]:
    """The flows the server runs (setting `ivr_flows_dir`), with their entry numbers and, for
    each business-hours step, its schedule and whether it is open now."""
    return flows_now(book, rt.clock.now())


def flows_now(book: FlowBook | None, now: float) -> list[FlowOut]:
    """The book's flows by name, their hours judged at `now` (epoch seconds)."""
    at = datetime.fromtimestamp(now, UTC)
    if book is None:
        return []
    return [FlowOut.of(book[name], book.hours, at) for name in sorted(book)]


@router.post("/flows/check", dependencies=[Depends(requires(Permission.QUEUES_READ))])
async def check(body: FlowCheckIn, request: Request, book: BookDep, rt: RuntimeDep) -> FlowOut:
    """Check a flow being written, without running it: 422 naming the line, node and field of
    the first mistake; else the flow as it would run."""
    hours = request.app.state.business_hours.live
    flow = check_text(body.yaml, book, _directory(request), hours)
    return FlowOut.of(flow, hours, datetime.fromtimestamp(rt.clock.now(), UTC))
