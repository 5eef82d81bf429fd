"""The change log: every write appends a row in its own transaction; `changes` pages through it.

The cursor is the id of the last row handed out, so a reader resumes exactly where it stopped.
A change reports the record as it is now (its phones and name), or as deleted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection, insert, select

from callbridge.adapters.crm.builtin.codec import phones_of, record_name
from callbridge.adapters.crm.builtin.objects import spec_of
from callbridge.adapters.store.tables import crm_changes
from callbridge.domain.crm.records import Change, ChangePage, RecordRef, RecordType
from callbridge.domain.errors import InvalidInput
from callbridge.services.security.crypto import FieldCipher


def log_changes(
    conn: Connection, at: float, refs: Sequence[RecordRef], *, deleted: bool = False
) -> None:
    if refs:
        conn.execute(
            insert(crm_changes),
            [
                {"at": at, "record_type": r.type.value, "record_id": r.id, "deleted": deleted}
                for r in refs
            ],
        )


def parse_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput(f"cursor: not a cursor this CRM handed out: {cursor!r}", field="cursor")
    return int(cursor)


def read_changes(
    conn: Connection, cipher: FieldCipher, cursor: str | None, page_size: int
) -> ChangePage:
    after = parse_cursor(cursor)
    rows = conn.execute(
        select(crm_changes)
        .where(crm_changes.c.id > after)
        .order_by(crm_changes.c.id)
        .limit(page_size)
    ).all()
    if not rows:
        return ChangePage([], str(after))
    wanted: dict[RecordType, set[str]] = defaultdict(set)
    for row in rows:
        if not row.deleted:
            wanted[RecordType(row.record_type)].add(row.record_id)
    now: dict[RecordRef, tuple[str, tuple[str, ...]]] = {}
    for type, ids in wanted.items():
        obj = spec_of(type)
        found = conn.execute(select(obj.table).where(obj.table.c.id.in_(ids))).mappings()
        for rec in found:
            phones = phones_of(obj, rec, cipher)
            now[RecordRef(type, rec["id"])] = (record_name(type, rec), phones)
    changes: list[Change] = []
    for row in rows:
        ref = RecordRef(RecordType(row.record_type), row.record_id)
        current = None if row.deleted else now.get(ref)
        if current is None:
            # deleted then, or since: either way it is gone now
            changes.append(Change(ref, deleted=True, at=row.at))
        else:
            name, phones = current
            changes.append(Change(ref, deleted=False, phones=phones, name=name, at=row.at))
    return ChangePage(changes, str(rows[-1].id))
