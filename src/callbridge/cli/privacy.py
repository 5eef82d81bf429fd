"""`callbridge privacy export|erase ADDRESS`: privacy requests for a phone number or email."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from callbridge.app import SystemClock, open_settings_cipher, privacy_requests
from callbridge.cli.stores import ConfigOpt, DatabaseOpt, fail, opened_store, out, settings_for
from callbridge.domain.errors import CallbridgeError
from callbridge.services.security.crypto import FieldCipher
from callbridge.services.security.privacy import Requester
from callbridge.settings import Settings

app = typer.Typer(help="Privacy requests: export or erase a person's data.", no_args_is_help=True)

AddressArg = Annotated[str, typer.Argument(help="Phone number (any formatting) or email address.")]
CLI = Requester("cli", "cli")


@app.command()
def export(
    address: AddressArg,
    out_file: Annotated[Path, typer.Option("--out", help="JSON file to write (mode 0600).")],
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Write everything held about ADDRESS to one JSON file (audited)."""
    if out_file.exists():
        raise fail(f"{out_file} already exists")
    settings = settings_for(config, database_url)
    with opened_store(settings, _cipher(settings)) as store:
        document = privacy_requests(store, SystemClock()).export(address, CLI)
    # 0600 from the start: the file holds the person's data in plain text
    fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2, ensure_ascii=False)
        f.write("\n")
    holders = document["holders"]
    counts = (
        ", ".join(f"{k}: {len(v) if isinstance(v, list) else 1}" for k, v in holders.items())
        if isinstance(holders, dict)
        else ""
    )
    out.print(f"wrote {out_file} ({counts})")


@app.command()
def erase(
    address: AddressArg,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Erase every personal field about ADDRESS (audited; irreversible).

    Interactions and their event log entries get an erasure marker in place of addresses,
    numbers, notes and attached data.
    """
    if not yes:
        raise fail("erasure cannot be undone: add --yes to confirm")
    settings = settings_for(config, database_url)
    with opened_store(settings, _cipher(settings)) as store:
        done = privacy_requests(store, SystemClock()).erase(address, CLI)
    counts = ", ".join(f"{k}: {n}" for k, n in done.erased.items())
    out.print(f"erased {done.total} record(s) ({counts}); audited as subject {done.subject}")


def _cipher(settings: Settings) -> FieldCipher:
    try:
        return open_settings_cipher(settings)
    except (CallbridgeError, ValueError) as exc:
        raise fail(str(exc)) from None
