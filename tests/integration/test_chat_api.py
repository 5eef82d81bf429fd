"""Web chat end to end over the API, on SQLite and PostgreSQL: a customer starts a chat with a
first message, it is offered to an agent, the agent answers once connected, the customer reads
the answer with the chat's token and leaves; the transcript is sealed at rest, survives a
restart, and an erasure request wipes it."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.testclient import TestClient
from security_support import TOKEN, make_app
from sqlalchemy import text

from callbridge.domain.clock import ManualClock

AUTH = {"Authorization": f"Bearer {TOKEN}"}
CUSTOMER = "dana@example.com"


class Staff:
    """The same client (one event loop: the app's), with the admin token: what the customer
    sends carries no credentials, what the staff send does."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, url: str) -> Any:
        return self.client.get(url, headers=AUTH)

    def post(self, url: str, json: Any = None) -> Any:
        return self.client.post(url, headers=AUTH, json=json)

    def put(self, url: str, json: Any = None) -> Any:
        return self.client.put(url, headers=AUTH, json=json)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _center(client: Staff) -> None:
    ok(client.post("/queues", json={"id": "web", "name": "Web"}), 201)
    ok(client.post("/queues", json={"id": "back", "name": "Back office"}), 201)
    for agent in ("ann", "bob"):
        ok(client.post("/agents", json={"id": agent, "name": agent.title()}), 201)
    ok(client.post("/agents/ann/login"))
    ok(client.put("/agents/ann/state", json={"state": "ready"}))


def test_a_web_chat_from_first_message_to_goodbye(database_url: str) -> None:
    clock = ManualClock(1_800_000_000.0)
    app = make_app(database_url, clock, webchat_queues=("web",))
    keys = app.settings.keys
    try:
        with TestClient(app.api) as public:
            staff = Staff(public)
            _center(staff)
            closed = public.post("/chat", json={"queue_id": "back", "from": CUSTOMER})
            assert closed.status_code == 404
            assert closed.json()["error"]["details"]["field"] == "queue_id"
            empty = public.post("/chat", json={"queue_id": "web", "from": CUSTOMER, "message": " "})
            assert empty.status_code == 422

            started = ok(
                public.post(
                    "/chat",
                    json={"queue_id": "web", "from": CUSTOMER, "name": "Dana", "message": "Hi!"},
                ),
                201,
            )
            iid, token = started["interaction_id"], started["token"]
            mine = {"X-Chat-Token": token}
            assert ok(staff.get(f"/interactions/{iid}"))["state"] == "offered"
            # nobody writes as the agent before it is connected, nor as another agent
            early = staff.post(
                f"/interactions/{iid}/messages", json={"agent_id": "ann", "body": "x"}
            )
            assert early.status_code == 409
            ok(staff.post(f"/interactions/{iid}/accept", json={"agent_id": "ann"}))
            other = staff.post(
                f"/interactions/{iid}/messages", json={"agent_id": "bob", "body": "x"}
            )
            assert other.status_code == 409
            clock.advance(5)
            answer = ok(
                staff.post(
                    f"/interactions/{iid}/messages",
                    json={"agent_id": "ann", "body": "  Hello Dana, how can I help?  "},
                ),
                201,
            )
            assert (answer["sender"], answer["body"]) == ("agent", "Hello Dana, how can I help?")

            assert public.get(f"/chat/{iid}").status_code == 404
            assert public.get(f"/chat/{iid}", headers={"X-Chat-Token": "0" * 64}).status_code == 404
            seen = ok(public.get(f"/chat/{iid}", headers=mine))
            assert (seen["state"], seen["agent"]) == ("connected", "Ann")
            assert [(m["sender"], m["body"]) for m in seen["messages"]] == [
                ("customer", "Hi!"),
                ("agent", "Hello Dana, how can I help?"),
            ]
            ok(public.post(f"/chat/{iid}/messages", headers=mine, json={"body": "My bill"}), 201)
            newer = ok(public.get(f"/chat/{iid}?after_id={answer['id']}", headers=mine))
            assert [m["body"] for m in newer["messages"]] == ["My bill"]
            # the agent's transcript, and the event log, say the same
            transcript = ok(staff.get(f"/interactions/{iid}/messages"))
            assert [m["body"] for m in transcript] == [
                "Hi!",
                "Hello Dana, how can I help?",
                "My bill",
            ]
            kinds = [e["kind"] for e in ok(staff.get(f"/interactions/{iid}/events"))]
            assert kinds.count("chat_message") == 3

            assert public.post(f"/chat/{iid}/end", headers=mine).status_code == 204
            assert ok(public.get(f"/chat/{iid}", headers=mine))["state"] == "ended"
            late = public.post(f"/chat/{iid}/messages", headers=mine, json={"body": "one more"})
            assert late.status_code == 409
            assert public.post(f"/chat/{iid}/end", headers=mine).status_code == 409
            # a voice call has no conversation
            call = ok(
                staff.post(
                    "/interactions",
                    json={"channel": "voice", "from": "+14155550100", "queue_id": "web"},
                ),
                201,
            )
            voice = staff.get(f"/interactions/{call['interaction']['id']}/messages")
            assert voice.status_code == 422

        # sealed at rest: the bodies are not in the database as written
        with app.store.engine.connect() as conn:
            raw = " ".join(
                str(r[0])
                for r in conn.execute(
                    text("SELECT payload FROM interaction_events WHERE kind = 'chat_message'")
                )
            )
        assert "My bill" not in raw and "Hello Dana" not in raw
    finally:
        app.close()

    again = make_app(database_url, clock, webchat_queues=("web",), keys=keys)
    try:
        with TestClient(again.api) as public:
            staff = Staff(public)
            # the token still works after a restart, and the transcript is all there
            seen = ok(public.get(f"/chat/{iid}", headers={"X-Chat-Token": token}))
            assert [m["body"] for m in seen["messages"]] == [
                "Hi!",
                "Hello Dana, how can I help?",
                "My bill",
            ]
            ok(staff.post(f"/interactions/{iid}/wrap-up", json={"agent_id": "ann"}))
            ok(staff.post("/privacy/erase", json={"address": CUSTOMER}))
            erased = ok(staff.get(f"/interactions/{iid}/messages"))
            assert {m["body"] for m in erased} == {"[erased]"}
    finally:
        again.close()


def test_one_address_starts_only_so_many_chats_a_minute(database_url: str) -> None:
    app = make_app(
        database_url,
        ManualClock(1_800_000_000.0),
        webchat_queues=("web",),
        webchat_starts_per_minute=2,
    )
    try:
        with TestClient(app.api) as public:
            staff = Staff(public)
            _center(staff)
            for _ in range(2):
                ok(public.post("/chat", json={"queue_id": "web", "from": CUSTOMER}), 201)
            third = public.post("/chat", json={"queue_id": "web", "from": CUSTOMER})
            assert third.status_code == 429
            assert len(ok(staff.get("/interactions"))) == 2
    finally:
        app.close()


def test_only_the_named_sites_may_frame_the_chat_page(database_url: str) -> None:
    """`webchat_frame_ancestors` opens the chat page, and only it, to frames on those sites."""
    sites = ("https://www.example.com", "https://*.shop.example")
    framed = make_app(database_url, ManualClock(1.8e9), webchat_queues=("web",))
    try:
        with TestClient(framed.api) as public:
            policy = public.get("/webchat").headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy  # by default no site may
    finally:
        framed.close()
    app = make_app(
        database_url, ManualClock(1.8e9), webchat_queues=("web",), webchat_frame_ancestors=sites
    )
    try:
        with TestClient(app.api) as public:
            page = public.get("/webchat")
            assert page.status_code == 200
            policy = page.headers["content-security-policy"]
            assert "frame-ancestors https://www.example.com https://*.shop.example" in policy
            assert (
                "frame-ancestors 'none'" in public.get("/login").headers["content-security-policy"]
            )
    finally:
        app.close()


def test_a_waiting_customer_hears_of_the_answer_at_once(database_url: str) -> None:
    """The long poll: a read with `wait` returns when the agent writes, not at its timeout."""
    app = make_app(database_url, ManualClock(1_800_000_000.0), webchat_queues=("web",))
    try:
        with TestClient(app.api) as public:
            staff = Staff(public)
            _center(staff)
            started = ok(public.post("/chat", json={"queue_id": "web", "from": CUSTOMER}), 201)
            iid, mine = started["interaction_id"], {"X-Chat-Token": started["token"]}
            ok(staff.post(f"/interactions/{iid}/accept", json={"agent_id": "ann"}))
            quiet = time.monotonic()
            nothing = ok(public.get(f"/chat/{iid}?wait=0.5&state=connected", headers=mine))
            assert nothing["messages"] == [] and time.monotonic() - quiet >= 0.5
            stale = ok(public.get(f"/chat/{iid}?wait=20&state=offered", headers=mine))
            assert stale["state"] == "connected"  # a state the customer has not seen: at once

            def answer_soon() -> None:
                time.sleep(0.3)
                ok(
                    staff.post(
                        f"/interactions/{iid}/messages", json={"agent_id": "ann", "body": "Hi"}
                    ),
                    201,
                )

            writer = threading.Thread(target=answer_soon)
            began = time.monotonic()
            writer.start()
            got = ok(public.get(f"/chat/{iid}?wait=20&state=connected", headers=mine))
            writer.join()
            assert [m["body"] for m in got["messages"]] == ["Hi"]
            assert time.monotonic() - began < 5
    finally:
        app.close()


def test_typing_notices_go_both_ways_and_end_with_the_message(database_url: str) -> None:
    app = make_app(database_url, ManualClock(1_800_000_000.0), webchat_queues=("web",))
    try:
        with TestClient(app.api) as public:
            staff = Staff(public)
            _center(staff)
            started = ok(public.post("/chat", json={"queue_id": "web", "from": CUSTOMER}), 201)
            iid, mine = started["interaction_id"], {"X-Chat-Token": started["token"]}
            assert ok(staff.get(f"/interactions/{iid}/typing")) == {"customer": False}
            assert public.post(f"/chat/{iid}/typing", headers=mine).status_code == 204
            assert ok(staff.get(f"/interactions/{iid}/typing")) == {"customer": True}
            assert public.post(f"/chat/{iid}/typing").status_code == 404
            # only the connected agent types in a chat
            early = staff.post(f"/interactions/{iid}/typing", json={"agent_id": "ann"})
            assert early.status_code == 409
            ok(staff.post(f"/interactions/{iid}/accept", json={"agent_id": "ann"}))
            assert (
                staff.post(f"/interactions/{iid}/typing", json={"agent_id": "ann"}).status_code
                == 204
            )
            # a customer waiting with typing=false hears of it at once
            began = time.monotonic()
            seen = ok(public.get(f"/chat/{iid}?wait=20&state=connected&typing=false", headers=mine))
            assert seen["agent_typing"] is True and time.monotonic() - began < 5
            ok(
                staff.post(f"/interactions/{iid}/messages", json={"agent_id": "ann", "body": "Hi"}),
                201,
            )
            assert ok(public.get(f"/chat/{iid}", headers=mine))["agent_typing"] is False
            ok(public.post(f"/chat/{iid}/messages", headers=mine, json={"body": "Hello"}), 201)
            assert ok(staff.get(f"/interactions/{iid}/typing")) == {"customer": False}
    finally:
        app.close()
