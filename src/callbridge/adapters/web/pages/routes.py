"""The browser pages: sign-in, the agent desktop, the wallboard and admin; the snapshots their
live views start from; and their static files (ES modules and a style sheet, no build step).

The pages themselves act through the REST API (with the session's CSRF token); the routes here
only render pages and read what the API does not offer in one piece.
"""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from callbridge.adapters.web.auth import Caller, CallerDep, public, readable_interaction, requires
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.adapters.web.pages import admin
from callbridge.adapters.web.pages.access import STATIC_DIR, PageCaller, page_requires, render
from callbridge.adapters.web.pages.snapshots import Json, agent_view, wallboard_view
from callbridge.adapters.web.stream import Hub
from callbridge.adapters.web.visibility import queue_scope
from callbridge.domain.agents import AgentState
from callbridge.domain.channels import Direction
from callbridge.domain.errors import InvalidState, NotFound
from callbridge.domain.ids import AgentId
from callbridge.domain.interactions import Interaction
from callbridge.domain.scripts import ScriptText
from callbridge.domain.security.permissions import Permission
from callbridge.ports import JsonValue
from callbridge.services import views
from callbridge.services.runtime import Runtime

router = APIRouter(tags=["pages"], include_in_schema=False)
router.include_router(admin.router)

# Not Ready reason codes the desktop offers (the API takes any code).
NOT_READY_REASONS = (
    ("break", "Break"),
    ("lunch", "Lunch"),
    ("meeting", "Meeting"),
    ("training", "Training"),
    ("coaching", "Coaching"),
    ("admin", "Admin work"),
)
HISTORY = 5  # the customer's earlier interactions shown on the desktop

AgentPage = Annotated[PageCaller, Depends(page_requires(Permission.AGENTS_SELF))]
WallboardPage = Annotated[PageCaller, Depends(page_requires(Permission.REPORTS_READ))]


@router.get("/login", dependencies=[Depends(public)])
async def login_page(request: Request) -> HTMLResponse:
    return render(request, None, "login.html", title="Sign in")


@router.get("/webchat", dependencies=[Depends(public)])
async def webchat_page(
    request: Request, queue: Annotated[str | None, Query(max_length=100)] = None
) -> HTMLResponse:
    """The customer's web chat, into `queue` (or the only web chat queue there is). Sites in
    the `webchat_frame_ancestors` setting may show it in a frame."""
    webchat = request.app.state.webchat
    queues = sorted(webchat.queues)
    chosen = (
        queue if queue in queues else (queues[0] if queue is None and len(queues) == 1 else None)
    )
    return render(
        request,
        None,
        "webchat.html",
        frame_ancestors=webchat.frame_ancestors,
        title="Chat with us",
        config={"queue_id": chosen},
    )


@router.get("/agent")
async def agent_page(request: Request, page: AgentPage, rt: RuntimeDep) -> HTMLResponse:
    if page.denied is not None:
        return page.denied
    agent_id = page.who.principal.scope.agent_id
    agent = rt.center.agents.get(AgentId(agent_id)) if agent_id else None
    if agent is None:
        return render(
            request,
            page.who,
            "error.html",
            title="No agent",
            message="Your account does not work as an agent: ask an admin to link it to one.",
        )
    dispositions = sorted(rt.center.dispositions.values(), key=lambda d: d.code)
    config = {
        "user_id": page.who.principal.user_id,
        "agent_id": agent.id,
        "agent_name": agent.name,
        "queues": [[q.id, q.name] for q in views.list_queues(rt)],
        "dispositions": [[d.code, d.label] for d in dispositions],
    }
    return render(
        request,
        page.who,
        "agent.html",
        title="Agent desktop",
        agent=agent,
        reasons=NOT_READY_REASONS,
        config=config,
    )


@router.get("/wallboard")
async def wallboard_page(request: Request, page: WallboardPage, rt: RuntimeDep) -> HTMLResponse:
    if page.denied is not None:
        return page.denied
    granted = page.who.principal.permissions
    can_monitor = Permission.INTERACTIONS_MONITOR in granted
    can_act = Permission.AGENTS_STATE in granted
    can_edit_skills = Permission.AGENTS_MANAGE in granted
    known_skills = {r.skill for q in views.list_queues(rt) for r in q.requirements}
    known_skills.update(s for a in views.list_agents(rt) for s in a.skills)
    config = {
        "user_id": page.who.principal.user_id,
        "live": Permission.EVENTS_SUBSCRIBE in granted,
        "can_act": can_act,
        # skills decide which queues an agent serves: editing them is changing its queues
        "can_edit_skills": can_edit_skills,
        "skills": sorted(known_skills),
        # monitoring rings the supervisor's own agent's phone (none: the API says so)
        "can_monitor": can_monitor,
        "monitor_agent_id": page.who.principal.scope.agent_id or "",
        "reasons": [list(r) for r in NOT_READY_REASONS],
    }
    return render(
        request,
        page.who,
        "wallboard.html",
        title="Wallboard",
        can_act=can_act or can_monitor or can_edit_skills,
        config=config,
    )


# --- the snapshots the live views start from --------------------------------------------------


def _snapshot(request: Request, caller: Caller, view: str, state: Json) -> JSONResponse:
    hub: Hub = request.app.state.hub
    rt: Runtime = request.app.state.runtime
    position = hub.position()  # no await since the state was read: it shows exactly these
    queue = hub.register(caller.principal, position)
    return JSONResponse(
        {
            "view": view,
            "queue_id": queue.id,
            "last_event_id": position,
            "server_now": rt.clock.now(),
            "heartbeat_s": hub.heartbeat_s,
            "state": state,
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/pages/agent/state", dependencies=[Depends(requires(Permission.AGENTS_SELF))])
async def agent_state(request: Request, caller: CallerDep, rt: RuntimeDep) -> JSONResponse:
    """The agent desktop's state, and a queue of the events that follow it."""
    return _snapshot(request, caller, "agent", agent_view(rt, _own_agent(caller, rt)))


@router.get("/pages/wallboard/state", dependencies=[Depends(requires(Permission.REPORTS_READ))])
async def wallboard_state(request: Request, caller: CallerDep, rt: RuntimeDep) -> JSONResponse:
    """The wallboard's state, and a queue of the events that follow it."""
    state = wallboard_view(rt, queue_scope(caller.principal))
    return _snapshot(request, caller, "wallboard", state)


def _own_agent(caller: Caller, rt: Runtime) -> AgentId:
    agent_id = caller.principal.scope.agent_id
    if agent_id is None or AgentId(agent_id) not in rt.center.agents:
        raise InvalidState(f"{caller.principal.name} does not work as an agent", field="agent_id")
    return AgentId(agent_id)


@router.get(
    "/pages/agent/interactions/{interaction_id}",
    dependencies=[Depends(requires(Permission.AGENTS_SELF))],
)
async def interaction_detail(
    interaction_id: str, caller: CallerDep, rt: RuntimeDep
) -> JSONResponse:
    """What the desktop shows of an interaction in the agent's hands: the customer, what the
    IVR collected, its queue and wrap-up rules, and the customer's recent history."""
    ix = readable_interaction(
        caller, rt, interaction_id, "may see only interactions of its own agent"
    )
    queue = rt.center.queues.get(ix.queue_id) if ix.queue_id else None
    customer = _customer(ix)
    earlier = rt.store.find_interactions(customer, HISTORY + 1) if customer else []
    history = [_brief(past) for past in earlier if past.id != ix.id][:HISTORY]
    body: dict[str, JsonValue] = {
        "id": ix.id,
        "channel": ix.channel.value,
        "direction": ix.direction.value,
        "customer": customer,
        "to": ix.to_address,
        "attached": dict(ix.attached),
        "created_at": ix.created_at,
        "callback_number": ix.callback_number,
        "queue": None
        if queue is None
        else {
            "id": queue.id,
            "name": queue.name,
            "wrap_up_s": queue.wrap_up.duration_s,
            "disposition_required": queue.wrap_up.disposition_required,
            "notes_required": queue.wrap_up.notes_required,
            "default_disposition": queue.wrap_up.default_disposition,
            # parsed once, when the queue was made: the page only fills the fields in
            "script": [
                {"text": p.text} if isinstance(p, ScriptText) else {"field": p.key}
                for p in queue.script_parts
            ],
        },
        "history": history,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _customer(ix: Interaction) -> str:
    return ix.from_address if ix.direction is Direction.INBOUND else ix.to_address


def _brief(ix: Interaction) -> JsonValue:
    return {
        "id": ix.id,
        "channel": ix.channel.value,
        "direction": ix.direction.value,
        "created_at": ix.created_at,
        "state": ix.state.value,
        "end_reason": ix.end_reason.value if ix.end_reason else None,
        "disposition": ix.disposition,
        "notes": ix.notes,
    }


@router.get("/pages/agent/directory", dependencies=[Depends(requires(Permission.AGENTS_SELF))])
async def directory(caller: CallerDep, rt: RuntimeDep) -> JSONResponse:
    """The agents one could transfer to now: Ready, with nothing in hand, other than oneself."""
    own = caller.principal.scope.agent_id
    found: list[JsonValue] = [
        {"id": a.id, "name": a.name}
        for a in views.list_agents(rt)
        if a.id != own and a.state is AgentState.READY
    ]
    return JSONResponse(found, headers={"Cache-Control": "no-store"})


# --- static files ------------------------------------------------------------------------------


@router.get("/static/{path:path}", dependencies=[Depends(public)])
async def static(path: str) -> Response:
    """The pages' ES modules and style sheet, from the package; revalidated on every load."""
    root = STATIC_DIR.resolve()
    target = (root / path).resolve()
    if not target.is_file() or not target.is_relative_to(root):
        raise NotFound(f"no static file {path!r}", field="path")
    kind = "text/javascript" if target.suffix == ".js" else mimetypes.guess_type(target.name)[0]
    return FileResponse(
        target,
        media_type=kind or "application/octet-stream",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
