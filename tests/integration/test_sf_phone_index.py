"""The Salesforce connector's local phone index, on SQLite and PostgreSQL: numbers stored as
blind-index hashes, names sealed, records replaced and removed as a whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from privacy_support import dump_tables

from callbridge.adapters.crm.salesforce.phone_index import IndexedRecord, PhoneIndex
from callbridge.adapters.store.sql import SqlStore
from callbridge.domain.crm.records import CrmMatch, LookupKey, RecordRef, RecordType
from callbridge.services.security.crypto import FieldCipher, Keyring

ANN = RecordRef(RecordType.CONTACT, "003000000000001AAA")
ACME = RecordRef(RecordType.ACCOUNT, "001000000000001AAA")
BO = RecordRef(RecordType.LEAD, "00Q000000000001AAA")


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    opened = SqlStore.open(database_url, FieldCipher(Keyring.generate()))
    yield opened
    opened.close()


@pytest.fixture
def index(store: SqlStore) -> PhoneIndex:
    return PhoneIndex(store.engine, store.cipher)


def test_numbers_in_any_format_find_contacts_and_leads_before_accounts(index: PhoneIndex) -> None:
    index.replace([
        IndexedRecord(ACME, "Acme", None, ("+14155551212",)),
        IndexedRecord(ANN, "Ann Lee", "Acme", ("+14155551212", "+14155550000")),
        IndexedRecord(BO, "Bo Chen", "Beta", ("+14155551212",)),
    ])  # fmt: skip
    found = index.find("(415) 555-1212")
    assert [m.ref for m in found] == [ANN, BO, ACME]
    assert found[0] == CrmMatch(ANN, "Ann Lee", LookupKey.PHONE, "Acme")
    assert index.find("+1 415 555 0000") == [found[0]]
    assert index.find("+14155559999") == []
    assert len(index.find("4155551212", limit=2)) == 2
    assert index.size() == 4


def test_replace_makes_a_records_numbers_exactly_the_new_ones(index: PhoneIndex) -> None:
    index.replace([IndexedRecord(ANN, "Ann Lee", "Acme", ("+14155551212", "+14155550000"))])
    index.replace([IndexedRecord(ANN, "Ann Lee-Smith", None, ("+14155557777",))])
    assert index.find("+14155551212") == []
    assert [m.name for m in index.find("+14155557777")] == ["Ann Lee-Smith"]
    index.replace([IndexedRecord(ANN, "Ann Lee-Smith", None, ())])  # no numbers: gone
    assert index.size() == 0


def test_add_keeps_the_numbers_already_there_and_remove_drops_the_record(
    index: PhoneIndex,
) -> None:
    index.replace([IndexedRecord(ANN, "Ann Lee", None, ("+14155551212",))])
    index.add([IndexedRecord(ANN, "Ann Lee", None, ("+14155550000",))])
    assert index.find("+14155551212") and index.find("+14155550000")
    index.replace([IndexedRecord(BO, "Bo Chen", None, ("+14155551212",))])
    index.remove([ANN])
    assert [m.ref for m in index.find("+14155551212")] == [BO]
    index.clear()
    assert index.size() == 0


def test_the_index_holds_no_number_or_name_in_plain_text(
    index: PhoneIndex, store: SqlStore
) -> None:
    index.replace([IndexedRecord(ANN, "Ann Lee", "Acme Corp", ("+14155551212",))])
    text = dump_tables(store.engine)
    for secret in ("Ann Lee", "Acme Corp", "+14155551212", "4155551212"):
        assert secret not in text


def test_cursors_are_kept_replaced_and_forgotten(index: PhoneIndex) -> None:
    assert index.cursor("salesforce.phone_index") is None
    index.set_cursor("salesforce.phone_index", "a", 1.0)
    index.set_cursor("salesforce.phone_index", "b", 2.0)
    assert index.cursor("salesforce.phone_index") == "b"
    index.set_cursor("salesforce.phone_index", None, 3.0)
    assert index.cursor("salesforce.phone_index") is None
