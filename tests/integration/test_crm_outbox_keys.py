"""Key rotation reaches the integration core's sealed values: the outbox, dialing-list members
(a composite key, paged by row value), do-not-call numbers and Salesforce's phone index."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from security_support import TOKEN, make_app
from sqlalchemy import insert

from callbridge.adapters.store.lists import ListStore
from callbridge.adapters.store.rekey import key_usage, reseal
from callbridge.adapters.store.tables import remote_phone_index
from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.domain.crm.records import RecordType
from callbridge.services.security.crypto import FieldCipher

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    built = make_app(database_url, ManualClock(1_800_000_000.0))
    yield built
    built.close()


def test_rotation_reseals_the_integration_tables(app: App) -> None:
    crm = app.crm
    assert crm is not None
    campaign = crm.upsert_record(RecordType.CAMPAIGN, {"Name": "Renewals"})
    for n in range(5):
        person = crm.upsert_record(
            RecordType.CONTACT, {"LastName": f"P{n}", "Phone": f"+1415555020{n}"}
        )
        crm.upsert_record(
            RecordType.CAMPAIGN_MEMBER, {"CampaignId": campaign.id, "ContactId": person.id}
        )
    with TestClient(app.api, headers=AUTH) as client:
        assert client.post("/queues", json={"id": "q", "name": "Q"}).status_code == 201
        for n in range(3):
            made = client.post(
                "/interactions",
                json={"channel": "chat", "from": f"c{n}@example.com", "queue_id": "q"},
            )
            iid = made.json()["interaction"]["id"]
            assert (
                client.post(f"/interactions/{iid}/end", json={"by": "customer"}).status_code == 200
            )
        lst = client.post("/dialing-lists", json={"name": "R", "source": campaign.id}).json()
        assert lst["members"] == 5
        assert client.post("/dnc", json={"number": "+14155550299"}).status_code == 201
    old = app.store.cipher
    with app.store.engine.begin() as conn:
        conn.execute(
            insert(remote_phone_index),
            [
                {
                    "crm": "salesforce",
                    "phone_index": old.index(f"+1415555030{n}"),
                    "record_type": "Contact",
                    "record_id": f"003{n:015d}",
                    "name": old.seal(f"Remote {n}", "remote_phone_index.name"),
                    "account_name": None,
                }
                for n in range(4)
            ],
        )
    old_id = old.ring.primary
    new = FieldCipher(old.ring.with_new_primary(), "US")
    counts = reseal(app.store.engine, new, batch_size=2)  # small pages: the paging is exercised
    assert counts["crm_outbox"] == 3
    assert counts["dialing_list_members"] == 5
    assert counts["dnc"] == 1
    assert counts["remote_phone_index"] == 4
    assert key_usage(app.store.engine, [old_id]) == {old_id: 0}
    lists = ListStore(app.store.engine, new)
    members = lists.members(lst["id"])
    assert sorted(m.phone for m in members) == [f"+1415555020{n}" for n in range(5)]
    assert [e.number for _, e in lists.dnc_entries()] == ["+14155550299"]
    assert reseal(app.store.engine, new) == dict.fromkeys(counts, 0)  # nothing left to do
