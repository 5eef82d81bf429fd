"""`callbridge audit verify` checks the audit log's hash chain; `audit list` prints entries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine, inspect

from callbridge.adapters.store.audit import AuditFilter, AuditLog
from callbridge.adapters.store.engine import make_engine
from callbridge.domain.errors import CallbridgeError
from callbridge.services.security.audit import AuditEntry, timestamp
from callbridge.settings import SettingsError, load_settings

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, highlight=False)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file.", exists=True, dir_okay=False)
]
DatabaseOpt = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL; default: from settings.")
]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


@contextmanager
def _audit_log(config: Path | None, database_url: str | None) -> Iterator[AuditLog]:
    """The audit log of the configured database, which must exist and be migrated: reading
    the log never creates or changes a database."""
    try:
        settings = load_settings(config, database_url=database_url)
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    try:
        engine = make_engine(settings.database_url)
    except CallbridgeError as exc:
        raise _fail(exc.message) from None
    try:
        _check_database(engine)
        yield AuditLog(engine)
    except CallbridgeError as exc:
        raise _fail(exc.message) from None
    finally:
        engine.dispose()


def _check_database(engine: Engine) -> None:
    url = engine.url
    sqlite_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if sqlite_file and not Path(str(url.database)).is_file():
        raise _fail(f"no database at {url.database}")
    try:
        has_log = inspect(engine).has_table("audit_log")
    except Exception as exc:
        raise _fail(f"cannot open the database: {type(exc).__name__}: {exc}") from None
    if not has_log:
        raise _fail("the database has no audit log (run `callbridge serve` once to migrate it)")


@app.command()
def verify(config: ConfigOpt = None, database_url: DatabaseOpt = None) -> None:
    """Recompute the hash chain; exit 1 naming the first entry edited or deleted."""
    with _audit_log(config, database_url) as audit_log:
        result = audit_log.verify()
    if result.ok:
        out.print(f"{result.count} entries, chain intact (head {result.head_hash})")
        return
    console.print(f"[red]audit log broken at entry {result.bad_id}:[/red] {result.problem}")
    console.print(f"{result.count} entries verified before it.")
    raise typer.Exit(code=1)


@app.command("list")
def list_entries(
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many entries.")] = 50,
    after_id: Annotated[
        int | None,
        typer.Option("--after-id", min=0, help="Entries after this id (default: the newest)."),
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor, e.g. user:42.")] = None,
    object_type: Annotated[str | None, typer.Option(help="Only this kind of object.")] = None,
) -> None:
    """Print entries oldest first: the newest `--limit`, or those after `--after-id`."""
    filters = AuditFilter(actor=actor, object_type=object_type)
    with _audit_log(config, database_url) as audit_log:
        if after_id is None:
            entries = audit_log.read(0, limit, filters, newest=True)
        else:
            entries = audit_log.read(after_id, limit, filters)
    for entry in entries:
        out.print(_line(entry))


def _line(entry: AuditEntry) -> str:
    r = entry.record
    change = json.dumps({"before": r.before, "after": r.after}, sort_keys=True)
    return (
        f"{entry.id:>6}  {timestamp(r.at)}  {r.actor}  {r.action}  "
        f"{r.object_type}:{r.object_id}  from {r.source}  {change}"
    )
