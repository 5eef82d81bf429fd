"""The interaction store as a holder of personal data: export and erasure on request.

The subject is found through the blind indexes (`from_index`, `to_index`, `callback_index`), so
no address is ever compared in plain text. Erasure overwrites the personal fields of the
matching interactions and of their events' payloads with a marker. The event log is otherwise
append-only; an erasure request is the one sanctioned exception, because the law that grants it
(GDPR art. 17 and its kin) outranks the log's history. The log keeps every row, kind and time,
so analytics still add up; only what identified the person is gone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Connection, Engine, and_, or_, select, update

from callbridge.adapters.store import codec
from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.sealing import (
    ERASED,
    INTERACTION_MAP,
    INTERACTION_TEXT,
    erase_payload,
)
from callbridge.adapters.store.sql import SqlStore
from callbridge.adapters.store.tables import interaction_events, interactions
from callbridge.domain.interactions import OPEN_STATES, InteractionState
from callbridge.ports import JsonValue, PersonalDataHolder

log = structlog.get_logger(__name__)

# Rows the live center still holds and will write again: open, or ended and in wrap-up (the same
# rule as SqlStore.load). Erasing one would be undone by its next write, so it waits.
_LIVE = or_(
    interactions.c.state.in_([s.value for s in OPEN_STATES]),
    and_(
        interactions.c.state == InteractionState.ENDED.value,
        interactions.c.agent_id.is_not(None),
    ),
)


def _subject(index_hash: str) -> ColumnElement[bool]:
    return or_(
        interactions.c.from_index == index_hash,
        interactions.c.to_index == index_hash,
        interactions.c.callback_index == index_hash,
    )


class InteractionRecords:
    """Interactions and their event log entries, for privacy requests."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    @property
    def name(self) -> str:
        return "interactions"

    def export(self, index_hash: str, address: str) -> JsonValue:
        """Every interaction that names the subject, decrypted, each with its events."""
        store = self._store
        query = (
            select(interactions)
            .where(_subject(index_hash))
            .order_by(interactions.c.created_at, interactions.c.id)
        )
        with store.engine.connect() as conn:
            rows = list(conn.execute(query).mappings())
        out: list[JsonValue] = []
        for row in rows:
            ix = codec.interaction_from_row(row, store.cipher)
            events: list[JsonValue] = [
                {
                    "id": e.id,
                    "at": codec.to_datetime(e.at).isoformat(),
                    "kind": e.kind,
                    "payload": e.payload,
                }
                for e in store.events(interaction_id=ix.id, limit=1_000_000)
            ]
            fields = codec.to_json(dataclasses.asdict(ix))
            assert isinstance(fields, dict)
            out.append({**_iso_times(fields), "events": events})
        return out

    def in_use(self, index_hash: str, address: str) -> int:
        """Matching interactions that are still open or in wrap-up."""
        query = select(interactions.c.id).where(_subject(index_hash), _LIVE)
        with self._store.engine.connect() as conn:
            return len(conn.execute(query).all())

    def erase(self, index_hash: str, address: str) -> int:
        """Overwrite the personal fields of every closed matching interaction and its events;
        drop its blind indexes so the subject can no longer be found. One transaction."""
        engine = self._store.engine
        sqlite = engine.dialect.name == "sqlite"
        with write_transaction(engine) as conn:
            if sqlite:
                # Zero the space freed by the overwritten values instead of leaving the old
                # ciphertext in free pages of the file.
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            try:
                erased = self._erase_in(conn, index_hash)
            finally:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA secure_delete=OFF")
        if sqlite and erased:
            _checkpoint(engine)
        return erased

    def _erase_in(self, conn: Connection, index_hash: str) -> int:
        rows = list(
            conn.execute(
                select(interactions).where(_subject(index_hash), ~_LIVE).with_for_update()
            ).mappings()
        )
        for row in rows:
            conn.execute(
                update(interactions).where(interactions.c.id == row["id"]).values(_erased(row))
            )
        ids = [row["id"] for row in rows]
        if not ids:
            return 0
        events = conn.execute(
            select(interaction_events.c.id, interaction_events.c.payload)
            .where(interaction_events.c.interaction_id.in_(ids))
            .with_for_update()
        ).all()
        for event_id, payload in events:
            if not isinstance(payload, dict):
                continue
            scrubbed = erase_payload(payload)
            if scrubbed != payload:
                conn.execute(
                    update(interaction_events)
                    .where(interaction_events.c.id == event_id)
                    .values(payload=scrubbed)
                )
        return len(rows)


_check_protocol: type[PersonalDataHolder] = InteractionRecords


def _erased(row: Mapping[Any, Any]) -> dict[str, object]:
    values: dict[str, object] = {
        column: ERASED for column in INTERACTION_TEXT if row[column] is not None
    }
    attached = row[INTERACTION_MAP]
    if isinstance(attached, dict):
        values[INTERACTION_MAP] = {key: ERASED for key in attached}
    values |= {"from_index": None, "to_index": None, "callback_index": None}
    return values


def _checkpoint(engine: Engine) -> None:
    """Move the WAL into the database file and truncate it, so the page images holding the
    old values leave the disk now rather than at the next automatic checkpoint."""
    # The DB-API connection, outside any transaction: a checkpoint cannot pass its own reader.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        busy, _frames, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        raw.close()
    if busy:
        log.warning("erasure_checkpoint_busy")


_TIME_FIELDS = (
    "created_at",
    "queue_entered_at",
    "offer_deadline",
    "answered_at",
    "ended_at",
    "wrap_up_deadline",
)


def _iso_times(fields: dict[str, JsonValue]) -> dict[str, JsonValue]:
    out = dict(fields)
    for name in _TIME_FIELDS:
        value = out.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = codec.to_datetime(value).isoformat()
    return out
