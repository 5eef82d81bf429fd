"""REST routes for a preview campaign's agent: the record offered to them, Call and Skip, and
the disposition of their latest preview call.

The number is shown in full: the agent is about to talk to that person and sees it on the
call anyway (the compliance report is what masks numbers)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from callbridge.adapters.web.auth import CallerDep, check_agent, requires
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.domain.dialer.preview import MAX_SKIP_REASON, Skip
from callbridge.domain.errors import InvalidState
from callbridge.domain.ids import AgentId, DispositionCode
from callbridge.domain.security.permissions import Permission
from callbridge.services.dialer import Dialer
from callbridge.services.previews import LastCall, PreviewView

router = APIRouter(tags=["campaigns"])
SELF = [Depends(requires(Permission.AGENTS_SELF))]


class PreviewOut(BaseModel):
    campaign_id: str
    campaign_name: str
    record_id: str
    name: str
    number: str
    phones: list[str]  # every number of the record; `number` is the one to be called
    time_zone: str | None
    state: str | None
    offered_at: datetime
    deadline: datetime | None  # the call is placed anyway then (None: only on Call)

    @classmethod
    def of(cls, view: PreviewView) -> PreviewOut:
        p, record = view.preview, view.record
        return cls(
            campaign_id=p.campaign_id,
            campaign_name=view.campaign.name,
            record_id=p.record_id,
            name=record.name,
            number=p.number,
            phones=list(record.phones),
            time_zone=record.time_zone,
            state=record.state,
            offered_at=datetime.fromtimestamp(p.offered_at, tz=UTC),
            deadline=None if p.deadline is None else datetime.fromtimestamp(p.deadline, tz=UTC),
        )


class DispositionOut(BaseModel):
    code: str
    label: str


class LastCallOut(BaseModel):
    """The agent's latest preview call, waiting for their disposition."""

    record: PreviewOut
    disposition: str | None
    dispositions: list[DispositionOut]  # what may be set: the campaign's own

    @classmethod
    def of(cls, last: LastCall) -> LastCallOut:
        return cls(
            record=PreviewOut.of(last.view),
            disposition=last.code,
            dispositions=[DispositionOut(code=d.code, label=d.label) for d in last.dispositions],
        )


class PreviewState(BaseModel):
    preview: PreviewOut | None
    last_call: LastCallOut | None


class DispositionIn(BaseModel):
    disposition: str = Field(min_length=1, max_length=32)


class SkipIn(BaseModel):
    reason: str = Field(default="", max_length=MAX_SKIP_REASON)
    do_not_call: bool = False  # the person asked not to be called: the internal list


def _dialer(request: Request) -> Dialer:
    dialer = getattr(request.app.state, "dialer", None)
    if not isinstance(dialer, Dialer):
        raise InvalidState("no dialer is running (SIP and a trunk are needed)", field="dialer")
    return dialer


@router.get("/agents/{agent_id}/preview", dependencies=SELF)
async def get_preview(
    agent_id: str, request: Request, rt: RuntimeDep, caller: CallerDep
) -> PreviewState:
    """The record a preview campaign offers this agent now (`preview` null: none)."""
    check_agent(caller, rt, AgentId(agent_id), Permission.AGENTS_STATE)
    dialer = getattr(request.app.state, "dialer", None)
    if not isinstance(dialer, Dialer):
        return PreviewState(preview=None, last_call=None)
    view = dialer.previews.view(AgentId(agent_id))
    last = dialer.previews.last_call(AgentId(agent_id))
    return PreviewState(
        preview=PreviewOut.of(view) if view is not None else None,
        last_call=LastCallOut.of(last) if last is not None else None,
    )


@router.post("/agents/{agent_id}/preview/call", dependencies=SELF)
async def call_preview(
    agent_id: str, request: Request, rt: RuntimeDep, caller: CallerDep
) -> PreviewOut:
    """Call the previewed record now: the agent's phone rings first, then the number."""
    check_agent(caller, rt, AgentId(agent_id), Permission.AGENTS_STATE)
    dialer = _dialer(request)
    view = dialer.previews.view(AgentId(agent_id))
    dialer.call_preview(AgentId(agent_id))  # NotFound when there is no preview
    assert view is not None
    return PreviewOut.of(view)


@router.post("/agents/{agent_id}/preview/skip", dependencies=SELF)
async def skip_preview(
    agent_id: str, body: SkipIn, request: Request, rt: RuntimeDep, caller: CallerDep
) -> PreviewOut:
    """Pass on the previewed record: back to the list undialled (attempts unchanged), or onto
    the do-not-call list with `do_not_call`. The next record is offered on the next tick."""
    check_agent(caller, rt, AgentId(agent_id), Permission.AGENTS_STATE)
    dialer = _dialer(request)
    view = dialer.previews.view(AgentId(agent_id))
    dialer.previews.skip(AgentId(agent_id), Skip(body.reason.strip(), body.do_not_call))
    assert view is not None
    return PreviewOut.of(view)


@router.post("/agents/{agent_id}/preview/disposition", dependencies=SELF)
async def dispose_preview_call(
    agent_id: str, body: DispositionIn, request: Request, rt: RuntimeDep, caller: CallerDep
) -> LastCallOut:
    """The disposition of the agent's latest preview call (one of the campaign's), during the
    call or after it; what it does to the record is the campaign's (final, retry, do-not-call)."""
    check_agent(caller, rt, AgentId(agent_id), Permission.AGENTS_STATE)
    dialer = _dialer(request)
    last = dialer.previews.dispose(AgentId(agent_id), DispositionCode(body.disposition))
    return LastCallOut.of(last)
