"""The one way a request proves who it is and what it may do.

Every route declares exactly one permission with `Depends(requires(Permission.X))` (or
`Depends(public)`); the route-table test fails for a route that declares neither. `requires`
resolves the caller (an API token in `Authorization: Bearer`, or the session cookie plus, for
changes, its CSRF token) and calls `authorize`, the one permission check shared with WebSocket
subscriptions and pages.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Request, WebSocket, WebSocketException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection
from starlette.status import WS_1008_POLICY_VIOLATION

from callbridge.domain.errors import CallbridgeError
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.interactions import Interaction
from callbridge.domain.security.accounts import Unauthorized
from callbridge.domain.security.permissions import (
    Forbidden,
    Permission,
    Principal,
    Target,
    authorize,
)
from callbridge.ports import AuditRecord, JsonValue
from callbridge.services import views
from callbridge.services.runtime import Runtime
from callbridge.services.security.accounts import Accounts, csrf_token

bearer = HTTPBearer(auto_error=False, description="An API token (cb_...)")


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated principal of one request, and where the request came from."""

    principal: Principal
    source: str
    session_token: str | None = None  # set when the caller came with a session cookie
    mfa_passed: bool = True

    def check(self, permission: Permission, target: Target | None = None) -> None:
        """The object-level half of the check, for handlers that know the object."""
        authorize(self.principal, permission, target)

    def audit(
        self,
        at: float,
        action: str,
        object_type: str,
        object_id: str,
        before: JsonValue = None,
        after: JsonValue = None,
    ) -> AuditRecord:
        return AuditRecord(
            at, self.principal.actor, action, object_type, object_id, self.source, before, after
        )


def source_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


SESSION_COOKIE = "cb_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _resolve(
    request: Request, credentials: HTTPAuthorizationCredentials | None, *, allow_pending: bool
) -> Caller:
    token = credentials.credentials if credentials is not None else None
    caller = _identify(request, token, allow_pending=allow_pending)
    if caller.session_token is not None and request.method in UNSAFE_METHODS:
        await _check_csrf(request, caller.session_token)
    return caller


def _identify(conn: HTTPConnection, bearer_token: str | None, *, allow_pending: bool) -> Caller:
    """Who is on the other end of a request or a WebSocket: API token, else session cookie."""
    accounts: Accounts = conn.app.state.accounts
    source = conn.client.host if conn.client else "unknown"
    if bearer_token is not None:
        token, user = accounts.authenticate_token(bearer_token)
        return Caller(accounts.principal(user, token), source)
    cookie = conn.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthorized("log in, or send an API token (Authorization: Bearer ...)")
    session, user = accounts.session(cookie, allow_pending=allow_pending)
    principal = accounts.principal(user)
    if not session.mfa_passed:
        # between password and second factor: only one's own account (to finish logging in)
        principal = replace(principal, permissions=principal.permissions & {Permission.SELF})
    return Caller(principal, source, session_token=cookie, mfa_passed=session.mfa_passed)


def ws_requires(permission: Permission) -> Callable[..., Awaitable[Caller]]:
    """The WebSocket form of `requires`: the same identification and the same check.

    A browser sends its cookies with a WebSocket handshake from any site, and no CSRF token,
    so a cookie-authenticated socket must come from a page of this server (its Origin).
    """

    async def dependency(websocket: WebSocket) -> Caller:
        header = websocket.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        bearer_token = value.strip() if scheme.lower() == "bearer" and value.strip() else None
        try:
            caller = _identify(websocket, bearer_token, allow_pending=False)
            origin = websocket.headers.get("origin")
            if caller.session_token is not None and origin is not None:
                host = websocket.headers.get("host", "")
                if origin.split("://", 1)[-1] != host:
                    raise Forbidden(f"WebSocket from another site ({origin})", field="Origin")
            authorize(caller.principal, permission)
        except CallbridgeError as exc:
            # refuse the handshake: close code 1008 (policy violation), the reason says why
            raise WebSocketException(
                WS_1008_POLICY_VIOLATION, f"{exc.code}: {exc.message}"
            ) from exc
        return caller

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the route check
    return dependency


async def _check_csrf(request: Request, session_token: str) -> None:
    """A cookie-authenticated change must carry the session's CSRF token (header or form)."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if sent is None or not secrets.compare_digest(sent, csrf_token(session_token)):
        raise Forbidden(
            f"missing or wrong CSRF token: send the {CSRF_HEADER} header from the login response",
            field=CSRF_HEADER,
        )


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The caller, by API token or by a session that has passed its second factor."""
    return await _resolve(request, credentials, allow_pending=False)


async def authenticate_pending(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """Also accepts a session still waiting for its second factor (MFA routes only)."""
    return await _resolve(request, credentials, allow_pending=True)


CallerDep = Annotated[Caller, Depends(authenticate)]
PendingCallerDep = Annotated[Caller, Depends(authenticate_pending)]


def requires(
    permission: Permission, *, allow_pending: bool = False
) -> Callable[..., Awaitable[Caller]]:
    """A dependency that authenticates the request and checks `permission`."""

    # Two definitions rather than one with a variable annotation: FastAPI reads the
    # annotations by name from this module, so they must name module-level aliases.
    async def dependency(caller: CallerDep) -> Caller:
        authorize(caller.principal, permission)
        return caller

    async def pending_dependency(caller: PendingCallerDep) -> Caller:
        authorize(caller.principal, permission)
        return caller

    chosen = pending_dependency if allow_pending else dependency
    chosen.permission = permission  # type: ignore[attr-defined]  # read by the route check
    return chosen


async def public() -> None:
    """Declares a route open to anyone (health, the API description, login)."""


def check_agent(caller: Caller, rt: Runtime, agent_id: AgentId, permission: Permission) -> None:
    """One's own agent passes; another agent needs `permission` reaching that agent's teams."""
    if caller.principal.scope.agent_id == agent_id:
        return
    agent = rt.center.agents.get(agent_id)
    groups = agent.groups if agent is not None else ()
    authorize(caller.principal, permission, Target(agent_id=agent_id, agent_groups=groups))


def check_handle(caller: Caller, rt: Runtime, interaction_id: InteractionId, agent_id: str) -> None:
    """Acting on an interaction as `agent_id`: one's own agent, or a supervisor over that
    agent's team, in a queue the supervisor may work."""
    ix = rt.center.interactions.get(interaction_id)
    agent = rt.center.agents.get(AgentId(agent_id))
    authorize(
        caller.principal,
        Permission.INTERACTIONS_HANDLE,
        Target(
            queue_id=ix.queue_id if ix is not None else None,
            agent_id=agent_id,
            agent_groups=agent.groups if agent is not None else (),
        ),
    )


def readable_interaction(
    caller: Caller, rt: Runtime, interaction_id: str, refusal: str
) -> Interaction:
    """An interaction the caller may see: with interactions.read, any (a supervisor limited to
    some queues: one in those queues); and one that is or was with the caller's own agent
    (else Forbidden: "<the caller> <refusal>")."""
    ix = views.get_interaction(rt, InteractionId(interaction_id))
    principal = caller.principal
    if Permission.INTERACTIONS_READ in principal.permissions and in_queue_scope(principal, ix):
        return ix
    own = principal.scope.agent_id
    if own is None or own not in (ix.agent_id, ix.last_agent_id):
        raise Forbidden(
            f"{principal.name} {refusal}",
            permission=Permission.INTERACTIONS_READ.value,
        )
    return ix


def check_queue_scope(principal: Principal, queue_id: str | None, what: str) -> None:
    """Forbidden when a supervisor limited to some queues asks for `what` of another queue."""
    queues = principal.scope.queues
    if queues is not None and queue_id and queue_id not in queues:
        raise Forbidden(
            f"{principal.name} may read the {what} of queues {', '.join(sorted(queues))} only",
            queue_id=queue_id,
        )


def in_queue_scope(principal: Principal, ix: Interaction) -> bool:
    """Is the interaction in the principal's queues (all of them, when not limited)? An
    interaction belongs to a queue while it is queued there, as on the event stream."""
    queues = principal.scope.queues
    return queues is None or (ix.queue_id is not None and ix.queue_id in queues)
