"""The schema's life: migrations match the tables, migrate is idempotent, engines are set up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, inspect

from callbridge.adapters.store import SqlStore, make_engine, migrate
from callbridge.adapters.store.schema import MIGRATIONS
from callbridge.adapters.store.tables import metadata
from callbridge.domain.errors import StorageError
from callbridge.domain.ids import DispositionCode
from callbridge.domain.live import Disposition
from callbridge.ports import Changes
from callbridge.services.security.crypto import FieldCipher, Keyring

CIPHER = FieldCipher(Keyring.generate())
HEAD = "0007"  # the newest migration; test_migrations_ship_inside_the_package lists them all


@pytest.fixture
def engine(database_url: str) -> Engine:
    return make_engine(database_url)


def revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_migrations_create_exactly_the_tables(engine: Engine) -> None:
    migrate(engine)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            # the comparison is live: it sees one column more
            changed = MetaData()
            for table in metadata.tables.values():
                table.to_metadata(changed)
            changed.tables["counters"].append_column(Column("extra", Integer))
            (diff,) = compare_metadata(context, changed)
            assert diff[:3] == ("add_column", None, "counters")
    finally:
        engine.dispose()


def test_migrate_is_idempotent_and_keeps_data(engine: Engine, database_url: str) -> None:
    try:
        assert revision(engine) is None
        migrate(engine)
        assert revision(engine) == HEAD
        tables = set(inspect(engine).get_table_names())
        assert tables >= set(metadata.tables)
        store = SqlStore(engine, CIPHER)
        store.commit(Changes(dispositions=[Disposition(DispositionCode("ok"), "OK")]))
        migrate(engine)
        assert revision(engine) == HEAD
        assert set(inspect(engine).get_table_names()) == tables
        assert store.get_disposition(DispositionCode("ok")) is not None
    finally:
        engine.dispose()
    again = SqlStore.open(database_url, CIPHER)  # open migrates too
    assert again.get_disposition(DispositionCode("ok")) is not None
    again.close()


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert sorted(p.name for p in (MIGRATIONS / "versions").glob("*.py")) == [
        "0001_initial.py",
        "0002_security.py",
        "0003_crm.py",
        "0004_reports.py",
        "0005_telephony.py",
        "0006_campaigns.py",
        "0007_business_hours.py",
    ]


# --- engines -----------------------------------------------------------------------------------


def test_sqlite_file_and_directory_are_created_on_first_open_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "callbridge.db"
    store = SqlStore.open(f"sqlite:///{path}", CIPHER)
    try:
        assert path.is_file()
        with store.engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 5000
    finally:
        store.close()
    with sqlite3.connect(path) as raw:  # WAL is a property of the file
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()


def test_a_sqlite_directory_that_cannot_be_made_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a directory")
    with pytest.raises(StorageError, match="cannot create the directory"):
        make_engine(f"sqlite:///{tmp_path / 'taken' / 'callbridge.db'}")


def test_in_memory_sqlite_keeps_one_database() -> None:
    store = SqlStore.open("sqlite://", CIPHER)
    try:
        store.commit(Changes(dispositions=[Disposition(DispositionCode("ok"), "OK")]))
        assert store.get_disposition(DispositionCode("ok")) is not None
    finally:
        store.close()


@pytest.mark.parametrize(
    "url",
    ["postgresql://u@db.example/cb", "postgres://u@db.example/cb", "postgresql+psycopg://u@h/d"],
)
def test_postgresql_urls_use_psycopg(url: str) -> None:
    engine = make_engine(url)  # connects lazily: nothing is contacted here
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("mysql://u@h/db", "mysql"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2"),
        ("redis://localhost:6379/0", "redis"),
        ("mongodb+srv://u:secret@h/db", "mongodb+srv"),
    ],
)
def test_unknown_schemes_are_refused_by_name(url: str, scheme: str) -> None:
    with pytest.raises(StorageError) as refused:
        make_engine(url)
    assert repr(scheme) in str(refused.value)
    assert refused.value.details["scheme"] == scheme
    with pytest.raises(StorageError):
        SqlStore.open(url, CIPHER)


def test_a_url_without_a_scheme_is_refused_without_echoing_it() -> None:
    with pytest.raises(StorageError, match="has no scheme") as refused:
        make_engine("callbridge.db")
    assert "callbridge.db" not in str(refused.value)
