"""Activities (Tasks): what interactions leave behind, upserted on their external id.

A batch is one transaction. Each activity is checked first (its WhoId and WhatId must name
records that exist); one that fails gets an error result and the rest still land.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from callbridge.adapters.crm.builtin.changes import log_changes
from callbridge.adapters.crm.builtin.objects import spec_of
from callbridge.adapters.crm.builtin.writes import Writer
from callbridge.adapters.store.tables import crm_activities
from callbridge.domain.crm.records import ActivityResult, FieldValue, RecordRef, RecordType
from callbridge.ports import MappedActivity

WHO_TYPES = (RecordType.CONTACT, RecordType.LEAD)
WHAT_TYPES = (RecordType.ACCOUNT, RecordType.CASE, RecordType.CAMPAIGN)
AD = crm_activities.name


def write_activities(w: Writer, items: Sequence[MappedActivity]) -> list[ActivityResult]:
    """Upsert a batch: one query for what exists already, one per referenced record type, then
    the inserts and the updates each as one executemany."""
    table = crm_activities
    external_ids = list({m.activity.external_id for m in items})
    known: dict[str, str] = {
        external_id: record_id
        for external_id, record_id in w.conn.execute(
            select(table.c.external_id, table.c.id).where(table.c.external_id.in_(external_ids))
        )
    }
    existing = _existing_refs(w.conn, items)
    results: list[ActivityResult] = []
    written: list[RecordRef] = []
    inserts: dict[str, dict[str, Any]] = {}  # by external id: the last of duplicates wins
    updates: dict[str, dict[str, Any]] = {}
    for item in items:
        external_id = item.activity.external_id
        problem = _problem(item, existing)
        if problem is not None:
            results.append(ActivityResult(external_id, ok=False, error=problem))
            continue
        values = _row(w, item)
        record_id = known.get(external_id)
        if record_id is None:
            record_id = w.new_id()
            known[external_id] = record_id
            inserts[external_id] = {
                "id": record_id, "created_at": w.now, "updated_at": w.now, **values
            }  # fmt: skip
        elif external_id in inserts:
            inserts[external_id].update(values)
        else:
            updates[external_id] = {"b_id": record_id, "updated_at": w.now, **values}
        written.append(RecordRef(RecordType.TASK, record_id))
        results.append(ActivityResult(external_id, ok=True, record_id=record_id))
    if inserts:
        w.conn.execute(insert(table), list(inserts.values()))
    if updates:
        columns: dict[str, Any] = {
            c: bindparam(c) for c in next(iter(updates.values())) if c != "b_id"
        }
        w.conn.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(columns),
            list(updates.values()),
        )
    log_changes(w.conn, w.now, written)
    return results


def _existing_refs(conn: Connection, items: Sequence[MappedActivity]) -> set[RecordRef]:
    """Which of the batch's WhoId and WhatId records exist: one query per record type."""
    wanted: dict[RecordType, set[str]] = {}
    for item in items:
        for ref in (item.activity.who, item.activity.what):
            if ref is not None and ref.type in WHO_TYPES + WHAT_TYPES:
                wanted.setdefault(ref.type, set()).add(ref.id)
    found: set[RecordRef] = set()
    for kind, ids in wanted.items():
        table = spec_of(kind).table
        for (record_id,) in conn.execute(select(table.c.id).where(table.c.id.in_(list(ids)))):
            found.add(RecordRef(kind, record_id))
    return found


def _problem(item: MappedActivity, existing: set[RecordRef]) -> str | None:
    activity = item.activity
    if not activity.external_id or len(activity.external_id) > 255:
        return "external_id: required, at most 255 characters"
    for label, ref, allowed in (
        ("WhoId", activity.who, WHO_TYPES),
        ("WhatId", activity.what, WHAT_TYPES),
    ):
        if ref is None:
            continue
        if ref.type not in allowed:
            names = " or ".join(t.value for t in allowed)
            return f"{label}: must be a {names}, not a {ref.type.value}"
        if ref not in existing:
            return f"{label}: no {ref.type.value} with Id {ref.id}"
    try:
        json.dumps(item.fields, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return f"fields: not JSON: {exc}"
    return None


def _text(fields: Mapping[str, FieldValue], key: str) -> str | None:
    value = fields.get(key)
    return value if isinstance(value, str) and value else None


def _row(w: Writer, item: MappedActivity) -> dict[str, Any]:
    a, fields, cipher = item.activity, item.fields, w.cipher
    notes = a.notes or _text(fields, "Description")
    return {
        "external_id": a.external_id,
        "subject": (_text(fields, "Subject") or a.subject)[:255],
        "channel": a.channel,
        "direction": a.direction.value,
        "status": _text(fields, "Status") or "Completed",
        "started_at": a.started_at,
        "ended_at": a.ended_at,
        "duration_s": a.duration_s,
        "customer_address": cipher.seal_opt(a.customer_address or None, f"{AD}.customer_address"),
        "customer_index": cipher.index(a.customer_address) if a.customer_address else None,
        "queue": a.queue,
        "agent": a.agent,
        "disposition": _text(fields, "CallDisposition")
        or a.disposition_label
        or a.disposition_code,
        "notes": cipher.seal_opt(notes, f"{AD}.notes"),
        "who_type": a.who.type.value if a.who else None,
        "who_id": a.who.id if a.who else None,
        "what_type": a.what.type.value if a.what else None,
        "what_id": a.what.id if a.what else None,
        "recording_url": a.recording_url,
        "fields": cipher.seal(json.dumps(item.fields, sort_keys=True), f"{AD}.fields"),
    }
