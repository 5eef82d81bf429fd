"""`WebhookStore`: outgoing webhook subscriptions, their signing secrets sealed at rest.

Each change is one transaction with its audit entries. `generation` counts this process's
changes, so the dispatcher knows to reread the list without asking the database per event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from callbridge.adapters.store.audit import append_audit
from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.rows import storage_errors
from callbridge.adapters.store.tables import webhooks
from callbridge.ports import AuditRecord
from callbridge.services.security.crypto import FieldCipher
from callbridge.services.webhooks import Subscription

SECRET_COLUMN = "webhooks.secret"  # noqa: S105 - the column name, sealing associated data


class WebhookStore:
    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self._engine = engine
        self._cipher = cipher
        self.generation = 0

    def add(self, sub: Subscription, secret: str, audit: Sequence[AuditRecord] = ()) -> None:
        """Store a new subscription with its signing secret (sealed)."""
        row = {
            "id": sub.id,
            "url": sub.url,
            "secret": self._cipher.seal(secret, SECRET_COLUMN),
            "events": sorted(sub.events),
            "active": sub.active,
            "created_at": sub.created_at,
        }
        with storage_errors("save a webhook"), write_transaction(self._engine) as conn:
            conn.execute(insert(webhooks), [row])
            append_audit(conn, audit)
        self.generation += 1

    def remove(self, webhook_id: str, audit: Sequence[AuditRecord] = ()) -> bool:
        """Delete a subscription; False if there was none."""
        with storage_errors("remove a webhook"), write_transaction(self._engine) as conn:
            gone = conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id)).rowcount
            if gone:
                append_audit(conn, audit)
        self.generation += 1
        return bool(gone)

    def get(self, webhook_id: str) -> Subscription | None:
        query = select(webhooks).where(webhooks.c.id == webhook_id)
        with storage_errors("read a webhook"), self._engine.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
        return None if row is None else _subscription(row)

    def subscriptions(self) -> list[Subscription]:
        """Every subscription, oldest first."""
        query = select(webhooks).order_by(webhooks.c.created_at, webhooks.c.id)
        with storage_errors("list webhooks"), self._engine.connect() as conn:
            return [_subscription(row) for row in conn.execute(query).mappings()]

    def active_with_secrets(self) -> list[tuple[Subscription, str]]:
        """The active subscriptions and their signing secrets, opened: for the dispatcher."""
        query = select(webhooks).where(webhooks.c.active.is_(True)).order_by(webhooks.c.id)
        with storage_errors("read webhook secrets"), self._engine.connect() as conn:
            rows = list(conn.execute(query).mappings())
        return [(_subscription(r), self._cipher.open(r["secret"], SECRET_COLUMN)) for r in rows]


def _subscription(row: Mapping[Any, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        url=row["url"],
        events=frozenset(row["events"]),
        active=row["active"],
        created_at=row["created_at"],
    )
