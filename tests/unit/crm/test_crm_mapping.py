"""Field mapping files: what they produce, and errors that name the line and the field."""

from __future__ import annotations

import dataclasses

import pytest

from callbridge.domain.crm.records import Activity, ActivityDirection, RecordRef, RecordType
from callbridge.services.crm_sync.mapping import (
    SOURCE_FIELDS,
    MappingError,
    parse_mapping,
    sources,
)

ACTIVITY = Activity(
    external_id="ix-1",
    subject="Inbound call - Support",
    channel="voice",
    direction=ActivityDirection.INBOUND,
    started_at=1_800_000_000.0,
    ended_at=1_800_000_185.4,
    duration_s=185,
    customer_address="+14155550100",
    queue="Support",
    agent="Ann",
    disposition_code="resolved",
    disposition_label="Resolved on first call",
    notes="Refund sent.",
    who=RecordRef(RecordType.CONTACT, "003000000000001AAA"),
)

GOOD = """\
object: Task
fields:
  Subject: {from: subject, truncate: 10}
  CallDurationInSeconds: {from: duration_s}
  CallDisposition: {from: disposition_code, transform: label}
  Description: {template: "{notes} (queue {queue}, agent {agent})"}
  ActivityDate: {from: ended_at, transform: date}
  Status: {value: Completed}
  WhoId: {from: who_id}
  WhatId: {from: what_id, default: "none"}
  CC_SessionId__c: {from: interaction_id}
"""


def test_a_mapping_turns_an_activity_into_crm_fields() -> None:
    mapping = parse_mapping(GOOD, "crm-mapping.yaml")
    assert mapping.object == "Task"
    assert mapping.apply(ACTIVITY) == {
        "Subject": "Inbound ca",
        "CallDurationInSeconds": 185,
        "CallDisposition": "Resolved on first call",
        "Description": "Refund sent. (queue Support, agent Ann)",
        "ActivityDate": "2027-01-15",
        "Status": "Completed",
        "WhoId": "003000000000001AAA",
        "WhatId": "none",
        "CC_SessionId__c": "ix-1",
    }


def test_the_source_names_are_what_sources_gives() -> None:
    assert set(SOURCE_FIELDS) == set(sources(ACTIVITY))


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("fields:\n  Subject: {from: subjct}\n", 2, "Subject", "unknown activity field 'subjct'"),
        ("fields:\n  A: {value: 1}\n  B: {from: subject, value: x}\n", 3, "B", "exactly one"),
        ("fields:\n  A: {value: 1}\n  B: {template: 'x {nope}'}\n", 3, "B", "'nope'"),
        ("fields:\n  A:\n    from: subject\n    truncate: 0\n", 4, "A", "greater than or equal"),
        ("fields:\n  A: {from: subject, transform: shout}\n", 2, "A", "transform"),
        ("fields:\n  A: {from: queue, transform: label}\n", 2, "A", "disposition_code"),
        ("object: Task\nfieldz: {}\n", 2, "fieldz", "Extra inputs"),
    ],
)
def test_mistakes_name_the_line_and_the_field(text: str, line: int, field: str, words: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, "m.yaml")
    message = caught.value.message
    assert message.startswith(f"m.yaml line {line}"), message
    assert field in message and words in message, message
    assert caught.value.details["field"] == field


def test_broken_yaml_is_reported_with_its_line() -> None:
    with pytest.raises(MappingError, match=r"line 3: not valid YAML"):
        parse_mapping("fields:\n  A: {value: 1}\n  B: [unclosed\n", "m.yaml")


def test_what_an_ivr_attached_maps_by_name_and_a_missing_one_takes_the_default() -> None:
    mapping = parse_mapping(
        "fields:\n"
        "  Account__c: {from: attached.account_number}\n"
        "  Segment__c: {from: attached.segment, default: standard}\n"
    )
    ivr_call = dataclasses.replace(ACTIVITY, attached={"account_number": "ACCT-10001"})
    assert mapping.apply(ivr_call) == {"Account__c": "ACCT-10001", "Segment__c": "standard"}


def test_attached_alone_is_not_a_field() -> None:
    with pytest.raises(MappingError, match=r"attached\.NAME"):
        parse_mapping("fields:\n  A: {from: attached.}\n")
