"""Snapshot + events == fresh snapshot, for every live view, after any sequence of actions.

zulip's verify_action, for the agent desktop and the wallboard: a page starts from a snapshot
(GET /pages/<view>/state), receives the events of its queue over the real WebSocket, and
applies them with its own reducer, the ES module the page loads, run here in Chromium. After
every action (taken through the REST API, or time passing) the reduced state must equal a fresh
snapshot, and the socket must have delivered exactly the events the viewer may see: none
missing, none twice.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from browser_support import chromium, module_page, reduce_in_browser
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from security_support import PASSWORD, TEST_ACTOR, TOKEN, make_app

from callbridge.adapters.web.stream import visible
from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.domain.security.permissions import Principal
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
    received: list[int] = field(default_factory=list)


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
    """The events the viewer may see arrive exactly once; reduced, they give a fresh snapshot."""
    expected = [
        e.id
        for e in app.store.events(after_id=view.last_event_id, limit=10_000)
        if visible(view.principal, e)
    ]
    events: list[dict[str, Any]] = []
    while expected and (not events or events[-1]["id"] < expected[-1]):
        frame = view.ws.receive_json()
        if frame["type"] == "events":
            events += frame["events"]
    assert [e["id"] for e in events] == expected, f"{view.name} after {what}"
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
        {"id": "q2", "name": "Sales", "requirements": [{"skill": "sales"}], "wrap_up": {}},
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


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_snapshot_plus_events_is_a_fresh_snapshot(page: Page, tmp_path: Any, seed: int) -> None:
    rng = random.Random(seed)
    clock = ManualClock(1_800_000_000.0)
    app = make_app(f"sqlite:///{tmp_path / 'cb.db'}", clock)
    try:
        # one client, so that everything runs on the one event loop the hub runs on: alice by
        # her session cookie, the admin by the API token (which wins where both are sent)
        with TestClient(app.api) as client, ExitStack() as sockets:
            _setup(client)
            user = app.accounts.create_user(TEST_ACTOR, "alice", PASSWORD, ["agent"], agent_id="a1")
            login = client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
            assert login.json()["mfa"] == "none"
            alice = app.accounts.principal(user)
            token, owner = app.accounts.authenticate_token(TOKEN)
            admin = app.accounts.principal(owner, token)
            views = [
                _open(sockets, client, "agent", alice, {}),
                _open(sockets, client, "wallboard", admin, ADMIN),
            ]
            log: list[str] = []
            for step in range(120):
                if rng.random() < 0.15:
                    seconds = rng.choice([0.5, 4.0, 11.0, 31.0])
                    clock.advance(seconds)
                    assert client.portal is not None
                    client.portal.call(do_tick, app.runtime)
                    what = f"{seconds} s pass"
                else:
                    method, path, body = rng.choice(_actions(app, rng))
                    response = client.request(method, path, json=body, headers=ADMIN)
                    assert response.status_code < 500, response.text
                    what = f"{method} {path} {body} -> {response.status_code}"
                log.append(what)
                for view in views:
                    _verify(app, client, page, view, f"step {step}: {what}")
            kinds = {e.kind for e in app.store.events(limit=10_000)}
            # the walk went through the states that matter, not only logins
            walked = {"interaction_connected", "interaction_held", "interaction_transferred"}
            walked |= {"offer_missed", "interaction_ended", "interaction_wrapped_up"}
            assert walked <= kinds
    finally:
        app.close()
