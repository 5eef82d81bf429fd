"""The default Task of an activity, Collections bodies and results, record mapping."""

from __future__ import annotations

from dataclasses import replace

from callbridge.adapters.crm.salesforce.mapping import (
    activity_results,
    chunks,
    default_task_fields,
    task_records,
    to_match,
    to_record,
)
from callbridge.domain.crm.records import (
    Activity,
    ActivityDirection,
    ActivityResult,
    CrmMatch,
    LookupKey,
    RecordRef,
    RecordType,
)
from callbridge.ports import MappedActivity

CALL = Activity(
    external_id="ix-1",
    subject="Inbound call - Support",
    channel="voice",
    direction=ActivityDirection.INBOUND,
    started_at=1_709_647_600.0,  # 2024-03-05 14:06:40 UTC
    ended_at=1_709_647_784.0,
    duration_s=184,
    customer_address="+14155551212",
    queue="Support",
    agent="Ada",
    disposition_code="resolved",
    disposition_label="Resolved",
    notes="Asked about invoice 1234.",
    who=RecordRef(RecordType.CONTACT, "003RO0000035WQgYAM"),
    what=RecordRef(RecordType.CASE, "500RO000001XyZaYAK"),
)


def test_a_call_becomes_a_completed_call_task() -> None:
    fields = default_task_fields(CALL)
    assert fields == {
        "Subject": "Inbound call - Support",
        "Status": "Completed",
        "Priority": "Normal",
        "ActivityDate": "2024-03-05",
        "TaskSubtype": "Call",
        "Type": "Call",
        "CallType": "Inbound",
        "CallDurationInSeconds": 184,
        "CallObject": "ix-1",
        "CallDisposition": "Resolved",
        "Description": "Asked about invoice 1234.\nCustomer: +14155551212\nQueue: Support\n"
        "Agent: Ada",
        "WhoId": "003RO0000035WQgYAM",
        "WhatId": "500RO000001XyZaYAK",
        "CC_SessionId__c": "ix-1",
    }


def test_a_lead_keeps_the_related_to_empty() -> None:
    with_lead = replace(CALL, who=RecordRef(RecordType.LEAD, "00QRO000001aBcDEAU"))
    fields = default_task_fields(with_lead)
    assert fields["WhoId"] == "00QRO000001aBcDEAU"
    assert "WhatId" not in fields


def test_a_chat_has_no_call_fields_and_long_text_is_cut() -> None:
    chat = replace(
        CALL, channel="chat", subject="x" * 300, notes="n" * 40_000, disposition_label=None,
        disposition_code="sale", who=None, what=None,
    )  # fmt: skip
    fields = default_task_fields(chat, external_id_field="Session__c")
    assert not {"CallType", "CallDurationInSeconds", "CallObject", "WhoId", "WhatId"} & set(fields)
    assert fields["TaskSubtype"] == "Task" and fields["Type"] == "Other"
    assert len(str(fields["Subject"])) == 255
    assert len(str(fields["Description"])) == 32_000
    assert fields["CallDisposition"] == "sale"
    assert fields["Session__c"] == "ix-1" and "CC_SessionId__c" not in fields


def test_outbound_email() -> None:
    email = replace(CALL, channel="email", direction=ActivityDirection.OUTBOUND)
    fields = default_task_fields(email)
    assert fields["TaskSubtype"] == "Email" and "CallType" not in fields


def mapped(key: str, **fields: str | int) -> MappedActivity:
    return MappedActivity(replace(CALL, external_id=key), dict(fields))


def test_chunks_of_at_most_200() -> None:
    sizes = [len(c) for c in chunks(list(range(450)))]
    assert sizes == [200, 200, 50]
    assert list(chunks([])) == []


def test_collection_records_carry_the_type_the_external_id_and_the_links() -> None:
    records, slots = task_records([mapped("a", Subject="A"), mapped("b", Subject="B")], "Ext__c")
    links = {"WhoId": "003RO0000035WQgYAM", "WhatId": "500RO000001XyZaYAK"}
    assert records == [
        {"attributes": {"type": "Task"}, **links, "Subject": "A", "Ext__c": "a"},
        {"attributes": {"type": "Task"}, **links, "Subject": "B", "Ext__c": "b"},
    ]
    assert slots == [0, 1]


def test_a_mapping_that_sets_the_links_wins() -> None:
    records, _ = task_records([mapped("a", WhoId="003000000000009AAA")], "Ext__c")
    assert records[0]["WhoId"] == "003000000000009AAA"
    no_links = MappedActivity(replace(CALL, who=None, what=None), {"Subject": "A"})
    assert task_records([no_links], "Ext__c")[0][0] == {
        "attributes": {"type": "Task"}, "Subject": "A", "Ext__c": "ix-1"
    }  # fmt: skip


def test_one_external_id_twice_in_a_batch_is_sent_once_the_last_wins() -> None:
    batch = [mapped("a", Subject="old"), mapped("b"), mapped("a", Subject="new")]
    records, slots = task_records(batch, "Ext__c")
    assert [r["Ext__c"] for r in records] == ["a", "b"]
    assert records[0]["Subject"] == "new"
    assert slots == [0, 1, 0]


def test_results_one_per_input_in_order_with_retryable_locks() -> None:
    batch = [mapped("a"), mapped("b"), mapped("c"), mapped("a")]
    _, slots = task_records(batch, "Ext__c")
    answer: list[dict[str, object]] = [
        {"id": "00T000000000001AAA", "success": True, "errors": [], "created": True},
        {"id": None, "success": False, "errors": [
            {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain", "fields": []}]},
        {"id": None, "success": False, "errors": [
            {"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: "
             "[Status]", "fields": ["Status"]}]},
    ]  # fmt: skip
    results = activity_results(batch, slots, answer)
    assert results == [
        ActivityResult("a", True, "00T000000000001AAA"),
        ActivityResult("b", False, None, "UNABLE_TO_LOCK_ROW: unable to obtain", True),
        ActivityResult(
            "c", False, None, "REQUIRED_FIELD_MISSING: Required fields are missing: [Status]"
        ),
        ActivityResult("a", True, "00T000000000001AAA"),
    ]


def test_records_become_matches_and_records() -> None:
    contact: dict[str, object] = {
        "attributes": {"type": "Contact", "url": "/services/data/v62.0/sobjects/Contact/003"},
        "Id": "003RO0000035WQgYAM",
        "Name": "John Smith",
        "Account": {"attributes": {"type": "Account"}, "Name": "Acme"},
    }
    assert to_match(RecordType.CONTACT, contact, LookupKey.PHONE) == CrmMatch(
        RecordRef(RecordType.CONTACT, "003RO0000035WQgYAM"), "John Smith", LookupKey.PHONE, "Acme"
    )
    lead: dict[str, object] = {"Id": "00QRO000001aBcDEAU", "Name": "Jane Doe", "Company": "Beta"}
    match = to_match(RecordType.LEAD, lead, LookupKey.EMAIL)
    assert match is not None and match.account_name == "Beta"
    case: dict[str, object] = {"Id": "500RO000001XyZaYAK", "CaseNumber": "00001001",
                               "Subject": "Broken", "Account": None}  # fmt: skip
    record = to_record(RecordType.CASE, case)
    assert record.name == "00001001 Broken"
    assert record.fields == {"Id": "500RO000001XyZaYAK", "CaseNumber": "00001001",
                             "Subject": "Broken", "Account": None}  # fmt: skip
    assert to_match(RecordType.ACCOUNT, {"Name": "no id"}, LookupKey.PHONE) is None
