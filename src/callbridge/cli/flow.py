"""`callbridge flow`: check IVR flow files, and walk one with a simulated caller."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from callbridge.domain.ivr import (
    Caller,
    FlowError,
    Found,
    Route,
    ScriptedCaller,
    Terminal,
    WaitPolicy,
    Walk,
    keys_of,
    walk_through,
)
from callbridge.services.flows import flow_files, load_book

app = typer.Typer(help="IVR flows: check them, walk them.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, highlight=False)


def _error(message: str) -> None:
    console.print(f"[red]error:[/red] {escape(message)}", highlight=False)


@app.command("check")
def check(
    files: Annotated[
        list[Path], typer.Argument(exists=True, help="Flow files, or directories of them.")
    ],
) -> None:
    """Validate flows and every flow they transfer to; exit 1 if any is wrong."""
    failed = False
    for path in flow_files(files):
        try:
            _, named = load_book([path])
        except FlowError as exc:
            _error(exc.message)
            failed = True
            continue
        for flow in named:
            shared = sorted({r.hours for r in flow.hours_refs})
            uses = f"; uses the center's business hours {', '.join(shared)}" if shared else ""
            out.print(f"ok: {flow.name} ({len(flow.nodes)} nodes){uses}")
        if any(flow.hours_refs for flow in named):
            out.print("  (business hours are checked against the database when the server starts)")
    if failed:
        raise typer.Exit(code=1)


@app.command("run")
def run(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The flow file.")],
    digits: Annotated[
        str,
        typer.Option(
            help="Keys the caller presses, in order, e.g. 1,2,#; an empty item (1,,2) is a "
            "pause: silence for one gather."
        ),
    ] = "",
    ani: Annotated[str, typer.Option(help="The calling number.")] = "+15555550100",
    dnis: Annotated[
        str | None, typer.Option(help="The number called (default: the flow's first).")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(help="When the call comes, ISO 8601 with an offset (default: now)."),
    ] = None,
    crm: Annotated[
        list[str] | None,
        typer.Option(
            help="field=value of the record a CRM dip finds (repeat it; name= and type= set "
            "its name and type). None: the dip finds nothing."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Walk a flow with a simulated caller and print the path taken."""
    try:
        when = datetime.now(UTC) if at is None else datetime.fromisoformat(at)
    except ValueError:
        _error(f"--at {at}: not an ISO 8601 time")
        raise typer.Exit(code=2) from None
    if when.tzinfo is None:
        _error(f"--at {at}: give an offset, e.g. {at}+00:00")
        raise typer.Exit(code=2)
    try:
        record = _record(crm or [])
    except ValueError as exc:
        _error(str(exc))
        raise typer.Exit(code=2) from None
    try:
        book, named = load_book([file])
    except FlowError as exc:
        _error(exc.message)
        raise typer.Exit(code=1) from None
    flow = named[0]
    called = dnis if dnis is not None else (flow.numbers[0] if flow.numbers else "")
    walk = Walk(book, flow.name, Caller(ani, called))
    outcome = walk_through(walk, ScriptedCaller(keys_of(digits), record), when)
    if as_json:
        data = {
            "path": [dataclasses.asdict(step) for step in walk.path],
            "outcome": _outcome(outcome),
            "variables": walk.variables,
        }
        out.print_json(json.dumps(data))
        return
    # plain lines rather than a table: they do not wrap mid-note and they grep well
    for i, step in enumerate(walk.path, 1):
        out.print(Text(f"{i:3d}. {step.flow}/{step.node}: {step.note}"))
    out.print(Text(f"outcome: {_summary(outcome)}"))


def _record(items: list[str]) -> Found | None:
    if not items:
        return None
    fields: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--crm {item}: write field=value")
        fields[key] = value
    name = fields.pop("name", "Demo Customer")
    record_type = fields.pop("type", "Contact")
    return Found(name, record_type, fields)


def _outcome(outcome: Terminal) -> dict[str, object]:
    return {"kind": type(outcome).__name__.lower(), **dataclasses.asdict(outcome)}


def _summary(outcome: Terminal) -> str:
    data = _outcome(outcome)
    kind = data.pop("kind")
    if isinstance(outcome, Route):
        # only what differs from silent music on hold
        default = dataclasses.asdict(WaitPolicy())
        data["wait"] = {
            k: v for k, v in dataclasses.asdict(outcome.wait).items() if default[k] != v
        }
    shown = ", ".join(f"{k}={v}" for k, v in data.items() if v not in (None, {}, ()))
    return f"{kind} {shown}"
