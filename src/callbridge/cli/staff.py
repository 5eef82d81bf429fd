"""`callbridge staff`: how a queue performs with N agents, or how many agents it needs.

Erlang C by default; `--patience` switches to Erlang A (callers hang up). Without `--agents`
it solves for the fewest agents meeting the targets (80 % in `--sl-seconds` when none is given)
and adds the headcount to schedule after `--shrinkage`.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from callbridge.domain.errors import InvalidInput
from callbridge.domain.staffing import (
    Model,
    Performance,
    Staffing,
    Targets,
    Workload,
    performance,
    scheduled_headcount,
    solve,
)

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, highlight=False)

DEFAULT_TARGET_SL = 0.8
# the domain names what is wrong by field; the user knows the option
OPTIONS = {
    "calls_per_hour": "--calls-per-hour",
    "arrival_rate": "--calls-per-hour",
    "load": "--calls-per-hour",
    "aht": "--aht",
    "agents": "--agents",
    "patience": "--patience",
    "sl_seconds": "--sl-seconds",
    "target_sl": "--target-sl",
    "shrinkage": "--shrinkage",
    "max_asa": "--max-asa",
    "max_abandon": "--max-abandon",
    "max_occupancy": "--max-occupancy",
}
TARGET_TEXT = {
    "target_sl": "service level",
    "max_asa": "max ASA",
    "max_abandon": "max abandonment",
    "max_occupancy": "max occupancy",
    "stability": "a stable queue (agents > load)",
}


def _fraction_help(what: str, example: float) -> str:
    return f"{what}, a fraction ({example:g}) or a percentage ({100 * example:g})."


def _fraction(value: float | None) -> float | None:
    """Planners type 80 as often as 0.8: a value above 1 is a percentage."""
    if value is None:
        return None
    return value / 100.0 if value > 1.0 else value


def staff(
    calls_per_hour: Annotated[
        float, typer.Option("--calls-per-hour", help="Calls offered per hour.")
    ],
    aht: Annotated[float, typer.Option("--aht", help="Average handle time, seconds.")],
    agents: Annotated[
        int | None, typer.Option("--agents", help="Agents on the phones; omit to solve.")
    ] = None,
    patience: Annotated[
        float | None,
        typer.Option("--patience", help="Mean patience, seconds: use Erlang A (abandonment)."),
    ] = None,
    sl_seconds: Annotated[
        float, typer.Option("--sl-seconds", help="Service level time t, seconds.")
    ] = 20.0,
    target_sl: Annotated[
        float | None,
        typer.Option(
            "--target-sl",
            help=_fraction_help("Calls answered within t over calls offered", 0.8)
            + " Default 80 % when no target is given.",
        ),
    ] = None,
    max_asa: Annotated[
        float | None, typer.Option("--max-asa", help="Max ASA of answered calls, seconds.")
    ] = None,
    max_abandon: Annotated[
        float | None, typer.Option("--max-abandon", help=_fraction_help("Max abandonment", 0.05))
    ] = None,
    max_occupancy: Annotated[
        float | None, typer.Option("--max-occupancy", help=_fraction_help("Max occupancy", 0.85))
    ] = None,
    shrinkage: Annotated[
        float,
        typer.Option("--shrinkage", help=_fraction_help("Paid time off the phones", 0.3)),
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Erlang C / Erlang A staffing: performance for --agents, or the fewest agents needed."""
    typed = {
        "target_sl": target_sl,
        "max_abandon": max_abandon,
        "max_occupancy": max_occupancy,
        "shrinkage": shrinkage,
    }
    shrink = _fraction(shrinkage) or 0.0
    asked = {
        "target_sl": _fraction(target_sl),
        "max_asa": max_asa,
        "max_abandon": _fraction(max_abandon),
        "max_occupancy": _fraction(max_occupancy),
    }
    try:
        workload = Workload(calls_per_hour, aht, patience)
        targets = _targets(asked, sl_seconds)
        report: dict[str, object]
        if agents is None:
            answer = solve(workload, targets or _default_targets(sl_seconds), shrink)
            perf = answer.performance
            report = _solved(answer)
        else:
            perf = performance(workload, agents, sl_seconds)
            report = dict(perf.as_dict())
            if shrink:
                report["scheduled_agents"] = scheduled_headcount(agents, shrink)
            if targets is not None:
                report["missed_targets"] = list(targets.missed(perf))
    except InvalidInput as exc:
        field = str(exc.details.get("field", ""))
        where = f"{OPTIONS[field]}: " if field in OPTIONS else ""
        given = typed.get(field)
        read_as = f" ({given:g} was read as {given:g} %)" if given is not None and given > 1 else ""
        console.print(f"[red]error:[/red] {escape(where + exc.message + read_as)}", highlight=False)
        raise typer.Exit(code=2) from None
    report |= {
        "calls_per_hour": calls_per_hour,
        "aht_s": aht,
        "patience_s": patience,
        "load_erlang": workload.load,
        "shrinkage": shrink,
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        out.print(_table(workload, perf, report, shrink))


def _targets(asked: dict[str, float | None], sl_seconds: float) -> Targets | None:
    """The targets given on the command line, or None if there are none."""
    if all(value is None for value in asked.values()):
        return None
    return Targets(
        service_level=asked["target_sl"],
        sl_seconds=sl_seconds,
        max_asa_s=asked["max_asa"],
        max_abandon=asked["max_abandon"],
        max_occupancy=asked["max_occupancy"],
    )


def _default_targets(sl_seconds: float) -> Targets:
    return Targets(service_level=DEFAULT_TARGET_SL, sl_seconds=sl_seconds)


def _solved(answer: Staffing) -> dict[str, object]:
    return answer.performance.as_dict() | {
        "scheduled_agents": answer.scheduled_agents,
        "first_guess": answer.first_guess,
        "binding": list(answer.binding),
    }


def _percent(value: float) -> str:
    return f"{100.0 * value:.2f} %"


def _table(
    workload: Workload, perf: Performance, report: dict[str, object], shrinkage: float
) -> Table:
    erlang_a = perf.model is Model.ERLANG_A
    title = (
        f"{'Erlang A' if erlang_a else 'Erlang C'}: {workload.calls_per_hour:g} calls/h, "
        f"AHT {workload.aht_s:g} s, load {workload.load:.2f} Erlang"
        + (f", patience {workload.patience_s:g} s" if workload.patience_s is not None else "")
    )
    t = perf.sl_seconds
    table = Table("measure", "value", title=title)
    table.add_row("agents on the phones", str(perf.agents))
    scheduled = report.get("scheduled_agents")
    if scheduled is not None:
        table.add_row(f"scheduled ({_percent(shrinkage)} shrinkage)", str(scheduled))
    table.add_row("P(wait)", _percent(perf.p_wait))
    if erlang_a:
        table.add_row("P(abandon)", _percent(perf.p_abandon))
    table.add_row("ASA, answered calls", f"{perf.asa_s:.2f} s")
    if erlang_a:
        table.add_row("mean wait, all callers", f"{perf.mean_wait_s:.2f} s")
    table.add_row(f"service level: answered within {t:g} s / offered", _percent(perf.service_level))
    if erlang_a:
        table.add_row(
            f"service level: wait would be ≤ {t:g} s", _percent(perf.service_level_virtual)
        )
        table.add_row(f"abandoned within {t:g} s", _percent(perf.p_abandon_within_t))
    table.add_row("occupancy", _percent(perf.occupancy))
    binding = report.get("binding")
    if isinstance(binding, list) and binding:
        table.add_row("limited by", ", ".join(TARGET_TEXT.get(str(b), str(b)) for b in binding))
    missed = report.get("missed_targets")
    if isinstance(missed, list):
        text = ", ".join(TARGET_TEXT.get(str(m), str(m)) for m in missed) or "none"
        table.add_row("targets missed", text)
    return table
