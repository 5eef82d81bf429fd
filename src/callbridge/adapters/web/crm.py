"""REST routes of the built-in CRM: records of each object, lookups (the screen pop's), search,
a contact's activities, campaign members, dialing lists and the do-not-call list.

They serve the built-in CRM only; with `crm = salesforce` they answer 503 not_configured (the
records live in Salesforce, and so does their editing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from callbridge.adapters.crm.builtin import BuiltinCrm
from callbridge.adapters.web.auth import requires
from callbridge.adapters.web.crm_schemas import (
    CrmMatchOut,
    CrmObject,
    DialingMemberOut,
    DncIn,
    DncOut,
    FieldsIn,
    MemberIn,
    RecordOut,
)
from callbridge.domain.crm.records import DncEntry, LookupKey, RecordRef, RecordType
from callbridge.domain.errors import CallbridgeError, InvalidInput, NotFound
from callbridge.domain.security.permissions import Permission

router = APIRouter(tags=["crm"])

READ = [Depends(requires(Permission.CRM_READ))]
WRITE = [Depends(requires(Permission.CRM_WRITE))]

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Text = Annotated[str | None, Query(min_length=1, max_length=320)]


class BuiltinCrmOff(CallbridgeError):
    code = "not_configured"


async def _crm(request: Request) -> BuiltinCrm:
    crm = getattr(request.app.state, "crm", None)
    if not isinstance(crm, BuiltinCrm):
        raise BuiltinCrmOff("the built-in CRM is not in use (settings: crm)", setting="crm")
    return crm


CrmDep = Annotated[BuiltinCrm, Depends(_crm)]


def _record(crm: BuiltinCrm, ref: RecordRef) -> RecordOut:
    record = crm.get_record(ref)
    if record is None:
        raise NotFound(f"no {ref.type.value} {ref.id}", type=ref.type.value, id=ref.id)
    return RecordOut.of(record)


@router.get("/crm/lookup", dependencies=READ)
async def lookup(
    crm: CrmDep,
    phone: Text = None,
    email: Text = None,
    account_number: Text = None,
    case_number: Text = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[CrmMatchOut]:
    """The screen pop's lookup: by phone number (any format), email address, account number or
    case number; exactly one. Contacts first, then leads, then accounts."""
    given = [
        (key, value)
        for key, value in (
            (LookupKey.PHONE, phone),
            (LookupKey.EMAIL, email),
            (LookupKey.ACCOUNT_NUMBER, account_number),
            (LookupKey.CASE_NUMBER, case_number),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise InvalidInput(
            "give exactly one of phone, email, account_number, case_number",
            field=given[1][0].value if given else "phone",
        )
    [(key, value)] = given
    return [CrmMatchOut.of(m) for m in crm.lookup(key, value, limit)]


@router.get("/crm/search", dependencies=READ)
async def search(
    crm: CrmDep,
    q: Annotated[str, Query(min_length=1, max_length=100)],
    types: Annotated[list[CrmObject] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[CrmMatchOut]:
    """Records whose name, company, subject, account number or case number contains `q`, and
    records whose whole phone number or email address is `q` (those are encrypted, so they
    match whole only)."""
    wanted = [t.record_type for t in types or ()]
    return [CrmMatchOut.of(m) for m in crm.search(q, wanted, limit)]


@router.get("/crm/activities", dependencies=READ)
async def activities(
    crm: CrmDep, who_id: Annotated[str, Query(min_length=1, max_length=64)], limit: Limit = 50
) -> list[RecordOut]:
    """The activities (Tasks) logged with a contact or lead, newest first."""
    return [RecordOut.of(r) for r in crm.activities_of(who_id, limit=limit)]


@router.get("/crm/dialing-list", dependencies=READ)
async def dialing_list(
    crm: CrmDep,
    source: Annotated[str, Query(min_length=1, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[DialingMemberOut]:
    """A campaign's members (`source` = its id) or a saved query (`query:leads_open`,
    `query:leads_new`, `query:contacts_open_cases`, `query:contacts_all`), with a phone, and
    nobody on the do-not-call list."""
    return [
        DialingMemberOut(
            type=m.ref.type.value, id=m.ref.id, name=m.name, phone=m.phone, fields=m.fields
        )
        for m in crm.dialing_list(source, limit)
    ]


@router.get("/crm/dnc", dependencies=READ)
async def dnc(crm: CrmDep) -> list[DncOut]:
    """The do-not-call list, with the numbers of contacts and leads flagged DoNotCall."""
    return [DncOut.of(e) for e in crm.dnc_numbers()]


@router.post("/crm/dnc", dependencies=WRITE, status_code=status.HTTP_201_CREATED)
async def add_dnc(body: DncIn, crm: CrmDep, request: Request) -> list[DncOut]:
    """Add numbers (any common format) to the do-not-call list; numbers already on it keep
    their first date and source. Answers with the whole list."""
    now = request.app.state.runtime.clock.now()
    crm.add_dnc([DncEntry(n, now, body.source) for n in body.numbers])
    return [DncOut.of(e) for e in crm.dnc_numbers()]


@router.post(
    "/crm/campaigns/{campaign_id}/members",
    dependencies=WRITE,
    status_code=status.HTTP_201_CREATED,
)
async def add_member(campaign_id: str, body: MemberIn, crm: CrmDep) -> RecordOut:
    """Add a contact or a lead to a campaign (adding one again updates its Status)."""
    if crm.get_record(RecordRef(RecordType.CAMPAIGN, campaign_id)) is None:
        raise NotFound(f"no campaign {campaign_id}", field="campaign_id", id=campaign_id)
    fields = {"CampaignId": campaign_id, **body.model_dump(exclude_none=True)}
    return _record(crm, crm.upsert_record(RecordType.CAMPAIGN_MEMBER, fields))


def _object_routes(obj: CrmObject) -> None:
    """List, create, read, change and delete for one object, at /crm/<obj>."""
    type = obj.record_type
    path = f"/crm/{obj.value}"

    def named(fn: Callable[..., Any], verb: str) -> Callable[..., Any]:
        fn.__name__ = f"{verb}_{obj.value}"
        fn.__doc__ = (fn.__doc__ or "").replace("records", f"{type.value} records")
        return fn

    async def list_records(crm: CrmDep, limit: Limit = 50, offset: Offset = 0) -> list[RecordOut]:
        """The records, newest first."""
        return [RecordOut.of(r) for r in crm.list_records(type, limit=limit, offset=offset)]

    async def create(body: FieldsIn, crm: CrmDep) -> RecordOut:
        """Create one of the records; 422 names a field that is unknown, missing or wrong."""
        return _record(crm, crm.upsert_record(type, body))

    async def read(record_id: str, crm: CrmDep) -> RecordOut:
        """One of the records, personal fields decrypted."""
        return _record(crm, RecordRef(type, record_id))

    async def change(record_id: str, body: FieldsIn, crm: CrmDep) -> RecordOut:
        """Change the fields given (null clears one) of one of the records."""
        return _record(crm, crm.upsert_record(type, {**body, "Id": record_id}, "Id"))

    async def remove(record_id: str, crm: CrmDep) -> Response:
        """Delete one of the records, with its campaign memberships."""
        if not crm.delete_record(RecordRef(type, record_id)):
            raise NotFound(f"no {type.value} {record_id}", type=type.value, id=record_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    item = f"{path}/{{record_id}}"
    router.get(path, dependencies=READ)(named(list_records, "list"))
    router.post(path, dependencies=WRITE, status_code=status.HTTP_201_CREATED)(
        named(create, "create")
    )
    router.get(item, dependencies=READ)(named(read, "get"))
    router.patch(item, dependencies=WRITE)(named(change, "change"))
    router.delete(item, dependencies=WRITE, status_code=status.HTTP_204_NO_CONTENT)(
        named(remove, "delete")
    )


for _obj in CrmObject:
    _object_routes(_obj)
