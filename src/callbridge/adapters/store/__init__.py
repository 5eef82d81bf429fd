"""The SQL store: SQLite (one WAL file, created on first run) or PostgreSQL, via SQLAlchemy.

`SqlStore.open(url, cipher)` makes the engine, migrates the schema to the newest revision and
returns a store that implements the `Store` port, sealing personal data with `cipher`.
"""

from callbridge.adapters.store.engine import make_engine
from callbridge.adapters.store.schema import migrate
from callbridge.adapters.store.sql import SqlStore

__all__ = ["SqlStore", "make_engine", "migrate"]
