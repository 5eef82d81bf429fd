"""Named positions in the event log, kept in the database: how far a worker that follows the
log (the SMS replies' sender) has got, so a restart resumes there and loses nothing."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.rows import storage_errors, upsert
from callbridge.adapters.store.tables import crm_sync_state, interaction_events
from callbridge.domain.clock import Clock


class LogCursor:
    """The id of the last event a worker finished with (rows of `crm_sync_state`, the
    database's table of named cursors)."""

    def __init__(self, engine: Engine, name: str, clock: Clock) -> None:
        self._engine, self._name, self._clock = engine, name, clock

    def get(self) -> int | None:
        """Where the worker stands; None before its first run."""
        query = select(crm_sync_state.c.cursor).where(crm_sync_state.c.name == self._name)
        with storage_errors("read a log cursor"), self._engine.connect() as conn:
            value = conn.execute(query).scalar_one_or_none()
        return None if value is None else int(value)

    def set(self, event_id: int) -> None:
        row = {"name": self._name, "cursor": str(event_id), "updated_at": self._clock.now()}
        with storage_errors("save a log cursor"), write_transaction(self._engine) as conn:
            upsert(conn, crm_sync_state, [row])

    def head(self) -> int:
        """The newest event's id (0 for an empty log)."""
        with storage_errors("read the log's head"), self._engine.connect() as conn:
            value = conn.execute(select(func.max(interaction_events.c.id))).scalar_one_or_none()
        return int(value or 0)
