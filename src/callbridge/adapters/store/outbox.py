"""The activity outbox: written in the same transaction as the interaction closing, read and
marked by the delivery worker. Rows are never deleted by code; a delivered row keeps the CRM's
record id."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, Insert, and_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.prepared import prepared
from callbridge.adapters.store.rows import storage_errors
from callbridge.adapters.store.tables import crm_outbox
from callbridge.domain.crm.records import Activity, ActivityDirection, RecordRef, RecordType
from callbridge.services.security.crypto import FieldCipher

COLUMN = "crm_outbox.activity"


class Status:
    PENDING = "pending"  # to deliver when due
    UNRESOLVED = "unresolved"  # the screen pop found several records: waits for a pick
    DELIVERED = "delivered"
    FAILED = "failed"  # the CRM refused it for good; kept, shown, never retried on its own


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    interaction_id: str
    created_at: float
    activity: Activity
    status: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    record_id: str | None = None  # the CRM's record, once delivered


def activity_json(activity: Activity) -> dict[str, Any]:
    return {
        "external_id": activity.external_id,
        "subject": activity.subject,
        "channel": activity.channel,
        "direction": activity.direction.value,
        "started_at": activity.started_at,
        "ended_at": activity.ended_at,
        "duration_s": activity.duration_s,
        "customer_address": activity.customer_address,
        "queue": activity.queue,
        "agent": activity.agent,
        "disposition_code": activity.disposition_code,
        "disposition_label": activity.disposition_label,
        "notes": activity.notes,
        "who": None if activity.who is None else [activity.who.type.value, activity.who.id],
        "what": None if activity.what is None else [activity.what.type.value, activity.what.id],
        "recording_url": activity.recording_url,
        "end_reason": activity.end_reason,
        "attached": dict(activity.attached),
    }


def activity_from_json(data: dict[str, Any]) -> Activity:
    who, what = data.get("who"), data.get("what")
    return Activity(
        external_id=data["external_id"],
        subject=data["subject"],
        channel=data["channel"],
        direction=ActivityDirection(data["direction"]),
        started_at=float(data["started_at"]),
        ended_at=float(data["ended_at"]),
        duration_s=int(data["duration_s"]),
        customer_address=data["customer_address"],
        queue=data.get("queue"),
        agent=data.get("agent"),
        disposition_code=data.get("disposition_code"),
        disposition_label=data.get("disposition_label"),
        notes=data.get("notes"),
        who=None if who is None else RecordRef(RecordType(who[0]), who[1]),
        what=None if what is None else RecordRef(RecordType(what[0]), what[1]),
        recording_url=data.get("recording_url"),
        end_reason=data.get("end_reason"),
        attached=dict(data.get("attached") or {}),  # absent from activities queued before it
    )


def enqueue(
    conn: Connection, cipher: FieldCipher, activities: Sequence[Activity], at: float
) -> None:
    """Add activities inside the caller's transaction. An interaction already in the outbox
    keeps its row: enqueueing is idempotent."""
    if not activities:
        return
    rows = [
        {
            "interaction_id": a.external_id,
            "created_at": at,
            "activity": cipher.seal(json.dumps(activity_json(a), sort_keys=True), COLUMN),
            "status": Status.PENDING,
            "attempts": 0,
            "next_attempt_at": at,
        }
        for a in activities
    ]
    statement = _enqueue_statement(conn.dialect.name)
    prepared(conn, statement, tuple(rows[0])).execute_many(conn, rows)


@cache  # one statement per dialect, built once (see rows.upsert_statement)
def _enqueue_statement(dialect: str) -> Insert:
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    return insert(crm_outbox).on_conflict_do_nothing(index_elements=["interaction_id"])


class Outbox:
    """The worker's view of the outbox."""

    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    def due(self, now: float, limit: int) -> list[OutboxRow]:
        """Pending rows whose time has come, oldest first."""
        query = (
            select(crm_outbox)
            .where(
                and_(
                    crm_outbox.c.status == Status.PENDING,
                    crm_outbox.c.next_attempt_at <= now,
                )
            )
            .order_by(crm_outbox.c.id)
            .limit(limit)
        )
        with storage_errors("read the outbox"), self._engine.connect() as conn:
            return [self._row(r) for r in conn.execute(query).mappings()]

    def rows(self, status: str | None = None, limit: int = 100) -> list[OutboxRow]:
        query = select(crm_outbox).order_by(crm_outbox.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(crm_outbox.c.status == status)
        with storage_errors("read the outbox"), self._engine.connect() as conn:
            return [self._row(r) for r in conn.execute(query).mappings()]

    def get(self, interaction_id: str) -> OutboxRow | None:
        query = select(crm_outbox).where(crm_outbox.c.interaction_id == interaction_id)
        with storage_errors("read the outbox"), self._engine.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
            return None if row is None else self._row(row)

    def delivered(self, done: Sequence[tuple[int, str | None]], at: float) -> None:
        """Mark rows delivered, with the CRM record id each became."""
        if not done:
            return
        statement = (
            update(crm_outbox)
            .where(crm_outbox.c.id == bindparam("row_id"))
            .values(
                status=Status.DELIVERED,
                delivered_at=at,
                record_id=bindparam("crm_id"),
                attempts=crm_outbox.c.attempts + 1,
                last_error=None,
            )
        )
        with storage_errors("mark delivered"), write_transaction(self._engine) as conn:
            conn.execute(statement, [{"row_id": r, "crm_id": c} for r, c in done])

    def retry(self, row_id: int, error: str, next_at: float, *, give_up: bool) -> None:
        status = Status.FAILED if give_up else Status.PENDING
        with storage_errors("mark a retry"), write_transaction(self._engine) as conn:
            conn.execute(
                update(crm_outbox)
                .where(crm_outbox.c.id == row_id)
                .values(
                    status=status,
                    attempts=crm_outbox.c.attempts + 1,
                    next_attempt_at=next_at,
                    last_error=error[:500],
                )
            )

    def set_status(self, interaction_id: str, status: str, *, now: float | None = None) -> bool:
        """Move one row (unresolved <-> pending, or failed -> pending to try again)."""
        values: dict[str, Any] = {"status": status}
        if now is not None:
            values["next_attempt_at"] = now
        with storage_errors("update the outbox"), write_transaction(self._engine) as conn:
            result = conn.execute(
                update(crm_outbox)
                .where(
                    and_(
                        crm_outbox.c.interaction_id == interaction_id,
                        crm_outbox.c.status != Status.DELIVERED,
                    )
                )
                .values(**values)
            )
            return result.rowcount == 1

    def stats(self, now: float) -> dict[str, float]:
        """Rows by status, and the age of the oldest row not yet delivered."""
        with storage_errors("count the outbox"), self._engine.connect() as conn:
            counts = {
                status: count
                for status, count in conn.execute(
                    select(crm_outbox.c.status, func.count()).group_by(crm_outbox.c.status)
                )
            }
            oldest = conn.execute(
                select(func.min(crm_outbox.c.created_at)).where(
                    crm_outbox.c.status != Status.DELIVERED
                )
            ).scalar_one_or_none()
        out: dict[str, float] = {
            s: float(counts.get(s, 0))
            for s in (Status.PENDING, Status.UNRESOLVED, Status.DELIVERED, Status.FAILED)
        }
        out["oldest_age_s"] = 0.0 if oldest is None else max(0.0, now - float(oldest))
        return out

    def _row(self, row: Any) -> OutboxRow:
        data = json.loads(self._cipher.open(row["activity"], COLUMN))
        return OutboxRow(
            id=row["id"],
            interaction_id=row["interaction_id"],
            created_at=row["created_at"],
            activity=activity_from_json(data),
            status=row["status"],
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            last_error=row["last_error"],
            record_id=row["record_id"],
        )
