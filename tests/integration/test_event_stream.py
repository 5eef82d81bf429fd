"""`/ws/events`: authorised by the same check as the routes; each subscriber sees what its
role and scope allow; a reconnect with after_id misses nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from security_support import PASSWORD, TEST_ACTOR, TOKEN, make_app, session_for
from starlette.websockets import WebSocketDisconnect

from callbridge.adapters.web.visibility import Form, Placed, viewer_of
from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.live import LiveState
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
    def event(
        kind: str, agent: str | None, queue: str | None, ix: str | None = None
    ) -> StoredEvent:
        return StoredEvent(
            1,
            0.0,
            kind,
            InteractionId(ix) if ix else None,
            AgentId(agent) if agent else None,
            QueueId(queue) if queue else None,
            {},
        )

    def who(role: str, **scope: Any) -> Principal:
        return Principal("u", "u", (role,), BUILTIN_ROLES[role], Scope(**scope))

    def form(principal: Principal, e: StoredEvent, placed: Placed | None = None) -> Form | None:
        return viewer_of(principal, center).form(e, placed or Placed())

    center = LiveState()  # nobody serves any queue: limited viewers see no agent
    presence = "agent_presence_changed"
    assert form(who("agent"), event(presence, "a1", None)) is None
    assert form(who("agent", agent_id="a1"), event(presence, "a1", "q1")) is Form.LOGGED
    assert form(who("agent", agent_id="a1"), event(presence, "a2", "q1")) is None
    assert form(who("admin"), event("interaction_created", None, None, "x")) is Form.LOGGED
    limited = who("supervisor", queues=frozenset({"q1"}))
    # an interaction not (yet) in one of its queues: not even its creation
    assert form(limited, event("interaction_created", None, None, "x")) is None
    assert form(limited, event(presence, "a2", None)) is None  # serves none of its queues
    assert form(limited, event("agent_saved", "a2", None)) is Form.WITHHELD
    assert form(limited, event("queue_saved", None, "q2")) is None
    assert form(limited, event("queue_saved", None, "q1")) is Form.LOGGED
    queued = event("interaction_queued", None, "q1", "x")
    assert form(limited, queued, Placed(None, QueueId("q1"))) is Form.ENTERING
    assert form(limited, queued, Placed(QueueId("q1"), QueueId("q1"))) is Form.LOGGED
    leaving = event("interaction_queued", None, "q2", "x")
    assert form(limited, leaving, Placed(QueueId("q1"), QueueId("q2"))) is Form.LOGGED
    assert form(limited, leaving, Placed(QueueId("q2"), QueueId("q2"))) is None


SECRET = "+14155550777"  # a caller in q2, which the supervisor of q1 must never see
MINE = "+14155550111"  # a caller in q1


def test_a_queue_limited_supervisor_never_gets_another_queues_caller(app: App) -> None:
    """Over the page's socket, the raw socket, its replay, and GET /events: the callers of q1,
    never those of q2; the work of an agent who serves both, withheld where it is q2's."""
    permissions = [p.value for p in BUILTIN_ROLES["supervisor"]]
    sue = app.accounts.create_user(
        TEST_ACTOR, "sue", PASSWORD, ["supervisor"], queues=["q1"], mfa_required=False
    )
    raw, _ = app.accounts.create_token(TEST_ACTOR, sue, "board", permissions, None)
    boss = {"Authorization": f"Bearer {raw}"}
    with TestClient(app.api, headers=ADMIN) as client:
        for body in (
            {"id": "q1", "name": "Support", "requirements": [{"skill": "support"}]},
            {"id": "q2", "name": "Sales", "requirements": [{"skill": "sales"}]},
        ):
            assert client.post("/queues", json=body).status_code == 201
        both = {"id": "a4", "name": "a4", "skills": {"sales": 5, "support": 1}}
        assert client.post("/agents", json=both).status_code == 201
        snap = client.get("/pages/wallboard/state", headers=boss).json()
        assert set(snap["state"]["queues"]) == {"q1"}
        assert set(snap["state"]["agents"]) == {"a1", "a2", "a4"}  # who serves q1
        start = snap["last_event_id"]
        page_url = f"/ws/events?queue_id={snap['queue_id']}&last_event_id={start}"
        with (
            client.websocket_connect(page_url, headers=boss) as page,
            client.websocket_connect("/ws/events", headers=boss) as live,
        ):
            client.post("/agents/a4/login")
            client.put("/agents/a4/state", json={"state": "ready"})
            theirs = _arrive(client, SECRET, "q2")  # offered to a4
            client.post(f"/interactions/{theirs}/accept", json={"agent_id": "a4"})
            client.post(f"/interactions/{theirs}/end", json={"by": "customer"})
            ours = _arrive(client, MINE, "q1")
            client.post(f"/interactions/{ours}/end", json={"by": "customer"})
            client.post("/agents/a1/login")  # the last event, and one sue sees: read up to it
            page_events = _events_until(page, framed=True)
            live_events = _events_until(live, framed=False)
        with client.websocket_connect(f"/ws/events?after_id={start}", headers=boss) as replay:
            replayed = _events_until(replay, framed=False)
        with client.websocket_connect(page_url, headers=boss) as page:  # resumed: from the log
            resumed = _events_until(page, framed=True)
        listed = _listed(client, boss)
        of_theirs = client.get(f"/interactions/{theirs}/events", headers=boss).json()
        everything = _listed(client, ADMIN)
        # the interactions themselves: q1's, not q2's
        assert client.get(f"/interactions/{theirs}", headers=boss).status_code == 403
        assert client.get(f"/interactions/{ours}", headers=boss).json()["id"] == ours
        assert client.get(f"/interactions/{theirs}").status_code == 200  # the admin may
        found = [ix["id"] for ix in client.get("/interactions", headers=boss).json()]
        assert found == [ours]
        assert client.get("/interactions?queue_id=q2", headers=boss).status_code == 403
        by_address = {"address": SECRET}
        assert client.get("/interactions", params=by_address).json()  # the admin finds it
        assert client.get("/interactions", params=by_address, headers=boss).json() == []
    assert SECRET in json.dumps(everything)  # the admin sees it: the check below can fail
    for seen in (page_events, live_events, replayed, resumed, listed, of_theirs):
        text = json.dumps(seen)
        assert SECRET not in text and theirs in text  # a4's work on it, withheld
        assert all(e["payload"].get("withheld") for e in seen if e["interaction_id"] == theirs)
    for seen in (page_events, live_events, replayed, listed):
        assert MINE in json.dumps(seen)
    assert page_events == live_events == replayed == resumed
    assert page_events == [e for e in listed if e["id"] > start]


def _arrive(client: TestClient, caller: str, queue: str) -> str:
    body = {"channel": "voice", "from": caller, "queue_id": queue}
    response = client.post("/interactions", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["interaction"]["id"])


def _events_until(ws: Any, *, framed: bool) -> list[dict[str, Any]]:
    """What the socket sends up to a1's login."""
    got: list[dict[str, Any]] = []
    while not got or (got[-1]["agent_id"], got[-1]["kind"]) != ("a1", "agent_presence_changed"):
        message = ws.receive_json()
        if not framed:
            got.append(message)
        elif message["type"] == "events":
            got += message["events"]
    return got


def _listed(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """All of GET /events, page by page (`Next-After-Id`)."""
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        response = client.get(f"/events?after_id={after}&limit=3", headers=headers)
        assert response.status_code == 200, response.text
        found += response.json()
        following = int(response.headers["Next-After-Id"])
        if following == after:
            return found
        after = following
