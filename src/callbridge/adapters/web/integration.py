"""REST routes of the integration core: screen pops and the agent's pick, the activity
outbox, the connector's health, and click-to-dial."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field

from callbridge.adapters.store.outbox import OutboxRow, Status
from callbridge.adapters.web.auth import (
    Caller,
    CallerDep,
    check_agent,
    readable_interaction,
    requires,
)
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.adapters.web.schemas import ActionOut, EventOut, InteractionOut
from callbridge.domain.crm.records import CrmMatch, LookupKey, RecordRef, RecordType
from callbridge.domain.crm.screen_pop import Outcome, ScreenPop
from callbridge.domain.errors import InvalidInput, NotFound
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.interactions import Interaction
from callbridge.domain.security.permissions import Permission
from callbridge.ports import Crm
from callbridge.services import interactions as svc
from callbridge.services import views
from callbridge.services.crm_sync.delivery import ActivityLog
from callbridge.services.crm_sync.mapping import SAMPLE_ACTIVITY, parse_mapping
from callbridge.services.crm_sync.screen_pops import ScreenPops
from callbridge.services.runtime import Runtime

router = APIRouter(tags=["crm integration"])
PHONE_FIELDS = ("Phone", "MobilePhone")


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["Contact", "Lead", "Account", "Case"]
    id: str = Field(min_length=1, max_length=64)


class MatchOut(BaseModel):
    type: str
    id: str
    name: str
    matched_on: str
    account_name: str | None

    @classmethod
    def of(cls, m: CrmMatch) -> MatchOut:
        return cls(
            type=m.ref.type.value,
            id=m.ref.id,
            name=m.name,
            matched_on=m.matched_on.value,
            account_name=m.account_name,
        )


class ScreenPopOut(BaseModel):
    interaction_id: str
    outcome: str = Field(description="single: pop it; multiple: pick one; none: new-record form")
    matches: list[MatchOut]
    chosen: RecordIn | None
    prefill: dict[str, str] = Field(description="For the new-record form, when none matched")

    @classmethod
    def of(cls, pop: ScreenPop) -> ScreenPopOut:
        chosen = pop.chosen
        return cls(
            interaction_id=pop.interaction_id,
            outcome=pop.outcome.value,
            matches=[MatchOut.of(m) for m in pop.matches],
            chosen=None if chosen is None else RecordIn(type=chosen.type.value, id=chosen.id),
            prefill=dict(pop.prefill),
        )


class OutboxOut(BaseModel):
    interaction_id: str
    status: str
    subject: str
    attempts: int
    created_at: float
    next_attempt_at: float
    last_error: str | None

    @classmethod
    def of(cls, row: OutboxRow) -> OutboxOut:
        return cls(
            interaction_id=row.interaction_id,
            status=row.status,
            subject=row.activity.subject,
            attempts=row.attempts,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
        )


class HealthOut(BaseModel):
    crm: str
    state: str
    detail: str
    api_used: int | None
    api_max: int | None
    outbox: dict[str, float]


class DialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: str | None = Field(default=None, description="Default: the caller's own agent")
    to: str | None = Field(default=None, max_length=64, description="Default: the record's phone")
    record: RecordIn | None = None
    from_: str = Field(
        default="anonymous",
        alias="from",
        min_length=1,
        max_length=64,
        description="The caller id to present (until telephony sets it per trunk)",
    )


def _pops(request: Request) -> ScreenPops:
    pops: ScreenPops = request.app.state.screen_pops
    return pops


def _log(request: Request) -> ActivityLog:
    log: ActivityLog = request.app.state.activity_log
    return log


PopsDep = Annotated[ScreenPops, Depends(_pops)]
LogDep = Annotated[ActivityLog, Depends(_log)]


def _interaction(rt: Runtime, caller: Caller, interaction_id: str) -> Interaction:
    return readable_interaction(
        caller, rt, interaction_id, "may see the screen pop only of its own interactions"
    )


@router.get(
    "/interactions/{interaction_id}/screen-pop",
    dependencies=[Depends(requires(Permission.CRM_READ))],
)
async def screen_pop(
    interaction_id: str, rt: RuntimeDep, caller: CallerDep, pops: PopsDep
) -> ScreenPopOut:
    """Who the customer is: one record, a short list to pick from, or a prefilled form."""
    return ScreenPopOut.of(pops.resolve(_interaction(rt, caller, interaction_id)))


@router.post(
    "/interactions/{interaction_id}/screen-pop/choose",
    dependencies=[Depends(requires(Permission.CRM_WRITE))],
)
async def choose(
    interaction_id: str,
    body: RecordIn,
    rt: RuntimeDep,
    caller: CallerDep,
    pops: PopsDep,
    log: LogDep,
) -> ScreenPopOut:
    """Pick the record the interaction is with; its waiting activity log goes out."""
    ix = _interaction(rt, caller, interaction_id)
    pop = pops.choose(ix, RecordRef(RecordType(body.type), body.id), caller.principal.actor)
    log.release(ix.id)
    return ScreenPopOut.of(pop)


class MappingOut(BaseModel):
    origin: str = Field(description="The mapping file's path, or 'default': the CRM's own")
    object: str | None = Field(description="The CRM object activities are logged as")
    fields: list[str]
    yaml: str | None = Field(description="The mapping file's text (none for the default)")


class DryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    yaml: str | None = Field(
        default=None, max_length=100_000, description="A mapping to try; none: the one in use"
    )
    interaction_id: str | None = Field(
        default=None, description="Map this closed interaction's activity; none: a sample call"
    )


class DryRunOut(BaseModel):
    object: str | None
    activity: str = Field(description="The interaction mapped, or 'sample'")
    fields: dict[str, str | int | float | bool | None]


@router.get("/crm/mapping", dependencies=[Depends(requires(Permission.CRM_READ))])
async def mapping(log: LogDep) -> MappingOut:
    """The field mapping in use: the file the `crm_mapping_file` setting names, or the CRM's
    default fields."""
    m = log.mapping
    if m is None:
        return MappingOut(origin="default", object=None, fields=[], yaml=None)
    return MappingOut(origin=m.origin, object=m.object, fields=sorted(m.rules), yaml=m.text)


@router.post("/crm/mapping/dry-run", dependencies=[Depends(requires(Permission.CRM_READ))])
async def dry_run(body: DryRunIn, log: LogDep) -> DryRunOut:
    """What a mapping (the one given, else the one in use) makes of an interaction's activity
    (the one named, else a sample call), without writing anything to the CRM. A mistake in the
    mapping is a 422 naming its line and field."""
    activity, source = SAMPLE_ACTIVITY, "sample"
    if body.interaction_id is not None:
        row = log.outbox.get(body.interaction_id)
        if row is None:
            raise NotFound(
                f"interaction {body.interaction_id} has no activity: one is made when it closes",
                field="interaction_id",
            )
        activity, source = row.activity, body.interaction_id
    if body.yaml is not None:
        given = parse_mapping(body.yaml, "the mapping")
        return DryRunOut(object=given.object, activity=source, fields=given.apply(activity))
    m = log.mapping
    return DryRunOut(
        object=None if m is None else m.object, activity=source, fields=log.mapper(activity)
    )


@router.get("/crm/outbox", dependencies=[Depends(requires(Permission.INTERACTIONS_READ))])
async def outbox(
    log: LogDep,
    status: Literal["pending", "unresolved", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[OutboxOut]:
    """Activities on their way to the CRM, newest first; `unresolved` wait for a pick."""
    return [OutboxOut.of(r) for r in log.outbox.rows(status, limit)]


@router.post(
    "/crm/outbox/{interaction_id}/retry", dependencies=[Depends(requires(Permission.CRM_WRITE))]
)
async def retry(interaction_id: str, log: LogDep) -> OutboxOut:
    """Send a failed (or unresolved) activity again, now."""
    row = log.outbox.get(interaction_id)
    if row is None:
        raise NotFound(f"no activity for interaction {interaction_id}", field="interaction_id")
    if row.status == Status.DELIVERED:
        raise InvalidInput("already delivered", field="interaction_id")
    log.release(interaction_id)
    again = log.outbox.get(interaction_id)
    assert again is not None
    return OutboxOut.of(again)


@router.get("/crm/health", dependencies=[Depends(requires(Permission.METRICS_READ))])
async def health(request: Request, rt: RuntimeDep, log: LogDep) -> HealthOut:
    """The connector's state, its API budget, and the outbox's depth and age."""
    crm: Crm = request.app.state.crm
    state = crm.health()
    return HealthOut(
        crm=crm.name,
        state=state.state.value,
        detail=state.detail,
        api_used=state.api_used,
        api_max=state.api_max,
        outbox=log.outbox.stats(rt.clock.now()),
    )


@router.post(
    "/crm/click-to-dial",
    status_code=201,
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def click_to_dial(
    body: DialIn, request: Request, rt: RuntimeDep, caller: CallerDep, pops: PopsDep
) -> ActionOut:
    """Call a CRM record (or a number) from the agent's phone: an outbound interaction,
    connected to the agent, whose activity is logged against that record."""
    agent_id = body.agent_id or caller.principal.scope.agent_id
    if agent_id is None:
        raise InvalidInput("agent_id: the caller has no agent of its own", field="agent_id")
    check_agent(caller, rt, AgentId(agent_id), Permission.INTERACTIONS_HANDLE)
    crm: Crm = request.app.state.crm
    number = body.to
    match: CrmMatch | None = None
    if body.record is not None:
        ref = RecordRef(RecordType(body.record.type), body.record.id)
        record = crm.get_record(ref)
        if record is None:
            raise NotFound(f"no {ref.type.value} {ref.id} in the CRM", field="record")
        if number is None:
            found = [record.fields.get(f) for f in PHONE_FIELDS]
            number = next((str(v) for v in found if v), None)
        match = CrmMatch(ref, record.name, LookupKey.PHONE)
    if not number:
        raise InvalidInput("to: no number given and the record has none", field="to")
    attached: dict[str, str] = {}
    if match is not None and match.ref.type in (RecordType.ACCOUNT, RecordType.CASE):
        attached = {"crm_what_type": match.ref.type.value, "crm_what_id": match.ref.id}
    events = svc.do_dial(rt, AgentId(agent_id), number, body.from_, attached)
    iid = InteractionId(str(events[0].interaction_id))
    if match is not None:
        pop = ScreenPop(iid, Outcome.SINGLE, (match,), chosen=match.ref, chosen_by="click-to-dial")
        pops.store.save(pop, crm.name, rt.clock.now())
    return ActionOut(
        interaction=InteractionOut.of(views.get_interaction(rt, iid)),
        events=[EventOut.of(e) for e in events],
    )


class CrmCollector(Collector):
    """The connector's state, its API budget, and the outbox, read at scrape time."""

    STATES = ("connected", "degraded", "down")

    def __init__(self, crm: Crm, log: ActivityLog) -> None:
        self._crm, self._log = crm, log

    def collect(self) -> Iterator[GaugeMetricFamily]:
        health = self._crm.health()
        state = GaugeMetricFamily(
            "callbridge_crm_up", "1 for the connector's current state", labels=["crm", "state"]
        )
        for name in self.STATES:
            state.add_metric([self._crm.name, name], 1.0 if health.state.value == name else 0.0)
        yield state
        if health.api_max is not None:
            budget = GaugeMetricFamily(
                "callbridge_crm_api_requests", "Daily API allocation", labels=["crm", "kind"]
            )
            budget.add_metric([self._crm.name, "used"], float(health.api_used or 0))
            budget.add_metric([self._crm.name, "max"], float(health.api_max))
            yield budget
        stats = self._log.outbox.stats(self._log.clock.now())
        depth = GaugeMetricFamily(
            "callbridge_crm_outbox", "Activities in the outbox by status", labels=["status"]
        )
        for status in ("pending", "unresolved", "delivered", "failed"):
            depth.add_metric([status], stats[status])
        yield depth
        age = GaugeMetricFamily(
            "callbridge_crm_outbox_oldest_seconds", "Age of the oldest undelivered activity"
        )
        age.add_metric([], stats["oldest_age_s"])
        yield age
