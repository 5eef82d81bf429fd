"""Screen pops from the local phone index: no API request once it is synced, one SOSL search
on a miss, and an index that follows what changes in Salesforce."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sf_support import Harness, connected, standin_and_connector
from sfstandin import Fault, running_standin

from callbridge.domain.clock import ManualClock
from callbridge.domain.crm.records import LookupKey, RecordRef, RecordType


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with standin_and_connector(f"sqlite:///{tmp_path / 'cb.db'}", tmp_path) as h:
        yield h


def seed(harness: Harness, people: int) -> dict[str, RecordRef]:
    """`people` contacts at one account and as many leads, each with a number of its own."""
    standin = harness.standin
    account = standin.insert("Account", {"Name": "Acme", "Phone": "(212) 555-0100"})
    numbers = {"+12125550100": RecordRef(RecordType.ACCOUNT, account)}
    for n in range(people):
        contact = standin.insert(
            "Contact",
            {"LastName": f"Contact{n}", "AccountId": account, "MobilePhone": f"415-555-{n:04d}"},
        )
        numbers[f"+1415555{n:04d}"] = RecordRef(RecordType.CONTACT, contact)
        lead = standin.insert(
            "Lead", {"LastName": f"Lead{n}", "Company": "Beta", "Phone": f"(646) 555-{n:04d}"}
        )
        numbers[f"+1646555{n:04d}"] = RecordRef(RecordType.LEAD, lead)
    return numbers


def test_after_a_sync_screen_pops_cost_no_request(harness: Harness) -> None:
    numbers = seed(harness, 100)
    harness.standin.set_page_size(50)
    read = harness.connector.sync_phone_index()
    assert read == len(numbers)
    assert harness.calls() == 1 + 2 + 2  # accounts in one page, contacts and leads in two each
    before = harness.calls()
    for number, ref in numbers.items():
        [match] = harness.connector.lookup(LookupKey.PHONE, number)
        assert match.ref == ref
    assert harness.calls() == before
    [contact] = harness.connector.lookup(LookupKey.PHONE, "(415) 555-0007")
    assert (contact.name, contact.account_name) == ("Contact7", "Acme")


def test_a_miss_costs_one_search_and_what_it_finds_joins_the_index(harness: Harness) -> None:
    crm, standin = harness.connector, harness.standin
    ref = RecordRef(
        RecordType.CONTACT,
        standin.insert("Contact", {"LastName": "Moss", "Phone": "+1 (415) 555-0177"}),
    )
    assert [m.ref for m in crm.lookup(LookupKey.PHONE, "4155550177")] == [ref]
    searches = [r for r in standin.requests() if "/search" in r.path]
    assert len(searches) == 1 and "PHONE" in searches[0].query
    assert [m.ref for m in crm.lookup(LookupKey.PHONE, "+14155550177")] == [ref]
    assert harness.calls() == 1


def test_a_number_salesforce_does_not_know_is_searched_once(harness: Harness) -> None:
    crm = harness.connector
    assert crm.lookup(LookupKey.PHONE, "+12125550199") == []
    assert crm.lookup(LookupKey.PHONE, "(212) 555-0199") == []
    assert harness.calls() == 1
    assert crm.lookup(LookupKey.PHONE, "not a number") == []
    assert harness.calls() == 1


def test_the_index_follows_updates_conversions_and_deletes(harness: Harness) -> None:
    crm, standin = harness.connector, harness.standin
    numbers = seed(harness, 3)
    crm.sync_phone_index()
    assert harness.calls() == 3
    moved, gone, converted = (numbers[n] for n in ("+14155550000", "+14155550001", "+16465550002"))
    standin.update("Contact", moved.id, {"MobilePhone": "+1 415 555 9999"})
    standin.delete("Contact", gone.id)
    standin.update("Lead", converted.id, {"IsConverted": True})
    added = standin.insert("Lead", {"LastName": "New", "Company": "Gamma", "Phone": "4155558888"})
    crm.sync_phone_index()
    assert harness.calls() == 6  # one queryAll per type
    index = crm.index
    assert [m.ref for m in index.find("+14155559999")] == [moved]
    for stale in ("+14155550000", "+14155550001", "+16465550002"):
        assert index.find(stale) == []
    assert [m.ref for m in index.find("+14155558888")] == [RecordRef(RecordType.LEAD, added)]
    crm.sync_phone_index()
    assert harness.calls() == 9  # nothing changed: three requests and no write


def test_a_search_that_lags_behind_a_write_is_not_trusted_as_final(harness: Harness) -> None:
    harness.standin.inject(Fault.search_lag(60))
    fresh = harness.standin.insert("Contact", {"LastName": "Fresh", "Phone": "4155550123"})
    ref = RecordRef(RecordType.CONTACT, fresh)
    assert harness.connector.lookup(LookupKey.PHONE, "4155550123") == []
    harness.connector.sync_phone_index()  # the index does not wait for the search index
    assert [m.ref for m in harness.connector.lookup(LookupKey.PHONE, "4155550123")] == [ref]


class SharedClock(ManualClock):
    """One clock for the stand-in and the connector, so days can pass in a test."""

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)


def test_purged_records_are_caught_by_get_deleted_and_an_aged_out_log_reloads(
    tmp_path: Path,
) -> None:
    clock = SharedClock(datetime.now(UTC).timestamp())
    url = f"sqlite:///{tmp_path / 'cb.db'}"
    with (
        running_standin(clock=clock.utc) as standin,
        connected(standin, url, tmp_path, clock=clock) as h,
    ):
        crm = h.connector
        keep = standin.insert("Contact", {"LastName": "Keep", "Phone": "4155550001"})
        gone = standin.insert("Contact", {"LastName": "Gone", "Phone": "4155550002"})
        standin.insert("Account", {"Name": "Acme", "Phone": "2125550100"})
        standin.insert("Lead", {"LastName": "Lee", "Company": "Beta", "Phone": "6465550100"})
        crm.sync_phone_index()
        clock.advance(60)
        standin.delete("Contact", gone)
        clock.advance(crm.feed.deleted_every_s)
        crm.sync_phone_index()
        deleted_polls = [r for r in standin.requests() if r.path.rstrip("/").endswith("/deleted")]
        assert len(deleted_polls) == 3  # one getDeleted per type, once per interval
        assert crm.index.find("4155550002") == []
        clock.advance(timedelta(days=16).total_seconds())  # the deletion log no longer reaches
        before = h.calls()
        crm.sync_phone_index()
        assert h.calls() - before == 3 + 3 + 3  # queryAll, getDeleted refused, full reload
        assert [m.ref.id for m in crm.index.find("4155550001")] == [keep]
