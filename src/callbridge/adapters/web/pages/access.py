"""Who may open a page, and rendering it.

A page declares one permission, as every route does (`page_requires`, read by the route-table
check). A browser without a session is sent to /login (303, with `next`); one whose session
still waits for its second factor too; one whose role does not allow the page gets a 403 page
that says which permission it lacks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from callbridge.adapters.web.auth import Caller, authenticate
from callbridge.domain.errors import CallbridgeError
from callbridge.domain.security.permissions import Forbidden, Permission, authorize
from callbridge.services.security.accounts import Accounts, csrf_token

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

# Where each page is, and what it needs: the navigation shows only what the user may open.
NAVIGATION = (
    ("/agent", "Agent desktop", Permission.AGENTS_SELF),
    ("/wallboard", "Wallboard", Permission.REPORTS_READ),
    ("/admin", "Admin", Permission.USERS_READ),
)


@dataclass(frozen=True, slots=True)
class PageCaller:
    """The signed-in user of a page, or the 403 page to answer instead."""

    caller: Caller | None
    denied: HTMLResponse | None = None

    @property
    def who(self) -> Caller:
        assert self.caller is not None
        return self.caller


def page_requires(permission: Permission) -> Callable[..., Awaitable[PageCaller]]:
    """The page form of `requires`: the same identification and check, answered for a person."""

    async def dependency(request: Request) -> PageCaller:
        try:
            caller = await authenticate(request, None)
        except CallbridgeError as exc:  # no session, an expired one, or MFA still to come
            target = quote(request.url.path, safe="/")
            raise HTTPException(
                303, exc.message, headers={"Location": f"/login?next={target}"}
            ) from exc
        try:
            authorize(caller.principal, permission)
        except Forbidden as exc:
            page = render(request, caller, "error.html", title="Not allowed", message=exc.message)
            page.status_code = 403
            return PageCaller(caller, page)
        return PageCaller(caller)

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the route check
    return dependency


NO_FRAMES = "'none'"


def render(
    request: Request,
    caller: Caller | None,
    template: str,
    *,
    frame_ancestors: Sequence[str] = (),
    **context: Any,
) -> HTMLResponse:
    """A page, with the navigation the user may use and the session's CSRF token. Only the
    origins in `frame_ancestors` may show it in a frame (none by default)."""
    accounts: Accounts = request.app.state.accounts
    user = None
    nav: list[tuple[str, str]] = []
    csrf = ""
    if caller is not None:
        user = accounts.get_user(caller.principal.user_id)
        granted = caller.principal.permissions
        nav = [(href, label) for href, label, need in NAVIGATION if need in granted]
        if caller.session_token is not None:
            csrf = csrf_token(caller.session_token)
    html = templates.get_template(template).render(
        user=user, nav=nav, csrf=csrf, path=request.url.path, **context
    )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
            "style-src 'self'; script-src 'self'; connect-src 'self'; "
            f"frame-ancestors {' '.join(frame_ancestors) or NO_FRAMES}",
            "Cache-Control": "no-store",
            "Referrer-Policy": "same-origin",
        },
    )
