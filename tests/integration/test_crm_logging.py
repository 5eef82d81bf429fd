"""Every interaction lands in the CRM once, without anyone typing it: the activity goes into
the outbox in the transaction that closes the interaction, the worker delivers it with the
contact the screen pop found (or the agent picked). Built-in CRM, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from security_support import TOKEN, make_app

from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.domain.crm.records import RecordRef, RecordType
from callbridge.services.crm_sync.delivery import ActivityLog

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ANN_NUMBER = "+14155550100"


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
        c.post("/dispositions", json={"code": "resolved", "label": "Resolved"})
        assert c.post("/queues", json={"id": "support", "name": "Support"}).status_code == 201
        assert c.post("/agents", json={"id": "bob", "name": "Bob"}).status_code == 201
        c.post("/agents/bob/login")
        c.put("/agents/bob/state", json={"state": "ready"})
        yield c


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def contact(app: App, last: str, phone: str) -> RecordRef:
    assert app.crm is not None
    return app.crm.upsert_record(RecordType.CONTACT, {"LastName": last, "Phone": phone})


def handle_call(client: TestClient, clock: ManualClock, caller: str) -> str:
    made = ok(
        client.post(
            "/interactions", json={"channel": "voice", "from": caller, "queue_id": "support"}
        ),
        201,
    )
    iid: str = made["interaction"]["id"]
    ok(client.post(f"/interactions/{iid}/accept", json={"agent_id": "bob"}))
    clock.advance(125)
    ok(client.post(f"/interactions/{iid}/end", json={"by": "agent", "agent_id": "bob"}))
    client.post(
        f"/interactions/{iid}/wrap-up",
        json={"agent_id": "bob", "disposition": "resolved", "notes": "all good"},
    )
    return iid


def worker(app: App) -> ActivityLog:
    log: ActivityLog = app.api.state.activity_log
    return log


def test_a_handled_call_is_logged_once_against_its_contact(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    ann = contact(app, "Anderson", "(415) 555-0100")
    iid = handle_call(client, clock, ANN_NUMBER)
    pop = ok(client.get(f"/interactions/{iid}/screen-pop"))
    assert pop["outcome"] == "single" and pop["matches"][0]["id"] == ann.id
    pending = ok(client.get("/crm/outbox", params={"status": "pending"}))
    assert [row["interaction_id"] for row in pending] == [iid]
    report = worker(app).deliver_due()
    assert report.delivered == 1, report
    assert worker(app).deliver_due().delivered == 0  # nothing twice
    assert app.crm is not None
    logged = _task_for(app, iid)
    assert logged is not None
    fields = logged.fields
    assert fields.get("WhoId") == ann.id
    assert fields.get("CallDurationInSeconds") == 125
    assert fields.get("CallDisposition") in ("Resolved", "resolved")
    health = ok(client.get("/crm/health"))
    assert health["state"] == "connected" and health["outbox"]["delivered"] == 1.0
    metrics = client.get("/metrics").text
    assert 'callbridge_crm_outbox{status="delivered"} 1.0' in metrics
    assert 'callbridge_crm_up{crm="builtin",state="connected"} 1.0' in metrics


def _task_for(app: App, interaction_id: str) -> Any:
    """The CRM record the outbox says the interaction's activity became."""
    row = worker(app).outbox.get(interaction_id)
    assert app.crm is not None and row is not None and row.record_id is not None, row
    return app.crm.get_record(RecordRef(RecordType.TASK, row.record_id))


def test_several_matches_wait_unresolved_until_someone_picks(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    contact(app, "Anderson", ANN_NUMBER)
    other = contact(app, "Andrews", ANN_NUMBER)  # a shared family line
    iid = handle_call(client, clock, ANN_NUMBER)
    report = worker(app).deliver_due()
    assert report.unresolved == 1 and report.delivered == 0
    waiting = ok(client.get("/crm/outbox", params={"status": "unresolved"}))
    assert [row["interaction_id"] for row in waiting] == [iid]
    picked = ok(
        client.post(
            f"/interactions/{iid}/screen-pop/choose", json={"type": "Contact", "id": other.id}
        )
    )
    assert picked["chosen"] == {"type": "Contact", "id": other.id}
    assert worker(app).deliver_due().delivered == 1
    task = _task_for(app, iid)
    assert task is not None and task.fields.get("WhoId") == other.id


def test_no_match_logs_without_a_contact_and_offers_a_form(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    iid = handle_call(client, clock, "+14155550999")
    pop = ok(client.get(f"/interactions/{iid}/screen-pop"))
    assert pop["outcome"] == "none" and pop["prefill"] == {"Phone": "+14155550999"}
    assert worker(app).deliver_due().delivered == 1
    task = _task_for(app, iid)
    assert task is not None and not task.fields.get("WhoId")


def test_an_abandoned_call_is_logged_too(app: App, client: TestClient, clock: ManualClock) -> None:
    client.put("/agents/bob/state", json={"state": "not_ready", "reason": "break"})
    made = ok(
        client.post(
            "/interactions", json={"channel": "voice", "from": ANN_NUMBER, "queue_id": "support"}
        ),
        201,
    )
    iid = made["interaction"]["id"]
    clock.advance(30)
    ok(client.post(f"/interactions/{iid}/end", json={"by": "customer"}))
    assert worker(app).deliver_due().delivered == 1
    task = _task_for(app, iid)
    assert task is not None and "abandoned" in str(task.fields.get("Subject"))


def test_click_to_dial_a_contact_logs_an_outbound_call_against_it(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    ann = contact(app, "Anderson", ANN_NUMBER)
    client.put("/agents/bob/state", json={"state": "not_ready", "reason": "outbound"})
    dialled = ok(
        client.post(
            "/crm/click-to-dial",
            json={"agent_id": "bob", "record": {"type": "Contact", "id": ann.id}},
        ),
        201,
    )
    iid = dialled["interaction"]["id"]
    assert dialled["interaction"]["to"] == ANN_NUMBER or ANN_NUMBER in str(dialled["interaction"])
    assert dialled["interaction"]["state"] == "connected"
    clock.advance(60)
    ok(client.post(f"/interactions/{iid}/end", json={"by": "agent", "agent_id": "bob"}))
    client.post(f"/interactions/{iid}/wrap-up", json={"agent_id": "bob", "disposition": "resolved"})
    assert worker(app).deliver_due().delivered == 1
    task = _task_for(app, iid)
    assert task is not None and task.fields.get("WhoId") == ann.id
    assert task.fields.get("CallType") in ("Outbound", "outbound")


def test_a_privacy_request_reaches_the_outbox_and_the_crm(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    contact(app, "Anderson", ANN_NUMBER)
    iid = handle_call(client, clock, ANN_NUMBER)
    exported = ok(client.get("/privacy/export", params={"address": "(415) 555-0100"}))
    queued = exported["holders"]["crm_integration"]["crm_activities_queued"]
    assert [a["external_id"] for a in queued] == [iid]
    assert queued[0]["notes"] == "all good"
    ok(client.post("/privacy/erase", json={"address": ANN_NUMBER}))
    row = worker(app).outbox.get(iid)
    assert row is not None
    assert row.activity.customer_address == "[erased]" and row.activity.notes == "[erased]"
    assert worker(app).deliver_due().delivered == 1  # what goes to the CRM carries no trace
    task = _task_for(app, iid)
    assert task is not None and "all good" not in str(task.fields)


def test_what_an_ivr_attached_travels_through_the_outbox_for_mappings(
    app: App, client: TestClient, clock: ManualClock
) -> None:
    made = ok(
        client.post(
            "/interactions",
            json={
                "channel": "voice",
                "from": ANN_NUMBER,
                "queue_id": "support",
                "attached": {"account_number": "ACCT-10001", "segment": "gold"},
            },
        ),
        201,
    )
    iid: str = made["interaction"]["id"]
    ok(client.post(f"/interactions/{iid}/end", json={"by": "customer"}))
    row = worker(app).outbox.get(iid)
    assert row is not None
    assert row.activity.attached == {"account_number": "ACCT-10001", "segment": "gold"}
