"""The REST API through the real app and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from callbridge.app import App, build
from callbridge.domain.clock import ManualClock
from callbridge.services.interactions import do_tick
from callbridge.services.security.crypto import Keyring
from callbridge.settings import Settings

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# One keyring for the module: a restarted app must read what the first one sealed.
KEYS = SecretStr(Keyring.generate().to_json())


def make_app(database_url: str, clock: ManualClock) -> App:
    settings = Settings(database_url=database_url, admin_token=SecretStr(TOKEN), keys=KEYS)
    return build(settings, clock=clock, run_timer_loop=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


@pytest.fixture
def app(database_url: str, clock: ManualClock) -> Iterator[App]:
    built = make_app(database_url, clock)
    yield built
    built.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app.api, headers=AUTH) as c:
        yield c


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def setup_center(client: TestClient) -> None:
    ok(client.post("/dispositions", json={"code": "resolved", "label": "Resolved"}), 201)
    ok(
        client.post(
            "/queues",
            json={
                "id": "support",
                "name": "Support",
                "requirements": [{"skill": "support", "min_proficiency": 5}],
                "offer_timeout_s": 10,
                "wrap_up": {"duration_s": 20, "disposition_required": True},
            },
        ),
        201,
    )
    ok(
        client.post(
            "/queues", json={"id": "sales", "name": "Sales", "requirements": [{"skill": "sales"}]}
        ),
        201,
    )
    for agent_id, skills in (("ann", {"support": 8}), ("bob", {"support": 6, "sales": 4})):
        ok(
            client.post(
                "/agents", json={"id": agent_id, "name": agent_id.title(), "skills": skills}
            ),
            201,
        )
        ok(client.post(f"/agents/{agent_id}/login"))


def ready(client: TestClient, agent_id: str) -> None:
    ok(client.put(f"/agents/{agent_id}/state", json={"state": "ready"}))


def new_call(client: TestClient, queue: str = "support", **extra: Any) -> dict[str, Any]:
    body = {"channel": "voice", "from": "+15551230001", "to": "+18005550100", "queue_id": queue}
    result: dict[str, Any] = ok(client.post("/interactions", json=body | extra), 201)
    return result


def test_nothing_is_open_without_the_admin_token(app: App) -> None:
    with TestClient(app.api) as anonymous:
        assert ok(anonymous.get("/healthz")) == {"status": "ok"}
        assert anonymous.get("/openapi.json").status_code == 200
        checked = 0
        for path, operations in app.api.openapi()["paths"].items():
            if path in ("/healthz", "/auth/login", "/webhooks/inbound/{channel}"):
                continue  # open on purpose: nothing to see, a login, a signed webhook
            if path == "/chat" or path.startswith("/chat/"):
                continue  # the customer's web chat: each chat has its own token
            for method in operations:
                url = path.replace("{", "").replace("}", "")
                response = anonymous.request(method.upper(), url)
                assert response.status_code == 401, (method, path, response.text)
                assert response.json()["error"]["code"] == "unauthorized"
                checked += 1
        assert checked >= 25
        wrong = anonymous.get("/agents", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401


def test_a_call_from_arrival_to_wrap_up(client: TestClient, clock: ManualClock) -> None:
    setup_center(client)
    ready(client, "bob")
    clock.advance(5)
    ready(client, "ann")  # ann has been idle for less time, but bob...
    clock.advance(5)
    created = new_call(client, attached={"account": "A-17"})
    ix = created["interaction"]
    assert ix["state"] == "offered"
    assert ix["agent_id"] == "bob"  # longest idle
    kinds = [e["kind"] for e in created["events"]]
    assert kinds == ["interaction_created", "interaction_queued", "interaction_offered"]
    iid = ix["id"]
    assert ok(client.get("/agents/bob"))["state"] == "reserved"

    ok(client.post(f"/interactions/{iid}/accept", json={"agent_id": "bob"}))
    held = ok(client.post(f"/interactions/{iid}/hold", json={"agent_id": "bob"}))
    assert held["interaction"]["state"] == "on_hold"
    ok(client.post(f"/interactions/{iid}/resume", json={"agent_id": "bob"}))
    clock.advance(60)
    ended = ok(client.post(f"/interactions/{iid}/end", json={"by": "agent", "agent_id": "bob"}))
    assert ended["interaction"]["state"] == "ended"
    assert ok(client.get("/agents/bob"))["state"] == "wrap_up"

    missing = client.post(f"/interactions/{iid}/wrap-up", json={"agent_id": "bob"})
    assert missing.status_code == 422
    assert missing.json()["error"]["details"]["field"] == "disposition"
    done = ok(
        client.post(
            f"/interactions/{iid}/wrap-up",
            json={"agent_id": "bob", "disposition": "resolved", "notes": "reset the router"},
        )
    )
    assert done["interaction"]["state"] == "wrapped_up"
    assert done["interaction"]["disposition"] == "resolved"
    assert ok(client.get("/agents/bob"))["state"] == "ready"

    routing = ok(client.get(f"/interactions/{iid}/routing"))
    decision = routing["decisions"][0]
    assert decision["agent_id"] == "bob"
    assert decision["strategy"] == "longest_idle"
    assert decision["pool_size"] == 2  # both were free; bob had been idle longest
    assert [c["agent_id"] for c in decision["agent_candidates"]] == ["bob"]
    assert "2 agent(s) free for this queue, 1 ranked by longest_idle" in routing["explanation"][0]
    assert routing["explanation"][0][1].startswith("chose agent bob by longest_idle: idle 10.0s")

    log = ok(client.get(f"/interactions/{iid}/events"))
    assert [e["kind"] for e in log][-3:] == [
        "interaction_ended",
        "wrap_up_started",
        "interaction_wrapped_up",
    ]
    assert [e["id"] for e in log] == sorted(e["id"] for e in log)


def test_reject_returns_the_call_to_its_place_and_marks_the_agent_missed(
    client: TestClient, clock: ManualClock
) -> None:
    setup_center(client)
    first = new_call(client)["interaction"]["id"]
    clock.advance(1)
    second = new_call(client)["interaction"]["id"]
    ready(client, "ann")
    assert ok(client.get(f"/interactions/{first}"))["agent_id"] == "ann"
    ok(client.post(f"/interactions/{first}/reject", json={"agent_id": "ann"}))
    ann = ok(client.get("/agents/ann"))
    assert (ann["state"], ann["reason"]) == ("not_ready", "missed")
    waiting = ok(client.get("/queues/support/waiting"))
    assert [w["id"] for w in waiting] == [first, second]
    ready(client, "bob")
    assert ok(client.get(f"/interactions/{first}"))["agent_id"] == "bob"


def test_an_unanswered_offer_times_out(app: App, client: TestClient, clock: ManualClock) -> None:
    setup_center(client)
    ready(client, "ann")
    iid = new_call(client)["interaction"]["id"]
    clock.advance(9)
    do_tick(app.runtime)
    assert ok(client.get(f"/interactions/{iid}"))["state"] == "offered"
    clock.advance(2)
    do_tick(app.runtime)
    assert ok(client.get(f"/interactions/{iid}"))["state"] == "queued"
    assert ok(client.get("/agents/ann"))["reason"] == "missed"
    missed = [
        e for e in ok(client.get(f"/interactions/{iid}/events")) if e["kind"] == "offer_missed"
    ]
    assert missed[0]["payload"]["reason"] == "timeout"


def test_transfers_to_a_queue_and_to_an_agent(client: TestClient) -> None:
    setup_center(client)
    ready(client, "ann")
    iid = new_call(client)["interaction"]["id"]
    ok(client.post(f"/interactions/{iid}/accept", json={"agent_id": "ann"}))
    moved = ok(
        client.post(
            f"/interactions/{iid}/transfer", json={"agent_id": "ann", "to_queue_id": "sales"}
        )
    )
    assert moved["interaction"]["state"] == "queued"
    assert moved["interaction"]["queue_id"] == "sales"
    ready(client, "bob")
    assert ok(client.get(f"/interactions/{iid}"))["agent_id"] == "bob"
    ok(client.post(f"/interactions/{iid}/accept", json={"agent_id": "bob"}))
    busy = client.post(
        f"/interactions/{iid}/transfer", json={"agent_id": "bob", "to_agent_id": "nobody"}
    )
    assert busy.status_code == 404
    direct = ok(
        client.post(f"/interactions/{iid}/transfer", json={"agent_id": "bob", "to_agent_id": "ann"})
    )
    assert direct["interaction"]["agent_id"] == "ann"
    assert direct["interaction"]["state"] == "offered"
    both = client.post(
        f"/interactions/{iid}/transfer",
        json={"agent_id": "ann", "to_agent_id": "bob", "to_queue_id": "sales"},
    )
    assert both.status_code in (409, 422)


def test_a_callback_keeps_the_callers_place(client: TestClient, clock: ManualClock) -> None:
    setup_center(client)
    first = new_call(client)["interaction"]["id"]
    clock.advance(1)
    second = new_call(client)["interaction"]["id"]
    cb = ok(client.post(f"/interactions/{first}/callback", json={"number": "+15551239999"}))
    assert cb["interaction"]["callback_number"] == "+15551239999"
    assert [w["id"] for w in ok(client.get("/queues/support/waiting"))] == [first, second]
    ready(client, "ann")
    assert ok(client.get(f"/interactions/{first}"))["state"] == "offered"


def test_bad_input_names_the_field_and_loses_nothing(client: TestClient) -> None:
    setup_center(client)
    before = ok(client.get("/agents/ann"))
    bad = client.put("/agents/ann", json={"name": "Ann", "skills": {"support": 11}})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["field"] == "skills.support"
    unknown = client.post("/agents", json={"id": "cy", "name": "Cy", "colour": "red"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"]["field"] == "colour"
    no_queue = client.post(
        "/interactions", json={"channel": "chat", "from": "x@example.com", "queue_id": "nope"}
    )
    assert no_queue.status_code == 404
    assert no_queue.json()["error"]["details"]["field"] == "queue_id"
    bad_channel = client.post(
        "/interactions", json={"channel": "fax", "from": "1", "queue_id": "support"}
    )
    assert bad_channel.json()["error"]["details"]["field"] == "channel"
    overflow = client.post(
        "/queues", json={"id": "q", "name": "Q", "max_wait_s": 10, "overflow": {"action": "queue"}}
    )
    assert overflow.status_code == 422
    assert overflow.json()["error"]["details"]["field"] == "overflow.target_queue"
    duplicate = client.post("/agents", json={"id": "ann", "name": "Other"})
    assert duplicate.status_code == 409
    assert ok(client.get("/agents/ann")) == before
    assert ok(client.get("/interactions")) == []


def test_state_survives_a_restart(database_url: str, clock: ManualClock) -> None:
    first = make_app(database_url, clock)
    with TestClient(first.api, headers=AUTH) as client:
        setup_center(client)
        waiting = new_call(client)["interaction"]["id"]
        ready(client, "ann")
        second = new_call(client)["interaction"]
        assert (second["state"], second["agent_id"]) == ("queued", None)
    first.close()
    again = make_app(database_url, clock)
    try:
        with TestClient(again.api, headers=AUTH) as client:
            assert ok(client.get("/agents/ann"))["state"] == "reserved"
            assert ok(client.get(f"/interactions/{waiting}"))["agent_id"] == "ann"
            assert len(ok(client.get("/queues/support/waiting"))) == 1
            assert {q["id"] for q in ok(client.get("/queues"))} == {"support", "sales"}
            assert ok(client.get("/dispositions")) == [{"code": "resolved", "label": "Resolved"}]
    finally:
        again.close()


def test_skills_metrics_and_event_log(client: TestClient) -> None:
    setup_center(client)
    skills = {s["skill"]: s for s in ok(client.get("/skills"))}
    assert skills["support"] == {"skill": "support", "agents": 2, "queues": ["support"]}
    ok(client.put("/agents/ann/skills/sales", json={"proficiency": 7}))
    assert ok(client.get("/agents/ann"))["skills"] == {"support": 8, "sales": 7}
    ok(client.delete("/agents/ann/skills/sales"))
    assert ok(client.get("/agents/ann"))["skills"] == {"support": 8}
    ready(client, "ann")
    new_call(client)
    text = client.get("/metrics").text
    assert 'callbridge_agents{state="reserved"} 1.0' in text
    assert 'callbridge_queue_waiting{queue="support"} 0.0' in text
    page = ok(client.get("/events", params={"limit": 3}))
    rest = ok(client.get("/events", params={"after_id": page[-1]["id"], "limit": 1000}))
    assert len(page) == 3
    assert rest and rest[0]["id"] > page[-1]["id"]
    assert ok(client.get("/openapi.json"))["info"]["title"] == "Callbridge"


def test_a_queue_script_is_set_alone_checked_and_kept(
    database_url: str, clock: ManualClock
) -> None:
    first = make_app(database_url, clock)
    with TestClient(first.api, headers=AUTH) as client:
        setup_center(client)
        before = ok(client.get("/queues/support"))
        assert before["script"] is None
        bad = client.put("/queues/support/script", json={"script": "Hi\n{{ crm.Name }}"})
        assert bad.status_code == 422
        assert bad.json()["error"]["details"]["field"] == "script"
        assert "line 2, column 1" in bad.json()["error"]["message"]
        assert ok(client.get("/queues/support")) == before
        script = "Hi {{record.FirstName}}, this is {{agent.name}}."
        after = ok(client.put("/queues/support/script", json={"script": script}))
        assert after == {**before, "script": script}
    first.close()
    again = make_app(database_url, clock)
    try:
        with TestClient(again.api, headers=AUTH) as client:
            assert ok(client.get("/queues/support"))["script"] == script
            cleared = ok(client.put("/queues/support/script", json={"script": ""}))
            assert cleared["script"] is None
    finally:
        again.close()


def test_a_merge_patch_changes_only_what_it_names(client: TestClient) -> None:
    setup_center(client)
    ok(
        client.put(
            "/queues/support/script",
            json={"script": "Hi {{record.FirstName}}"},
        )
    )
    ok(
        client.patch(
            "/queues/support",
            json={
                "max_wait_s": 120,
                "overflow": {"action": "queue", "target_queue": "sales"},
                "escalation": [{"after_s": 30, "action": "drop_skill", "skill": "support"}],
            },
        )
    )
    before = ok(client.get("/queues/support"))
    changed = ok(
        client.patch(
            "/queues/support",
            json={"strategy": "most_skilled", "wrap_up": {"duration_s": 45}, "priority": 2},
        )
    )
    assert changed["strategy"] == "most_skilled" and changed["priority"] == 2
    assert changed["wrap_up"] == {**before["wrap_up"], "duration_s": 45.0}
    for kept in ("requirements", "escalation", "overflow", "max_wait_s", "script", "name"):
        assert changed[kept] == before[kept], kept
    # null removes an optional setting; the queue is checked as a whole
    bad = client.patch("/queues/support", json={"overflow": None})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["field"] == "overflow"
    assert ok(client.get("/queues/support"))["overflow"] == before["overflow"]
    cleared = ok(client.patch("/queues/support", json={"overflow": None, "max_wait_s": None}))
    assert (cleared["overflow"], cleared["max_wait_s"]) == (None, None)
    wrong = client.patch("/queues/support", json={"wrap_up": {"duration_s": -1}})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"]["field"] == "wrap_up.duration_s"
    assert client.patch("/queues/nope", json={"priority": 1}).status_code == 404
    assert client.patch("/queues/support", content=b"[1]").status_code == 422
    audit = ok(client.get("/audit?action=queue.update"))
    assert len(audit) >= 3
