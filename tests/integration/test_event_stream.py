"""`/ws/events`: authorised by the same check as the routes; each subscriber sees what its
role and scope allow; a reconnect with after_id misses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from security_support import PASSWORD, TEST_ACTOR, TOKEN, make_app, session_for
from starlette.websockets import WebSocketDisconnect

from callbridge.adapters.web.stream import visible
from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.domain.ids import AgentId, QueueId
from callbridge.domain.security.permissions import BUILTIN_ROLES, Principal, Scope
from callbridge.ports import StoredEvent

ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


@pytest.fixture
def app(database_url: str, clock: ManualClock) -> Iterator[App]:
    built = make_app(database_url, clock)
    with TestClient(built.api, headers=ADMIN) as client:
        for agent_id in ("a1", "a2"):
            response = client.post(
                "/agents",
                json={"id": agent_id, "name": agent_id, "skills": {"support": 5}},
            )
            assert response.status_code == 201, response.text
    built.accounts.create_user(TEST_ACTOR, "alice", PASSWORD, ["agent"], agent_id="a1")
    built.accounts.create_user(TEST_ACTOR, "rex", PASSWORD, ["agent"])
    yield built
    built.close()


def _next(ws: Any) -> dict[str, Any]:
    event: dict[str, Any] = ws.receive_json()
    return event


def test_refused_without_credentials_or_permission(app: App, clock: ManualClock) -> None:
    with TestClient(app.api) as client:
        with pytest.raises(WebSocketDisconnect) as caught, client.websocket_connect("/ws/events"):
            pass
        assert caught.value.code == 1008
        assert "unauthorized" in caught.value.reason
    bad = {"Authorization": "Bearer nope"}
    with TestClient(app.api) as client:
        with (
            pytest.raises(WebSocketDisconnect) as caught,
            client.websocket_connect("/ws/events", headers=bad),
        ):
            pass
        assert caught.value.code == 1008


def test_cookie_socket_from_another_site_is_refused(app: App, clock: ManualClock) -> None:
    alice = session_for(app, clock, "alice")
    with (
        pytest.raises(WebSocketDisconnect) as caught,
        alice.client.websocket_connect("/ws/events", headers={"Origin": "https://evil.example"}),
    ):
        pass
    assert caught.value.code == 1008 and "another site" in caught.value.reason


def test_an_agent_sees_only_its_own_agent_and_an_admin_everything(
    app: App, clock: ManualClock
) -> None:
    alice = session_for(app, clock, "alice")
    with (
        TestClient(app.api, headers=ADMIN) as admin,
        alice.client.websocket_connect(
            "/ws/events", headers={"Origin": "http://testserver"}
        ) as mine,
        admin.websocket_connect("/ws/events") as everything,
    ):
        assert admin.post("/agents/a2/login").status_code == 200
        assert admin.post("/agents/a1/login").status_code == 200
        seen_by_admin = [_next(everything)["agent_id"] for _ in range(2)]
        assert seen_by_admin == ["a2", "a1"]
        first = _next(mine)  # a2's login is not alice's business: the first she gets is a1's
        assert first["agent_id"] == "a1" and first["kind"] == "agent_presence_changed"


def test_reconnect_with_after_id_replays_what_was_missed(app: App, clock: ManualClock) -> None:
    with TestClient(app.api, headers=ADMIN) as admin:
        with admin.websocket_connect("/ws/events") as ws:
            admin.post("/agents/a1/login")
            last = _next(ws)["id"]
        admin.post("/agents/a2/login")  # while disconnected
        with admin.websocket_connect(f"/ws/events?after_id={last}") as ws:
            missed = _next(ws)
            assert missed["agent_id"] == "a2" and missed["id"] > last
            admin.post("/agents/a1/logout")
            assert _next(ws)["agent_id"] == "a1"


def test_visibility_follows_role_and_scope() -> None:
    def event(agent: str | None, queue: str | None) -> StoredEvent:
        return StoredEvent(
            1,
            0.0,
            "x",
            None,
            AgentId(agent) if agent else None,
            QueueId(queue) if queue else None,
            {},
        )

    def who(role: str, **scope: Any) -> Principal:
        return Principal("u", "u", (role,), BUILTIN_ROLES[role], Scope(**scope))

    no_agent = who("agent")
    assert not visible(no_agent, event("a1", None))
    assert visible(who("agent", agent_id="a1"), event("a1", "q1"))
    assert not visible(who("agent", agent_id="a1"), event("a2", "q1"))
    limited = who("supervisor", queues=frozenset({"q1"}))
    assert visible(limited, event("a2", "q1")) and visible(limited, event("a2", None))
    assert not visible(limited, event("a2", "q2"))
    assert visible(who("admin"), event("a9", "q9"))
