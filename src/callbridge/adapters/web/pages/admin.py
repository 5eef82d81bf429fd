"""The admin pages: users and roles, skills, queues, dispositions, the CRM connection and the
audit log. Each lists what there is, read fresh; its forms send JSON to the REST API
(`static/js/admin.js`), which checks everything, and a mistake is shown next to its field."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from callbridge.adapters.store.audit import AuditFilter, AuditLog
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.adapters.web.flows import flows_now
from callbridge.adapters.web.hours import business_hours_now
from callbridge.adapters.web.pages.access import PageCaller, page_requires, render
from callbridge.domain.queues import OverflowKind, Strategy
from callbridge.domain.security.permissions import BUILTIN_ROLES, Permission
from callbridge.services import views
from callbridge.services.security.accounts import Accounts
from callbridge.services.security.audit import timestamp

router = APIRouter()
AUDIT_PAGE = 100

# The admin pages, and what each needs (the tabs show only those the user may open).
SECTIONS = (
    ("/admin", "Users and roles", Permission.USERS_READ),
    ("/admin/skills", "Skills", Permission.AGENTS_READ),
    ("/admin/queues", "Queues", Permission.QUEUES_READ),
    ("/admin/dispositions", "Dispositions", Permission.DISPOSITIONS_READ),
    ("/admin/flows", "IVR and hours", Permission.QUEUES_READ),
    ("/admin/crm", "CRM connection and mapping", Permission.METRICS_READ),
    ("/admin/audit", "Audit log", Permission.AUDIT_READ),
)

HOURS_DAYS = (("mon", "Mon"), ("tue", "Tue"), ("wed", "Wed"), ("thu", "Thu"), ("fri", "Fri"),
              ("sat", "Sat"), ("sun", "Sun"))  # fmt: skip


def _page(
    request: Request, page: PageCaller, template: str, title: str, **context: Any
) -> HTMLResponse:
    granted = page.who.principal.permissions
    tabs = [(href, label) for href, label, need in SECTIONS if need in granted]
    return render(request, page.who, template, title=title, tabs=tabs, **context)


@router.get("/admin")
async def users_page(
    request: Request,
    page: Annotated[PageCaller, Depends(page_requires(Permission.USERS_READ))],
    rt: RuntimeDep,
) -> HTMLResponse:
    if page.denied is not None:
        return page.denied
    accounts: Accounts = request.app.state.accounts
    users = sorted(accounts.store.list_users(), key=lambda u: u.username)
    roles = sorted(BUILTIN_ROLES) + sorted(r.name for r in accounts.store.list_roles())
    return _page(
        request,
        page,
        "admin_users.html",
        "Users and roles",
        users=users,
        roles=roles,
        agents=views.list_agents(rt),
        can_manage=Permission.USERS_MANAGE in page.who.principal.permissions,
    )


@router.get("/admin/skills")
async def skills_page(
    request: Request,
    page: Annotated[PageCaller, Depends(page_requires(Permission.AGENTS_READ))],
    rt: RuntimeDep,
) -> HTMLResponse:
    if page.denied is not None:
        return page.denied
    agents = views.list_agents(rt)
    skills: dict[str, list[str]] = {}
    for agent in agents:
        for skill, level in sorted(agent.skills.items()):
            skills.setdefault(skill, []).append(f"{agent.name} ({level})")
    needed: dict[str, list[str]] = {}
    for queue in views.list_queues(rt):
        for requirement in queue.requirements:
            needed.setdefault(requirement.skill, []).append(queue.name)
    names = sorted(set(skills) | set(needed))
    return _page(
        request,
        page,
        "admin_skills.html",
        "Skills",
        rows=[(s, skills.get(s, []), needed.get(s, [])) for s in names],
        agents=agents,
        can_manage=Permission.AGENTS_MANAGE in page.who.principal.permissions,
    )


STRATEGIES = (
    (Strategy.LONGEST_IDLE.value, "Longest idle agent"),
    (Strategy.MOST_SKILLED.value, "Most skilled agent"),
    (Strategy.LEAST_OCCUPIED.value, "Least occupied agent"),
    (Strategy.ROUND_ROBIN.value, "Round robin"),
)
OVERFLOW_KINDS = (
    (OverflowKind.QUEUE.value, "move to another queue"),
    (OverflowKind.VOICEMAIL.value, "offer voicemail"),
    (OverflowKind.CALLBACK.value, "offer a callback"),
    (OverflowKind.DISCONNECT.value, "play a message and hang up"),
)


@router.get("/admin/queues")
async def queues_page(
    request: Request,
    page: Annotated[PageCaller, Depends(page_requires(Permission.QUEUES_READ))],
    rt: RuntimeDep,
) -> HTMLResponse:
    if page.denied is not None:
        return page.denied
    stats = views.all_queue_stats(rt)
    return _page(
        request,
        page,
        "admin_queues.html",
        "Queues",
        queues=[(q, stats[q.id]) for q in views.list_queues(rt)],
        dispositions=sorted(rt.center.dispositions.values(), key=lambda d: d.code),
        can_manage=Permission.QUEUES_MANAGE in page.who.principal.permissions,
        strategies=STRATEGIES,
        overflow_kinds=OVERFLOW_KINDS,
    )


@router.get("/admin/dispositions")
async def dispositions_page(
    request: Request,
    page: Annotated[PageCaller, Depends(page_requires(Permission.DISPOSITIONS_READ))],
    rt: RuntimeDep,
) -> HTMLResponse:
    if page.denied is not None:
        return page.denied
    return _page(
        request,
        page,
        "admin_dispositions.html",
        "Dispositions",
        dispositions=sorted(rt.center.dispositions.values(), key=lambda d: d.code),
        can_manage=Permission.DISPOSITIONS_MANAGE in page.who.principal.permissions,
    )


@router.get("/admin/flows")
async def flows_page(
    request: Request,
    page: Annotated[PageCaller, Depends(page_requires(Permission.QUEUES_READ))],
    rt: RuntimeDep,
) -> HTMLResponse:
    if page.denied is not None:
        return page.denied
    book, now = request.app.state.flows, rt.clock.now()
    return _page(
        request,
        page,
        "admin_flows.html",
        "IVR flows and hours",
        flows=flows_now(book, now),
        hours=business_hours_now(request.app.state.business_hours, book, now),
        days=HOURS_DAYS,
        can_manage=Permission.QUEUES_MANAGE in page.who.principal.permissions,
    )


@router.get("/admin/crm")
async def crm_page(
    request: Request,
    page: Annotated[PageCaller, Depends(page_requires(Permission.METRICS_READ))],
) -> HTMLResponse:
    if page.denied is not None:
        return page.denied
    crm = getattr(request.app.state, "crm", None)
    log = getattr(request.app.state, "activity_log", None)
    mapping = None if log is None else log.mapping
    return _page(
        request,
        page,
        "admin_crm.html",
        "CRM connection",
        crm_name=None if crm is None else crm.name,
        mapping=mapping,
        can_dry_run=Permission.CRM_READ in page.who.principal.permissions,
    )


@router.get("/admin/audit")
async def audit_page(
    request: Request,
    page: Annotated[PageCaller, Depends(page_requires(Permission.AUDIT_READ))],
    actor: Annotated[str | None, Query(max_length=200)] = None,
    object_type: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = AUDIT_PAGE,
) -> HTMLResponse:
    """The newest entries first, filtered by actor, object type and action (GET /audit pages
    through the whole log)."""
    if page.denied is not None:
        return page.denied
    log: AuditLog = request.app.state.audit_log
    filters = AuditFilter(
        actor=actor or None, object_type=object_type or None, action=action or None
    )
    entries = log.read(0, limit, filters, newest=True)
    return _page(
        request,
        page,
        "admin_audit.html",
        "Audit log",
        entries=[(e, timestamp(e.record.at)) for e in reversed(entries)],
        actor=actor or "",
        object_type=object_type or "",
        action=action or "",
        limit=limit,
    )
