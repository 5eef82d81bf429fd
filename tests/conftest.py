"""Shared fixtures: a fresh database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_base_url() -> URL:
    url = make_url(os.environ.get("CALLBRIDGE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    return url.set(drivername="postgresql+psycopg")


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An autocommit engine on the server's base database, for creating and dropping others.

    An unreachable server fails the tests under CI (CI=true) and skips them elsewhere.
    """
    url = postgres_base_url()
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        engine.dispose()
        where = url.render_as_string(hide_password=True)
        message = f"PostgreSQL is not reachable at {where} ({type(exc).__name__})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true requires it (set CALLBRIDGE_TEST_POSTGRES_URL)")
        pytest.skip(f"{message}; skipped outside CI, where CI=true makes this a failure")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database that exists for this test only."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'callbridge.db'}"
        return
    admin: Engine = request.getfixturevalue("postgres_admin")
    name = f"cb_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_base_url().set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
