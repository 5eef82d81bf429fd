"""The center's business hours over REST: schedules by name that IVR flows' hours steps name
(`hours: main`), listed with whether each is open now, created or replaced whole, and removed
when no running flow uses them. Changes are audited and apply to the next hours step judged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from callbridge.adapters.web.auth import CallerDep, requires
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.adapters.web.flows import ScheduleOut
from callbridge.domain.ivr import FlowBook
from callbridge.domain.security.permissions import Permission
from callbridge.ports import AuditRecord, JsonValue
from callbridge.services.hours import Audit, BusinessHours

router = APIRouter(tags=["flows"])
Name = Annotated[str, Path(max_length=64)]


class HolidaysIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: str = Field(min_length=2, max_length=3, description="ISO 3166 code, e.g. GB")
    subdivision: str | None = Field(default=None, max_length=10, description="e.g. ENG")


class HoursIn(BaseModel):
    """A schedule in the flow language's own shape (docs/reference/flow-language.md)."""

    model_config = ConfigDict(extra="forbid")
    timezone: str = Field(description="IANA zone, e.g. Europe/London")
    weekly: dict[str, str] = Field(
        description='Days -> hours: {"mon-fri": "08:00-18:00", "sat": "09:00-12:30, '
        '13:00-16:00"}; a day not named is closed'
    )
    holidays: HolidaysIn | None = Field(default=None, description="Closed on public holidays")
    closed: dict[str, str] | None = Field(
        default=None, description='The business\'s own closed days: {"2026-12-24": "Christmas Eve"}'
    )


class BusinessHoursOut(ScheduleOut):
    name: str
    definition: dict[str, Any] = Field(description="The schedule as saved (the PUT body)")
    used_by: list[str] = Field(description="Running flows with an hours step on it")


def _hours(request: Request) -> BusinessHours:
    hours: BusinessHours = request.app.state.business_hours
    return hours


def _book(request: Request) -> FlowBook | None:
    book: FlowBook | None = request.app.state.flows
    return book


HoursDep = Annotated[BusinessHours, Depends(_hours)]
BookDep = Annotated[FlowBook | None, Depends(_book)]


def business_hours_now(
    hours: BusinessHours, book: FlowBook | None, now: float
) -> list[BusinessHoursOut]:
    """Every schedule by name, judged at `now` (epoch seconds)."""
    return [_out(hours, book, name, now) for name in sorted(hours.live)]


def _out(hours: BusinessHours, book: FlowBook | None, name: str, now: float) -> BusinessHoursOut:
    return BusinessHoursOut(
        name=name,
        definition=hours.definitions[name],
        used_by=[] if book is None else book.uses_hours(name),
        **ScheduleOut.fields(hours.live[name], datetime.fromtimestamp(now, UTC)),
    )


@router.get("/hours", dependencies=[Depends(requires(Permission.QUEUES_READ))])
async def list_hours(hours: HoursDep, book: BookDep, rt: RuntimeDep) -> list[BusinessHoursOut]:
    """The center's business hours, each with whether it is open now and the flows using it."""
    return business_hours_now(hours, book, rt.clock.now())


@router.put("/hours/{name}", dependencies=[Depends(requires(Permission.QUEUES_MANAGE))])
async def put_hours(
    name: Name, body: HoursIn, hours: HoursDep, book: BookDep, rt: RuntimeDep, caller: CallerDep
) -> BusinessHoursOut:
    """Create or replace the business hours `name` (audited). A mistake is a 422 naming the
    field (`weekly.mon-fri`, `closed.2026-02-30`, `timezone`), and nothing changes."""
    now = rt.clock.now()
    hours.save(name, body.model_dump(exclude_none=True), now, _audit(caller, now, name))
    return _out(hours, book, name, now)


@router.delete(
    "/hours/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(requires(Permission.QUEUES_MANAGE))],
)
async def delete_hours(
    name: Name, hours: HoursDep, book: BookDep, rt: RuntimeDep, caller: CallerDep
) -> Response:
    """Remove the business hours `name` (audited); 409 while a running flow uses them."""
    hours.delete(name, book, _audit(caller, rt.clock.now(), name))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _audit(caller: CallerDep, now: float, name: str) -> Audit:
    def record(action: str, before: JsonValue, after: JsonValue) -> AuditRecord:
        return caller.audit(now, action, "business_hours", name, before, after)

    return record
