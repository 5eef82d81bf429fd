"""The SOQL and SOSL the connector sends, date-times both ways, and the change cursor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from callbridge.adapters.crm.salesforce.changes import FeedCursor, TypeCursor, change_soql, indexed
from callbridge.adapters.crm.salesforce.lookup import escape_sosl, phone_sosl, search_sosl
from callbridge.adapters.crm.salesforce.payload import parse_datetime, soql_datetime, to_datetime
from callbridge.domain.crm.records import RecordRef, RecordType
from callbridge.domain.errors import InvalidInput


def test_salesforce_datetimes_read_in_every_form() -> None:
    expected = datetime(2024, 3, 5, 14, 7, 22, 123000, tzinfo=UTC)
    for form in ("2024-03-05T14:07:22.123+0000", "2024-03-05T14:07:22.123Z",
                 "2024-03-05T15:07:22.123+01:00"):  # fmt: skip
        assert to_datetime(form) == expected
    assert parse_datetime("2024-03-05T00:00:00.000+0000") == 1_709_596_800.0


def test_soql_literal_keeps_the_milliseconds_exactly() -> None:
    stamp = to_datetime("2024-03-05T14:07:22.999+0000")
    assert soql_datetime(stamp) == "2024-03-05T14:07:22.999Z"


def test_change_queries() -> None:
    assert change_soql(RecordType.ACCOUNT, None) == (
        "SELECT Id, Name, Phone, SystemModstamp FROM Account ORDER BY SystemModstamp ASC"
    )
    since = to_datetime("2024-03-05T14:07:22.000+0000")
    assert change_soql(RecordType.LEAD, since) == (
        "SELECT Id, IsDeleted, Name, Company, IsConverted, Phone, MobilePhone, SystemModstamp "
        "FROM Lead "
        "WHERE SystemModstamp > 2024-03-05T14:07:22.000Z ORDER BY SystemModstamp ASC"
    )
    assert "Account.Name" in change_soql(RecordType.CONTACT, None)


def test_the_screen_pop_search_sends_digits_only() -> None:
    assert phone_sosl("+14155551212") == (
        "FIND {14155551212} IN PHONE FIELDS RETURNING Contact(Id, Name, Account.Name), "
        "Lead(Id, Name, Company WHERE IsConverted = false), Account(Id, Name)"
    )


def test_search_escapes_reserved_characters() -> None:
    assert escape_sosl(" O'Brien & Co (UK) ") == r"O\'Brien \& Co \(UK\)"
    assert escape_sosl("{x}") == r"\{x\}"
    assert search_sosl("acme", [RecordType.ACCOUNT], 5) == (
        "FIND {acme} IN ALL FIELDS RETURNING Account(Id, Name) LIMIT 5"
    )


def test_records_as_the_index_keeps_them() -> None:
    contact: dict[str, object] = {
        "Id": "003000000000001AAA", "Name": "Ann Lee", "Account": {"Name": "Acme"},
        "Phone": "(415) 555-1212", "MobilePhone": "+1 415 555 1212", "HomePhone": "n/a",
        "OtherPhone": "+44 20 7946 0018", "AssistantPhone": None,
    }  # fmt: skip
    record = indexed(RecordType.CONTACT, contact, "US")
    assert record.ref == RecordRef(RecordType.CONTACT, "003000000000001AAA")
    assert (record.name, record.account_name) == ("Ann Lee", "Acme")
    assert record.phones == ("+14155551212", "+442079460018")
    lead: dict[str, object] = {"Id": "00Q000000000001AAA", "Name": "Bo", "Company": "Beta",
                               "Phone": "4155550000", "IsConverted": True}  # fmt: skip
    assert indexed(RecordType.LEAD, lead, "US").phones == ()  # converted: leaves the index


def test_the_cursor_round_trips_and_refuses_garbage() -> None:
    cursor = FeedCursor({RecordType.CONTACT: TypeCursor("2024-03-05T14:07:22.000+0000", 1.5),
                         RecordType.LEAD: TypeCursor(None, None)})  # fmt: skip
    assert FeedCursor.from_text(cursor.to_text()) == cursor
    assert FeedCursor.from_text(None) == FeedCursor()
    for bad in ("not json", '{"Nope": [null, null]}', "[1, 2]"):
        with pytest.raises(InvalidInput):
            FeedCursor.from_text(bad)
