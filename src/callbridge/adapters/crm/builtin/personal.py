"""The built-in CRM as a holder of personal data: export and erasure on request.

The subject is found through blind indexes only: the phone index and `email_index` find their
contacts and leads; `customer_index` and WhoId find their activities. Erasure overwrites names,
title, phones and emails of those contacts and leads, the descriptions of their cases and the
address, notes and mapped fields of their activities, and drops their index entries; the records
stay (with "[erased]" where the name was) so cases and reports still add up.

The do-not-call list is kept: it is what stops the number being called again, which the law
that grants erasure expects too. Its entries are sealed and appear in the export.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, delete, or_, select, update

from callbridge.adapters.crm.builtin.changes import log_changes
from callbridge.adapters.crm.builtin.codec import iso, record_fields
from callbridge.adapters.crm.builtin.objects import CASE, CONTACT, LEAD, TASK, ObjectSpec
from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.rows import storage_errors
from callbridge.adapters.store.sealing import ERASED
from callbridge.adapters.store.tables import crm_activities, crm_cases, crm_dnc, crm_phone_index
from callbridge.domain.clock import Clock
from callbridge.domain.crm.records import FieldValue, RecordRef, RecordType
from callbridge.ports import JsonValue, PersonalDataHolder
from callbridge.services.security.crypto import FieldCipher

log = structlog.get_logger(__name__)

PEOPLE = (CONTACT, LEAD)


class CrmRecords:
    """Contacts, leads, their cases and activities in the built-in CRM, for privacy requests."""

    def __init__(self, engine: Engine, cipher: FieldCipher, clock: Clock) -> None:
        self._engine = engine
        self._cipher = cipher
        self._clock = clock

    @property
    def name(self) -> str:
        return "crm"

    def export(self, index_hash: str, address: str) -> JsonValue:
        """The subject's contacts and leads, their cases, their activities and their entry on
        the do-not-call list, decrypted: a list of records, each with its `type`."""
        cipher = self._cipher
        out: list[JsonValue] = []
        with storage_errors("export CRM records"), self._engine.connect() as conn:
            people = _people(conn, index_hash)
            for obj in PEOPLE:
                ids = people[obj.type]
                rows = conn.execute(select(obj.table).where(obj.table.c.id.in_(ids))).mappings()
                out += [_typed(obj, record_fields(obj, row, cipher)) for row in rows]
            contact_ids = people[RecordType.CONTACT]
            cases = conn.execute(
                select(crm_cases).where(crm_cases.c.contact_id.in_(contact_ids))
            ).mappings()
            out += [_typed(CASE, record_fields(CASE, row, cipher)) for row in cases]
            activities = conn.execute(
                select(crm_activities).where(_activities_of(index_hash, people))
            ).mappings()
            out += [_typed(TASK, record_fields(TASK, row, cipher)) for row in activities]
            dnc = conn.execute(select(crm_dnc).where(crm_dnc.c.number_index == index_hash))
            for row in dnc.mappings():
                out.append(
                    {
                        "type": "DoNotCall",
                        "number": cipher.open(row["number"], f"{crm_dnc.name}.number"),
                        "source": row["source"],
                        "added_at": iso(row["added_at"]),
                    }
                )
        return out

    def in_use(self, index_hash: str, address: str) -> int:
        """Nothing in the CRM is held open by a live interaction."""
        return 0

    def erase(self, index_hash: str, address: str) -> int:
        """Overwrite the subject's personal fields; how many records changed. One transaction."""
        sqlite = self._engine.dialect.name == "sqlite"
        with storage_errors("erase CRM records"), write_transaction(self._engine) as conn:
            if sqlite:
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            try:
                changed = self._erase_in(conn, index_hash)
            finally:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA secure_delete=OFF")
        if sqlite and changed:
            _checkpoint(self._engine)
        return changed

    def _erase_in(self, conn: Connection, index_hash: str) -> int:
        people = _people(conn, index_hash)
        now = self._clock.now()
        changed: list[RecordRef] = []
        for obj in PEOPLE:
            ids = people[obj.type]
            if not ids:
                continue
            table = obj.table
            rows = list(conn.execute(select(table).where(table.c.id.in_(ids))).mappings())
            for row in rows:
                conn.execute(update(table).where(table.c.id == row["id"]).values(_erased(row, now)))
            conn.execute(
                delete(crm_phone_index).where(
                    crm_phone_index.c.record_type == obj.type.value,
                    crm_phone_index.c.record_id.in_(ids),
                )
            )
            changed += [RecordRef(obj.type, row["id"]) for row in rows]
        contact_ids = people[RecordType.CONTACT]
        if contact_ids:
            cases = list(
                conn.execute(
                    select(crm_cases.c.id).where(
                        crm_cases.c.contact_id.in_(contact_ids),
                        crm_cases.c.description.is_not(None),
                    )
                ).scalars()
            )
            if cases:
                conn.execute(
                    update(crm_cases)
                    .where(crm_cases.c.id.in_(cases))
                    .values(description=ERASED, updated_at=now)
                )
                changed += [RecordRef(RecordType.CASE, i) for i in cases]
        a = crm_activities
        tasks = list(
            conn.execute(select(a.c.id).where(_activities_of(index_hash, people))).scalars()
        )
        if tasks:
            conn.execute(
                update(a)
                .where(a.c.id.in_(tasks))
                .values(
                    customer_address=ERASED,
                    customer_index=None,
                    notes=ERASED,
                    fields=ERASED,
                    updated_at=now,
                )
            )
            changed += [RecordRef(RecordType.TASK, i) for i in tasks]
        log_changes(conn, now, changed)
        return len(changed)


_check_protocol: type[PersonalDataHolder] = CrmRecords


def _typed(obj: ObjectSpec, fields: Mapping[str, FieldValue]) -> JsonValue:
    return {"type": obj.type.value, **fields}


def _people(conn: Connection, index_hash: str) -> dict[RecordType, list[str]]:
    """The contacts and leads with this phone (phone index) or email (email_index)."""
    found: dict[RecordType, list[str]] = {}
    for obj in PEOPLE:
        by_phone = select(crm_phone_index.c.record_id).where(
            crm_phone_index.c.phone_index == index_hash,
            crm_phone_index.c.record_type == obj.type.value,
        )
        by_email = select(obj.table.c.id).where(obj.table.c.email_index == index_hash)
        ids = set(conn.execute(by_phone).scalars()) | set(conn.execute(by_email).scalars())
        found[obj.type] = sorted(ids)
    return found


def _activities_of(index_hash: str, people: Mapping[RecordType, list[str]]) -> Any:
    a = crm_activities
    ids = [i for ids in people.values() for i in ids]
    return or_(a.c.customer_index == index_hash, a.c.who_id.in_(ids))


def _erased(row: Mapping[Any, Any], now: float) -> dict[str, object]:
    values: dict[str, object] = {
        "updated_at": now,
        "last_name": ERASED,
        "first_name": None,
        "email_index": None,
    }
    if "title" in row:
        values["title"] = None
    for column in ("email", "phone", "mobile_phone"):
        if row[column] is not None:
            values[column] = ERASED
    return values


def _checkpoint(engine: Engine) -> None:
    """Move the WAL into the database file and truncate it, so pages with the old values leave
    the disk now (as the interaction store's erasure does)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        busy, _frames, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        raw.close()
    if busy:
        log.warning("crm_erasure_checkpoint_busy")
