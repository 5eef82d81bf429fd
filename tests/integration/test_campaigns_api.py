"""Campaigns through the REST API (SQLite and PostgreSQL): campaign files in, the state machine,
list uploads, do-not-call with dates and the registry, the pacing log and the report, with
errors in the API's one shape and changes in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from security_support import TOKEN, make_app

from callbridge.adapters.store.audit import AuditFilter, AuditLog
from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.domain.dialer.attempts import NumberHistory, RecordProgress
from callbridge.domain.dialer.decisions import PacingDecision, PacingInputs, PacingReason
from callbridge.domain.dialer.dnc import DncScope
from callbridge.domain.dialer.ids import CampaignId, ListId, RecordId
from callbridge.domain.dialer.modes import DialMode
from callbridge.domain.ids import DispositionCode
from callbridge.ports import CampaignCall
from callbridge.services.campaigns import Campaigns

AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC
SOURCE = """campaign: renewals
name: Spring renewals
mode: predictive
compliance: {profile: us}
time_zone: America/New_York
caller_id: "+12125550100"
seller: {name: Acme Insurance, phone: "+12125550199"}
lists: [{list: march}]
"""
YAML = {"content-type": "application/yaml"}
CSV = {"content-type": "text/csv"}


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    built = make_app(database_url, ManualClock(NOW))
    yield built
    built.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app.api, headers=AUTH) as c:
        yield c


def service(app: App) -> Campaigns:
    campaigns: Campaigns = app.api.state.campaigns
    return campaigns


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    return body


def test_a_campaign_file_is_created_read_and_replaced(client: TestClient, app: App) -> None:
    made = ok(client.post("/campaigns", content=SOURCE, headers=YAML), 201)
    assert (made["id"], made["state"], made["mode"], made["lists"]) == (
        "renewals",
        "draft",
        "predictive",
        ["march"],
    )
    assert made["source"] == SOURCE
    clash = error(client.post("/campaigns", json={"source": SOURCE}), 409)
    assert clash["code"] == "already_exists"
    bad = error(
        client.post("/campaigns", content=SOURCE + "no_answer_timeout_s: 10\n", headers=YAML), 422
    )
    assert bad["code"] == "invalid_campaign"
    assert "line 9, no_answer_timeout_s" in bad["message"]
    assert error(client.post("/campaigns", json={"file": SOURCE}), 422)["details"]["field"] == (
        "source"
    )

    renamed = SOURCE.replace("Spring renewals", "Summer renewals")
    assert ok(client.put("/campaigns/renewals", json={"source": renamed}))["name"] == (
        "Summer renewals"
    )
    wrong = error(client.put("/campaigns/other", content=renamed, headers=YAML), 422)
    assert wrong["details"]["field"] == "campaign"
    assert [c["name"] for c in ok(client.get("/campaigns"))] == ["Summer renewals"]
    assert ok(client.get("/campaigns/renewals"))["source"] == renamed
    assert error(client.get("/campaigns/nope"), 404)["code"] == "not_found"

    actions = [
        e.record.action
        for e in AuditLog(app.store.engine).read(filters=AuditFilter(object_id="renewals"))
    ]
    assert actions == ["campaign.create", "campaign.update"]


def test_start_pause_resume_stop_follow_the_state_machine(client: TestClient, app: App) -> None:
    ok(client.post("/campaigns", content=SOURCE, headers=YAML), 201)
    assert error(client.post("/campaigns/renewals/pause"), 409)["code"] == "invalid_state"
    started = ok(client.post("/campaigns/renewals/start"))
    assert started["state"] == "running" and started["first_started"] is not None
    busy = error(client.put("/campaigns/renewals", content=SOURCE, headers=YAML), 409)
    assert "pause it" in busy["message"]
    assert ok(client.post("/campaigns/renewals/pause"))["state"] == "paused"
    assert ok(client.post("/campaigns/renewals/resume"))["state"] == "running"
    assert ok(client.post("/campaigns/renewals/stop"))["state"] == "stopped"
    assert client.post("/campaigns/renewals/explode").status_code == 422
    assert error(client.post("/campaigns/nope/start"), 404)["code"] == "not_found"
    log = AuditLog(app.store.engine).read(filters=AuditFilter(object_type="campaign"))
    assert [e.record.action for e in log][1:] == [
        "campaign.start",
        "campaign.pause",
        "campaign.resume",
        "campaign.stop",
    ]


def test_a_list_upload_is_stored_whole_or_not_at_all(client: TestClient, app: App) -> None:
    ok(client.post("/campaigns", content=SOURCE, headers=YAML), 201)
    url = "/campaigns/renewals/lists/march/records"
    good = "record_id,phone,name,priority\nr1,(415) 555-0100,Ada,1\nr2,+12125550101,Grace,\n"
    assert ok(client.post(url, content=good, headers=CSV), 201) == {"list_id": "march", "added": 2}
    bad = "record_id,phone\nr3,+14155550103\nr4,call me maybe\n"
    problem = error(client.post(url, content=bad, headers=CSV), 422)
    assert problem["code"] == "invalid_list"
    assert problem["message"].startswith("line 3, phone")
    assert problem["details"] == {"field": "phone", "line": 3}
    records = service(app).store.records(ListId("march"))
    assert [r.record_id for r in records] == ["r1", "r2"]  # nothing of the bad upload
    assert records[0].phones == ("+14155550100",)
    missing = error(client.post("/campaigns/renewals/lists/april/records", content=good), 404)
    assert missing["details"]["field"] == "list_id"


def test_a_crm_dialing_list_feeds_a_campaign_list(client: TestClient, app: App) -> None:
    from callbridge.domain.crm.records import RecordType

    crm = app.crm
    assert crm is not None
    campaign = crm.upsert_record(RecordType.CAMPAIGN, {"Name": "Renewals"})
    person = crm.upsert_record(
        RecordType.CONTACT, {"LastName": "Lovelace", "Phone": "+14155550177"}
    )
    crm.upsert_record(
        RecordType.CAMPAIGN_MEMBER, {"CampaignId": campaign.id, "ContactId": person.id}
    )
    pulled = ok(client.post("/dialing-lists", json={"name": "R", "source": campaign.id}), 201)
    ok(client.post("/campaigns", content=SOURCE, headers=YAML), 201)
    loaded = client.post(
        "/campaigns/renewals/lists/march/crm", json={"dialing_list_id": pulled["id"]}
    )
    assert ok(loaded, 201)["added"] == 1
    (record,) = service(app).store.records(ListId("march"))
    assert record.phones == ("+14155550177",) and record.record_id == f"Contact:{person.id}"


def test_do_not_call_with_dates_campaign_lists_registry_and_exemptions(
    client: TestClient, app: App
) -> None:
    ok(client.post("/campaigns", content=SOURCE, headers=YAML), 201)
    now = datetime.fromtimestamp(NOW, UTC)
    soon = (now + timedelta(days=2)).isoformat()
    # the old shape still works: honoured at once
    assert ok(client.post("/dnc", json={"number": "(415) 555-0122"}), 201) == {"added": True}
    assert ok(client.post("/dnc", json={"number": "+14155550133", "effective_at": soon}), 201)
    assert ok(
        client.post("/dnc", json={"number": "+14155550144", "campaign_id": "renewals"}), 201
    ) == {"added": True}
    backwards = client.post(
        "/dnc", json={"number": "+14155550155", "effective_at": soon, "expires_at": now.isoformat()}
    )
    assert error(backwards, 422)["details"]["field"] == "expires_at"
    assert error(client.post("/dnc", json={"number": "+14155550155", "campaign_id": "x"}), 404)
    assert sorted(ok(client.get("/dnc"))) == ["+14155550122", "+14155550133"]

    obtained = (now - timedelta(days=3)).isoformat()
    registry = "# FTC download\n212,5550142\n2125550143\nnot a number\n"
    loaded = ok(
        client.post(
            "/dnc/registry",
            params={"obtained": obtained},
            content=registry,
            headers={"content-type": "text/plain"},
        ),
        201,
    )
    assert (loaded["numbers"], loaded["rejected"], loaded["examples"]) == (
        2,
        1,
        [[4, "not a number"]],
    )
    future = client.post(
        "/dnc/registry",
        params={"obtained": (now + timedelta(days=1)).isoformat()},
        content=registry,
    )
    assert error(future, 422)["details"]["field"] == "obtained_at"
    exempt = {"number": "+12125550142", "kind": "consent", "since": obtained}
    assert ok(client.post("/dnc/exemptions", json=exempt), 201)["kind"] == "consent"

    book = service(app).store.dnc_book(CampaignId("renewals"))
    cid, age = CampaignId("renewals"), timedelta(days=31)
    assert book.check("+14155550122", cid, now, age).scope is DncScope.INTERNAL
    assert not book.check("+14155550133", cid, now, age).blocked
    assert book.check("+14155550133", cid, now + timedelta(days=3), age).blocked
    assert book.check("+14155550144", cid, now, age).scope is DncScope.CAMPAIGN
    assert book.check("+12125550143", cid, now, age).scope is DncScope.REGISTRY
    assert not book.check("+12125550142", cid, now, age).blocked  # consent


def test_pacing_log_and_report_read_what_the_dialer_recorded(client: TestClient, app: App) -> None:
    ok(client.post("/campaigns", content=SOURCE, headers=YAML), 201)
    started = datetime.fromisoformat(ok(client.post("/campaigns/renewals/start"))["since"])
    store = service(app).store
    cid = CampaignId("renewals")
    for n in range(3):
        store.record_decision(
            cid,
            PacingDecision(
                NOW + n,
                DialMode.PREDICTIVE,
                n,
                PacingReason.LEARNING,
                f"learning {n}",
                PacingInputs(n, 0, 0, 0, 0),
            ),
        )
    pacing = ok(client.get("/campaigns/renewals/pacing", params={"limit": 2}))
    assert [d["explanation"] for d in pacing] == ["learning 2", "learning 1"]
    assert pacing[0]["inputs"] == {
        "ready": 2,
        "waiting": 0,
        "talking": 0,
        "wrapping": 0,
        "in_flight": 0,
    }
    assert pacing[0]["reason"] == "learning" and pacing[0]["forecast"] is None
    assert client.get("/campaigns/renewals/pacing", params={"limit": 0}).status_code == 422
    assert error(client.get("/campaigns/nope/pacing"), 404)["code"] == "not_found"

    campaign = service(app).get("renewals").campaign
    window = campaign.profile.window_of(started, started, campaign.zone).key
    for n in range(20):
        at = started + timedelta(minutes=n)
        dropped = n == 7
        store.record_call(
            CampaignCall(
                call_id=f"c{n}",
                campaign_id=cid,
                record_id=RecordId(f"r{n}"),
                number=f"+1415555{n:04d}",
                dialled_at=at,
                ended_at=at + timedelta(seconds=30),
                disposition=DispositionCode("DROP" if dropped else "SALE"),
                window=window,
                answered_at=at + timedelta(seconds=9),
                live=True,
                abandoned=dropped,
                message="On behalf of Acme Insurance" if dropped else None,
            ),
            RecordProgress(1),
            NumberHistory(f"+1415555{n:04d}", (at,)),
        )
    report = ok(client.get("/campaigns/renewals/report"))
    (w,) = report["windows"]
    assert (w["live"], w["abandoned"], w["within_cap"]) == (20, 1, False)
    (drop,) = w["abandoned_calls"]
    assert drop["number"] == "+*******0007" and drop["message"] == "On behalf of Acme Insurance"
    as_csv = client.get("/campaigns/renewals/report", params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "+*******0007" in as_csv.text and "+14155550007" not in as_csv.text
