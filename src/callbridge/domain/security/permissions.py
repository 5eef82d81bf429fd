"""Named permissions, the built-in roles, and the one check every entry point goes through.

A route, a WebSocket subscription and a page each declare one `Permission`; `authorize` says
whether a principal holds it, and, for supervisors limited to teams and queues or agents limited
to themselves, whether it reaches the object in question. The web adapter calls nothing else.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from callbridge.domain.errors import CallbridgeError


class Permission(StrEnum):
    AGENTS_READ = "agents.read"
    AGENTS_MANAGE = "agents.manage"  # create, rename, skills, capacity, groups
    AGENTS_STATE = "agents.state"  # log in/out, ready, not ready, for any agent in scope
    AGENTS_SELF = "agents.self"  # the same, for one's own agent only
    QUEUES_READ = "queues.read"
    QUEUES_MANAGE = "queues.manage"
    DISPOSITIONS_READ = "dispositions.read"
    DISPOSITIONS_MANAGE = "dispositions.manage"
    INTERACTIONS_READ = "interactions.read"
    INTERACTIONS_CREATE = "interactions.create"
    INTERACTIONS_HANDLE = "interactions.handle"  # accept, reject, hold, transfer, end, wrap up
    INTERACTIONS_ROUTING = "interactions.routing"  # the routing explanation
    EVENTS_SUBSCRIBE = "events.subscribe"
    METRICS_READ = "metrics.read"
    REPORTS_READ = "reports.read"  # KPI reports from the event log
    RECORDINGS_LISTEN = "recordings.listen"  # download call recordings
    INTERACTIONS_MONITOR = "interactions.monitor"  # listen to, whisper in, barge into calls
    USERS_READ = "users.read"
    USERS_MANAGE = "users.manage"
    ROLES_MANAGE = "roles.manage"
    TOKENS_MANAGE = "tokens.manage"  # any user's API tokens
    SECURITY_LOCKOUTS = "security.lockouts"  # see and clear lockouts
    AUDIT_READ = "audit.read"
    PRIVACY_EXPORT = "privacy.export"
    PRIVACY_ERASE = "privacy.erase"
    WEBHOOKS_MANAGE = "webhooks.manage"
    CRM_READ = "crm.read"  # CRM records, screen pops
    CRM_WRITE = "crm.write"  # create and change CRM records, pick a screen pop's record
    LISTS_READ = "lists.read"  # dialing lists and do-not-call
    LISTS_MANAGE = "lists.manage"  # pull dialing lists from the CRM, sync do-not-call
    CAMPAIGNS_READ = "campaigns.read"  # outbound campaigns, their pacing log and report
    CAMPAIGNS_MANAGE = "campaigns.manage"  # define, start, pause, stop; load their lists
    SELF = "self"  # one's own account: password, MFA, own API tokens, logout


ALL_PERMISSIONS = frozenset(Permission)

# Permissions that reach only objects in the principal's scope (teams, queues, own agent).
SCOPED = frozenset(
    {
        Permission.AGENTS_STATE,
        Permission.AGENTS_MANAGE,
        Permission.AGENTS_SELF,
        Permission.INTERACTIONS_HANDLE,
    }
)

_READ = frozenset(p for p in Permission if p.value.endswith(".read"))

BUILTIN_ROLES: Mapping[str, frozenset[Permission]] = {
    "agent": frozenset(
        {
            Permission.SELF,
            Permission.CRM_READ,
            Permission.CRM_WRITE,
            Permission.AGENTS_SELF,
            Permission.QUEUES_READ,
            Permission.DISPOSITIONS_READ,
            Permission.INTERACTIONS_HANDLE,
            Permission.EVENTS_SUBSCRIBE,
        }
    ),
    "supervisor": frozenset(
        {
            Permission.SELF,
            Permission.CRM_READ,
            Permission.CRM_WRITE,
            Permission.LISTS_READ,
            Permission.LISTS_MANAGE,
            Permission.CAMPAIGNS_READ,
            Permission.CAMPAIGNS_MANAGE,
            Permission.AGENTS_SELF,
            Permission.AGENTS_READ,
            Permission.AGENTS_STATE,
            Permission.AGENTS_MANAGE,
            Permission.QUEUES_READ,
            Permission.DISPOSITIONS_READ,
            Permission.INTERACTIONS_READ,
            Permission.INTERACTIONS_CREATE,
            Permission.INTERACTIONS_HANDLE,
            Permission.INTERACTIONS_ROUTING,
            Permission.EVENTS_SUBSCRIBE,
            Permission.METRICS_READ,
            Permission.REPORTS_READ,
            Permission.RECORDINGS_LISTEN,
            Permission.INTERACTIONS_MONITOR,
        }
    ),
    "admin": ALL_PERMISSIONS,
    "auditor": _READ | {Permission.SELF, Permission.INTERACTIONS_ROUTING, Permission.AUDIT_READ},
}

# Roles whose holders must use a second factor unless settings say otherwise.
MFA_ROLES_DEFAULT = ("supervisor", "admin")


class Forbidden(CallbridgeError):
    """Authenticated, but the role does not allow this (or not on this object)."""

    code = "forbidden"


@dataclass(frozen=True, slots=True)
class Scope:
    """What a principal's scoped permissions reach. None means everything."""

    teams: frozenset[str] | None = None  # agent groups
    queues: frozenset[str] | None = None
    agent_id: str | None = None  # the agent this user works as, if any


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user through a session, or an API token acting for its owner."""

    user_id: str
    name: str
    roles: tuple[str, ...]
    permissions: frozenset[Permission]
    scope: Scope = field(default_factory=Scope)
    via: str = "session"  # "session", "token" or "bootstrap"
    token_id: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        if self.token_id is not None:
            return f"user:{self.user_id} token:{self.token_id}"
        return f"user:{self.user_id}"


@dataclass(frozen=True, slots=True)
class Target:
    """The object a scoped permission is used on; fields left None are not checked."""

    queue_id: str | None = None
    agent_id: str | None = None
    agent_groups: Collection[str] | None = None


def role_permissions(
    roles: Iterable[str], custom: Mapping[str, frozenset[Permission]]
) -> frozenset[Permission]:
    """The union of the roles' permissions; an unknown role grants nothing."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= BUILTIN_ROLES.get(role) or custom.get(role, frozenset())
    return frozenset(granted)


def authorize(principal: Principal, permission: Permission, target: Target | None = None) -> None:
    """Raise Forbidden unless `principal` holds `permission` and it reaches `target`.

    AGENTS_SELF and INTERACTIONS_HANDLE held without AGENTS_STATE reach only the principal's own
    agent. Team and queue limits apply to every scoped permission.
    """
    if permission not in principal.permissions:
        raise Forbidden(
            f"{principal.name} may not {permission.value}",
            permission=permission.value,
        )
    if target is None or permission not in SCOPED:
        return
    scope = principal.scope
    if target.agent_id is not None and not _reaches_agent(principal, permission, target):
        raise Forbidden(
            f"{principal.name} may not {permission.value} for agent {target.agent_id}",
            permission=permission.value,
            agent_id=target.agent_id,
        )
    queues = scope.queues
    if target.queue_id is not None and queues is not None and target.queue_id not in queues:
        raise Forbidden(
            f"{principal.name} may not {permission.value} in queue {target.queue_id}",
            permission=permission.value,
            queue_id=target.queue_id,
        )


def _reaches_agent(principal: Principal, permission: Permission, target: Target) -> bool:
    scope = principal.scope
    if target.agent_id == scope.agent_id:
        return True
    if permission is Permission.AGENTS_SELF:
        return False
    if permission is Permission.INTERACTIONS_HANDLE and (
        Permission.AGENTS_STATE not in principal.permissions
    ):
        return False
    if scope.teams is None:
        return True
    return bool(scope.teams & set(target.agent_groups or ()))
