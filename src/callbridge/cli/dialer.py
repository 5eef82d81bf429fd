"""`callbridge dialer report CAMPAIGN` prints the compliance report; `dialer import-dnc FILE`
keeps a national registry download as the copy every dial is screened against.

Both open the configured store (with its cipher) next to a running server, like `privacy`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from callbridge.adapters.store.campaigns import SqlCampaignStore
from callbridge.adapters.store.sql import SqlStore
from callbridge.app import SystemClock, open_settings_cipher
from callbridge.cli.stores import ConfigOpt, DatabaseOpt, fail, opened_store, out, settings_for
from callbridge.domain.dialer.report import ComplianceReport, report_csv, report_json
from callbridge.domain.errors import CallbridgeError
from callbridge.services.campaigns import Campaigns
from callbridge.services.security.accounts import Actor
from callbridge.services.security.crypto import FieldCipher
from callbridge.settings import Settings

app = typer.Typer(help="Outbound campaigns: compliance report, registry import.")
CLI = Actor("cli", "cli")


def _cipher(settings: Settings) -> FieldCipher:
    try:
        return open_settings_cipher(settings)
    except (CallbridgeError, ValueError) as exc:
        raise fail(str(exc)) from None


def _service(store: SqlStore, settings: Settings) -> Campaigns:
    return Campaigns(
        SqlCampaignStore(store.engine, store.cipher), SystemClock(), settings.default_country
    )


@app.command()
def report(
    campaign: Annotated[str, typer.Argument(help="The campaign's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV instead of a table.")] = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Per regulatory window: live answers, abandoned calls, the rate against the cap, and
    each abandoned call (number masked to its last 4 digits) with the message it heard."""
    if as_json and as_csv:
        raise fail("--json or --csv, not both")
    settings = settings_for(config, database_url)
    with opened_store(settings, _cipher(settings)) as store:
        result = _service(store, settings).report(campaign)
    if as_json:
        out.print(json.dumps(report_json(result), indent=2), markup=False)
    elif as_csv:
        out.print(report_csv(result), end="", markup=False)
    else:
        _print(result)


def _print(result: ComplianceReport) -> None:
    verdict = "within" if result.within_cap else "[red]ABOVE[/red]"
    out.print(
        f"{result.campaign_id} ({result.name}), {result.profile} profile: "
        f"{result.abandoned:g} abandoned of {result.live:g} live answers ({result.rate:.2%}), "
        f"worst window {result.worst_rate:.2%}, {verdict} the {result.cap:.0%} cap"
    )
    windows = Table("window", "from", "to", "dialled", "live", "abandoned", "rate")
    windows.columns[0].no_wrap = True
    for w in result.windows:
        rate = f"{w.rate:.2%}" if w.within_cap else f"[red]{w.rate:.2%}[/red]"
        windows.add_row(
            w.key,
            f"{w.start:%Y-%m-%d}",
            f"{w.end:%Y-%m-%d}",
            str(w.dialled),
            f"{w.live:g}",
            f"{w.abandoned:g}",
            rate,
        )
    out.print(windows)
    for w in result.windows:
        if not w.abandoned_calls:
            continue
        calls = Table(
            "call", "number", "dialled", "answered", "message", title=f"abandoned: {w.key}"
        )
        for column in calls.columns[:3]:
            column.no_wrap = True
        for c in w.abandoned_calls:
            calls.add_row(
                c.call_id,
                c.number,
                f"{c.dialled_at:%Y-%m-%d %H:%M:%S}",
                "" if c.answered_at is None else f"{c.answered_at:%H:%M:%S}",
                c.message or "",
            )
        out.print(calls)


@app.command("import-dnc")
def import_dnc(
    file: Annotated[
        Path, typer.Argument(help="The registry download.", exists=True, dir_okay=False)
    ],
    obtained: Annotated[
        str,
        typer.Option(
            "--obtained", help="When the copy was downloaded: YYYY-MM-DD (UTC) or ISO 8601."
        ),
    ],
    region: Annotated[
        str | None, typer.Option("--region", help="Region of national numbers (default: settings).")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="The registry's name.")] = "national registry",
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Keep a registry download (one number per line, or "area code,number") as the copy
    dials are screened against (audited). Campaigns stop dialling when it gets too old."""
    when = _obtained(obtained)
    settings = settings_for(config, database_url)
    try:
        with (
            file.open(encoding="utf-8", errors="replace") as lines,
            opened_store(settings, _cipher(settings)) as store,
        ):
            loaded = _service(store, settings).import_registry(lines, when, CLI, region, name)
    except OSError as exc:
        raise fail(f"{file}: cannot be read: {exc.strerror}") from None
    copy = loaded.imported.copy
    out.print(
        f"imported {len(copy.numbers)} number(s) from {file} as copy {loaded.copy_id} "
        f"({copy.name}, obtained {copy.obtained_at:%Y-%m-%d %H:%M %Z}); "
        f"{loaded.imported.rejected} line(s) were not numbers"
    )
    for line, text in loaded.imported.examples:
        out.print(f"  line {line}: {text}", markup=False)


def _obtained(text: str) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        at = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--obtained: {text!r} is not a date like 2026-11-01") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
