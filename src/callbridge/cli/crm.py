"""`callbridge crm`: check a field mapping or screen-pop rules file before using it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from callbridge.adapters.store.outbox import activity_from_json, activity_json
from callbridge.services.crm_sync.mapping import SAMPLE_ACTIVITY as SAMPLE
from callbridge.services.crm_sync.mapping import MappingError, load_mapping
from callbridge.services.crm_sync.rules_file import load_rules

app = typer.Typer(help="The CRM integration: mappings and screen-pop rules.", no_args_is_help=True)
mapping_app = typer.Typer(help="Field mapping files.", no_args_is_help=True)
app.add_typer(mapping_app, name="mapping")
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, highlight=False)


@mapping_app.command("check")
def check_mapping(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The mapping YAML.")],
    sample: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="An activity as JSON to map instead."),
    ] = None,
) -> None:
    """Validate a mapping and show what it makes of a sample interaction (a dry run)."""
    try:
        mapping = load_mapping(file)
        activity = SAMPLE
        if sample is not None:
            data = {**activity_json(SAMPLE), **json.loads(sample.read_text(encoding="utf-8"))}
            activity = activity_from_json(data)
    except MappingError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(code=1) from None
    except (ValueError, KeyError, TypeError) as exc:
        console.print(f"[red]error:[/red] {sample}: not a usable sample activity: {exc}")
        raise typer.Exit(code=1) from None
    out.print(f"{file}: valid; {mapping.object} fields for interaction {activity.external_id}:")
    out.print(json.dumps(mapping.apply(activity), indent=2, ensure_ascii=False))


@app.command("rules")
def check_rules(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The rules YAML.")],
) -> None:
    """Validate screen-pop rules and print the lookup order they give."""
    try:
        rules = load_rules(file)
    except MappingError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(code=1) from None
    out.print(f"{file}: valid")
    for direction, keys in rules.default.items():
        out.print(f"  default {direction.value}: {', '.join(k.value for k in keys)}")
    for queue, orders in rules.queues.items():
        for direction, keys in orders.items():
            out.print(f"  queue {queue} {direction.value}: {', '.join(k.value for k in keys)}")
