"""Administrative changes through the REST API land in the audit log, which reads back over
REST and still verifies (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from security_support import TOKEN, make_app

from callbridge.adapters.store.audit import AuditLog
from callbridge.app import App
from callbridge.domain.clock import ManualClock

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    built = make_app(database_url, ManualClock(1_800_000_000.0))
    yield built
    built.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app.api, headers=AUTH) as c:
        yield c


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def admin_changes(client: TestClient) -> None:
    ok(client.post("/dispositions", json={"code": "sold", "label": "Sold"}), 201)
    ok(client.post("/dispositions", json={"code": "sold", "label": "Sold!"}), 201)
    queue = {"id": "sales", "name": "Sales", "requirements": [{"skill": "sales"}]}
    ok(client.post("/queues", json=queue), 201)
    ok(client.put("/queues/sales", json={"name": "Sales EMEA", "priority": 3}))
    ok(client.post("/agents", json={"id": "ann", "name": "Ann", "skills": {"sales": 5}}), 201)
    ok(client.put("/agents/ann/skills/support", json={"proficiency": 7}))
    ok(client.delete("/agents/ann/skills/sales"))
    ok(client.put("/agents/ann", json={"name": "Ann B", "groups": ["emea"]}))
    ok(client.delete("/queues/sales"), 204)


def entries(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(client.get("/audit", params=params))
    return found


def test_each_admin_change_is_audited_with_before_and_after(client: TestClient) -> None:
    admin_changes(client)
    admin = {"disposition", "queue", "agent"}
    logged = [e for e in entries(client, limit=1000) if e["object_type"] in admin]
    assert [(e["action"], e["object_type"], e["object_id"]) for e in logged] == [
        ("disposition.create", "disposition", "sold"),
        ("disposition.update", "disposition", "sold"),
        ("queue.create", "queue", "sales"),
        ("queue.update", "queue", "sales"),
        ("agent.create", "agent", "ann"),
        ("agent.skill_set", "agent", "ann"),
        ("agent.skill_remove", "agent", "ann"),
        ("agent.update", "agent", "ann"),
        ("queue.delete", "queue", "sales"),
    ]
    actors = {e["actor"] for e in logged}
    assert len(actors) == 1 and actors.pop().startswith("user:")  # the bootstrap token's owner
    assert {e["source"] for e in logged} == {"testclient"}
    label = logged[1]
    assert (label["before"], label["after"]) == (
        {"code": "sold", "label": "Sold"},
        {"code": "sold", "label": "Sold!"},
    )
    queue_update = logged[3]
    assert queue_update["before"]["name"] == "Sales"
    assert (queue_update["after"]["name"], queue_update["after"]["priority"]) == ("Sales EMEA", 3)
    assert logged[8]["before"]["name"] == "Sales EMEA" and logged[8]["after"] is None
    created, skill_set, skill_removed, renamed = logged[4:8]
    assert created["before"] is None
    assert created["after"]["skills"] == {"sales": 5}
    assert created["after"]["capacity"]["voice"] == 1
    assert skill_set["after"]["skills"] == {"sales": 5, "support": 7}
    assert skill_removed["after"]["skills"] == {"support": 7}
    assert renamed["after"] == {
        "name": "Ann B",
        "skills": {},
        "capacity": created["after"]["capacity"],
        "groups": ["emea"],
    }
    assert logged[0]["at_iso"].startswith("2027-01-15T08:00:00")


def test_the_audit_log_pages_and_filters(client: TestClient, app: App) -> None:
    admin_changes(client)
    everything = entries(client, limit=1000)
    first = entries(client, limit=3)
    assert first == everything[:3]
    assert entries(client, after_id=first[-1]["id"], limit=2) == everything[3:5]
    queues = entries(client, object_type="queue")
    assert [e["action"] for e in queues] == ["queue.create", "queue.update", "queue.delete"]
    assert entries(client, actor="user:nobody") == []
    for e, nxt in itertools.pairwise(everything):
        assert nxt["prev_hash"] == e["hash"]
    audit_log: AuditLog = app.api.state.audit_log
    result = audit_log.verify()
    assert result.ok, result.problem
    assert result.count == len(everything)


def test_a_refused_change_is_not_audited(client: TestClient) -> None:
    before = len(entries(client, limit=1000))
    bad = client.put("/queues/nope", json={"name": "Nope"})
    assert bad.status_code == 404
    ok(client.post("/queues", json={"id": "q", "name": "Q", "overflow": None}), 201)
    ok(
        client.post(
            "/queues",
            json={
                "id": "q2",
                "name": "Q2",
                "max_wait_s": 5,
                "overflow": {"action": "queue", "target_queue": "q"},
            },
        ),
        201,
    )
    refused = client.delete("/queues/q")  # q2 overflows into it
    assert refused.status_code == 409, refused.text
    actions = [e["action"] for e in entries(client, limit=1000)[before:]]
    assert actions == ["queue.create", "queue.create"]


def test_reading_the_audit_log_needs_its_permission(app: App) -> None:
    with TestClient(app.api) as anonymous:
        assert anonymous.get("/audit").status_code == 401
