"""What the maintenance commands (`keys`, `privacy`) share: options, errors, opening the store.

They open the store with its cipher but start no runtime: they run next to a live server, which
alone routes and times interactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from callbridge.adapters.store.sql import SqlStore
from callbridge.app import sqlite_file
from callbridge.domain.errors import CallbridgeError
from callbridge.services.security.crypto import FieldCipher
from callbridge.settings import Settings, SettingsError, load_settings

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, highlight=False)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file.", exists=True, dir_okay=False)
]
DatabaseOpt = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL; default: from settings.")
]
KeyFileOpt = Annotated[
    Path | None,
    typer.Option("--key-file", help="Key file; default: from settings (<db>.keys with SQLite)."),
]


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def settings_for(
    config: Path | None, database_url: str | None, key_file: Path | None = None
) -> Settings:
    try:
        return load_settings(config, database_url=database_url, key_file=key_file)
    except SettingsError as exc:
        raise fail(str(exc)) from None


def key_file_of(settings: Settings) -> Path:
    """The key file the server reads: `key_file`, or `<db>.keys` next to a SQLite database."""
    if settings.key_file is not None:
        return settings.key_file
    database = sqlite_file(settings.database_url)
    if database is None:
        raise fail("key_file: not set (required with PostgreSQL); pass --key-file or set it")
    return database.with_name(database.name + ".keys")


def existing_database(settings: Settings) -> None:
    """Maintenance never creates a SQLite database by mistyping its path."""
    database = sqlite_file(settings.database_url)
    if database is not None and not database.is_file():
        raise fail(f"no database at {database}")


@contextmanager
def opened_store(settings: Settings, cipher: FieldCipher) -> Iterator[SqlStore]:
    """The configured store (migrated to head), closed afterwards; errors end the command."""
    existing_database(settings)
    try:
        store = SqlStore.open(settings.database_url, cipher)
    except CallbridgeError as exc:
        raise fail(exc.message) from None
    try:
        yield store
    except CallbridgeError as exc:
        raise fail(exc.message) from None
    finally:
        store.close()
