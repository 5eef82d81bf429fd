"""The center's business hours in the SQL store: each schedule by name, as JSON in the flow
language's own shape (`timezone`, `weekly`, `holidays`, `closed`), with its audit entry written
in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, delete, select

from callbridge.adapters.store.audit import append_audit
from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.rows import storage_errors, upsert
from callbridge.adapters.store.tables import business_hours
from callbridge.ports import AuditRecord


class SqlHours:
    """Business hours by name: read all, save one, delete one."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def all(self) -> dict[str, dict[str, Any]]:
        """Every schedule's definition by name."""
        with storage_errors("read business hours"), self._engine.connect() as conn:
            rows = conn.execute(select(business_hours.c.name, business_hours.c.definition))
            return {name: json.loads(text) for name, text in rows}

    def save(
        self, name: str, definition: Mapping[str, Any], at: float, audit: Sequence[AuditRecord]
    ) -> None:
        """Create or replace the schedule `name`."""
        row = {"name": name, "definition": json.dumps(definition), "updated_at": at}
        with storage_errors("save business hours"), write_transaction(self._engine) as conn:
            upsert(conn, business_hours, [row])
            append_audit(conn, audit)

    def delete(self, name: str, audit: Sequence[AuditRecord]) -> bool:
        """Remove the schedule `name`; False if there was none (and nothing is audited)."""
        with storage_errors("delete business hours"), write_transaction(self._engine) as conn:
            gone = conn.execute(delete(business_hours).where(business_hours.c.name == name))
            if gone.rowcount == 0:
                return False
            append_audit(conn, audit)
            return True
