"""REST routes for dialing lists pulled from the CRM and the do-not-call list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from callbridge.adapters.store.lists import DialingList
from callbridge.adapters.web.auth import CallerDep, requires
from callbridge.adapters.web.campaigns import CampaignsDep, actor_of
from callbridge.domain.errors import NotFound
from callbridge.domain.security.permissions import Permission
from callbridge.services.crm_sync.lists import Lists

router = APIRouter(tags=["dialing lists"])


def _lists(request: Request) -> Lists:
    lists: Lists = request.app.state.lists
    return lists


ListsDep = Annotated[Lists, Depends(_lists)]


class ListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    source: str = Field(
        min_length=1,
        max_length=2000,
        description="A CRM campaign id, or query:<name> (built-in) / query:<SOQL> (Salesforce)",
    )


class ListOut(BaseModel):
    id: str
    name: str
    source: str
    crm: str
    created_at: float
    synced_at: float | None
    members: int

    @classmethod
    def of(cls, lst: DialingList) -> ListOut:
        return cls(
            id=lst.id,
            name=lst.name,
            source=lst.source,
            crm=lst.crm,
            created_at=lst.created_at,
            synced_at=lst.synced_at,
            members=lst.members,
        )


class MemberOut(BaseModel):
    type: str
    id: str
    name: str
    phone: str


class DncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=3, max_length=40)
    effective_at: AwareDatetime | None = Field(
        default=None, description="When the entry starts to block (default: now)."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="When it stops blocking (default: never)."
    )
    campaign_id: str | None = Field(
        default=None,
        max_length=100,
        description="Put it on this campaign's own list instead of the internal one.",
    )


class DncSyncOut(BaseModel):
    pulled: int
    pushed: int


@router.get("/dialing-lists", dependencies=[Depends(requires(Permission.LISTS_READ))])
async def dialing_lists(lists: ListsDep) -> list[ListOut]:
    return [ListOut.of(x) for x in lists.store.lists()]


@router.post(
    "/dialing-lists", status_code=201, dependencies=[Depends(requires(Permission.LISTS_MANAGE))]
)
async def pull_list(body: ListIn, lists: ListsDep) -> ListOut:
    """Pull a campaign's members or a saved query's rows from the CRM into a new list."""
    return ListOut.of(lists.pull(body.name, body.source))


@router.post(
    "/dialing-lists/{list_id}/refresh",
    dependencies=[Depends(requires(Permission.LISTS_MANAGE))],
)
async def refresh_list(list_id: str, lists: ListsDep) -> ListOut:
    """Pull the list again: it becomes what the CRM has now."""
    lst = lists.store.get_list(list_id)
    if lst is None:
        raise NotFound(f"no dialing list {list_id}", field="list_id")
    return ListOut.of(lists.pull(lst.name, lst.source, list_id))


@router.get(
    "/dialing-lists/{list_id}/members", dependencies=[Depends(requires(Permission.LISTS_READ))]
)
async def members(
    list_id: str,
    lists: ListsDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[MemberOut]:
    if lists.store.get_list(list_id) is None:
        raise NotFound(f"no dialing list {list_id}", field="list_id")
    return [
        MemberOut(type=m.ref.type.value, id=m.ref.id, name=m.name, phone=m.phone)
        for m in lists.store.members(list_id, limit, offset)
    ]


@router.get("/dnc", dependencies=[Depends(requires(Permission.LISTS_READ))])
async def dnc_list(lists: ListsDep) -> list[str]:
    """Every number not to call, E.164."""
    return [entry.number for _, entry in lists.store.dnc_entries()]


@router.post("/dnc", status_code=201, dependencies=[Depends(requires(Permission.CRM_WRITE))])
async def add_dnc(body: DncIn, campaigns: CampaignsDep, caller: CallerDep) -> dict[str, bool]:
    """Add a number (an agent's "don't call me again"), blocking from `effective_at` (now)
    until `expires_at` (never); the next sync tells the CRM. With `campaign_id`, the number
    goes on that campaign's own list instead. `added` is false for a number already there
    (its dates widen to cover both entries)."""
    added = campaigns.add_dnc(
        body.number,
        actor_of(caller),
        effective_at=body.effective_at,
        expires_at=body.expires_at,
        campaign_id=body.campaign_id,
    )
    return {"added": added}


@router.post("/dnc/sync", dependencies=[Depends(requires(Permission.LISTS_MANAGE))])
async def sync_dnc(lists: ListsDep) -> DncSyncOut:
    """Both ways: the CRM's do-not-call numbers in, ours out."""
    done = lists.sync_dnc()
    return DncSyncOut(pulled=done.pulled, pushed=done.pushed)
