"""Dialing lists pulled from the CRM, and do-not-call kept in step both ways (built-in CRM)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from security_support import TOKEN, make_app

from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.domain.crm.records import RecordType
from callbridge.services.crm_sync.lists import Lists

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    built = make_app(database_url, ManualClock(1_800_000_000.0))
    yield built
    built.close()


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_campaign_becomes_a_dialing_list_and_refreshes(app: App) -> None:
    crm = app.crm
    assert crm is not None
    campaign = crm.upsert_record(RecordType.CAMPAIGN, {"Name": "Renewals"})
    people = [
        crm.upsert_record(RecordType.CONTACT, {"LastName": f"P{n}", "Phone": f"+1415555010{n}"})
        for n in range(3)
    ]
    for person in people[:2]:
        crm.upsert_record(
            RecordType.CAMPAIGN_MEMBER, {"CampaignId": campaign.id, "ContactId": person.id}
        )
    with TestClient(app.api, headers=AUTH) as client:
        made = ok(
            client.post("/dialing-lists", json={"name": "Renewals", "source": campaign.id}), 201
        )
        assert made["members"] == 2
        members = ok(client.get(f"/dialing-lists/{made['id']}/members"))
        assert sorted(m["phone"] for m in members) == ["+14155550100", "+14155550101"]
        crm.upsert_record(
            RecordType.CAMPAIGN_MEMBER, {"CampaignId": campaign.id, "ContactId": people[2].id}
        )
        again = ok(client.post(f"/dialing-lists/{made['id']}/refresh"))
        assert again["members"] == 3 and again["id"] == made["id"]
        assert len(ok(client.get("/dialing-lists"))) == 1
        missing = client.post("/dialing-lists/nope/refresh")
        assert missing.status_code == 404


def test_do_not_call_goes_both_ways_once(app: App) -> None:
    crm = app.crm
    assert crm is not None
    crm.upsert_record(
        RecordType.CONTACT, {"LastName": "Quiet", "Phone": "+14155550111", "DoNotCall": True}
    )
    with TestClient(app.api, headers=AUTH) as client:
        ok(client.post("/dnc", json={"number": "(415) 555-0122"}), 201)
        bad = client.post("/dnc", json={"number": "not a number"})
        assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "number"
        first = ok(client.post("/dnc/sync"))
        assert first == {"pulled": 1, "pushed": 1}
        assert sorted(ok(client.get("/dnc"))) == ["+14155550111", "+14155550122"]
        assert "+14155550122" in {e.number for e in crm.dnc_numbers()}
        assert ok(client.post("/dnc/sync")) == {"pulled": 0, "pushed": 0}  # nothing twice


def test_the_server_syncs_do_not_call_on_its_own(app: App) -> None:
    crm = app.crm
    assert crm is not None
    lists: Lists = app.api.state.lists
    lists.add_dnc("+14155550133")

    async def briefly() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(lists.keep_dnc, 3600.0, now=True))
            for _ in range(200):  # the sync runs in a thread; look for its result for 10 s
                if "+14155550133" in {e.number for e in crm.dnc_numbers()}:
                    break
                await anyio.sleep(0.05)
            tg.cancel_scope.cancel()

    anyio.run(briefly)
    assert lists.store.dnc_entries(unpushed_only=True) == []
