"""Schema migrations with Alembic, run from code: no alembic.ini, no command line needed.

`migrate(engine)` upgrades to the newest revision; run it as often as you like. To write the
next revision, compare a migrated database with `tables.metadata` (see the test that does) or
call `alembic.command.revision(alembic_config(connection), ...)` with `autogenerate=True`, then
edit what it wrote: migrations here are written out explicitly and reviewed.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

from callbridge.adapters.store.engine import write_transaction

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: PostgreSQL advisory lock held while migrating, so nodes that start together
# do not race to create the same tables.
_MIGRATION_LOCK = 0x63B1_0001


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration, pointing at the migrations shipped in this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest revision, in one transaction. Does nothing if it is."""
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        command.upgrade(alembic_config(connection), "head")
