"""Creating, updating and deleting records: checked, sealed, indexed by phone and logged in the
change log, all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from callbridge.adapters.crm.builtin.changes import log_changes
from callbridge.adapters.crm.builtin.codec import open_column, row_values
from callbridge.adapters.crm.builtin.objects import (
    CAMPAIGN_MEMBER,
    CASE,
    Kind,
    ObjectSpec,
    check_fields,
    spec_of,
)
from callbridge.adapters.store.tables import counters, crm_campaign_members, crm_phone_index
from callbridge.domain.crm.records import FieldValue, RecordRef, RecordType
from callbridge.domain.errors import AlreadyExists, InvalidInput, InvalidState, NotFound
from callbridge.services.security.crypto import FieldCipher

CASE_COUNTER = "crm_case_number"
FIRST_CASE_NUMBER = 1001

Row = Mapping[Any, Any]


@dataclass(frozen=True, slots=True)
class Writer:
    """One write transaction's tools."""

    conn: Connection
    cipher: FieldCipher
    now: float
    new_id: Callable[[], str]
    region: str


def upsert(
    w: Writer, type: RecordType, fields: Mapping[str, FieldValue], external_key: str | None
) -> RecordRef:
    """Create the record, or update the one `external_key` finds (see `find_existing`)."""
    obj = spec_of(type)
    if type is RecordType.TASK:
        raise InvalidInput("type: Tasks are written with log_activities", field="type")
    if "Id" in fields and external_key != "Id":
        raise InvalidInput("Id: read-only; upsert with external_key='Id' to update", field="Id")
    existing = find_existing(w, obj, fields, external_key)
    values = check_fields(obj, fields, w.region, creating=existing is None)
    if obj is CAMPAIGN_MEMBER:
        existing = _member_pair(w, values, existing)
    _check_refs(w, obj, values)
    row = row_values(obj, values, w.cipher)
    if obj is CASE:
        row["case_number"] = _case_number(w, values.get("CaseNumber"), existing)
    old_phones = _phones(w, obj, existing) if existing is not None else {}
    if existing is None:
        record_id = w.new_id()
        w.conn.execute(
            insert(obj.table).values(id=record_id, created_at=w.now, updated_at=w.now, **row)
        )
    else:
        record_id = existing["id"]
        w.conn.execute(
            update(obj.table).where(obj.table.c.id == record_id).values(updated_at=w.now, **row)
        )
    new_phones = dict(old_phones)
    new_phones.update({f.name: values[f.name] for f in obj.phones if f.name in values})
    ref = RecordRef(type, record_id)
    reindex(w, ref, _set(old_phones), _set(new_phones))
    log_changes(w.conn, w.now, [ref])
    return ref


def find_existing(
    w: Writer, obj: ObjectSpec, fields: Mapping[str, FieldValue], external_key: str | None
) -> Row | None:
    """The record whose `external_key` field holds the value in `fields`: Id, or one of the
    object's natural keys (Account: AccountNumber; Contact, Lead: Email; Case: CaseNumber;
    Campaign: Name). None: create."""
    if external_key is None:
        return None
    if external_key != "Id" and external_key not in obj.external_keys:
        allowed = ", ".join(("Id", *obj.external_keys))
        raise InvalidInput(
            f"external_key: {obj.type.value} upserts on {allowed}, not {external_key!r}",
            field="external_key",
        )
    value = fields.get(external_key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{external_key}: required to upsert on it", field=external_key)
    table = obj.table
    if external_key == "Id":
        found = w.conn.execute(select(table).where(table.c.id == value)).mappings().first()
        if found is None:
            raise NotFound(f"no {obj.type.value} with Id {value}", field="Id", id=value)
        return found
    spec = obj.field(external_key)
    assert spec is not None
    if spec.kind is Kind.EMAIL:
        where = table.c.email_index == w.cipher.index(value)
    else:
        where = table.c[spec.column] == value.strip()
    rows = list(w.conn.execute(select(table).where(where).limit(2)).mappings())
    if len(rows) > 1:
        raise InvalidState(
            f"{external_key}: several {obj.type.value} records hold this value; update by Id",
            field=external_key,
        )
    return rows[0] if rows else None


def _member_pair(w: Writer, values: Mapping[str, FieldValue], existing: Row | None) -> Row | None:
    """A campaign member is one contact or lead in one campaign: adding it again updates it."""
    contact, lead = values.get("ContactId"), values.get("LeadId")
    if contact is not None and lead is not None:
        raise InvalidInput("LeadId: a member is a contact or a lead, not both", field="LeadId")
    if existing is not None:
        if contact is not None or lead is not None:
            raise InvalidInput(
                "ContactId: a member's contact or lead cannot change", field="ContactId"
            )
        return existing
    member = contact if contact is not None else lead
    if member is None:
        raise InvalidInput("ContactId: required (or LeadId)", field="ContactId")
    table = crm_campaign_members
    return (
        w.conn.execute(
            select(table).where(
                table.c.campaign_id == values.get("CampaignId"), table.c.member_id == member
            )
        )
        .mappings()
        .first()
    )


def _check_refs(w: Writer, obj: ObjectSpec, values: Mapping[str, FieldValue]) -> None:
    for name, value in values.items():
        spec = obj.field(name)
        if spec is None or spec.kind is not Kind.REF or value is None or spec.ref is None:
            continue
        target = spec_of(spec.ref).table
        found = w.conn.execute(select(target.c.id).where(target.c.id == value)).first()
        if found is None:
            raise InvalidInput(f"{name}: no {spec.ref.value} with Id {value}", field=name)


def _case_number(w: Writer, given: FieldValue, existing: Row | None) -> str:
    table = CASE.table
    if isinstance(given, str):
        clash = w.conn.execute(
            select(table.c.id).where(table.c.case_number == given)
        ).scalar_one_or_none()
        if clash is not None and (existing is None or clash != existing["id"]):
            raise AlreadyExists(f"CaseNumber: case {given} exists", field="CaseNumber")
        return given
    if existing is not None:
        return str(existing["case_number"])
    while True:  # numbered like Salesforce's auto-number; skips numbers taken by imports
        number = f"{_next_counter(w.conn, CASE_COUNTER, FIRST_CASE_NUMBER):08d}"
        taken = w.conn.execute(select(table.c.id).where(table.c.case_number == number)).first()
        if taken is None:
            return number


def _next_counter(conn: Connection, name: str, first: int) -> int:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(counters).values(name=name, value=first)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"], set_={"value": counters.c.value + 1}
    ).returning(counters.c.value)
    return int(conn.execute(stmt).scalar_one())


def _phones(w: Writer, obj: ObjectSpec, row: Row) -> dict[str, FieldValue]:
    return {f.name: open_column(obj, row, f.column, w.cipher) for f in obj.phones}


def _set(phones: Mapping[str, FieldValue]) -> set[str]:
    return {v for v in phones.values() if isinstance(v, str) and v.startswith("+")}


def reindex(w: Writer, ref: RecordRef, old: set[str], new: set[str]) -> None:
    """Point the phone index at the record's numbers now (by primary key: no scan)."""
    index = crm_phone_index
    gone = [w.cipher.index(p) for p in old - new]
    if gone:
        w.conn.execute(
            delete(index).where(
                index.c.phone_index.in_(gone),
                index.c.record_type == ref.type.value,
                index.c.record_id == ref.id,
            )
        )
    added = [w.cipher.index(p) for p in new - old]
    if added:
        w.conn.execute(
            insert(index),
            [{"phone_index": h, "record_type": ref.type.value, "record_id": ref.id} for h in added],
        )


def delete_record(w: Writer, ref: RecordRef) -> bool:
    """Delete a record, its phone index entries and the campaign memberships it is in (or has);
    False if there was none."""
    obj = spec_of(ref.type)
    table = obj.table
    row = w.conn.execute(select(table).where(table.c.id == ref.id)).mappings().first()
    if row is None:
        return False
    members = crm_campaign_members
    if ref.type in (RecordType.CONTACT, RecordType.LEAD, RecordType.CAMPAIGN):
        column = members.c.campaign_id if ref.type is RecordType.CAMPAIGN else members.c.member_id
        ids = list(w.conn.execute(select(members.c.id).where(column == ref.id)).scalars())
        if ids:
            w.conn.execute(delete(members).where(members.c.id.in_(ids)))
            log_changes(
                w.conn,
                w.now,
                [RecordRef(RecordType.CAMPAIGN_MEMBER, i) for i in ids],
                deleted=True,
            )
    if obj.phones:
        reindex(w, ref, _set(_phones(w, obj, row)), set())
    w.conn.execute(delete(table).where(table.c.id == ref.id))
    log_changes(w.conn, w.now, [ref], deleted=True)
    return True
