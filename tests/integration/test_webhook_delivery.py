"""Outgoing webhooks end to end: a real HTTP receiver gets signed events after an interaction
is created through the API, and checks every signature."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from security_support import TOKEN, make_app
from sqlalchemy import select
from tests_support import free_port

from callbridge.adapters.store.tables import webhooks
from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.services.webhooks import HEADER, SignatureError, verify

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Receiver:
    """An HTTP server on loopback that records what it is sent; the first `fail_first`
    requests get a 503, to make the sender retry."""

    fail_first: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.received.append((dict(self.headers.items()), body))
                    status = 503 if len(receiver.received) <= receiver.fail_first else 204
                    receiver.answered.append(status)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver(fail_first=1)
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), state.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{port}/hooks/callbridge"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


@pytest.fixture
def app(database_url: str, clock: ManualClock) -> Iterator[App]:
    built = make_app(database_url, clock)
    yield built
    built.close()


def wait_for(condition: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_events_are_delivered_signed_and_retried(
    app: App, clock: ManualClock, receiver: tuple[Receiver, str]
) -> None:
    state, url = receiver
    with TestClient(app.api, headers=AUTH) as client:
        created = client.post(
            "/webhooks", json={"url": url, "events": ["interaction_created", "interaction_queued"]}
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        assert client.post("/queues", json={"id": "sms", "name": "SMS"}).status_code == 201
        wait_for(lambda: app.bus.subscriber_count > 0, "the dispatcher to subscribe")
        made = client.post(
            "/interactions", json={"channel": "sms", "from": "+14155550100", "queue_id": "sms"}
        )
        assert made.status_code == 201, made.text
        interaction_id = made.json()["interaction"]["id"]
        wait_for(lambda: state.answered.count(204) >= 2, "two deliveries")

    # the first attempt got a 503 and was retried with the same body
    assert state.answered[:3] == [503, 204, 204]
    assert state.received[0][1] == state.received[1][1]
    kinds = []
    for headers, body in state.received:
        assert verify(secret, headers[HEADER], body, clock.now()) == int(clock.now())
        with pytest.raises(SignatureError, match="does not match"):
            verify("whsec_wrong", headers[HEADER], body, clock.now())
        event = json.loads(body)
        assert headers["Callbridge-Event"] == event["kind"]
        assert headers["Callbridge-Delivery"] == str(event["id"])
        assert headers["Content-Type"] == "application/json"
        assert event["interaction_id"] == interaction_id
        kinds.append(event["kind"])
    assert kinds[1:] == ["interaction_created", "interaction_queued"]  # in order, nothing else


def test_subscriptions_are_managed_audited_and_their_secrets_sealed(app: App) -> None:
    with TestClient(app.api, headers=AUTH) as client:
        url = "https://hooks.example.com/cb"
        created = client.post("/webhooks", json={"url": url})
        assert created.status_code == 201, created.text
        hook = created.json()
        listed = client.get("/webhooks").json()
        assert listed == [{k: v for k, v in hook.items() if k != "secret"}]
        assert client.get(f"/webhooks/{hook['id']}").json()["url"] == url
        with app.store.engine.connect() as conn:
            stored = conn.execute(select(webhooks.c.secret)).scalar_one()
        assert stored.startswith("enc:1:") and hook["secret"] not in stored

        for bad in ({"url": "http://hooks.example.com/cb"}, {"url": "ftp://x.example/y"}):
            refused = client.post("/webhooks", json=bad)
            assert refused.status_code == 422, refused.text
        unknown = client.post("/webhooks", json={"url": url, "events": ["no_such_event"]})
        assert unknown.status_code == 422
        assert "no_such_event" in unknown.json()["error"]["message"]

        assert client.delete(f"/webhooks/{hook['id']}").status_code == 204
        assert client.delete(f"/webhooks/{hook['id']}").status_code == 404
        assert client.get("/webhooks").json() == []
        audit = client.get("/audit", params={"object_type": "webhook"}).json()
        assert [(e["action"], e["object_id"]) for e in audit] == [
            ("webhook.create", hook["id"]),
            ("webhook.delete", hook["id"]),
        ]
        assert audit[0]["after"] == {"url": url, "events": [], "active": True}
        assert "secret" not in json.dumps(audit[0])
    assert app.api.state.audit_log.verify().ok


def test_managing_webhooks_needs_a_caller(app: App) -> None:
    with TestClient(app.api) as anonymous:
        assert anonymous.get("/webhooks").status_code == 401
        assert anonymous.post("/webhooks", json={"url": "https://x.example"}).status_code == 401
