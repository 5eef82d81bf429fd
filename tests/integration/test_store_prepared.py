"""Prepared statements (`adapters/store/prepared.py`) on SQLite and PostgreSQL: they store what
SQLAlchemy's own execution stores, return the ids of the rows in order, and fail as it does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from callbridge.adapters.store import SqlStore
from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.prepared import prepared
from callbridge.adapters.store.tables import counters, interaction_events
from callbridge.domain.errors import StorageError
from callbridge.services.security.crypto import FieldCipher, Keyring

EVENT_COLUMNS = ("at", "kind", "interaction_id", "agent_id", "queue_id", "payload")
INSERT_EVENT = insert(interaction_events).returning(interaction_events.c.id)
INSERT_COUNTER = insert(counters)


def event_row(kind: str) -> dict[str, object]:
    # a time with microseconds, and a payload with what JSON must carry through
    return {
        "at": 1_764_150_000.123456,
        "kind": kind,
        "interaction_id": "i-1",
        "agent_id": None,
        "queue_id": "sales",
        "payload": {"text": "naïve \u2603", "n": 3, "nested": [1.5, None, True]},
    }


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    store = SqlStore.open(database_url, FieldCipher(Keyring.generate()))
    yield store.engine
    store.close()


def test_rows_are_stored_as_sqlalchemy_stores_them(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        prepared(conn, INSERT_EVENT, EVENT_COLUMNS).returning_first(conn, [event_row("ours")])
        conn.execute(insert(interaction_events), [event_row("theirs")])
    with engine.connect() as conn:
        raw = conn.exec_driver_sql(
            "SELECT kind, at, interaction_id, agent_id, queue_id, payload"
            " FROM interaction_events ORDER BY id"
        ).all()
    assert [row[0] for row in raw] == ["ours", "theirs"]
    assert raw[0][1:] == raw[1][1:]  # the same stored representation, column for column


def test_ids_come_back_in_the_order_of_the_rows(engine: Engine) -> None:
    rows = [event_row(f"e{i}") for i in range(5)]
    with write_transaction(engine) as conn:
        ids = prepared(conn, INSERT_EVENT, EVENT_COLUMNS).returning_first(conn, rows)
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT id, kind FROM interaction_events").all()
    assert sorted(ids) == ids and len(set(ids)) == 5
    assert {event_id: kind for event_id, kind in stored} == {
        event_id: f"e{i}" for i, event_id in enumerate(ids)
    }


def test_a_row_without_a_column_names_it(engine: Engine) -> None:
    row = event_row("short")
    del row["queue_id"]
    with write_transaction(engine) as conn:
        statement = prepared(conn, INSERT_EVENT, EVENT_COLUMNS)
        with pytest.raises(StorageError, match="'queue_id'") as failure:
            statement.returning_first(conn, [row])
    assert failure.value.details == {"column": "queue_id"}


def test_a_driver_error_is_sqlalchemys_and_the_transaction_rolls_back(engine: Engine) -> None:
    with pytest.raises(IntegrityError), write_transaction(engine) as conn:
        statement = prepared(conn, INSERT_COUNTER, ("name", "value"))
        statement.execute_many(conn, [{"name": "a", "value": 1}])
        statement.execute_many(conn, [{"name": "b", "value": 2}, {"name": "a", "value": 3}])
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM counters").scalar_one() == 0
