"""The built-in CRM beyond the contract: validation that names the field, case numbers, the
phone index (one indexed query per screen pop), do-not-call flags, saved queries, deletes,
key rotation and the benchmark loader; on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select

from callbridge.adapters.crm.builtin import SAVED_QUERIES, BuiltinCrm, bulk_load_contacts
from callbridge.adapters.store.rekey import reseal
from callbridge.adapters.store.sql import SqlStore
from callbridge.adapters.store.tables import crm_contacts, crm_phone_index
from callbridge.domain.clock import ManualClock
from callbridge.domain.crm.records import DncEntry, FieldValue, LookupKey, RecordRef, RecordType
from callbridge.domain.errors import AlreadyExists, InvalidInput, NotFound
from callbridge.services.security.crypto import FieldCipher, Keyring

T0 = 1_800_000_000.0


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(Keyring.generate(), "US")


@pytest.fixture
def store(database_url: str, cipher: FieldCipher) -> Iterator[SqlStore]:
    opened = SqlStore.open(database_url, cipher)
    yield opened
    opened.close()


@pytest.fixture
def crm(store: SqlStore, cipher: FieldCipher) -> BuiltinCrm:
    return BuiltinCrm(store.engine, cipher, ManualClock(T0), lambda: uuid.uuid4().hex)


def contact(crm: BuiltinCrm, last: str, **fields: FieldValue) -> RecordRef:
    return crm.upsert_record(RecordType.CONTACT, {"LastName": last, **fields})


@pytest.mark.parametrize(
    ("type", "fields", "key", "field"),
    [
        (RecordType.CONTACT, {"LastName": "Doe", "Shoe": "12"}, None, "Shoe"),
        (RecordType.CONTACT, {"FirstName": "Jane"}, None, "LastName"),
        (RecordType.CONTACT, {"LastName": "  "}, None, "LastName"),
        (RecordType.CONTACT, {"LastName": "Doe", "Phone": "12"}, None, "Phone"),
        (RecordType.CONTACT, {"LastName": "Doe", "MobilePhone": "call me"}, None, "MobilePhone"),
        (RecordType.CONTACT, {"LastName": "Doe", "Email": "jane.at.example"}, None, "Email"),
        (RecordType.CONTACT, {"LastName": "Doe", "DoNotCall": "yes"}, None, "DoNotCall"),
        (RecordType.CONTACT, {"LastName": 42}, None, "LastName"),
        (RecordType.CONTACT, {"LastName": "Doe", "AccountId": "nope"}, None, "AccountId"),
        (RecordType.CONTACT, {"LastName": "Doe", "Id": "x"}, None, "Id"),
        (RecordType.CONTACT, {"LastName": "Doe"}, "Title", "external_key"),
        (RecordType.CONTACT, {"LastName": "Doe"}, "Email", "Email"),
        (RecordType.LEAD, {"LastName": "Lamb"}, None, "Company"),
        (RecordType.ACCOUNT, {"Name": "x" * 256}, None, "Name"),
        (RecordType.TASK, {"Subject": "Call"}, None, "type"),
        (RecordType.CAMPAIGN_MEMBER, {"CampaignId": "nope", "ContactId": "x"}, None, "CampaignId"),
    ],
)
def test_invalid_input_names_the_field(
    crm: BuiltinCrm,
    type: RecordType,
    fields: dict[str, FieldValue],
    key: str | None,
    field: str,
) -> None:
    with pytest.raises(InvalidInput) as caught:
        crm.upsert_record(type, fields, key)
    assert caught.value.details["field"] == field, caught.value.message
    assert crm.changes(None).changes == []  # nothing was written


def test_updating_by_id_needs_a_record(crm: BuiltinCrm) -> None:
    with pytest.raises(NotFound):
        crm.upsert_record(RecordType.CONTACT, {"Id": "nope", "Title": "CFO"}, "Id")


def test_cases_are_numbered_and_numbers_are_unique(crm: BuiltinCrm) -> None:
    first = crm.upsert_record(RecordType.CASE, {"Subject": "One"})
    crm.upsert_record(RecordType.CASE, {"Subject": "Imported", "CaseNumber": "00001002"})
    third = crm.upsert_record(RecordType.CASE, {"Subject": "Three"})
    numbers = [crm.get_record(ref).fields["CaseNumber"] for ref in (first, third)]  # type: ignore[union-attr]
    assert numbers == ["00001001", "00001003"]  # 00001002 was taken by the import
    with pytest.raises(AlreadyExists):
        crm.upsert_record(RecordType.CASE, {"Subject": "Dup", "CaseNumber": "00001001"})
    again = crm.upsert_record(
        RecordType.CASE, {"CaseNumber": "00001001", "Status": "Closed"}, "CaseNumber"
    )
    assert again == first


def test_a_phone_lookup_is_one_indexed_query_then_the_matching_rows(
    crm: BuiltinCrm, store: SqlStore, database_url: str
) -> None:
    account = crm.upsert_record(RecordType.ACCOUNT, {"Name": "Acme"})
    for i in range(50):
        contact(crm, f"Filler{i}", Phone=f"+1415555{i:04d}", AccountId=account.id)
    jane = contact(crm, "Doe", Phone="(212) 555-0142", AccountId=account.id)
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        statements.append((sql, params))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        matches = crm.lookup(LookupKey.PHONE, "212.555.0142")
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert [(m.ref, m.account_name) for m in matches] == [(jane, "Acme")]
    queries = [s for s in statements if s[0].lstrip().upper().startswith("SELECT")]
    assert len(queries) == 2, queries  # the index entry, then the one contact (with its account)
    assert "crm_phone_index" in queries[0][0]
    if database_url.startswith("sqlite"):
        with store.engine.connect() as conn:
            for sql, params in queries:
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
                steps = " / ".join(str(row[-1]) for row in plan)
                assert "SCAN" not in steps, steps  # every table is searched through an index


def test_phone_index_follows_updates_and_deletes(crm: BuiltinCrm, store: SqlStore) -> None:
    jane = contact(crm, "Doe", Phone="+14155550142", MobilePhone="+14155550143")
    crm.upsert_record(RecordType.CONTACT, {"Id": jane.id, "Phone": "+14155550199"}, "Id")
    assert crm.lookup(LookupKey.PHONE, "+14155550142") == []
    assert [m.ref for m in crm.lookup(LookupKey.PHONE, "+14155550199")] == [jane]
    crm.upsert_record(RecordType.CONTACT, {"Id": jane.id, "MobilePhone": None}, "Id")
    assert crm.lookup(LookupKey.PHONE, "+14155550143") == []
    campaign = crm.upsert_record(RecordType.CAMPAIGN, {"Name": "Promo"})
    crm.upsert_record(RecordType.CAMPAIGN_MEMBER, {"CampaignId": campaign.id, "ContactId": jane.id})
    assert crm.delete_record(jane)
    assert not crm.delete_record(jane)
    assert crm.lookup(LookupKey.PHONE, "+14155550199") == []
    assert crm.dialing_list(campaign.id) == []
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(crm_phone_index)).scalar_one() == 0


def test_a_campaign_member_added_twice_is_one_member(crm: BuiltinCrm) -> None:
    jane = contact(crm, "Doe", Phone="+14155550142")
    campaign = crm.upsert_record(RecordType.CAMPAIGN, {"Name": "Promo"})
    first = crm.upsert_record(
        RecordType.CAMPAIGN_MEMBER, {"CampaignId": campaign.id, "ContactId": jane.id}
    )
    again = crm.upsert_record(
        RecordType.CAMPAIGN_MEMBER,
        {"CampaignId": campaign.id, "ContactId": jane.id, "Status": "Responded"},
    )
    assert again == first
    [member] = crm.dialing_list(campaign.id)
    assert member.fields["MemberStatus"] == "Responded"


def test_the_do_not_call_flag_counts_as_a_dnc_entry(crm: BuiltinCrm) -> None:
    flagged = contact(crm, "Quiet", Phone="+14155550100", MobilePhone="+14155550101")
    crm.upsert_record(RecordType.CONTACT, {"Id": flagged.id, "DoNotCall": True}, "Id")
    lead = crm.upsert_record(
        RecordType.LEAD, {"LastName": "Lamb", "Company": "Ewe", "Phone": "+14155550102"}
    )
    crm.add_dnc([DncEntry("+14155550102", T0, "callbridge")])
    numbers = {e.number: e.source for e in crm.dnc_numbers()}
    assert numbers == {
        "+14155550102": "callbridge",
        "+14155550100": "builtin",
        "+14155550101": "builtin",
    }
    campaign = crm.upsert_record(RecordType.CAMPAIGN, {"Name": "Promo"})
    for ref in (flagged, lead):
        member = "ContactId" if ref.type is RecordType.CONTACT else "LeadId"
        crm.upsert_record(RecordType.CAMPAIGN_MEMBER, {"CampaignId": campaign.id, member: ref.id})
    assert crm.dialing_list(campaign.id) == []
    with pytest.raises(InvalidInput) as caught:
        crm.add_dnc([DncEntry("not a number", T0, "callbridge")])
    assert caught.value.details["field"] == "number"


def test_saved_queries(crm: BuiltinCrm) -> None:
    def lead(last: str, status: str, phone: str | None = "+14155550100") -> RecordRef:
        fields: dict[str, FieldValue] = {"LastName": last, "Company": "Co", "Status": status}
        if phone:
            fields["Phone"] = phone
        return crm.upsert_record(RecordType.LEAD, fields)

    new = lead("New", "Open - Not Contacted", "+14155550110")
    working = lead("Working", "Working - Contacted", "+14155550111")
    lead("Closed", "Closed - Converted", "+14155550112")
    lead("Silent", "Open - Not Contacted", None)
    jane = contact(crm, "Doe", MobilePhone="+14155550120")
    contact(crm, "Roe", Phone="+14155550121")
    crm.upsert_record(RecordType.CASE, {"Subject": "Open", "ContactId": jane.id})

    def refs(source: str) -> set[RecordRef]:  # in creation order; all created at one instant
        return {m.ref for m in crm.dialing_list(source)}

    assert refs("query:leads_open") == {new, working}
    assert refs("query:leads_new") == {new}
    open_cases = crm.dialing_list("query:contacts_open_cases")
    assert [(m.ref, m.phone) for m in open_cases] == [(jane, "+14155550120")]
    assert len(refs("query:contacts_all")) == 2
    assert len(crm.dialing_list("query:contacts_all", limit=1)) == 1
    assert set(SAVED_QUERIES) == {"leads_open", "leads_new", "contacts_open_cases", "contacts_all"}
    with pytest.raises(InvalidInput, match="leads_open"):
        crm.dialing_list("query:everyone")
    with pytest.raises(NotFound):
        crm.dialing_list("no-such-campaign")


def test_search_matches_whole_phones_and_emails_and_parts_of_names(crm: BuiltinCrm) -> None:
    jane = contact(crm, "Doe", FirstName="Jane", Phone="+14155550142", Email="jane@example.org")
    assert [m.ref for m in crm.search("(415) 555-0142")] == [jane]
    assert [m.ref for m in crm.search("JANE@example.org")] == [jane]
    assert [m.ref for m in crm.search("ane D")] == [jane]
    assert crm.search("555-01") == []  # a part of a number is not searchable: it is sealed
    assert crm.search("100%") == []  # LIKE wildcards are literal


def test_a_database_failure_fails_the_batch_retryably(crm: BuiltinCrm, store: SqlStore) -> None:
    from callbridge.domain.crm.records import Activity, ActivityDirection
    from callbridge.ports import MappedActivity

    activity = Activity(
        "ix-1", "Inbound call", "voice", ActivityDirection.INBOUND, T0, T0 + 1, 1, "+14155550142"
    )
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE crm_changes")
    [result] = crm.log_activities([MappedActivity(activity, {})])
    assert not result.ok and result.retryable and result.error


def test_key_rotation_reseals_crm_values(
    crm: BuiltinCrm, store: SqlStore, cipher: FieldCipher
) -> None:
    jane = contact(crm, "Doe", Phone="+14155550142", Email="jane@example.org")
    crm.add_dnc([DncEntry("+14155550100", T0, "callbridge")])
    rotated = FieldCipher(cipher.ring.with_new_primary(), "US")
    counts = reseal(store.engine, rotated)
    assert counts["crm_contacts"] == 1 and counts["crm_dnc"] == 1
    with store.engine.connect() as conn:
        stored = conn.execute(select(crm_contacts.c.phone)).scalar_one()
    assert rotated.key_id(stored) == rotated.ring.primary
    after = BuiltinCrm(store.engine, rotated, ManualClock(T0), lambda: uuid.uuid4().hex)
    record = after.get_record(jane)
    assert record is not None and record.fields["Email"] == "jane@example.org"
    assert [m.ref for m in after.lookup(LookupKey.PHONE, "4155550142")] == [jane]


def test_bulk_load_contacts_are_found_by_phone(
    crm: BuiltinCrm, store: SqlStore, cipher: FieldCipher
) -> None:
    phones = bulk_load_contacts(store.engine, cipher, 3000, random.Random(5))
    assert len(set(phones)) == 3000
    for phone in random.Random(6).sample(phones, 20):
        [match] = crm.lookup(LookupKey.PHONE, phone)
        assert match.ref.type is RecordType.CONTACT and match.account_name
        record = crm.get_record(match.ref)
        assert record is not None and record.fields["Phone"] == phone


def test_the_demo_seed_puts_the_simulated_callers_in_the_crm(crm: BuiltinCrm) -> None:
    from callbridge.cli.seed import seed_crm
    from callbridge.sim.customers import DEMO_CUSTOMERS, customer_email, customer_phone

    assert seed_crm(crm)
    assert not seed_crm(crm)  # once
    assert len(crm.lookup(LookupKey.PHONE, customer_phone(0))) == 2  # a pick list
    for i in (5, 120, DEMO_CUSTOMERS - 1):
        [match] = crm.lookup(LookupKey.PHONE, customer_phone(i))
        assert [m.ref for m in crm.lookup(LookupKey.EMAIL, customer_email(i))] == [match.ref]
    [campaign] = crm.list_records(RecordType.CAMPAIGN)
    assert len(crm.dialing_list(campaign.ref.id)) > 50
