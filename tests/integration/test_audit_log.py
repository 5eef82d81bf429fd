"""The audit log in a real database (SQLite and PostgreSQL): appends, and tampering found."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import Engine, text

from callbridge.adapters.store.audit import AuditFilter, append_audit, read_audit, verify_audit
from callbridge.adapters.store.codec import from_datetime, to_datetime
from callbridge.adapters.store.engine import make_engine, write_transaction
from callbridge.adapters.store.schema import migrate
from callbridge.ports import AuditRecord
from callbridge.services.security.audit import GENESIS


def record(n: int, actor: str = "user:ann", object_type: str = "queue") -> AuditRecord:
    return AuditRecord(
        at=1_800_000_000.123456 + n / 7,  # microsecond fractions the database must keep
        actor=actor,
        action=f"{object_type}.save",
        object_type=object_type,
        object_id=f"obj-{n}",
        source="10.0.0.7",
        before=None if n == 1 else {"label": f"v{n - 1}", "weight": 0.1 * n},
        after={"label": f"v{n}", "weight": 0.1 * n, "tags": ["é", "ü"], "nested": {"z": 1, "a": 2}},
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    built = make_engine(database_url)
    migrate(built)
    yield built
    built.dispose()


def append(engine: Engine, *records: AuditRecord) -> list[int]:
    with write_transaction(engine) as conn:
        return append_audit(conn, list(records))


def fill(engine: Engine, n: int) -> None:
    for i in range(1, n + 1):
        append(engine, record(i))


def tamper(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_appends_are_numbered_chained_and_verify(engine: Engine) -> None:
    assert verify_audit(engine).ok
    assert append(engine, record(1)) == [1]
    assert append(engine, record(2), record(3, actor="user:bob", object_type="agent")) == [2, 3]
    assert append(engine) == []
    result = verify_audit(engine)
    assert result.ok, result.problem
    assert result.count == 3
    entries = read_audit(engine)
    assert [e.id for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS
    assert (
        entries[2].prev_hash == entries[1].hash == read_audit(engine, after_id=1, limit=1)[0].hash
    )
    # JSON survives the round trip; time is kept to the microsecond, which the hash allows for
    expected = record(2)
    assert entries[1].record == replace(expected, at=from_datetime(to_datetime(expected.at)))
    assert result.head_hash == entries[2].hash
    bob = read_audit(engine, filters=AuditFilter(actor="user:bob"))
    assert [e.id for e in bob] == [3]
    assert [e.id for e in read_audit(engine, filters=AuditFilter(object_type="queue"))] == [1, 2]
    assert [e.id for e in read_audit(engine, limit=2, newest=True)] == [2, 3]


def test_a_rolled_back_append_leaves_no_gap(engine: Engine) -> None:
    append(engine, record(1))
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:
        append_audit(conn, [record(2)])
        raise RuntimeError("the rest of the change failed")
    assert append(engine, record(3)) == [2]
    assert verify_audit(engine).ok


def test_an_edited_entry_fails_verification_by_id(engine: Engine) -> None:
    fill(engine, 4)
    tamper(engine, "UPDATE audit_log SET after = :v WHERE id = 2", v='{"label": "forged"}')
    result = verify_audit(engine)
    assert not result.ok
    assert result.bad_id == 2
    assert result.problem is not None and "entry 2 has been altered" in result.problem


def test_an_edited_actor_or_time_fails_too(engine: Engine) -> None:
    fill(engine, 3)
    tamper(engine, "UPDATE audit_log SET actor = 'user:nobody' WHERE id = 3")
    assert verify_audit(engine).bad_id == 3
    tamper(engine, "UPDATE audit_log SET actor = 'user:ann' WHERE id = 3")
    assert verify_audit(engine).ok
    row = read_audit(engine, after_id=0, limit=1)[0]
    tamper(engine, "UPDATE audit_log SET at = :at WHERE id = 1", at=_shifted(row.record.at))
    assert verify_audit(engine).bad_id == 1


def _shifted(at: float) -> datetime:
    return to_datetime(at + 0.000001)


def test_a_deleted_middle_entry_fails_verification_by_id(engine: Engine) -> None:
    fill(engine, 5)
    tamper(engine, "DELETE FROM audit_log WHERE id = 3")
    result = verify_audit(engine)
    assert result.bad_id == 3
    assert result.problem is not None and "entry 3 is missing" in result.problem


def test_a_deleted_last_entry_fails_verification_by_id(engine: Engine) -> None:
    fill(engine, 5)
    tamper(engine, "DELETE FROM audit_log WHERE id = 5")
    result = verify_audit(engine)
    assert result.bad_id == 5
    assert result.problem is not None and "entry 5 is missing" in result.problem
    # appending goes on (the log stays writable) and the gap stays visible
    assert append(engine, record(6)) == [6]
    assert verify_audit(engine).bad_id == 5


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_concurrent_appends_on_postgres_keep_the_chain(engine: Engine) -> None:
    per_thread, threads = 25, 4
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                append(engine, record(i, actor=f"user:{k}"), record(i, actor=f"user:{k}"))
        except BaseException as exc:
            errors.append(exc)

    running = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join()
    assert errors == []
    result = verify_audit(engine)
    assert result.ok, result.problem
    assert result.count == per_thread * threads * 2
