"""`callbridge audit verify` and `audit list` on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from security_support import TOKEN, make_app
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from callbridge.cli.main import app as cli
from callbridge.domain.clock import ManualClock

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def logged_url(database_url: str) -> str:
    """A database whose audit log holds a few administrative changes."""
    built = make_app(database_url, ManualClock(1_800_000_000.0))
    try:
        with TestClient(built.api, headers=AUTH) as client:
            for n in range(4):
                queue = {"id": f"q{n}", "name": f"Queue {n}"}
                assert client.post("/queues", json=queue).status_code == 201
    finally:
        built.close()
    return database_url


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one())
    finally:
        engine.dispose()


def tamper(url: str, sql: str, **params: object) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def test_an_untouched_log_verifies(logged_url: str) -> None:
    n = count(logged_url)
    assert n >= 4
    code, output = run("audit", "verify", "--database-url", logged_url)
    assert code == 0, output
    assert f"{n} entries, chain intact" in output


def test_an_edited_row_fails_naming_the_entry(logged_url: str) -> None:
    n = count(logged_url)
    tamper(logged_url, "UPDATE audit_log SET after = :v WHERE id = :id", v='{"x": 1}', id=n - 1)
    code, output = run("audit", "verify", "--database-url", logged_url)
    assert code == 1, output
    assert f"broken at entry {n - 1}" in output
    assert "altered" in output


def test_a_deleted_middle_row_fails_naming_the_entry(logged_url: str) -> None:
    tamper(logged_url, "DELETE FROM audit_log WHERE id = 2")
    code, output = run("audit", "verify", "--database-url", logged_url)
    assert code == 1, output
    assert "broken at entry 2" in output and "missing" in output


def test_a_deleted_last_row_fails_naming_the_entry(logged_url: str) -> None:
    n = count(logged_url)
    tamper(logged_url, "DELETE FROM audit_log WHERE id = :id", id=n)
    code, output = run("audit", "verify", "--database-url", logged_url)
    assert code == 1, output
    assert f"broken at entry {n}" in output and "missing" in output


def test_list_prints_the_newest_entries(logged_url: str) -> None:
    code, output = run("audit", "list", "--database-url", logged_url, "--limit", "2")
    assert code == 0, output
    lines = output.strip().splitlines()
    assert len(lines) == 2
    assert "queue.create" in lines[-1] and "queue:q3" in lines[-1]
    code, output = run(
        "audit", "list", "--database-url", logged_url, "--after-id", "0", "--limit", "1"
    )
    assert code == 0 and len(output.strip().splitlines()) == 1


def test_no_database_is_an_error_and_none_is_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    code, output = run("audit", "verify", "--database-url", f"sqlite:///{missing}")
    assert code == 2
    assert "no database" in output
    assert not missing.exists()
