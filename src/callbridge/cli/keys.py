"""`callbridge keys`: make a key file, rotate the encryption key, retire old keys.

Rotation runs next to a live server. It writes the new key to the key file first (atomically,
old keys kept), then re-encrypts in short batches. The server follows the key file: a value
sealed under a key it does not know makes it reread the file, and every write checks whether the
file changed, so it reads the re-encrypted values at once and seals under the new key from its
next write on.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from callbridge.adapters.store.rekey import BATCH_SIZE, key_usage, reseal
from callbridge.adapters.store.sql import SqlStore
from callbridge.cli.stores import (
    ConfigOpt,
    DatabaseOpt,
    KeyFileOpt,
    console,
    existing_database,
    fail,
    key_file_of,
    opened_store,
    out,
    settings_for,
)
from callbridge.domain.errors import CallbridgeError
from callbridge.ports import AuditRecord, Changes, JsonValue
from callbridge.services.security.crypto import FieldCipher, Keyring, write_key_file
from callbridge.settings import Settings

app = typer.Typer(help="Encryption keys for personal data.", no_args_is_help=True)

BatchOpt = Annotated[
    int, typer.Option("--batch-size", min=1, max=10_000, help="Rows per transaction.")
]
# Passes over the data in one rotation: a write the server made just before it noticed the new
# key is caught by the next pass.
MAX_PASSES = 3


@app.command()
def generate(
    file: Annotated[Path, typer.Option("--file", help="Where to write the new key file.")],
) -> None:
    """Write a new key file (mode 0600); never overwrites one.

    An existing file's keys may be all that can read the data.
    """
    if file.exists():
        raise fail(f"{file} already exists; keys are never overwritten")
    ring = Keyring.generate()
    write_key_file(file, ring)
    out.print(f"wrote {file} (primary key {ring.primary})")


@app.command()
def rotate(
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
    key_file: KeyFileOpt = None,
    batch_size: BatchOpt = BATCH_SIZE,
) -> None:
    """Add a new primary key and re-encrypt everything under it, server running.

    The key file gets the new key first (old keys stay until `keys retire`); then the stored
    values are re-encrypted in batches, each its own short transaction.
    """
    settings, path, cipher = _file_cipher(config, database_url, key_file)
    old = cipher.ring
    with opened_store(settings, cipher) as store:
        new = old.with_new_primary()
        write_key_file(path, new)
        cipher.refresh()
        console.print(f"key file {path}: new primary key {new.primary}")
        counts = _reseal_passes(store, cipher, batch_size)
        remaining = _in_use(store, [k for k in new.keys if k != new.primary])
        _audit(
            store,
            "keys.rotate",
            new.primary,
            before={"primary": old.primary, "keys": _key_ids(old)},
            after={
                "primary": new.primary,
                "keys": _key_ids(new),
                "resealed": dict(counts),
                "remaining": remaining,
            },
        )
    _report(counts, remaining)


@app.command(name="reseal")
def reseal_command(
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
    key_file: KeyFileOpt = None,
    batch_size: BatchOpt = BATCH_SIZE,
) -> None:
    """Re-encrypt every value not under the primary key, without a new key.

    Finishes an interrupted rotation, and encrypts data stored before encryption was on.
    """
    settings, _path, cipher = _file_cipher(config, database_url, key_file)
    ring = cipher.ring
    with opened_store(settings, cipher) as store:
        counts = _reseal_passes(store, cipher, batch_size)
        remaining = _in_use(store, [k for k in ring.keys if k != ring.primary])
        after: JsonValue = {"resealed": dict(counts), "remaining": remaining}
        _audit(store, "keys.reseal", ring.primary, before=None, after=after)
    _report(counts, remaining)


@app.command()
def retire(
    key_id: Annotated[str, typer.Argument(help="The old key to remove from the key file.")],
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
    key_file: KeyFileOpt = None,
) -> None:
    """Remove an old key from the key file, once no stored value uses it."""
    settings, path, cipher = _file_cipher(config, database_url, key_file)
    ring = cipher.ring
    try:
        smaller = ring.without(key_id)
    except CallbridgeError as exc:
        raise fail(exc.message) from None
    with opened_store(settings, cipher) as store:
        used = key_usage(store.engine, [key_id])[key_id]
        if used:
            raise fail(
                f"key {key_id} still seals {used} stored value(s); run `callbridge keys reseal`"
                " and try again"
            )
        write_key_file(path, smaller)
        after: JsonValue = {"primary": smaller.primary, "keys": _key_ids(smaller)}
        _audit(store, "keys.retire", key_id, before={"keys": _key_ids(ring)}, after=after)
    out.print(f"retired key {key_id}; the key file keeps {', '.join(sorted(smaller.keys))}")


@app.command()
def status(
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
    key_file: KeyFileOpt = None,
) -> None:
    """List the keys and how many stored values each one seals."""
    settings, path, cipher = _file_cipher(config, database_url, key_file)
    ring = cipher.ring
    with opened_store(settings, cipher) as store:
        usage = key_usage(store.engine, sorted(ring.keys))
    out.print(f"key file {path}")
    for kid in sorted(ring.keys):
        mark = " (primary)" if kid == ring.primary else ""
        out.print(f"  {kid}{mark}: {usage[kid]} value(s)")


def _file_cipher(
    config: Path | None, database_url: str | None, key_file: Path | None
) -> tuple[Settings, Path, FieldCipher]:
    settings = settings_for(config, database_url, key_file)
    if settings.keys is not None:
        raise fail(
            "keys come from CALLBRIDGE_KEYS: these commands edit a key file; move the keys into"
            " one (key_file) to rotate them"
        )
    existing_database(settings)
    path = key_file_of(settings)
    if not path.is_file():
        raise fail(f"no key file at {path}")
    try:
        return settings, path, FieldCipher.from_key_file(path, settings.default_country)
    except CallbridgeError as exc:
        raise fail(exc.message) from None


def _reseal_passes(store: SqlStore, cipher: FieldCipher, batch_size: int) -> dict[str, int]:
    totals: dict[str, int] = {}
    for _ in range(MAX_PASSES):
        counts = reseal(
            store.engine,
            cipher,
            batch_size=batch_size,
            progress=lambda table, scanned, changed: console.print(
                f"  {table}: {scanned} row(s) scanned, {changed} re-encrypted"
            ),
        )
        for table, n in counts.items():
            totals[table] = totals.get(table, 0) + n
        if not any(counts.values()):
            break
    return totals


def _key_ids(ring: Keyring) -> list[JsonValue]:
    return [kid for kid in sorted(ring.keys)]


def _in_use(store: SqlStore, key_ids: list[str]) -> int:
    return sum(key_usage(store.engine, key_ids).values()) if key_ids else 0


def _audit(
    store: SqlStore, action: str, object_id: str, before: JsonValue, after: JsonValue
) -> None:
    record = AuditRecord(time.time(), "cli", action, "keyring", object_id, "cli", before, after)
    store.commit(Changes(audit=[record]))


def _report(counts: dict[str, int], remaining: int) -> None:
    done = ", ".join(f"{table}: {n}" for table, n in counts.items())
    out.print(f"re-encrypted rows: {done}")
    if remaining:
        out.print(
            f"{remaining} value(s) still under old keys (written meanwhile); "
            "run `callbridge keys reseal` before retiring a key"
        )
    else:
        out.print("no value uses an old key any more: `callbridge keys retire KEY_ID` may drop it")
