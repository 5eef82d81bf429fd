"""Snapshot + events == fresh snapshot, for every live view, after any sequence of actions.

zulip's verify_action, for the agent desktop and the wallboard: a page starts from a snapshot
(GET /pages/<view>/state), receives the events of its queue over the real WebSocket, and
applies them with its own reducer, the ES module the page loads, run here in Chromium. After
every action (taken through the REST API, or time passing) the reduced state must equal a fresh
snapshot, and the socket must have delivered exactly the events the viewer may see, in the
forms it may see them (as GET /events gives them to the same viewer): none missing, none twice.
The wallboards are an admin's (every queue) and a supervisor's limited to queue q1, whose
interactions come and go by transfers and overflow between q1 and q2.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from browser_support import chromium, module_page, reduce_in_browser
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from security_support import PASSWORD, TEST_ACTOR, TOKEN, make_app

from callbridge.adapters.web.schemas import EventOut
from callbridge.adapters.web.visibility import Whereabouts, project
from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.domain.ids import InteractionId
from callbridge.domain.security.permissions import BUILTIN_ROLES, Principal
from callbridge.services.interactions import do_tick

ADMIN = {"Authorization": f"Bearer {TOKEN}"}
AGENTS = {"a1": {"support": 5, "sales": 3}, "a2": {"support": 5}, "a3": {"sales": 5}}
CUSTOMERS = ["+14155550101", "+14155550102", "+14155550103"]
REASONS = ["break", "lunch", "missed"]


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with chromium() as browser:
        yield module_page(browser)


@dataclass
class View:
    """One live view as a page holds it: its state, its queue, and its socket."""

    name: str
    principal: Principal
    headers: dict[str, str]
    ws: Any
    state: dict[str, Any]
    last_event_id: int
    received: list[dict[str, Any]] = field(default_factory=list)


def _open(
    stack: ExitStack, client: TestClient, name: str, principal: Principal, headers: dict[str, str]
) -> View:
    response = client.get(f"/pages/{name}/state", headers=headers)
    assert response.status_code == 200, response.text
    snap = response.json()
    ws = client.websocket_connect(
        f"/ws/events?queue_id={snap['queue_id']}&last_event_id={snap['last_event_id']}",
        headers={**headers, "Origin": "http://testserver"},
    )
    session = stack.enter_context(ws)
    return View(name, principal, headers, session, snap["state"], snap["last_event_id"])


def _verify(app: App, client: TestClient, page: Page, view: View, what: str) -> None:
    """The events the viewer may see arrive exactly once, in the forms GET /events gives the
    same viewer (read from the log, where the socket's came live); reduced, they give a fresh
    snapshot."""
    logged = app.store.events(after_id=view.last_event_id, limit=10_000)
    places = Whereabouts(app.store)  # fresh: what came before is read from the log
    expected = [
        EventOut.of(e).model_dump(mode="json")
        for e in project(view.principal, app.runtime.center, places, logged)
    ]
    events: list[dict[str, Any]] = []
    while expected and (not events or events[-1]["id"] < expected[-1]["id"]):
        frame = view.ws.receive_json()
        if frame["type"] == "events":
            events += frame["events"]
    assert events == expected, f"{view.name} after {what}"
    view.received += events
    if events:
        view.state = reduce_in_browser(page, view.name, view.state, events)
        view.last_event_id = max(view.last_event_id, events[-1]["id"])
        view.ws.send_text(json.dumps({"ack": view.last_event_id}))
    fresh = client.get(f"/pages/{view.name}/state", headers=view.headers).json()["state"]
    assert view.state == fresh, f"{view.name} after {what}: reduced {view.state} != {fresh}"


def _setup(client: TestClient) -> None:
    for code, label in (("resolved", "Resolved"), ("sale", "Sale")):
        saved = client.post("/dispositions", json={"code": code, "label": label}, headers=ADMIN)
        assert saved.status_code < 300
    queues = [
        {
            "id": "q1",
            "name": "Support",
            "requirements": [{"skill": "support"}],
            "offer_timeout_s": 10,
            "wrap_up": {
                "duration_s": 30,
                "disposition_required": True,
                "default_disposition": "resolved",
            },
        },
        {
            "id": "q2",
            "name": "Sales",
            "requirements": [{"skill": "sales"}],
            "wrap_up": {},
            "max_wait_s": 30,  # waiting long enough in q2 moves an interaction into q1
            "overflow": {"action": "queue", "target_queue": "q1"},
        },
    ]
    for body in queues:
        assert client.post("/queues", json=body, headers=ADMIN).status_code == 201
    for agent_id, skills in AGENTS.items():
        body = {"id": agent_id, "name": agent_id, "skills": skills}
        assert client.post("/agents", json=body, headers=ADMIN).status_code == 201


def _actions(app: App, rng: random.Random) -> list[tuple[str, str, dict[str, Any]]]:
    """What could be done now: (method, path, body), read from the live center."""
    center = app.runtime.center
    found: list[tuple[str, str, dict[str, Any]]] = []
    for agent in center.agents.values():
        url = f"/agents/{agent.id}"
        if agent.presence.value == "logged_out":
            found.append(("POST", f"{url}/login", {}))
            continue
        found.append(("PUT", f"{url}/state", {"state": "ready"}))
        found.append(("PUT", f"{url}/state", {"state": "not_ready", "reason": rng.choice(REASONS)}))
        if not agent.work:
            found.append(("POST", f"{url}/logout", {}))
            found.append(
                ("POST", "/crm/click-to-dial", {"agent_id": agent.id, "to": "+14155550199"})
            )
    for channel in ("voice", "chat"):
        for queue in ("q1", "q2"):
            body = {"channel": channel, "from": rng.choice(CUSTOMERS), "queue_id": queue}
            found.append(("POST", "/interactions", body))
    for ix in center.interactions.values():
        url = f"/interactions/{ix.id}"
        mine: dict[str, Any] = {"agent_id": ix.agent_id}
        state = ix.state.value
        if state == "offered":
            found += [("POST", f"{url}/accept", mine), ("POST", f"{url}/reject", mine)]
        if state in ("connected", "on_hold"):
            verb = "hold" if state == "connected" else "resume"
            found.append(("POST", f"{url}/{verb}", mine))
            found.append(("POST", f"{url}/end", {"by": "agent", **mine}))
            found.append(
                ("POST", f"{url}/transfer", {**mine, "to_queue_id": rng.choice(["q1", "q2"])})
            )
            others = [a for a in center.agents if a != ix.agent_id]
            found.append(("POST", f"{url}/transfer", {**mine, "to_agent_id": rng.choice(others)}))
        if state in ("queued", "offered", "connected", "on_hold"):
            found.append(("POST", f"{url}/end", {"by": "customer"}))
        if state == "queued" and ix.channel.value == "voice":
            found.append(("POST", f"{url}/callback", {"number": rng.choice(CUSTOMERS)}))
        if state == "ended" and ix.agent_id is not None:
            body = {**mine, "disposition": rng.choice(["resolved", "sale"]), "notes": "ok"}
            found.append(("POST", f"{url}/wrap-up", body))
    return found


def _supervisor_of(app: App, *queues: str) -> tuple[Principal, dict[str, str]]:
    """A supervisor limited to `queues`, by an API token (the one client has alice's cookie)."""
    user = app.accounts.create_user(
        TEST_ACTOR, "boss", PASSWORD, ["supervisor"], queues=queues, mfa_required=False
    )
    permissions = [p.value for p in BUILTIN_ROLES["supervisor"]]
    raw, token = app.accounts.create_token(TEST_ACTOR, user, "wallboard", permissions, None)
    return app.accounts.principal(user, token), {"Authorization": f"Bearer {raw}"}


@contextmanager
def _live(tmp_path: Any, clock: ManualClock) -> Iterator[tuple[App, TestClient, list[View]]]:
    """The center set up, and the three live views open: alice's desktop (agent a1), an
    admin's wallboard (every queue) and a supervisor's limited to q1."""
    app = make_app(f"sqlite:///{tmp_path / 'cb.db'}", clock)
    try:
        # one client, so that everything runs on the one event loop the hub runs on: alice by
        # her session cookie, the others by API tokens (which win where both are sent)
        with TestClient(app.api) as client, ExitStack() as sockets:
            _setup(client)
            user = app.accounts.create_user(TEST_ACTOR, "alice", PASSWORD, ["agent"], agent_id="a1")
            login = client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
            assert login.json()["mfa"] == "none"
            alice = app.accounts.principal(user)
            token, owner = app.accounts.authenticate_token(TOKEN)
            admin = app.accounts.principal(owner, token)
            boss, boss_headers = _supervisor_of(app, "q1")
            yield (
                app,
                client,
                [
                    _open(sockets, client, "agent", alice, {}),
                    _open(sockets, client, "wallboard", admin, ADMIN),
                    _open(sockets, client, "wallboard", boss, boss_headers),
                ],
            )
    finally:
        app.close()


def _pass(client: TestClient, app: App, clock: ManualClock, seconds: float) -> str:
    clock.advance(seconds)
    assert client.portal is not None
    client.portal.call(do_tick, app.runtime)
    return f"{seconds} s pass"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_snapshot_plus_events_is_a_fresh_snapshot(page: Page, tmp_path: Any, seed: int) -> None:
    rng = random.Random(seed)
    clock = ManualClock(1_800_000_000.0)
    with _live(tmp_path, clock) as (app, client, views):
        for step in range(120):
            if rng.random() < 0.15:
                what = _pass(client, app, clock, rng.choice([0.5, 4.0, 11.0, 31.0]))
            else:
                method, path, body = rng.choice(_actions(app, rng))
                response = client.request(method, path, json=body, headers=ADMIN)
                assert response.status_code < 500, response.text
                what = f"{method} {path} {body} -> {response.status_code}"
            for view in views:
                _verify(app, client, page, view, f"step {step}: {what}")
        kinds = {e.kind for e in app.store.events(limit=10_000)}
        # the walk went through the states that matter, not only logins
        walked = {"interaction_connected", "interaction_held", "interaction_transferred"}
        walked |= {"offer_missed", "interaction_ended", "interaction_wrapped_up"}
        assert walked <= kinds
        # the limited board saw interactions come into q1 (created without a queue, queued
        # later), agents' work elsewhere withheld, and no interaction created
        got = views[2].received
        assert any("interaction" in e["payload"] for e in got)
        assert any(e["payload"].get("withheld") for e in got)
        assert not any(e["kind"] == "interaction_created" for e in got)


def test_a_limited_board_follows_interactions_into_and_out_of_its_queues(
    page: Page, tmp_path: Any
) -> None:
    """The moves a random walk reaches rarely, in order: a call waiting in q2 overflows into
    q1 and becomes a callback there; its agent (who serves both) transfers it back to q2,
    where an agent the limited board does not see takes it and transfers it into q1 again, to
    an agent it sees; then to the unseen agent directly (it stays in q1), who ends and wraps
    it up. Meanwhile the seen agent dials out (no queue: its work withheld)."""
    clock = ManualClock(1_800_000_000.0)
    with _live(tmp_path, clock) as (app, client, views):
        ids: dict[str, str] = {}

        def act(method: str, path: str, body: dict[str, Any] | None = None) -> None:
            response = client.request(method, path.format(**ids), json=body or {}, headers=ADMIN)
            assert response.status_code < 300, f"{method} {path}: {response.text}"
            if path == "/interactions":
                ids["x"] = response.json()["interaction"]["id"]
            for view in views:
                _verify(app, client, page, view, f"{method} {path} {body}")

        def wait(seconds: float) -> None:
            what = _pass(client, app, clock, seconds)
            for view in views:
                _verify(app, client, page, view, what)

        act("POST", "/interactions", {"channel": "voice", "from": CUSTOMERS[0], "queue_id": "q2"})
        wait(31.0)  # q2 overflows into q1
        assert app.runtime.center.interactions[InteractionId(ids["x"])].queue_id == "q1"
        act("POST", "/interactions/{x}/callback", {"number": CUSTOMERS[1]})
        for agent_id in ("a1", "a3"):
            act("POST", f"/agents/{agent_id}/login")
        act("PUT", "/agents/a1/state", {"state": "ready"})
        act("POST", "/interactions/{x}/accept", {"agent_id": "a1"})
        act("PUT", "/agents/a1/state", {"state": "not_ready", "reason": "break"})
        act("POST", "/interactions/{x}/transfer", {"agent_id": "a1", "to_queue_id": "q2"})
        act("PUT", "/agents/a3/state", {"state": "ready"})
        act("POST", "/interactions/{x}/accept", {"agent_id": "a3"})
        act("POST", "/interactions/{x}/transfer", {"agent_id": "a3", "to_queue_id": "q1"})
        act("PUT", "/agents/a1/state", {"state": "ready"})
        act("POST", "/interactions/{x}/accept", {"agent_id": "a1"})
        act("POST", "/interactions/{x}/transfer", {"agent_id": "a1", "to_agent_id": "a3"})
        act("POST", "/interactions/{x}/accept", {"agent_id": "a3"})
        act("POST", "/crm/click-to-dial", {"agent_id": "a1", "to": "+14155550199"})
        act("POST", "/interactions/{x}/end", {"by": "agent", "agent_id": "a3"})
        board = views[2].state
        assert ids["x"] in board["interactions"] and "a3" not in board["agents"]
        assert board["interactions"][ids["x"]]["state"] == "ended"
        act("POST", "/interactions/{x}/wrap-up", {"agent_id": "a3", "disposition": "resolved"})
        assert ids["x"] not in views[2].state["interactions"]
        got = views[2].received
        came = [e for e in got if "interaction" in e["payload"]]
        assert [e["payload"]["interaction"]["callback"] for e in came] == [False, True]
        assert [e["payload"]["reason"] for e in came] == ["overflow", "transfer"]
        left = [e for e in got if e["kind"] == "interaction_queued" and e["queue_id"] == "q2"]
        assert len(left) == 1
        assert not any(e["agent_id"] == "a3" and e["payload"].get("withheld") for e in got)
        dialled = [e for e in got if e["payload"].get("withheld")]
        assert dialled and all(CUSTOMERS[0] not in json.dumps(e) for e in dialled)
