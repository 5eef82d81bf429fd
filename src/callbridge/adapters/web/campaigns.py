"""REST routes for outbound campaigns: campaign files in, start / pause / resume / stop, list
uploads, the pacing log and the compliance report; the national registry copy and exemptions.

A campaign file is sent as the request body (`application/yaml`, or any text type) or as JSON
`{"source": "<the file>"}`. A list is a CSV body; a registry copy is the download's text.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from callbridge.adapters.store.pacing_codec import decision_json
from callbridge.adapters.web.auth import Caller, CallerDep, requires
from callbridge.adapters.web.schemas import Strict
from callbridge.domain.dialer.campaigns import CampaignAction
from callbridge.domain.dialer.dnc import ExemptionKind
from callbridge.domain.dialer.report import report_csv, report_json
from callbridge.domain.errors import InvalidInput
from callbridge.domain.security.permissions import Permission
from callbridge.ports import StoredCampaign
from callbridge.services.campaigns import Campaigns
from callbridge.services.security.accounts import Actor

router = APIRouter(tags=["campaigns"])
READ = [Depends(requires(Permission.CAMPAIGNS_READ))]
MANAGE = [Depends(requires(Permission.CAMPAIGNS_MANAGE))]
DNC_MANAGE = [Depends(requires(Permission.LISTS_MANAGE))]

MAX_CAMPAIGN_BYTES = 1_000_000
MAX_LIST_BYTES = 50_000_000
MAX_REGISTRY_BYTES = 500_000_000

_TEXT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"source": {"type": "string"}},
                    "required": ["source"],
                }
            },
        },
    }
}


def _csv_body(kind: str) -> dict[str, Any]:
    media = "text/csv" if kind == "csv" else "text/plain"
    return {"requestBody": {"required": True, "content": {media: {"schema": {"type": "string"}}}}}


def _campaigns(request: Request) -> Campaigns:
    campaigns: Campaigns = request.app.state.campaigns
    return campaigns


CampaignsDep = Annotated[Campaigns, Depends(_campaigns)]


def actor_of(caller: Caller) -> Actor:
    return Actor(caller.principal.actor, caller.source)


class CampaignOut(BaseModel):
    id: str
    name: str
    mode: str
    profile: str
    state: str
    since: datetime | None
    first_started: datetime | None
    lists: list[str]
    source: str

    @classmethod
    def of(cls, stored: StoredCampaign) -> CampaignOut:
        c, s = stored.campaign, stored.status
        return cls(
            id=c.campaign_id,
            name=c.name,
            mode=c.mode.value,
            profile=c.profile.name,
            state=s.state.value,
            since=s.since,
            first_started=s.first_started,
            lists=[lst.list_id for lst in c.lists],
            source=stored.source,
        )


class RecordsLoaded(BaseModel):
    list_id: str
    added: int


class CrmListIn(Strict):
    dialing_list_id: Annotated[str, Field(min_length=1, max_length=100)]


class RegistryOut(BaseModel):
    copy_id: int
    name: str
    obtained_at: datetime
    numbers: int
    rejected: int
    examples: list[tuple[int, str]] = Field(description="The first rejected lines: (line, text)")


class ExemptionIn(Strict):
    number: Annotated[str, Field(min_length=3, max_length=40)]
    kind: ExemptionKind
    since: AwareDatetime
    revoked_at: AwareDatetime | None = None


async def _text(request: Request, limit: int, what: str) -> str:
    body = await request.body()
    if len(body) > limit:
        raise InvalidInput(f"the {what} is larger than {limit} bytes", field="body")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"the {what} is not UTF-8 text", field="body") from None


async def _source(request: Request) -> str:
    """The campaign file: the body itself, or JSON {"source": ...}."""
    text = await _text(request, MAX_CAMPAIGN_BYTES, "campaign file")
    if "json" in request.headers.get("content-type", ""):
        try:
            data = json.loads(text)
        except ValueError:
            raise InvalidInput("the body is not JSON", field="source") from None
        source = data.get("source") if isinstance(data, dict) else None
        if not isinstance(source, str):
            raise InvalidInput(
                'send {"source": "<campaign file>"} or the file as YAML', field="source"
            )
        return source
    return text


@router.post(
    "/campaigns",
    status_code=status.HTTP_201_CREATED,
    dependencies=MANAGE,
    openapi_extra=_TEXT_BODY,
)
async def create_campaign(
    request: Request, campaigns: CampaignsDep, caller: CallerDep
) -> CampaignOut:
    """A new campaign (draft) from its campaign file; 409 if its id exists, 422 naming the line
    and field of a mistake."""
    return CampaignOut.of(campaigns.create(await _source(request), actor_of(caller)))


@router.put("/campaigns/{campaign_id}", dependencies=MANAGE, openapi_extra=_TEXT_BODY)
async def replace_campaign(
    campaign_id: str, request: Request, campaigns: CampaignsDep, caller: CallerDep
) -> CampaignOut:
    """Create or replace the campaign, keeping its status; 409 while it is running."""
    source = await _source(request)
    return CampaignOut.of(campaigns.replace(campaign_id, source, actor_of(caller)))


@router.get("/campaigns", dependencies=READ)
async def list_campaigns(campaigns: CampaignsDep) -> list[CampaignOut]:
    return [CampaignOut.of(c) for c in campaigns.store.campaigns()]


@router.get("/campaigns/{campaign_id}", dependencies=READ)
async def get_campaign(campaign_id: str, campaigns: CampaignsDep) -> CampaignOut:
    return CampaignOut.of(campaigns.get(campaign_id))


@router.post("/campaigns/{campaign_id}/{action}", dependencies=MANAGE)
async def act_on_campaign(
    campaign_id: str,
    action: Literal["start", "pause", "resume", "stop"],
    campaigns: CampaignsDep,
    caller: CallerDep,
) -> CampaignOut:
    """start (draft, stopped, completed), pause (running), resume (paused), stop (running or
    paused); 409 from any other state."""
    stored = campaigns.act(campaign_id, CampaignAction(action), actor_of(caller))
    return CampaignOut.of(stored)


@router.post(
    "/campaigns/{campaign_id}/lists/{list_id}/records",
    status_code=status.HTTP_201_CREATED,
    dependencies=MANAGE,
    openapi_extra=_csv_body("csv"),
)
async def upload_records(
    campaign_id: str, list_id: str, request: Request, campaigns: CampaignsDep
) -> RecordsLoaded:
    """Add a CSV upload's records to one of the campaign's lists (header: record_id, phone,
    and optionally name, time_zone, state, priority). One bad line rejects the upload: 422
    naming the line and column."""
    text = await _text(request, MAX_LIST_BYTES, "list")
    return RecordsLoaded(list_id=list_id, added=campaigns.load_csv(campaign_id, list_id, text))


@router.post(
    "/campaigns/{campaign_id}/lists/{list_id}/crm",
    status_code=status.HTTP_201_CREATED,
    dependencies=MANAGE,
)
async def load_crm_list(
    campaign_id: str, list_id: str, body: CrmListIn, campaigns: CampaignsDep
) -> RecordsLoaded:
    """Add the members of a dialing list pulled from the CRM (POST /dialing-lists)."""
    added = campaigns.load_crm_list(campaign_id, list_id, body.dialing_list_id)
    return RecordsLoaded(list_id=list_id, added=added)


@router.get("/campaigns/{campaign_id}/pacing", dependencies=READ)
async def pacing_log(
    campaign_id: str,
    campaigns: CampaignsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The logged pacing decisions, newest first: when, the mode, how many calls, the reason
    and its sentence, the inputs seen, the forecast and the budget where the mode has them."""
    return [decision_json(d) for d in campaigns.pacing(campaign_id, limit)]


@router.get("/campaigns/{campaign_id}/report", dependencies=READ)
async def compliance_report(
    campaign_id: str,
    campaigns: CampaignsDep,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """Per regulatory window: live answers, abandoned calls, the rate against the cap, and
    every abandoned call (number masked to its last 4 digits) with the message it heard."""
    report = campaigns.report(campaign_id)
    if fmt == "csv":
        return Response(report_csv(report), media_type="text/csv; charset=utf-8")
    return Response(json.dumps(report_json(report)), media_type="application/json")


@router.post(
    "/dnc/registry",
    status_code=status.HTTP_201_CREATED,
    dependencies=DNC_MANAGE,
    openapi_extra=_csv_body("text"),
)
async def import_registry(
    request: Request,
    campaigns: CampaignsDep,
    caller: CallerDep,
    obtained: Annotated[AwareDatetime, Query(description="When the copy was downloaded")],
    region: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    name: Annotated[str, Query(min_length=1, max_length=100)] = "national registry",
) -> RegistryOut:
    """Keep a national registry download (one number per line, or "area code,number") as the
    copy every dial is screened against; a campaign under a profile whose limit the copy's age
    passes does not dial at all."""
    text = await _text(request, MAX_REGISTRY_BYTES, "registry file")
    loaded = campaigns.import_registry(text.splitlines(), obtained, actor_of(caller), region, name)
    copy = loaded.imported.copy
    return RegistryOut(
        copy_id=loaded.copy_id,
        name=copy.name,
        obtained_at=copy.obtained_at,
        numbers=len(copy.numbers),
        rejected=loaded.imported.rejected,
        examples=list(loaded.imported.examples),
    )


@router.post("/dnc/exemptions", status_code=status.HTTP_201_CREATED, dependencies=DNC_MANAGE)
async def add_exemption(
    body: ExemptionIn, campaigns: CampaignsDep, caller: CallerDep
) -> dict[str, str]:
    """Express consent or an established business relationship: it lifts the registry block
    for the number (never the internal list). The same number, kind and `since` again with
    `revoked_at` revokes it."""
    x = campaigns.add_exemption(
        body.number, body.kind, body.since, actor_of(caller), body.revoked_at
    )
    return {"number": x.number, "kind": x.kind.value}
