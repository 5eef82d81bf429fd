"""Helpers every SQL store in this package shares: one error translation, one upsert."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from callbridge.adapters.store.prepared import prepared
from callbridge.domain.errors import CallbridgeError, StorageError


@contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Database and encoding failures become StorageError, the original kept as the cause.

    A domain error here means a stored row the domain rejects (an agent with an empty name,
    say): to the caller that is a storage problem too.
    """
    try:
        yield
    except StorageError:
        raise
    except (SQLAlchemyError, CallbridgeError, TypeError, ValueError) as exc:
        raise StorageError(
            f"could not {action}: {type(exc).__name__}: {first_line(exc)}",
            cause=type(exc).__name__,
        ) from exc


def first_line(exc: BaseException) -> str:
    # SQLAlchemy appends the statement and its parameters; those stay in the chained cause.
    return str(exc).strip().splitlines()[0] if str(exc).strip() else ""


def upsert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert, or update the row with the same primary key. The last of duplicate rows wins.

    Every row has the columns of the first (a prepared statement: see `prepared`)."""
    if not rows:
        return
    key = primary_key(table)
    unique = list({tuple(row[k] for k in key): row for row in rows}.values())
    statement = upsert_statement(conn.dialect.name, table)
    prepared(conn, statement, tuple(unique[0])).execute_many(conn, unique)


@cache
def primary_key(table: Table) -> tuple[str, ...]:
    """The names of `table`'s primary-key columns."""
    return tuple(c.name for c in table.primary_key.columns)


# Memoised, not state: a statement is a pure function of a dialect's name and a table, both
# fixed for the life of the process (every table is a constant of `tables`), so each is built
# once. Building one costs more than running it (a proxy per column for `excluded`), and the
# same object also keeps its SQL cache key, so SQLAlchemy finds the compiled form at once.
@cache
def upsert_statement(dialect: str, table: Table) -> Insert:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE SET every other column."""
    if dialect not in ("sqlite", "postgresql"):  # pragma: no cover - make_engine allows only these
        raise StorageError(f"no upsert for database {dialect!r}", dialect=dialect)
    key = primary_key(table)
    stmt = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key}
    return stmt.on_conflict_do_update(index_elements=list(key), set_=updates)


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """`items` in slices of at most `size` (IN lists and batched inserts stay bounded)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Moments: timezone-aware datetimes in the domain, epoch seconds in the columns.


def epoch_of(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


def moment_of(at: float | None) -> datetime | None:
    return None if at is None else datetime.fromtimestamp(at, UTC)


def moment(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
