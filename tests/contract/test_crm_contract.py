"""The `Crm` contract: one suite of scenarios that every CRM implementation passes.

Each scenario seeds its records through the port itself (`upsert_record`), so it runs unchanged
on any CRM. Every implementation runs on SQLite and on PostgreSQL (the `database_url` fixture):
the built-in CRM keeps its records there, and connectors keep their local phone index there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sf_support import connected
from sfstandin import running_standin

from callbridge.adapters.crm.builtin import BuiltinCrm
from callbridge.adapters.store.sql import SqlStore
from callbridge.domain.clock import ManualClock
from callbridge.domain.crm.records import (
    Activity,
    ActivityDirection,
    Change,
    ConnectorState,
    DncEntry,
    LookupKey,
    RecordRef,
    RecordType,
)
from callbridge.ports import Crm, MappedActivity
from callbridge.services.security.crypto import FieldCipher, Keyring

T0 = 1_800_000_000.0


@dataclass
class CrmUnderTest:
    """An implementation and the few things the port does not cover that scenarios need."""

    crm: Crm
    delete: Callable[[RecordRef], None]  # delete a record the way a CRM user would
    contact_key: str  # a Contact field `upsert_record` can match on (its external key)


# A factory gets the URL of an empty database and a scratch directory; it yields the CRM under
# test and cleans up after it.
Factory = Callable[[str, Path], Iterator[CrmUnderTest]]


def builtin(database_url: str, tmp_path: Path) -> Iterator[CrmUnderTest]:
    cipher = FieldCipher(Keyring.generate(), "US")
    store = SqlStore.open(database_url, cipher)
    # a small change-log page, so paging is exercised
    crm = BuiltinCrm(store.engine, cipher, ManualClock(T0), lambda: uuid.uuid4().hex, page_size=3)

    def delete(ref: RecordRef) -> None:
        assert crm.delete_record(ref)

    try:
        yield CrmUnderTest(crm, delete, contact_key="Email")
    finally:
        store.close()


def salesforce(database_url: str, tmp_path: Path) -> Iterator[CrmUnderTest]:
    """The connector against the stand-in server, its phone index on `database_url`."""
    with running_standin() as standin, connected(standin, database_url, tmp_path) as harness:

        def delete(ref: RecordRef) -> None:
            standin.delete(ref.type.value, ref.id)  # a soft delete, as the REST API does

        yield CrmUnderTest(harness.connector, delete, contact_key="CC_ExternalId__c")


FACTORIES: list[Any] = [
    pytest.param(builtin, id="builtin"),
    pytest.param(salesforce, id="salesforce"),
]


@pytest.fixture(params=FACTORIES)
def subject(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[Any]:
    factory: Factory = request.param
    yield from factory(database_url, tmp_path)


@pytest.fixture
def crm(subject: CrmUnderTest) -> Crm:
    return subject.crm


@dataclass
class World:
    acme: RecordRef
    globex: RecordRef
    jane: RecordRef
    john: RecordRef
    nophone: RecordRef
    lee: RecordRef
    case: RecordRef
    case_number: str
    campaign: RecordRef


@pytest.fixture
def world(crm: Crm) -> World:
    """Two Does sharing a number (with a lead on it too), an account with its own number, a
    case, and a campaign with three members, one of whom has no phone."""
    acme = crm.upsert_record(
        RecordType.ACCOUNT,
        {"Name": "Acme Corp", "AccountNumber": "ACME-001", "Phone": "+1 415 555 0100"},
    )
    globex = crm.upsert_record(RecordType.ACCOUNT, {"Name": "Globex"})
    jane = crm.upsert_record(
        RecordType.CONTACT,
        {
            "FirstName": "Jane",
            "LastName": "Doe",
            "AccountId": acme.id,
            "Phone": "(415) 555-0142",
            "Email": "jane.doe@example.org",
        },
    )
    john = crm.upsert_record(
        RecordType.CONTACT,
        {
            "FirstName": "John",
            "LastName": "Doe",
            "AccountId": globex.id,
            "Phone": "415-555-0142",
            "MobilePhone": "+1 415 555 0143",
        },
    )
    nophone = crm.upsert_record(RecordType.CONTACT, {"FirstName": "Nora", "LastName": "Nophone"})
    lee = crm.upsert_record(
        RecordType.LEAD,
        {"FirstName": "Lee", "LastName": "Lead", "Company": "Initech", "Phone": "+14155550142"},
    )
    case = crm.upsert_record(
        RecordType.CASE, {"Subject": "Broken widget", "ContactId": jane.id, "AccountId": acme.id}
    )
    record = crm.get_record(case)
    assert record is not None
    case_number = record.fields["CaseNumber"]
    assert isinstance(case_number, str) and case_number
    campaign = crm.upsert_record(RecordType.CAMPAIGN, {"Name": "Spring promo"})
    for member in (("ContactId", jane), ("LeadId", lee), ("ContactId", nophone)):
        crm.upsert_record(
            RecordType.CAMPAIGN_MEMBER, {"CampaignId": campaign.id, member[0]: member[1].id}
        )
    return World(acme, globex, jane, john, nophone, lee, case, case_number, campaign)


# --- lookup ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["(415) 555-0142", "+14155550142", "415.555.0142", "+1 415 555 0142", "4155550142"]
)
def test_lookup_by_phone_in_any_format_finds_contacts_then_leads(
    crm: Crm, world: World, number: str
) -> None:
    matches = crm.lookup(LookupKey.PHONE, number)
    assert [m.ref.type for m in matches] == [
        RecordType.CONTACT,
        RecordType.CONTACT,
        RecordType.LEAD,
    ]
    assert {m.ref for m in matches} == {world.jane, world.john, world.lee}
    assert all(m.matched_on is LookupKey.PHONE for m in matches)
    accounts = {m.ref: m.account_name for m in matches}
    assert accounts[world.jane] == "Acme Corp"
    assert accounts[world.john] == "Globex"
    names = {m.ref: m.name for m in matches}
    assert names[world.jane] == "Jane Doe" and names[world.lee] == "Lee Lead"


def test_lookup_by_mobile_phone_and_by_an_accounts_phone(crm: Crm, world: World) -> None:
    assert [m.ref for m in crm.lookup(LookupKey.PHONE, "(415) 555-0143")] == [world.john]
    assert [m.ref for m in crm.lookup(LookupKey.PHONE, "415 555 0100")] == [world.acme]


def test_lookup_limit_keeps_the_preferred_types(crm: Crm, world: World) -> None:
    matches = crm.lookup(LookupKey.PHONE, "+14155550142", limit=2)
    assert [m.ref.type for m in matches] == [RecordType.CONTACT, RecordType.CONTACT]


def test_lookup_with_no_match(crm: Crm, world: World) -> None:
    assert crm.lookup(LookupKey.PHONE, "+1 212 555 0199") == []
    assert crm.lookup(LookupKey.PHONE, "anonymous") == []
    assert crm.lookup(LookupKey.EMAIL, "nobody@example.org") == []
    assert crm.lookup(LookupKey.ACCOUNT_NUMBER, "NOPE-404") == []
    assert crm.lookup(LookupKey.CASE_NUMBER, "99999999") == []


def test_lookup_by_email_ignores_case(crm: Crm, world: World) -> None:
    matches = crm.lookup(LookupKey.EMAIL, " Jane.Doe@EXAMPLE.org ")
    assert [(m.ref, m.matched_on) for m in matches] == [(world.jane, LookupKey.EMAIL)]


def test_lookup_by_account_number_and_case_number(crm: Crm, world: World) -> None:
    by_account = crm.lookup(LookupKey.ACCOUNT_NUMBER, "ACME-001")
    assert [(m.ref, m.name) for m in by_account] == [(world.acme, "Acme Corp")]
    by_case = crm.lookup(LookupKey.CASE_NUMBER, world.case_number)
    assert [m.ref for m in by_case] == [world.case]
    assert by_case[0].matched_on is LookupKey.CASE_NUMBER


# --- records ---------------------------------------------------------------------------------


def test_get_record_returns_the_fields_with_phones_in_e164(crm: Crm, world: World) -> None:
    record = crm.get_record(world.jane)
    assert record is not None
    assert record.ref == world.jane and record.name == "Jane Doe"
    assert record.fields["Phone"] == "+14155550142"
    assert record.fields["Email"] == "jane.doe@example.org"
    assert record.fields["AccountId"] == world.acme.id
    assert crm.get_record(RecordRef(RecordType.CONTACT, "no-such-id")) is None


def test_search_by_name_and_by_type(crm: Crm, world: World) -> None:
    does = crm.search("doe")
    assert {world.jane, world.john} <= {m.ref for m in does}
    leads = crm.search("Lee", types=[RecordType.LEAD])
    assert [m.ref for m in leads] == [world.lee]
    assert crm.search("Acme", types=[RecordType.ACCOUNT])[0].ref == world.acme
    assert crm.search("zzz-nothing-like-it") == []


def test_upsert_by_external_key_updates_the_same_record(
    crm: Crm, subject: CrmUnderTest, world: World
) -> None:
    key = subject.contact_key
    first = crm.upsert_record(
        RecordType.CONTACT, {"LastName": "Roe", key: "rita.roe@example.org"}, external_key=key
    )
    again = crm.upsert_record(
        RecordType.CONTACT,
        {"LastName": "Roe", "Title": "CFO", key: "rita.roe@example.org"},
        external_key=key,
    )
    assert again == first
    record = crm.get_record(first)
    assert record is not None and record.fields["Title"] == "CFO"
    other = crm.upsert_record(
        RecordType.CONTACT, {"LastName": "Poe", key: "pat.poe@example.org"}, external_key=key
    )
    assert other != first


# --- activities ------------------------------------------------------------------------------


def _activity(
    external_id: str, who: RecordRef | None, subject: str = "Inbound call"
) -> MappedActivity:
    activity = Activity(
        external_id=external_id,
        subject=subject,
        channel="voice",
        direction=ActivityDirection.INBOUND,
        started_at=T0,
        ended_at=T0 + 95,
        duration_s=80,
        customer_address="+14155550142",
        queue="Support",
        agent="Ada Lovelace",
        disposition_code="resolved",
        disposition_label="Resolved",
        notes="Reset the widget",
        who=who,
    )
    return MappedActivity(activity, {"Subject": subject, "CallDurationInSeconds": 80})


def test_log_activities_is_idempotent_on_external_id(crm: Crm, world: World) -> None:
    batch = [_activity("ix-1", world.jane), _activity("ix-2", world.lee)]
    first = crm.log_activities(batch)
    assert [(r.external_id, r.ok) for r in first] == [("ix-1", True), ("ix-2", True)]
    again = crm.log_activities(batch)
    assert [r.record_id for r in again] == [r.record_id for r in first]
    assert all(r.ok for r in again)
    assert len({r.record_id for r in first}) == 2
    record_id = first[0].record_id
    assert record_id is not None
    task = crm.get_record(RecordRef(RecordType.TASK, record_id))
    assert task is not None and task.fields["WhoId"] == world.jane.id
    changed = crm.log_activities([_activity("ix-1", world.jane, subject="Inbound call - billing")])
    assert changed[0].record_id == record_id
    task = crm.get_record(RecordRef(RecordType.TASK, record_id))
    assert task is not None and task.fields["Subject"] == "Inbound call - billing"


def test_a_bad_activity_fails_alone(crm: Crm, world: World) -> None:
    ghost = RecordRef(RecordType.CONTACT, "no-such-contact")
    results = crm.log_activities(
        [_activity("ix-a", world.jane), _activity("ix-b", ghost), _activity("ix-c", None)]
    )
    assert [r.external_id for r in results] == ["ix-a", "ix-b", "ix-c"]
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error and results[1].record_id is None
    for result in (results[0], results[2]):
        assert result.record_id is not None
        assert crm.get_record(RecordRef(RecordType.TASK, result.record_id)) is not None


def test_an_empty_batch_writes_nothing(crm: Crm) -> None:
    assert crm.log_activities([]) == []


# --- dialing lists and do-not-call -----------------------------------------------------------


def test_dialing_list_of_a_campaign_has_the_members_with_a_phone(crm: Crm, world: World) -> None:
    members = crm.dialing_list(world.campaign.id)
    assert {(m.ref, m.phone) for m in members} == {
        (world.jane, "+14155550142"),
        (world.lee, "+14155550142"),
    }
    assert {m.name for m in members} == {"Jane Doe", "Lee Lead"}


def test_do_not_call_round_trip(crm: Crm, world: World) -> None:
    crm.add_dnc([DncEntry("(212) 555-0199", T0, "callbridge")])
    crm.add_dnc(
        [
            DncEntry("+12125550199", T0 + 60, "callbridge"),
            DncEntry("+442079460318", T0, "callbridge"),
        ]
    )
    numbers = [e.number for e in crm.dnc_numbers()]
    assert numbers.count("+12125550199") == 1
    assert "+442079460318" in numbers


def test_a_number_on_the_dnc_list_leaves_the_dialing_list(crm: Crm, world: World) -> None:
    crm.add_dnc([DncEntry("+14155550142", T0, "callbridge")])
    assert crm.dialing_list(world.campaign.id) == []


# --- changes ---------------------------------------------------------------------------------


def _drain(crm: Crm, cursor: str | None) -> tuple[list[Change], str]:
    """Every change after `cursor`, page by page; and the cursor to resume from."""
    seen: list[Change] = []
    while True:
        page = crm.changes(cursor)
        cursor = page.cursor
        if not page.changes:
            return seen, cursor
        seen += page.changes


def test_changes_page_through_creates_updates_and_deletes(crm: Crm, subject: CrmUnderTest) -> None:
    _, cursor = _drain(crm, None)
    made = crm.upsert_record(RecordType.CONTACT, {"LastName": "Moss", "Phone": "+14155550177"})
    other = crm.upsert_record(RecordType.LEAD, {"LastName": "Lamb", "Company": "Ewe Ltd"})
    created, cursor = _drain(crm, cursor)
    refs = [c.ref for c in created]
    assert made in refs and other in refs
    moss = next(c for c in created if c.ref == made)
    assert not moss.deleted and moss.phones == ("+14155550177",) and moss.name == "Moss"
    assert _drain(crm, cursor)[0] == []  # nothing new: the cursor resumes where it stopped

    crm.upsert_record(
        RecordType.CONTACT, {"Id": made.id, "MobilePhone": "+14155550178"}, external_key="Id"
    )
    updated, cursor = _drain(crm, cursor)
    assert [c.ref for c in updated] == [made]
    assert set(updated[0].phones) == {"+14155550177", "+14155550178"}

    subject.delete(made)
    deleted, cursor = _drain(crm, cursor)
    assert [(c.ref, c.deleted) for c in deleted] == [(made, True)]
    assert _drain(crm, cursor)[0] == []


def test_changes_from_the_beginning_span_several_pages(crm: Crm, world: World) -> None:
    seen, _ = _drain(crm, None)
    refs = {c.ref for c in seen}
    assert {world.acme, world.jane, world.john, world.lee, world.case, world.campaign} <= refs


def test_health_says_connected(crm: Crm) -> None:
    assert crm.health().state is ConnectorState.CONNECTED
