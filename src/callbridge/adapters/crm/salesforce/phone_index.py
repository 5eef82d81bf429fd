"""The local phone index (contract §0.5): blind-index hash of a number -> the Salesforce
records that hold it, so a screen pop costs no API request. Names are sealed like all personal
data at rest. Sync cursors live beside it in crm_sync_state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, and_, delete, func, or_, select

from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.rows import storage_errors, upsert
from callbridge.adapters.store.tables import crm_sync_state, remote_phone_index
from callbridge.domain.crm.records import PHONE_TYPES, CrmMatch, LookupKey, RecordRef, RecordType
from callbridge.services.security.crypto import FieldCipher

_NAME = "remote_phone_index.name"
_ACCOUNT = "remote_phone_index.account_name"
_ORDER = {kind: rank for rank, kind in enumerate(PHONE_TYPES)}


@dataclass(frozen=True, slots=True)
class IndexedRecord:
    """A record as the index keeps it: every phone number it holds now (E.164)."""

    ref: RecordRef
    name: str
    account_name: str | None
    phones: tuple[str, ...]


class PhoneIndex:
    def __init__(self, engine: Engine, cipher: FieldCipher, crm: str = "salesforce") -> None:
        self.engine, self.cipher, self.crm = engine, cipher, crm

    def find(self, number: str, limit: int = 10) -> list[CrmMatch]:
        """The records holding `number` (any format), contacts and leads first."""
        key = self.cipher.index(number)
        query = select(remote_phone_index).where(
            remote_phone_index.c.crm == self.crm, remote_phone_index.c.phone_index == key
        )
        with storage_errors("read the phone index"), self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            matches = [
                CrmMatch(
                    RecordRef(RecordType(row["record_type"]), row["record_id"]),
                    self.cipher.open(row["name"], _NAME),
                    LookupKey.PHONE,
                    self.cipher.open_opt(row["account_name"], _ACCOUNT),
                )
                for row in rows
            ]
        matches.sort(key=lambda m: (_ORDER.get(m.ref.type, len(_ORDER)), m.name, m.ref.id))
        return matches[:limit]

    def replace(self, records: Sequence[IndexedRecord]) -> None:
        """Each record's numbers become exactly `phones` (none: it leaves the index)."""
        if not records:
            return
        with storage_errors("update the phone index"), write_transaction(self.engine) as conn:
            for batch in _batches(records):
                conn.execute(delete(remote_phone_index).where(self._refs(r.ref for r in batch)))
            upsert(conn, remote_phone_index, [row for r in records for row in self._rows(r)])

    def add(self, records: Sequence[IndexedRecord]) -> None:
        """Add numbers to records, keeping the numbers they already have."""
        with storage_errors("update the phone index"), write_transaction(self.engine) as conn:
            upsert(conn, remote_phone_index, [row for r in records for row in self._rows(r)])

    def remove(self, refs: Sequence[RecordRef]) -> None:
        if not refs:
            return
        with storage_errors("update the phone index"), write_transaction(self.engine) as conn:
            for start in range(0, len(refs), 200):
                conn.execute(
                    delete(remote_phone_index).where(self._refs(refs[start : start + 200]))
                )

    def clear(self) -> None:
        with storage_errors("clear the phone index"), write_transaction(self.engine) as conn:
            conn.execute(delete(remote_phone_index).where(remote_phone_index.c.crm == self.crm))

    def size(self) -> int:
        query = select(func.count()).where(remote_phone_index.c.crm == self.crm)
        with storage_errors("read the phone index"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def cursor(self, name: str) -> str | None:
        query = select(crm_sync_state.c.cursor).where(crm_sync_state.c.name == name)
        with storage_errors("read a sync cursor"), self.engine.connect() as conn:
            value = conn.execute(query).scalar_one_or_none()
        return None if value is None else str(value)

    def set_cursor(self, name: str, cursor: str | None, now: float) -> None:
        """Store a cursor; None forgets it (the next sync starts from the beginning)."""
        with storage_errors("write a sync cursor"), write_transaction(self.engine) as conn:
            if cursor is None:
                conn.execute(delete(crm_sync_state).where(crm_sync_state.c.name == name))
            else:
                row = {"name": name, "cursor": cursor, "updated_at": now}
                upsert(conn, crm_sync_state, [row])

    def _refs(self, refs: Iterable[RecordRef]) -> ColumnElement[bool]:
        c = remote_phone_index.c
        return and_(
            c.crm == self.crm,
            or_(*(and_(c.record_type == r.type.value, c.record_id == r.id) for r in refs)),
        )

    def _rows(self, record: IndexedRecord) -> list[dict[str, object]]:
        name = self.cipher.seal(record.name, _NAME)
        account = self.cipher.seal_opt(record.account_name, _ACCOUNT)
        return [
            {
                "crm": self.crm,
                "phone_index": key,
                "record_type": record.ref.type.value,
                "record_id": record.ref.id,
                "name": name,
                "account_name": account,
            }
            for key in sorted({self.cipher.index(phone) for phone in record.phones})
        ]


def _batches(
    records: Sequence[IndexedRecord], size: int = 200
) -> Iterable[Sequence[IndexedRecord]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]
