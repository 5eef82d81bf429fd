"""Alembic's environment: runs on the connection `callbridge.adapters.store.schema` passes in."""

from __future__ import annotations

from alembic import context

from callbridge.adapters.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "run migrations through callbridge.adapters.store.migrate(engine), "
        "which passes the connection in"
    )

context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
