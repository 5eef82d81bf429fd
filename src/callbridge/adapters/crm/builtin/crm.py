"""`BuiltinCrm`: the `Crm` port on Callbridge's own database, plus what its REST API needs
beyond the port (listing, deleting, a contact's activities)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from callbridge.adapters.crm.builtin import changes, dialing, reads, writes
from callbridge.adapters.crm.builtin.activities import write_activities
from callbridge.adapters.crm.builtin.codec import to_record
from callbridge.adapters.crm.builtin.objects import spec_of
from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.rows import first_line
from callbridge.adapters.store.tables import crm_activities
from callbridge.domain.clock import Clock
from callbridge.domain.crm.records import (
    ActivityResult,
    ChangePage,
    ConnectorState,
    CrmHealth,
    CrmMatch,
    CrmRecord,
    DialingListMember,
    DncEntry,
    FieldValue,
    LookupKey,
    RecordRef,
    RecordType,
)
from callbridge.domain.errors import CallbridgeError, StorageError
from callbridge.ports import Crm, IdFactory, MappedActivity
from callbridge.services.security.crypto import FieldCipher

CHANGES_PAGE = 500
MAX_LIMIT = 10_000


class BuiltinCrm:
    """Accounts, contacts, leads, cases, campaigns and activities in Callbridge's database.

    Phone numbers are stored as E.164 (region: the cipher's default region, which is
    settings.default_country) and sealed; the phone index maps their blind-index hashes to
    records, so a screen pop reads one index entry, then the few records it names.
    """

    name = "builtin"

    def __init__(
        self,
        engine: Engine,
        cipher: FieldCipher,
        clock: Clock,
        new_id: IdFactory,
        *,
        page_size: int = CHANGES_PAGE,
    ) -> None:
        self._engine = engine
        self._cipher = cipher
        self._clock = clock
        self._new_id = new_id
        self._page_size = page_size

    @property
    def region(self) -> str:
        return self._cipher.default_region

    @contextmanager
    def _write(self, action: str) -> Iterator[writes.Writer]:
        """A write transaction: our own checks' errors (InvalidInput naming the field...) roll
        it back and pass through as they are; database failures become StorageError."""
        self._cipher.refresh()  # a rotated key file: seal under its new primary key
        with _errors(action), write_transaction(self._engine) as conn:
            yield writes.Writer(conn, self._cipher, self._clock.now(), self._new_id, self.region)

    @contextmanager
    def _read(self, action: str) -> Iterator[Connection]:
        with _errors(action), self._engine.connect() as conn:
            yield conn

    # --- the port --------------------------------------------------------------------------

    def lookup(self, key: LookupKey, value: str, limit: int = 10) -> list[CrmMatch]:
        """Records matching a phone number (any format), an email address, an account number or
        a case number: contacts, then leads, then accounts."""
        with self._read("look up CRM records") as conn:
            return reads.lookup(conn, self._cipher, self.region, key, value, _cap(limit))

    def get_record(self, ref: RecordRef) -> CrmRecord | None:
        table = spec_of(ref.type).table
        with self._read("read a CRM record") as conn:
            row = conn.execute(select(table).where(table.c.id == ref.id)).mappings().first()
            return None if row is None else to_record(ref.type, row, self._cipher)

    def search(
        self, text: str, types: Sequence[RecordType] = (), limit: int = 20
    ) -> list[CrmMatch]:
        """Records whose name, company, subject, account or case number contains `text`, and
        records with `text` as their whole phone number or email address."""
        with self._read("search the CRM") as conn:
            return reads.search(conn, self._cipher, self.region, text, types, _cap(limit))

    def log_activities(self, activities: Sequence[MappedActivity]) -> list[ActivityResult]:
        """One transaction per batch, upserting on external id. A database failure fails every
        activity of the batch, retryably; nothing of it is written."""
        if not activities:
            return []
        try:
            with self._write("log activities") as w:
                return write_activities(w, activities)
        except StorageError as exc:
            return [
                ActivityResult(m.activity.external_id, ok=False, error=exc.message, retryable=True)
                for m in activities
            ]

    def upsert_record(
        self, type: RecordType, fields: Mapping[str, FieldValue], external_key: str | None = None
    ) -> RecordRef:
        """Create a record, or update the one whose `external_key` field (Id, or Account:
        AccountNumber; Contact, Lead: Email; Case: CaseNumber; Campaign: Name) holds the value
        in `fields`. Raises InvalidInput naming the field for an unknown field, a missing
        required one or a value that does not fit (a bad phone number, say)."""
        return self.upsert_records(type, [fields], external_key)[0]

    def dialing_list(self, source: str, limit: int = 10_000) -> list[DialingListMember]:
        """A campaign's members (by campaign id), or a saved query's rows (`query:leads_open`,
        `query:leads_new`, `query:contacts_open_cases`, `query:contacts_all`), with a phone and
        not do-not-call."""
        with self._read("read a dialing list") as conn:
            return dialing.dialing_list(conn, self._cipher, source, _cap(limit))

    def dnc_numbers(self) -> list[DncEntry]:
        with self._read("read the do-not-call list") as conn:
            return dialing.dnc_numbers(conn, self._cipher, self.name)

    def add_dnc(self, entries: Sequence[DncEntry]) -> None:
        """Add numbers (any format) to the do-not-call list; one already there is kept as is."""
        with self._write("add to the do-not-call list") as w:
            dialing.add_dnc(w.conn, self._cipher, self.region, entries)

    def changes(self, cursor: str | None) -> ChangePage:
        with self._read("read the CRM change log") as conn:
            return changes.read_changes(conn, self._cipher, cursor, self._page_size)

    def health(self) -> CrmHealth:
        """Connected when the database answers: the built-in CRM is the local database."""
        try:
            with self._read("reach the database") as conn:
                conn.exec_driver_sql("SELECT 1")
        except StorageError as exc:
            return CrmHealth(ConnectorState.DOWN, exc.message)
        return CrmHealth(ConnectorState.CONNECTED, "the local database")

    # --- beyond the port -------------------------------------------------------------------

    def upsert_records(
        self,
        type: RecordType,
        rows: Sequence[Mapping[str, FieldValue]],
        external_key: str | None = None,
    ) -> list[RecordRef]:
        """`upsert_record` for many records in one transaction: all of them, or none."""
        with self._write(f"write {type.value} records") as w:
            return [writes.upsert(w, type, fields, external_key) for fields in rows]

    def delete_record(self, ref: RecordRef) -> bool:
        """Delete a record with its phone index entries and campaign memberships; False if
        there is none."""
        with self._write(f"delete a {ref.type.value}") as w:
            return writes.delete_record(w, ref)

    def list_records(
        self, type: RecordType, *, limit: int = 50, offset: int = 0
    ) -> list[CrmRecord]:
        """Records of a type, newest first."""
        table = spec_of(type).table
        query = (
            select(table)
            .order_by(table.c.created_at.desc(), table.c.id)
            .limit(_cap(limit))
            .offset(max(0, offset))
        )
        with self._read(f"list {type.value} records") as conn:
            return [to_record(type, row, self._cipher) for row in conn.execute(query).mappings()]

    def activities_of(self, who_id: str, *, limit: int = 50) -> list[CrmRecord]:
        """The activities logged with a contact or lead, newest first."""
        a = crm_activities
        query = (
            select(a)
            .where(a.c.who_id == who_id)
            .order_by(a.c.started_at.desc(), a.c.id)
            .limit(_cap(limit))
        )
        with self._read("read activities") as conn:
            return [
                to_record(RecordType.TASK, row, self._cipher)
                for row in conn.execute(query).mappings()
            ]


@contextmanager
def _errors(action: str) -> Iterator[None]:
    """Our own checks' errors (InvalidInput naming the field, NotFound...) pass through as they
    are, after the transaction rolled back; database failures become StorageError."""
    try:
        yield
    except CallbridgeError:
        raise
    except (SQLAlchemyError, TypeError, ValueError) as exc:
        raise StorageError(
            f"could not {action}: {type(exc).__name__}: {first_line(exc)}",
            cause=type(exc).__name__,
        ) from exc


def _cap(limit: int) -> int:
    return max(0, min(limit, MAX_LIMIT))


_check_protocol: type[Crm] = BuiltinCrm
