"""The built-in CRM's REST API through the real app (SQLite and PostgreSQL): records, lookups,
search, campaign members, dialing lists, do-not-call, activities, errors that name the field,
roles; personal data sealed at rest; privacy export and erasure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from privacy_support import AUTH, make_app, ok, raw_sqlite
from privacy_support import dump_tables as dump
from security_support import PASSWORD, TEST_ACTOR, session_for

from callbridge.adapters.crm.builtin import BuiltinCrm
from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.domain.crm.records import Activity, ActivityDirection, RecordRef, RecordType
from callbridge.ports import MappedActivity

T0 = 1_800_000_000.0
JANE = {
    "FirstName": "Jane",
    "LastName": "Doe",
    "Phone": "(415) 555-0142",
    "MobilePhone": "+44 20 7946 0318",
    "Email": "Jane.Doe@example.org",
    "Title": "CFO",
}
# Every way Jane's number and address could be written down in a file.
JANE_SECRETS = (
    "+14155550142",
    "4155550142",
    "555-0142",
    "+442079460318",
    "2079460318",
    "jane.doe@example.org",
    "Jane.Doe@example.org",
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def app(database_url: str, tmp_path: Path, clock: ManualClock) -> Iterator[App]:
    built = make_app(database_url, tmp_path, clock)
    yield built
    built.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app.api, headers=AUTH) as c:
        yield c


def error_field(response: Any, status: int = 422) -> str:
    body = ok(response, status)
    field: str = body["error"]["details"]["field"]
    return field


def test_records_round_trip(client: TestClient, app: App) -> None:
    assert isinstance(app.crm, BuiltinCrm) and app.api.state.crm is app.crm
    acme = ok(client.post("/crm/accounts", json={"Name": "Acme", "AccountNumber": "A-1"}), 201)
    jane = ok(client.post("/crm/contacts", json={**JANE, "AccountId": acme["id"]}), 201)
    assert jane["type"] == "Contact" and jane["name"] == "Jane Doe"
    assert jane["fields"]["Phone"] == "+14155550142"
    assert jane["fields"]["MobilePhone"] == "+442079460318"
    assert jane["fields"]["DoNotCall"] is False
    got = ok(client.get(f"/crm/contacts/{jane['id']}"))
    assert got == jane
    changed = ok(
        client.patch(f"/crm/contacts/{jane['id']}", json={"Title": None, "Phone": "212 555 0100"})
    )
    assert changed["fields"]["Title"] is None and changed["fields"]["Phone"] == "+12125550100"
    assert [r["id"] for r in ok(client.get("/crm/contacts"))] == [jane["id"]]
    lead = ok(client.post("/crm/leads", json={"LastName": "Lamb", "Company": "Ewe"}), 201)
    assert lead["fields"]["Status"] == "Open - Not Contacted"
    case = ok(client.post("/crm/cases", json={"Subject": "Broken", "ContactId": jane["id"]}), 201)
    assert case["fields"]["CaseNumber"] == "00001001"
    assert ok(client.get("/crm/lookup", params={"case_number": "00001001"}))[0]["id"] == case["id"]
    assert ok(client.get("/crm/lookup", params={"account_number": "A-1"}))[0]["id"] == acme["id"]
    assert client.delete(f"/crm/leads/{lead['id']}").status_code == 204
    assert client.get(f"/crm/leads/{lead['id']}").status_code == 404
    assert client.delete(f"/crm/leads/{lead['id']}").status_code == 404


def test_lookup_and_search(client: TestClient) -> None:
    acme = ok(client.post("/crm/accounts", json={"Name": "Acme"}), 201)
    jane = ok(client.post("/crm/contacts", json={**JANE, "AccountId": acme["id"]}), 201)
    for number in ("4155550142", "+1 (415) 555-0142", "+14155550142"):
        [match] = ok(client.get("/crm/lookup", params={"phone": number}))
        assert match == {
            "type": "Contact",
            "id": jane["id"],
            "name": "Jane Doe",
            "matched_on": "phone",
            "account_name": "Acme",
        }
    assert (
        ok(client.get("/crm/lookup", params={"email": "jane.doe@EXAMPLE.org"}))[0]["id"]
        == jane["id"]
    )
    assert ok(client.get("/crm/lookup", params={"phone": "+14155550000"})) == []
    assert error_field(client.get("/crm/lookup")) == "phone"
    assert (
        error_field(client.get("/crm/lookup", params={"phone": "1", "email": "a@b.c"})) == "email"
    )
    found = ok(client.get("/crm/search", params={"q": "doe", "types": ["contacts", "leads"]}))
    assert [m["id"] for m in found] == [jane["id"]]
    assert ok(client.get("/crm/search", params={"q": "doe", "types": "accounts"})) == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/crm/contacts", {"FirstName": "Jane"}, "LastName"),
        ("/crm/contacts", {"LastName": "Doe", "Shoe": 12}, "Shoe"),
        ("/crm/contacts", {"LastName": "Doe", "Phone": "12"}, "Phone"),
        ("/crm/contacts", {"LastName": "Doe", "Email": "nope"}, "Email"),
        ("/crm/contacts", {"LastName": ["Doe"]}, "LastName"),
        ("/crm/leads", {"LastName": "Lamb"}, "Company"),
        ("/crm/cases", {"Subject": "x", "ContactId": "nope"}, "ContactId"),
        ("/crm/dnc", {"numbers": ["not a number"]}, "number"),
        ("/crm/dnc", {"numbers": []}, "numbers"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    assert error_field(client.post(path, json=body)).startswith(field)


def test_campaigns_members_and_dialing_lists(client: TestClient) -> None:
    jane = ok(client.post("/crm/contacts", json=JANE), 201)
    lead = ok(
        client.post(
            "/crm/leads", json={"LastName": "Lamb", "Company": "Ewe", "Phone": "+12125550100"}
        ),
        201,
    )
    campaign = ok(client.post("/crm/campaigns", json={"Name": "Spring"}), 201)
    members = f"/crm/campaigns/{campaign['id']}/members"
    member = ok(client.post(members, json={"ContactId": jane["id"]}), 201)
    assert member["type"] == "CampaignMember" and member["fields"]["Status"] == "Sent"
    ok(client.post(members, json={"LeadId": lead["id"], "Status": "Responded"}), 201)
    assert error_field(client.post(members, json={})) == "ContactId"
    assert (
        client.post("/crm/campaigns/nope/members", json={"ContactId": jane["id"]}).status_code
        == 404
    )
    listed = ok(client.get("/crm/dialing-list", params={"source": campaign["id"]}))
    assert {(m["id"], m["phone"]) for m in listed} == {
        (jane["id"], "+14155550142"),
        (lead["id"], "+12125550100"),
    }
    assert [
        m["id"] for m in ok(client.get("/crm/dialing-list", params={"source": "query:leads_open"}))
    ] == [lead["id"]]
    assert error_field(client.get("/crm/dialing-list", params={"source": "query:nope"})) == "source"
    dnc = ok(client.post("/crm/dnc", json={"numbers": ["(212) 555-0100"]}), 201)
    assert [e["number"] for e in dnc] == ["+12125550100"]
    assert ok(client.get("/crm/dnc")) == dnc
    listed = ok(client.get("/crm/dialing-list", params={"source": campaign["id"]}))
    assert [m["id"] for m in listed] == [jane["id"]]


def test_activities_of_a_contact(client: TestClient, app: App) -> None:
    jane = ok(client.post("/crm/contacts", json=JANE), 201)
    assert app.crm is not None
    activity = Activity(
        "ix-1",
        "Inbound call",
        "voice",
        ActivityDirection.INBOUND,
        T0,
        T0 + 60,
        50,
        "+14155550142",
        notes="Asked about the invoice",
        who=RecordRef(RecordType.CONTACT, jane["id"]),
    )
    [result] = app.crm.log_activities([MappedActivity(activity, {"Subject": "Inbound call"})])
    assert result.ok
    [task] = ok(client.get("/crm/activities", params={"who_id": jane["id"]}))
    assert task["id"] == result.record_id and task["type"] == "Task"
    assert task["fields"]["Description"] == "Asked about the invoice"
    assert task["fields"]["CallDurationInSeconds"] == 50


def test_agents_create_contacts_and_auditors_only_read(app: App, clock: ManualClock) -> None:
    app.accounts.create_user(TEST_ACTOR, "agent-ann", PASSWORD, ["agent"], agent_id="ann")
    app.accounts.create_user(TEST_ACTOR, "auditor-al", PASSWORD, ["auditor"])
    agent = session_for(app, clock, "agent-ann")
    made = agent.post("/crm/contacts", json={"LastName": "New", "Phone": "+14155550111"})
    assert made.status_code == 201, made.text
    auditor = session_for(app, clock, "auditor-al")
    assert auditor.client.get("/crm/contacts").status_code == 200
    refused = auditor.post("/crm/contacts", json={"LastName": "Nope"})
    assert refused.status_code == 403


def test_contacts_are_sealed_at_rest(client: TestClient, app: App, database_url: str) -> None:
    ok(client.post("/crm/contacts", json=JANE), 201)
    ok(
        client.post(
            "/crm/leads",
            json={**{k: v for k, v in JANE.items() if k != "Title"}, "Company": "Doe Inc"},
        ),
        201,
    )
    ok(client.post("/crm/accounts", json={"Name": "Doe Inc", "Phone": "+1 415 555 0142"}), 201)
    ok(client.post("/crm/dnc", json={"numbers": ["+14155550142"]}), 201)
    text = dump(app.store.engine)
    assert "enc:1:" in text
    raw = raw_sqlite(database_url) if database_url.startswith("sqlite") else b""
    for secret in JANE_SECRETS:
        assert secret not in text, secret
        assert secret.encode() not in raw, secret
    assert ok(client.get("/crm/lookup", params={"phone": "415-555-0142"}))


def test_privacy_export_and_erasure_cover_the_crm(client: TestClient, app: App) -> None:
    jane = ok(client.post("/crm/contacts", json=JANE), 201)
    ok(
        client.post(
            "/crm/cases",
            json={
                "Subject": "Refund",
                "ContactId": jane["id"],
                "Description": "Jane wants her money",
            },
        ),
        201,
    )
    assert app.crm is not None
    activity = Activity(
        "ix-9",
        "Inbound call",
        "voice",
        ActivityDirection.INBOUND,
        T0,
        T0 + 60,
        50,
        "+14155550142",
        notes="Call Jane back",
    )
    assert app.crm.log_activities([MappedActivity(activity, {})])[0].ok
    ok(client.post("/crm/dnc", json={"numbers": ["415 555 0142"]}), 201)
    exported = ok(client.get("/privacy/export", params={"address": "(415) 555-0142"}))
    held = {r["type"]: r for r in exported["holders"]["crm"]}
    assert sorted(held) == ["Case", "Contact", "DoNotCall", "Task"]
    assert held["Contact"]["Id"] == jane["id"] and held["Contact"]["Email"] == JANE["Email"]
    assert held["Case"]["Description"] == "Jane wants her money"
    assert held["Task"]["Description"] == "Call Jane back"
    assert held["DoNotCall"]["number"] == "+14155550142"
    by_email = ok(client.get("/privacy/export", params={"address": "jane.doe@example.org"}))
    assert [r["type"] for r in by_email["holders"]["crm"]] == ["Contact", "Case"]

    erased = ok(client.post("/privacy/erase", json={"address": "+14155550142"}))
    assert erased["erased"]["crm"] == 3  # the contact, its case, the activity
    record = ok(client.get(f"/crm/contacts/{jane['id']}"))
    assert record["fields"]["LastName"] == "[erased]"
    assert record["fields"]["Email"] == "[erased]" and record["fields"]["Phone"] == "[erased]"
    assert ok(client.get("/crm/lookup", params={"phone": "+14155550142"})) == []
    assert ok(client.get("/crm/lookup", params={"email": "jane.doe@example.org"})) == []
    assert ok(client.get("/crm/lookup", params={"phone": "+442079460318"})) == []
    text = dump(app.store.engine)
    assert "Jane" not in text
