"""Rows of the built-in CRM's tables to records and back, sealing personal fields on the way in
and opening them on the way out. Each sealed value is bound to its "<table>.<column>"."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from callbridge.adapters.crm.builtin.objects import (
    CAMPAIGN_MEMBER,
    Kind,
    ObjectSpec,
    spec_of,
)
from callbridge.adapters.store.codec import to_datetime
from callbridge.adapters.store.tables import crm_activities
from callbridge.domain.crm.records import CrmRecord, FieldValue, RecordRef, RecordType
from callbridge.services.security.crypto import FieldCipher

Row = Mapping[Any, Any]


def ad(obj: ObjectSpec, column: str) -> str:
    return f"{obj.table.name}.{column}"


def iso(at: float) -> str:
    return to_datetime(at).isoformat()


def record_name(type: RecordType, row: Row) -> str:
    """How a record is shown in a screen pop or a search hit."""
    if type in (RecordType.CONTACT, RecordType.LEAD):
        return " ".join(p for p in (row["first_name"], row["last_name"]) if p)
    if type is RecordType.CASE:
        return f"{row['case_number']} {row['subject']}"
    if type is RecordType.TASK:
        return str(row["subject"])
    if type is RecordType.CAMPAIGN_MEMBER:
        return f"{row['member_type']} {row['member_id']}"
    return str(row["name"])


def row_values(
    obj: ObjectSpec, values: Mapping[str, FieldValue], cipher: FieldCipher
) -> dict[str, object]:
    """Column values for checked field values (see objects.check_fields)."""
    out: dict[str, object] = {}
    for name, value in values.items():
        spec = obj.field(name)
        if spec is None:
            continue
        if obj is CAMPAIGN_MEMBER and name in ("ContactId", "LeadId"):
            if value is not None:
                out["member_type"] = spec.ref.value if spec.ref else None
                out["member_id"] = value
            continue
        if spec.kind is Kind.EMAIL:
            out["email_index"] = cipher.index_opt(value if isinstance(value, str) else None)
        if spec.sealed and isinstance(value, str):
            out[spec.column] = cipher.seal(value, ad(obj, spec.column))
        else:
            out[spec.column] = value
    return out


def open_column(obj: ObjectSpec, row: Row, column: str, cipher: FieldCipher) -> str | None:
    value = row[column]
    return None if value is None else cipher.open(str(value), ad(obj, column))


def record_fields(obj: ObjectSpec, row: Row, cipher: FieldCipher) -> dict[str, FieldValue]:
    """A row as Salesforce-named fields, personal ones opened."""
    if obj.type is RecordType.TASK:
        return task_fields(row, cipher)
    fields: dict[str, FieldValue] = {"Id": row["id"]}
    for spec in obj.fields:
        if obj is CAMPAIGN_MEMBER and spec.name in ("ContactId", "LeadId"):
            wanted = spec.ref.value if spec.ref else None
            fields[spec.name] = row["member_id"] if row["member_type"] == wanted else None
        elif spec.sealed:
            fields[spec.name] = open_column(obj, row, spec.column, cipher)
        else:
            fields[spec.name] = row[spec.column]
    fields["CreatedDate"] = iso(row["created_at"])
    fields["LastModifiedDate"] = iso(row["updated_at"])
    return fields


def to_record(type: RecordType, row: Row, cipher: FieldCipher) -> CrmRecord:
    obj = spec_of(type)
    return CrmRecord(
        RecordRef(type, row["id"]), record_name(type, row), record_fields(obj, row, cipher)
    )


def task_fields(row: Row, cipher: FieldCipher) -> dict[str, FieldValue]:
    """An activity as a Salesforce Task would show it, with the mapped fields as written."""
    table = crm_activities.name
    mapped_text = cipher.open(row["fields"], f"{table}.fields")
    try:
        mapped = json.loads(mapped_text)
    except ValueError:
        mapped = {}  # erased
    fields: dict[str, FieldValue] = {
        "Id": row["id"],
        "ExternalId": row["external_id"],
        "Subject": row["subject"],
        "Status": row["status"],
        "TaskSubtype": "Call" if row["channel"] == "voice" else "Task",
        "Channel": row["channel"],
        "CallType": row["direction"],
        "CallDurationInSeconds": row["duration_s"],
        "CallDisposition": row["disposition"],
        "Description": cipher.open_opt(row["notes"], f"{table}.notes"),
        "CustomerAddress": cipher.open_opt(row["customer_address"], f"{table}.customer_address"),
        "Queue": row["queue"],
        "Agent": row["agent"],
        "WhoId": row["who_id"],
        "WhatId": row["what_id"],
        "RecordingUrl": row["recording_url"],
        "ActivityDate": iso(row["started_at"])[:10],
        "StartedAt": iso(row["started_at"]),
        "EndedAt": iso(row["ended_at"]),
        "CreatedDate": iso(row["created_at"]),
        "LastModifiedDate": iso(row["updated_at"]),
    }
    if isinstance(mapped, dict):
        for key, value in mapped.items():
            if isinstance(value, str | int | float | bool) or value is None:
                fields.setdefault(str(key), value)
    return fields


def phones_of(obj: ObjectSpec, row: Row, cipher: FieldCipher) -> tuple[str, ...]:
    """The record's phone numbers (E.164), opened, without duplicates."""
    found: list[str] = []
    for spec in obj.phones:
        value = open_column(obj, row, spec.column, cipher)
        if value and value.startswith("+") and value not in found:
            found.append(value)
    return tuple(found)
