"""The permission matrix, generated from the route table: every route, every built-in role,
the expected allow or deny, checked through the real app; and no route without a declared
permission."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from security_support import PASSWORD, TEST_ACTOR, LoggedIn, make_app, session_for

from callbridge.domain.clock import ManualClock
from callbridge.domain.security.permissions import BUILTIN_ROLES, Permission

# FastAPI's own pages: the API description is public on purpose.
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
PUBLIC = "public"
WEBSOCKET = "WEBSOCKET"  # tested in test_event_stream.py
AGENT_ID = "a1"  # the agent the agent-role user works as; used wherever a path names an agent


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def route_table(api: FastAPI) -> list[tuple[str, str, str]]:
    """(method, path, declared permission or "public") for every API route."""
    table: list[tuple[str, str, str]] = []
    for route in api.routes:
        # FastAPI keeps included routers as wrappers; their effective routes are the real ones
        contexts: list[Any] = (
            list(route.effective_route_contexts())
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for ctx in contexts:
            # a WebSocket route's context carries neither path nor dependant; its route does
            original = getattr(ctx, "original_route", ctx)
            path: str = ctx.path or original.path
            if path in DOCS:
                continue
            dependant = ctx.dependant or original.dependant
            declared = []
            for call in _calls(dependant):
                permission = getattr(call, "permission", None)
                if permission is not None:
                    declared.append(str(permission.value))
                elif getattr(call, "__name__", "") == "public":
                    declared.append(PUBLIC)
            names = sorted(set(declared))
            methods = sorted(getattr(ctx, "methods", None) or [WEBSOCKET])
            assert len(names) == 1, f"{methods} {path} declares {names or 'nothing'}"
            for method in methods:
                table.append((method, path, names[0]))
    return table


def test_every_route_declares_exactly_one_permission_or_public(database_url: str) -> None:
    app = make_app(database_url, ManualClock(1_800_000_000.0))
    try:
        table = route_table(app.api)
    finally:
        app.close()
    assert len(table) > 40
    public = {path for _, path, permission in table if permission == PUBLIC}
    assert "/healthz" in public and "/auth/login" in public
    assert "/users" not in public and "/queues" not in public
    assert ("WEBSOCKET", "/ws/events", "events.subscribe") in table


def test_a_route_without_a_permission_fails_the_check(database_url: str) -> None:
    app = make_app(database_url, ManualClock(1_800_000_000.0))
    try:

        @app.api.get("/forgotten")
        async def forgotten() -> dict[str, str]:
            return {}

        with pytest.raises(AssertionError, match="/forgotten declares nothing"):
            route_table(app.api)
    finally:
        app.close()


def _concrete(path: str) -> str:
    path = path.replace("{agent_id}", AGENT_ID)
    return re.sub(r"\{[^}]+\}", "x", path)


def _last(method: str, path: str) -> int:
    # these end or change the session; run them after everything else
    return {"/auth/password": 1, "/auth/logout": 2}.get(path, 0)


@pytest.mark.parametrize("role", sorted(BUILTIN_ROLES))
def test_permission_matrix(role: str, tmp_path: Any) -> None:
    clock = ManualClock(1_800_000_000.0)
    app = make_app(f"sqlite:///{tmp_path / 'callbridge.db'}", clock)
    try:
        app.accounts.create_user(
            TEST_ACTOR,
            f"the-{role}",
            PASSWORD,
            [role],
            agent_id=AGENT_ID if role == "agent" else None,
        )
        who: LoggedIn = session_for(app, clock, f"the-{role}")
        granted = BUILTIN_ROLES[role]
        table = sorted(route_table(app.api), key=lambda r: (_last(r[0], r[1]), r[1], r[0]))
        wrong: list[str] = []
        for method, path, permission in table:
            if method == WEBSOCKET:
                continue
            headers = {"X-CSRF-Token": who.csrf}
            kwargs: dict[str, Any] = {"headers": headers}
            if method in ("POST", "PUT", "PATCH"):
                kwargs["json"] = {}
            response = who.client.request(method, _concrete(path), **kwargs)
            allowed = permission == PUBLIC or Permission(permission) in granted
            if allowed and response.status_code in (401, 403):
                wrong.append(
                    f"{method} {path}: {role} should pass {permission}, "
                    f"got {response.status_code} {response.text[:120]}"
                )
            if not allowed and response.status_code != 403:
                wrong.append(
                    f"{method} {path}: {role} should be refused {permission}, "
                    f"got {response.status_code}"
                )
        assert wrong == []
    finally:
        app.close()
