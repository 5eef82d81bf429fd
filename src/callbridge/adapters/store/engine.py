"""Engines for the two supported databases: a SQLite file (WAL) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool

from callbridge.domain.errors import StorageError

SQLITE_BUSY_TIMEOUT_MS = 5000
SUPPORTED = "sqlite:///path/to/file.db or postgresql+psycopg://user@host/dbname"
# Connection execution option: begin with BEGIN IMMEDIATE on SQLite (see write_transaction).
_WRITE = "callbridge_write"


def make_engine(url: str, connect_args: Mapping[str, Any] | None = None) -> Engine:
    """An engine for `url`. SQLite files (and their directory) are created on first use.

    `connect_args` go to the driver's connect (`sqlite3.connect`, `psycopg.connect`): a
    connection or cursor factory, say, for a benchmark that records what the store sends.
    """
    parsed = _parse(url)
    extra = dict(connect_args or {})
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, extra)
    return create_engine(
        parsed.set(drivername="postgresql+psycopg"), pool_pre_ping=True, connect_args=extra
    )


def _parse(url: str) -> URL:
    scheme, sep, _ = url.partition("://")
    if not sep:
        # the URL itself is not repeated: it may hold a password
        raise StorageError(f"the database URL has no scheme; expected {SUPPORTED}", scheme=None)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(
            f"cannot read the database URL with scheme {scheme!r}; expected {SUPPORTED}",
            scheme=scheme,
        ) from exc
    if parsed.drivername in ("postgres", "postgresql"):  # postgres:// is what many hosts hand out
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise StorageError(
            f"unsupported database URL scheme {scheme!r}; expected {SUPPORTED}", scheme=scheme
        )
    return parsed


def _sqlite_engine(url: URL, connect_args: dict[str, Any]) -> Engine:
    database = url.database
    if not database or database == ":memory:":
        # one shared connection, or every checkout would see its own empty database
        engine = create_engine(
            url,
            poolclass=StaticPool,
            connect_args={**connect_args, "check_same_thread": False},
        )
    else:
        path = Path(database).expanduser()
        url = url.set(database=str(path))
        directory = path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the directory for the SQLite database: {directory}",
                path=str(directory),
            ) from exc
        engine = create_engine(url, connect_args=connect_args)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the sqlite3 module, emits BEGIN (see _on_begin): sqlite3's own
        # transaction handling skips BEGIN before SELECT and DDL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A writer takes the write lock up front, so it waits (busy_timeout) for another
        # writer instead of failing when it upgrades from reading to writing.
        immediate = connection.get_execution_options().get(_WRITE, False)
        statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"
        # straight on the driver: every commit begins, and SQLAlchemy's execution of a
        # statement costs more than SQLite's BEGIN. A failure ("database is locked" past the
        # busy timeout) is raised as SQLAlchemy's, like any other statement's.
        cursor = connection.connection.cursor()
        try:
            cursor.execute(statement)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
        finally:
            cursor.close()

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that will write: committed on success, else rolled back."""
    with engine.connect() as connection:
        connection.execution_options(**{_WRITE: True})
        with connection.begin():
            yield connection
