"""The one way a request proves who it is and what it may do.

Every route declares exactly one permission with `Depends(requires(Permission.X))` (or
`Depends(public)`); the route-table test fails for a route that declares neither. `requires`
resolves the caller (session cookie, API token, or the bootstrap admin token from settings) and
calls `authorize`, the one permission check shared with WebSocket subscriptions and pages.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from callbridge.adapters.web.errors import Unauthorized
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.security.permissions import (
    ALL_PERMISSIONS,
    Permission,
    Principal,
    Target,
    authorize,
)
from callbridge.ports import AuditRecord, JsonValue
from callbridge.services.runtime import Runtime

bearer = HTTPBearer(auto_error=False, description="An API token, or the bootstrap admin token")

BOOTSTRAP = Principal(
    user_id="bootstrap",
    name="the bootstrap admin token",
    roles=("admin",),
    permissions=ALL_PERMISSIONS,
    via="bootstrap",
)


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated principal of one request, and where the request came from."""

    principal: Principal
    source: str

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


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    expected: str = request.app.state.admin_token
    if credentials is None:
        raise Unauthorized("an API token is required (Authorization: Bearer ...)")
    if not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise Unauthorized("the API token is not valid")
    return Caller(BOOTSTRAP, source_of(request))


def requires(permission: Permission) -> Callable[..., Awaitable[Caller]]:
    """A dependency that authenticates the request and checks `permission`."""

    async def dependency(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        authorize(caller.principal, permission)
        return caller

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the route check
    return dependency


async def public() -> None:
    """Declares a route open to anyone (health, the API description, login)."""


CallerDep = Annotated[Caller, Depends(authenticate)]


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
