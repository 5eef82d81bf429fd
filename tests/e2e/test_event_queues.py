"""The pages' resumable event queues (`/ws/events?queue_id=...`): a reconnect resumes after the
last event the client applied, without a gap or a repeat; acks, heartbeats, idle queues
dropped, and a client too far behind cut off to resume from the log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from security_support import PASSWORD, TEST_ACTOR, TOKEN, make_app
from starlette.websockets import WebSocketDisconnect

from callbridge.adapters.web.stream import QUEUE_GONE, Connection, Hub, last_logged_id
from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.ports import StoredEvent

ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[App]:
    built = make_app(f"sqlite:///{tmp_path / 'cb.db'}", clock)
    yield built
    built.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app.api, headers=ADMIN) as opened:
        for agent_id in ("a1", "a2"):
            body = {"id": agent_id, "name": agent_id, "skills": {"support": 5}}
            assert opened.post("/agents", json=body).status_code == 201
        yield opened


def _snapshot(client: TestClient) -> dict[str, Any]:
    response = client.get("/pages/wallboard/state")
    assert response.status_code == 200, response.text
    snap: dict[str, Any] = response.json()
    return snap


def _url(queue_id: str, last: int) -> str:
    return f"/ws/events?queue_id={queue_id}&last_event_id={last}"


def _events(ws: Any, until_id: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while not got or got[-1]["id"] < until_id:
        frame = ws.receive_json()
        if frame["type"] == "events":
            got += frame["events"]
    return got


def test_a_reconnect_resumes_after_the_last_event_applied(app: App, client: TestClient) -> None:
    snap = _snapshot(client)
    queue, start = snap["queue_id"], snap["last_event_id"]
    with client.websocket_connect(_url(queue, start)) as ws:
        client.post("/agents/a1/login")
        client.post("/agents/a2/login")
        first = _events(ws, last_logged_id(app.store))
        assert [e["agent_id"] for e in first] == ["a1", "a2"]
        applied = first[0]["id"]  # the page applied the first only, then went away
        ws.send_text(json.dumps({"ack": applied}))
    client.post("/agents/a1/logout")  # while away
    last = last_logged_id(app.store)
    with client.websocket_connect(_url(queue, applied)) as ws:
        again = _events(ws, last)
    assert [e["id"] for e in again] == [first[1]["id"], last]
    assert again[-1]["kind"] == "agent_presence_changed"


def test_a_queue_is_only_its_owners_and_never_behind_its_ack(app: App, client: TestClient) -> None:
    snap = _snapshot(client)
    queue = snap["queue_id"]
    with client.websocket_connect(_url(queue, snap["last_event_id"])) as ws:
        client.post("/agents/a1/login")
        event = _events(ws, last_logged_id(app.store))[-1]
        ws.send_text(json.dumps({"ack": event["id"]}))
        ws.send_text("ping")  # anything else is welcome and ignored
    behind = event["id"] - 1
    with client.websocket_connect(_url(queue, behind)) as ws:
        assert ws.receive_json() == {"type": "queue_gone"}
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == QUEUE_GONE
    app.accounts.create_user(TEST_ACTOR, "rita", PASSWORD, ["admin"], mfa_required=False)
    with TestClient(app.api) as other:
        login = other.post("/auth/login", json={"username": "rita", "password": PASSWORD})
        assert login.status_code == 200
        # the cookie is rita's; the queue was made for the bootstrap token's owner
        url = _url(queue, event["id"])
        with other.websocket_connect(url, headers={"Origin": "http://testserver"}) as ws:
            assert ws.receive_json() == {"type": "queue_gone"}


def test_an_idle_queue_is_dropped_and_the_page_starts_again(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    hub: Hub = app.api.state.hub
    snap = _snapshot(client)
    with client.websocket_connect(_url(snap["queue_id"], snap["last_event_id"])):
        clock.advance(hub.idle_s * 2)  # a queue in use is never idle
        assert hub.sweep() == 0
    clock.advance(hub.idle_s - 1)
    assert hub.sweep() == 0
    clock.advance(1)
    assert hub.sweep() == 1
    with client.websocket_connect(_url(snap["queue_id"], snap["last_event_id"])) as ws:
        assert ws.receive_json() == {"type": "queue_gone"}
    fresh = _snapshot(client)
    assert fresh["queue_id"] != snap["queue_id"]


def test_a_quiet_stream_sends_heartbeats(app: App, client: TestClient) -> None:
    hub: Hub = app.api.state.hub
    hub.heartbeat_s = 0.05
    snap = _snapshot(client)
    with client.websocket_connect(_url(snap["queue_id"], snap["last_event_id"])) as ws:
        assert ws.receive_json() == {"type": "heartbeat"}
        client.post("/agents/a1/login")
        while (frame := ws.receive_json())["type"] == "heartbeat":
            pass
        assert frame["type"] == "events" and frame["events"][0]["agent_id"] == "a1"


def test_a_client_too_far_behind_is_cut_off(app: App) -> None:
    hub = Hub(app.runtime, max_pending=3)
    token, owner = app.accounts.authenticate_token(TOKEN)
    principal = app.accounts.principal(owner, token)

    async def fill() -> tuple[Connection, Connection]:
        slow = Connection(principal, last_sent=0)  # a socket that writes nothing meanwhile
        keeping_up = Connection(principal, last_sent=0)
        for conn in (slow, keeping_up):
            hub.connections.add(conn)
            hub.go_live(conn)
        for i in range(1, 5):
            hub.publish(StoredEvent(i, 0.0, "agent_presence_changed", None, None, None, {}))
            hub.flush()
            taken = keeping_up.take()
            assert taken is not None and taken[1] == i
        return slow, keeping_up

    slow, keeping_up = anyio.run(fill)
    assert slow.overflowed and slow not in hub.connections
    assert not keeping_up.overflowed and keeping_up in hub.connections


def test_one_frame_per_view_and_tick_shared_by_its_sockets(app: App) -> None:
    hub = Hub(app.runtime)
    token, owner = app.accounts.authenticate_token(TOKEN)
    principal = app.accounts.principal(owner, token)

    async def tick() -> list[Connection]:
        conns = [Connection(principal, last_sent=0) for _ in range(3)]
        for conn in conns:
            hub.connections.add(conn)
            hub.go_live(conn)
        for i in range(1, 4):
            hub.publish(StoredEvent(i, 0.0, "agent_presence_changed", None, None, None, {}))
        hub.flush()
        return conns

    conns = anyio.run(tick)
    frames = [conn.chunks[0].frame for conn in conns]
    assert all(f is frames[0] for f in frames)  # encoded once, the same string for each
    assert [e["id"] for e in json.loads(frames[0])["events"]] == [1, 2, 3]


def test_a_socket_behind_gets_what_piled_up_as_one_frame(app: App) -> None:
    hub = Hub(app.runtime)
    token, owner = app.accounts.authenticate_token(TOKEN)
    principal = app.accounts.principal(owner, token)

    async def ticks() -> Connection:
        conn = Connection(principal, last_sent=0)
        hub.connections.add(conn)
        hub.go_live(conn)
        for i in range(1, 4):
            hub.publish(StoredEvent(i, 0.0, "agent_presence_changed", None, None, None, {}))
            hub.flush()
        hub.beat(conn.sent_at + hub.heartbeat_s)  # not idle: events wait for it
        return conn

    conn = anyio.run(ticks)
    taken = conn.take()
    assert taken is not None and taken[1] == 3
    assert [e["id"] for e in json.loads(taken[0])["events"]] == [1, 2, 3]
    assert conn.take() is None


def test_a_socket_that_does_not_read_holds_up_the_others_once(app: App) -> None:
    hub = Hub(app.runtime, blocked_s=0.01, max_pending=5)
    token, owner = app.accounts.authenticate_token(TOKEN)
    principal = app.accounts.principal(owner, token)
    written: list[str] = []

    async def blocked(text: str) -> None:
        await anyio.sleep_forever()  # its transport's buffer is full

    async def reads(text: str) -> None:
        written.append(text)

    async def ticks() -> tuple[Connection, Connection]:
        stuck = Connection(principal, last_sent=0, send=blocked)
        fine = Connection(principal, last_sent=0, send=reads)
        for conn in (stuck, fine):
            hub.connections.add(conn)
            hub.go_live(conn)
        for i in range(1, 8):
            hub.publish(StoredEvent(i, 0.0, "agent_presence_changed", None, None, None, {}))
            hub.flush()
            await hub.deliver()
            if i == 1:  # given up once, then left to its own task, which writes nothing here
                assert stuck.slow and stuck.wake.is_set() and stuck.last_sent == 0
        return stuck, fine

    stuck, fine = anyio.run(ticks)
    assert [json.loads(t)["events"][0]["id"] for t in written] == list(range(1, 8))
    assert fine.last_sent == 7 and not fine.slow
    assert stuck.overflowed and stuck not in hub.connections  # it resumes from the log
