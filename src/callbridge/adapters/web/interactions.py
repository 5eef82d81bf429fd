"""REST routes for interactions: create, act on, and explain; and the event log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from callbridge.adapters.web.auth import (
    Caller,
    CallerDep,
    check_handle,
    check_queue_scope,
    in_queue_scope,
    readable_interaction,
    requires,
)
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.adapters.web.schemas import (
    ActionOut,
    AgentRef,
    CallbackIn,
    EndIn,
    EventOut,
    InteractionCreate,
    InteractionOut,
    RoutingOut,
    TransferIn,
    WrapUpDone,
)
from callbridge.adapters.web.visibility import Whereabouts, project
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId, QueueId, SkillId
from callbridge.domain.interactions import InteractionState
from callbridge.domain.security.permissions import Forbidden, Permission
from callbridge.ports import StoredEvent
from callbridge.services import interactions as svc
from callbridge.services import views
from callbridge.services.runtime import Runtime

router = APIRouter(tags=["interactions"])
NEXT_AFTER_ID = "Next-After-Id"  # GET /events: where the next page starts


def _act(rt: Runtime, iid: str, action: Callable[[InteractionId], list[StoredEvent]]) -> ActionOut:
    events = action(InteractionId(iid))
    return ActionOut(
        interaction=InteractionOut.of(views.get_interaction(rt, InteractionId(iid))),
        events=[EventOut.of(e) for e in events],
    )


@router.post(
    "/interactions",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(requires(Permission.INTERACTIONS_CREATE))],
)
async def create_interaction(body: InteractionCreate, rt: RuntimeDep) -> ActionOut:
    """An inbound interaction arrives on a channel and joins a queue (routing follows)."""
    new = svc.NewInteraction(
        channel=body.channel,
        from_address=body.from_,
        to_address=body.to,
        queue_id=QueueId(body.queue_id),
        priority=body.priority,
        attached=body.attached,
        extra_skills={SkillId(s): p for s, p in body.skills.items()},
    )
    events = svc.do_create_interaction(rt, new)
    iid = InteractionId(str(events[0].interaction_id))
    return ActionOut(
        interaction=InteractionOut.of(views.get_interaction(rt, iid)),
        events=[EventOut.of(e) for e in events],
    )


@router.get("/interactions", dependencies=[Depends(requires(Permission.INTERACTIONS_READ))])
async def list_interactions(
    rt: RuntimeDep,
    caller: CallerDep,
    state: InteractionState | None = None,
    queue_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    address: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=320,
            description="Only those from, to or to call back at this phone number (any "
            "formatting) or email address.",
        ),
    ] = None,
) -> list[InteractionOut]:
    """Newest first. A supervisor limited to some queues gets those queues' interactions only
    (so fewer than `limit` may come back), and 403 for another queue's `queue_id`."""
    check_queue_scope(caller.principal, queue_id, "interactions")
    if address is not None:
        # through the blind indexes; the other filters apply to what the address finds
        found = [
            ix
            for ix in rt.store.find_interactions(address, limit)
            if (state is None or ix.state == state) and (not queue_id or ix.queue_id == queue_id)
        ]
    else:
        found = rt.store.list_interactions(
            state=state, queue_id=QueueId(queue_id) if queue_id else None, limit=limit
        )
    now = [rt.center.interactions.get(ix.id, ix) for ix in found]
    return [InteractionOut.of(ix) for ix in now if in_queue_scope(caller.principal, ix)]


@router.get(
    "/interactions/{interaction_id}", dependencies=[Depends(requires(Permission.INTERACTIONS_READ))]
)
async def get_interaction(interaction_id: str, rt: RuntimeDep, caller: CallerDep) -> InteractionOut:
    """One interaction (a supervisor limited to some queues: one in those queues)."""
    return InteractionOut.of(
        readable_interaction(caller, rt, interaction_id, "may read only its queues' interactions")
    )


@router.post(
    "/interactions/{interaction_id}/accept",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def accept(
    interaction_id: str, body: AgentRef, rt: RuntimeDep, caller: CallerDep
) -> ActionOut:
    check_handle(caller, rt, InteractionId(interaction_id), body.agent_id)
    return _act(rt, interaction_id, lambda i: svc.do_accept(rt, i, AgentId(body.agent_id)))


@router.post(
    "/interactions/{interaction_id}/reject",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def reject(
    interaction_id: str, body: AgentRef, rt: RuntimeDep, caller: CallerDep
) -> ActionOut:
    """The agent declines the offer: Not Ready ("missed"), the interaction keeps its place."""
    check_handle(caller, rt, InteractionId(interaction_id), body.agent_id)
    return _act(rt, interaction_id, lambda i: svc.do_reject(rt, i, AgentId(body.agent_id)))


@router.post(
    "/interactions/{interaction_id}/hold",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def hold(interaction_id: str, body: AgentRef, rt: RuntimeDep, caller: CallerDep) -> ActionOut:
    check_handle(caller, rt, InteractionId(interaction_id), body.agent_id)
    return _act(rt, interaction_id, lambda i: svc.do_hold(rt, i, AgentId(body.agent_id)))


@router.post(
    "/interactions/{interaction_id}/resume",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def resume(
    interaction_id: str, body: AgentRef, rt: RuntimeDep, caller: CallerDep
) -> ActionOut:
    check_handle(caller, rt, InteractionId(interaction_id), body.agent_id)
    return _act(rt, interaction_id, lambda i: svc.do_resume(rt, i, AgentId(body.agent_id)))


@router.post(
    "/interactions/{interaction_id}/transfer",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def transfer(
    interaction_id: str, body: TransferIn, rt: RuntimeDep, caller: CallerDep
) -> ActionOut:
    """To a queue (`to_queue_id`), to a named agent (`to_agent_id`), or a call to an outside
    number (`to_number`, through the trunk; the interaction ends): exactly one."""
    check_handle(caller, rt, InteractionId(interaction_id), body.agent_id)
    return _act(
        rt,
        interaction_id,
        lambda i: svc.do_transfer(
            rt,
            i,
            AgentId(body.agent_id),
            to_queue=QueueId(body.to_queue_id) if body.to_queue_id else None,
            to_agent=AgentId(body.to_agent_id) if body.to_agent_id else None,
            to_number=body.to_number,
        ),
    )


@router.post(
    "/interactions/{interaction_id}/end",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def end(interaction_id: str, body: EndIn, rt: RuntimeDep, caller: CallerDep) -> ActionOut:
    """Without `agent_id`, whoever may act on any agent ends it; an agent ends only its own."""
    acting = body.agent_id
    if acting is None and Permission.AGENTS_STATE not in caller.principal.permissions:
        acting = caller.principal.scope.agent_id
        if acting is None:
            raise Forbidden(
                f"{caller.principal.name} may end only interactions of its own agent",
                permission=Permission.INTERACTIONS_HANDLE.value,
            )
    if acting is not None:
        check_handle(caller, rt, InteractionId(interaction_id), acting)
    return _act(
        rt,
        interaction_id,
        lambda i: svc.do_end(rt, i, body.by, AgentId(acting) if acting else None),
    )


@router.post(
    "/interactions/{interaction_id}/wrap-up",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def wrap_up(
    interaction_id: str, body: WrapUpDone, rt: RuntimeDep, caller: CallerDep
) -> ActionOut:
    check_handle(caller, rt, InteractionId(interaction_id), body.agent_id)
    return _act(
        rt,
        interaction_id,
        lambda i: svc.do_wrap_up(
            rt,
            i,
            AgentId(body.agent_id),
            DispositionCode(body.disposition) if body.disposition else None,
            body.notes,
        ),
    )


@router.post(
    "/interactions/{interaction_id}/callback",
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def callback(interaction_id: str, body: CallbackIn, rt: RuntimeDep) -> ActionOut:
    """The caller asks to be called back and keeps their place in line."""
    return _act(rt, interaction_id, lambda i: svc.do_request_callback(rt, i, body.number))


@router.get(
    "/interactions/{interaction_id}/routing",
    dependencies=[Depends(requires(Permission.INTERACTIONS_ROUTING))],
)
async def routing(interaction_id: str, rt: RuntimeDep) -> RoutingOut:
    """Why each agent was chosen: candidates, the rule, and who was passed over and why."""
    found = views.explain_routing(rt, InteractionId(interaction_id))
    return RoutingOut(
        interaction_id=found.interaction_id, decisions=found.decisions, explanation=found.summary
    )


@router.get("/interactions/{interaction_id}/events")
async def interaction_events(
    interaction_id: str,
    caller: Annotated[Caller, Depends(requires(Permission.INTERACTIONS_READ))],
    rt: RuntimeDep,
) -> list[EventOut]:
    """One interaction's events, as the caller may see them (see GET /events)."""
    views.get_interaction(rt, InteractionId(interaction_id))
    logged = views.events(rt, interaction_id=InteractionId(interaction_id), limit=10_000)
    shown = project(caller.principal, rt.center, Whereabouts(rt.store), logged)
    return [EventOut.of(e) for e in shown]


@router.get("/events", tags=["events"])
async def event_log(
    caller: Annotated[Caller, Depends(requires(Permission.INTERACTIONS_READ))],
    rt: RuntimeDep,
    response: Response,
    after_id: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventOut]:
    """The append-only event log, in order; page with `after_id`.

    A supervisor limited to some queues gets the events of the interactions in those queues
    and of the agents who serve them, the other work of those agents withheld
    (`payload.withheld`), and nothing else; so a page may hold fewer than `limit` events, even
    none, before the end of the log. The `Next-After-Id` header names the last logged event
    the page covered: the next page starts after it (the log has ended when it equals
    `after_id`)."""
    logged = views.events(rt, after_id=after_id, limit=limit)
    response.headers[NEXT_AFTER_ID] = str(logged[-1].id if logged else after_id)
    shown = project(caller.principal, rt.center, Whereabouts(rt.store), logged)
    return [EventOut.of(e) for e in shown]
