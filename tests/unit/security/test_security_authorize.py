"""The one permission check: roles, team and queue limits, one's own agent."""

from __future__ import annotations

import pytest

from callbridge.domain.errors import InvalidInput
from callbridge.domain.security.accounts import LockoutPolicy, check_password
from callbridge.domain.security.permissions import (
    BUILTIN_ROLES,
    Forbidden,
    Permission,
    Principal,
    Scope,
    Target,
    authorize,
    role_permissions,
)


def principal(role: str, **scope: object) -> Principal:
    return Principal(
        user_id="u1",
        name="u1",
        roles=(role,),
        permissions=BUILTIN_ROLES[role],
        scope=Scope(**scope),  # type: ignore[arg-type]
    )


def test_a_role_without_the_permission_is_refused_naming_it() -> None:
    with pytest.raises(Forbidden) as caught:
        authorize(principal("agent"), Permission.USERS_MANAGE)
    assert caught.value.details["permission"] == "users.manage"


def test_an_agent_acts_only_as_its_own_agent() -> None:
    me = principal("agent", agent_id="a1")
    authorize(me, Permission.INTERACTIONS_HANDLE, Target(agent_id="a1"))
    authorize(me, Permission.AGENTS_SELF, Target(agent_id="a1"))
    with pytest.raises(Forbidden):
        authorize(me, Permission.INTERACTIONS_HANDLE, Target(agent_id="a2"))
    with pytest.raises(Forbidden):
        authorize(me, Permission.AGENTS_SELF, Target(agent_id="a2"))


def test_a_supervisor_limited_to_teams_reaches_only_their_agents() -> None:
    sup = principal("supervisor", teams=frozenset({"billing"}))
    authorize(sup, Permission.AGENTS_STATE, Target(agent_id="a1", agent_groups=["billing"]))
    with pytest.raises(Forbidden) as caught:
        authorize(sup, Permission.AGENTS_STATE, Target(agent_id="a2", agent_groups=["sales"]))
    assert caught.value.details["agent_id"] == "a2"
    unlimited = principal("supervisor")
    authorize(unlimited, Permission.AGENTS_STATE, Target(agent_id="a2", agent_groups=["sales"]))


def test_a_supervisor_limited_to_queues_handles_only_those() -> None:
    sup = principal("supervisor", queues=frozenset({"support"}))
    authorize(sup, Permission.INTERACTIONS_HANDLE, Target(queue_id="support", agent_id="a1"))
    with pytest.raises(Forbidden) as caught:
        authorize(sup, Permission.INTERACTIONS_HANDLE, Target(queue_id="sales", agent_id="a1"))
    assert caught.value.details["queue_id"] == "sales"


def test_custom_roles_add_up_and_unknown_roles_grant_nothing() -> None:
    custom = {"reporter": frozenset({Permission.QUEUES_READ})}
    both = role_permissions(["reporter", "auditor"], custom)
    assert Permission.QUEUES_READ in both and Permission.AUDIT_READ in both
    assert role_permissions(["nonexistent"], custom) == frozenset()


def test_builtin_roles_are_ordered_by_reach() -> None:
    assert BUILTIN_ROLES["agent"] < BUILTIN_ROLES["supervisor"] < BUILTIN_ROLES["admin"]
    assert Permission.USERS_MANAGE not in BUILTIN_ROLES["auditor"]
    assert Permission.AUDIT_READ in BUILTIN_ROLES["auditor"]


def test_password_policy() -> None:
    check_password("a long enough passphrase", "alice", 12)
    for bad, why in [
        ("short", "at least 12"),
        ("x" * 129, "at most 128"),
        ("my name is alice!!", "username"),
        ("aaaaaaaaaaaaaaaa", "repetitive"),
        ("password1234", "common"),
    ]:
        with pytest.raises(InvalidInput, match=why) as caught:
            check_password(bad, "alice", 12)
        assert caught.value.details["field"] == "password"


def test_lockout_policy_names_what_is_due() -> None:
    policy = LockoutPolicy(account_failures=5, address_failures=20)
    assert policy.due(4, 19) == []
    assert policy.due(5, 19) == ["account"]
    assert policy.due(1, 20) == ["address"]
    assert policy.due(5, 20) == ["account", "address"]
