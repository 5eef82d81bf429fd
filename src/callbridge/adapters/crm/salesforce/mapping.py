"""Salesforce records <-> our CRM vocabulary: the default Task of an activity (contract §4.1),
Collections upsert bodies and results, screen-pop matches and records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from callbridge.adapters.crm.salesforce.payload import Json, as_object, scalars, text
from callbridge.adapters.crm.salesforce.retry import RETRYABLE_RECORD_CODES
from callbridge.domain.crm.records import (
    Activity,
    ActivityResult,
    CrmMatch,
    CrmRecord,
    FieldValue,
    LookupKey,
    RecordRef,
    RecordType,
)
from callbridge.ports import MappedActivity

COLLECTION_MAX = 200  # records per sObject Collections request (one API call)
DEFAULT_EXTERNAL_ID = "CC_SessionId__c"

# Screen pop fields per type: what SOSL returns and the phone index keeps.
MATCH_FIELDS: dict[RecordType, tuple[str, ...]] = {
    RecordType.CONTACT: ("Id", "Name", "Account.Name"),
    RecordType.LEAD: ("Id", "Name", "Company"),
    RecordType.ACCOUNT: ("Id", "Name"),
    RecordType.CASE: ("Id", "CaseNumber", "Subject", "Account.Name"),
}
_ACCOUNT_OF = {RecordType.CONTACT: "Account.Name", RecordType.LEAD: "Company"}
_TASK_SUBTYPE = {"voice": "Call", "email": "Email"}
_TASK_TYPE = {"voice": "Call", "email": "Email"}

T = TypeVar("T")


def default_task_fields(
    activity: Activity, external_id_field: str = DEFAULT_EXTERNAL_ID
) -> dict[str, FieldValue]:
    """The Task an activity becomes when no mapping file is configured: the standard CTI
    fields of contract §4.1 and our external id. A Lead as WhoId keeps WhatId empty
    (Salesforce refuses both)."""
    voice = activity.channel == "voice"
    fields: dict[str, FieldValue] = {
        "Subject": activity.subject[:255],
        "Status": "Completed",
        "Priority": "Normal",
        "ActivityDate": datetime.fromtimestamp(activity.started_at, UTC).date().isoformat(),
        "TaskSubtype": _TASK_SUBTYPE.get(activity.channel, "Task"),
        "Type": _TASK_TYPE.get(activity.channel, "Other"),
        external_id_field: activity.external_id,
    }
    if voice:
        fields["CallType"] = activity.direction.value
        fields["CallDurationInSeconds"] = activity.duration_s
        fields["CallObject"] = activity.external_id[:255]
    disposition = activity.disposition_label or activity.disposition_code
    if disposition:
        fields["CallDisposition"] = disposition[:255]
    description = _description(activity)
    if description:
        fields["Description"] = description[:32000]
    fields.update(links(activity))
    return fields


def _description(activity: Activity) -> str:
    lines = [activity.notes.strip()] if activity.notes and activity.notes.strip() else []
    for label, value in (
        ("Customer", activity.customer_address),
        ("Queue", activity.queue),
        ("Agent", activity.agent),
        ("Recording", activity.recording_url),
        ("Ended", activity.end_reason),
    ):
        if value:
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def chunks(items: Sequence[T], size: int = COLLECTION_MAX) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def task_records(
    activities: Sequence[MappedActivity], external_id_field: str
) -> tuple[list[Json], list[int]]:
    """Collections upsert records, one per external id (the last delivery of an id wins:
    Salesforce refuses one id twice in a request), and for each input the index of its
    record."""
    records: list[Json] = []
    position: dict[str, int] = {}
    for mapped in activities:
        key = mapped.activity.external_id
        record: Json = {"attributes": {"type": "Task"}, **links(mapped.activity), **mapped.fields}
        record[external_id_field] = key
        if key in position:
            records[position[key]] = record
        else:
            position[key] = len(records)
            records.append(record)
    return records, [position[m.activity.external_id] for m in activities]


def links(activity: Activity) -> dict[str, FieldValue]:
    """WhoId and WhatId: who and what the activity was with. Added under a mapping that does
    not set them too: the screen pop resolved them, and a Task without them is missing from
    the customer's timeline."""
    who, what = activity.who, activity.what
    links: dict[str, FieldValue] = {}
    if who is not None:
        links["WhoId"] = who.id
    if what is not None and (who is None or who.type is not RecordType.LEAD):
        links["WhatId"] = what.id
    return links


def activity_results(
    activities: Sequence[MappedActivity], slots: Sequence[int], answer: Sequence[Json]
) -> list[ActivityResult]:
    """One result per input activity, from the Collections answer (one entry per record)."""
    results = []
    for mapped, slot in zip(activities, slots, strict=True):
        key = mapped.activity.external_id
        entry = answer[slot]
        record_id = text(entry, "id")
        if entry.get("success") is True:
            results.append(ActivityResult(key, True, record_id))
            continue
        codes, message = record_errors(entry)
        retryable = bool(codes) and all(code in RETRYABLE_RECORD_CODES for code in codes)
        results.append(ActivityResult(key, False, record_id, message, retryable))
    return results


def record_errors(entry: Json) -> tuple[list[str], str]:
    """The status codes of a failed Collections entry, and `CODE: message; ...`."""
    errors = entry.get("errors")
    codes: list[str] = []
    parts: list[str] = []
    for error in errors if isinstance(errors, list) else []:
        item = as_object(error, "errors")
        code = text(item, "statusCode") or text(item, "errorCode") or "UNKNOWN"
        codes.append(code)
        parts.append(f"{code}: {text(item, 'message') or ''}".strip())
    return codes, "; ".join(parts) or "refused without an error"


def failed_results(
    activities: Sequence[MappedActivity], error: str, retryable: bool
) -> list[ActivityResult]:
    return [
        ActivityResult(m.activity.external_id, False, None, error, retryable) for m in activities
    ]


def display_name(kind: RecordType, record: Json) -> str:
    if kind is RecordType.CASE:
        number, subject = text(record, "CaseNumber"), text(record, "Subject")
        return " ".join(p for p in (number, subject) if p) or text(record, "Id") or ""
    if kind is RecordType.TASK:
        return text(record, "Subject") or ""
    return text(record, "Name") or ""


def account_name(kind: RecordType, record: Json) -> str | None:
    field = _ACCOUNT_OF.get(kind) or ("Account.Name" if kind is RecordType.CASE else None)
    return text(record, field) if field else None


def known_type(name: str | None) -> RecordType | None:
    try:
        return RecordType(name) if name else None
    except ValueError:
        return None


def to_match(kind: RecordType, record: Json, matched_on: LookupKey) -> CrmMatch | None:
    record_id = text(record, "Id")
    if record_id is None:
        return None
    ref = RecordRef(kind, record_id)
    return CrmMatch(ref, display_name(kind, record), matched_on, account_name(kind, record))


def to_record(kind: RecordType, record: Json) -> CrmRecord:
    return CrmRecord(
        RecordRef(kind, text(record, "Id") or ""), display_name(kind, record), scalars(record)
    )
