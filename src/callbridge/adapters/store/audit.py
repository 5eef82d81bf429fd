"""The audit log in the database: append inside a caller's transaction, read, verify.

Rows are only ever inserted. Appends are serialised on the `audit_count` counter row
(PostgreSQL: SELECT ... FOR UPDATE; SQLite: write transactions are exclusive already), and the
entries are numbered from that counter rather than by the database's sequence, so a rolled-back
append leaves no gap and a gap always means a deleted entry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.tables import AUDIT_COUNT, audit_log, counters
from callbridge.domain.errors import StorageError
from callbridge.ports import AuditRecord
from callbridge.services.security.audit import (
    GENESIS,
    AuditEntry,
    VerifyResult,
    chain,
    verify,
)

VERIFY_PAGE = 1000


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries to read; None matches anything."""

    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None


class AuditLog:
    """The audit log of one database, for readers and for appends that stand alone."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, records: Sequence[AuditRecord]) -> list[int]:
        """Append in a transaction of its own; the new entries' ids."""
        with _errors("append to the audit log"), write_transaction(self._engine) as conn:
            return append_audit(conn, records)

    def read(
        self,
        after_id: int = 0,
        limit: int = 100,
        filters: AuditFilter | None = None,
        *,
        newest: bool = False,
    ) -> list[AuditEntry]:
        """See `read_audit`."""
        return read_audit(self._engine, after_id, limit, filters, newest=newest)

    def verify(self) -> VerifyResult:
        """See `verify_audit`."""
        return verify_audit(self._engine)


def append_audit(conn: Connection, records: Sequence[AuditRecord]) -> list[int]:
    """Append `records` to the chain inside the caller's (write) transaction; their ids."""
    if not records:
        return []
    count = _lock_count(conn)
    # The head is the newest entry still there; if the tail was deleted, verify reports it.
    head = conn.execute(
        select(audit_log.c.hash)
        .where(audit_log.c.id <= count)
        .order_by(audit_log.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    entries = chain(records, count + 1, head or GENESIS)
    conn.execute(insert(audit_log), [_row(entry) for entry in entries])
    conn.execute(
        update(counters).where(counters.c.name == AUDIT_COUNT).values(value=count + len(entries))
    )
    return [entry.id for entry in entries]


def _lock_count(conn: Connection) -> int:
    """The number of entries appended so far, with the counter row locked until commit."""
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):  # pragma: no cover - make_engine allows only these
        raise StorageError(f"no audit log for database {dialect!r}", dialect=dialect)
    stmt = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(counters)
    conn.execute(stmt.values(name=AUDIT_COUNT, value=0).on_conflict_do_nothing())
    # FOR UPDATE waits for a concurrent appender to commit, then reads its count (PostgreSQL's
    # READ COMMITTED re-reads the locked row); SQLite ignores it, its writers are exclusive.
    value = conn.execute(
        select(counters.c.value).where(counters.c.name == AUDIT_COUNT).with_for_update()
    ).scalar_one()
    return int(value)


def _row(entry: AuditEntry) -> dict[str, Any]:
    r = entry.record
    return {
        "id": entry.id,
        "at": r.at,
        "actor": r.actor,
        "action": r.action,
        "object_type": r.object_type,
        "object_id": r.object_id,
        "source": r.source,
        "before": r.before,
        "after": r.after,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def _entry(row: Mapping[Any, Any]) -> AuditEntry:
    record = AuditRecord(
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        source=row["source"],
        before=row["before"],
        after=row["after"],
    )
    return AuditEntry(row["id"], record, row["prev_hash"], row["hash"])


def read_audit(
    engine: Engine,
    after_id: int = 0,
    limit: int = 100,
    filters: AuditFilter | None = None,
    *,
    newest: bool = False,
) -> list[AuditEntry]:
    """Entries with ids above `after_id`, in id order; with `newest`, the last `limit` ones."""
    f = filters or AuditFilter()
    log = audit_log
    query = select(log).where(log.c.id > after_id)
    for column, wanted in (
        (log.c.actor, f.actor),
        (log.c.object_type, f.object_type),
        (log.c.object_id, f.object_id),
        (log.c.action, f.action),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    order = log.c.id.desc() if newest else log.c.id
    query = query.order_by(order).limit(max(limit, 0))
    with _errors("read the audit log"), engine.connect() as conn:
        entries = [_entry(row) for row in conn.execute(query).mappings()]
    return entries[::-1] if newest else entries


def verify_audit(engine: Engine) -> VerifyResult:
    """Verify the whole chain against the counter, from one consistent snapshot."""
    with _errors("verify the audit log"), engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # the counter and every page from one snapshot, whatever is appended meanwhile
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            count = conn.execute(
                select(counters.c.value).where(counters.c.name == AUDIT_COUNT)
            ).scalar_one_or_none()
            return verify(_pages(conn), int(count or 0))


def _pages(conn: Connection) -> Iterator[AuditEntry]:
    after = 0
    while True:
        rows = conn.execute(
            select(audit_log)
            .where(audit_log.c.id > after)
            .order_by(audit_log.c.id)
            .limit(VERIFY_PAGE)
        ).mappings()
        page = [_entry(row) for row in rows]
        yield from page
        if len(page) < VERIFY_PAGE:
            return
        after = page[-1].id


@contextmanager
def _errors(action: str) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise StorageError(
            f"could not {action}: {type(exc).__name__}: {first}", cause=type(exc).__name__
        ) from exc
