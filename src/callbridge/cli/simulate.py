"""`callbridge simulate`: run a scenario through the real engine on a virtual clock."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from callbridge.domain.reporting.kpis import ALL_QUEUES
from callbridge.sim.results import Estimate, SimulationResult, simulate
from callbridge.sim.scenario import ScenarioError, load_scenario

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True, highlight=False)

ROWS = (
    ("offered", "Offered (counted)", 1.0, "{:,.1f}"),
    ("answered", "Answered", 1.0, "{:,.1f}"),
    ("abandoned", "Abandoned", 1.0, "{:,.1f}"),
    ("service_level", "Service level", 100.0, "{:.2f} %"),
    ("p_wait", "P(wait)", 100.0, "{:.2f} %"),
    ("p_abandon", "P(abandon)", 100.0, "{:.2f} %"),
    ("asa_s", "ASA", 1.0, "{:.2f} s"),
    ("mean_wait_s", "Mean wait (all callers)", 1.0, "{:.2f} s"),
    ("aht_s", "AHT", 1.0, "{:.1f} s"),
    ("occupancy", "Occupancy", 100.0, "{:.2f} %"),
    ("avg_waiting", "Waiting in line (mean)", 1.0, "{:.2f}"),
)


def _cell(est: Estimate, scale: float, fmt: str) -> str:
    if est.mean is None:
        return "-"
    text = fmt.format(est.mean * scale)
    if not math.isnan(est.half_width):
        text += f" ± {fmt.format(est.half_width * scale).split(' ')[0]}"
    return text


def _table(result: SimulationResult) -> Table:
    queues = list(result.overall)
    table = Table(
        title=f"{result.scenario.name}: {len(result.replications)} replication(s), "
        "mean ± 95 % confidence interval"
    )
    table.add_column("KPI")
    for queue in queues:
        table.add_column("all queues" if queue == ALL_QUEUES else queue, justify="right")
    for name, label, scale, fmt in ROWS:
        table.add_row(label, *(_cell(result.overall[q][name], scale, fmt) for q in queues))
    return table


def simulate_command(
    scenario: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="The scenario YAML file.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", dir_okay=False, help="Write a plot of the day to this PNG file."),
    ] = None,
    replications: Annotated[
        int | None,
        typer.Option(min=1, max=1000, help="Run this many replications instead of the file's."),
    ] = None,
) -> None:
    """Simulate a scenario: the real routing engine, simulated customers and agents."""
    try:
        parsed = load_scenario(scenario)
    except ScenarioError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(code=2) from None
    count = replications or parsed.replications
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=as_json,
    ) as bar:
        task = bar.add_task(f"simulating {parsed.name}", total=count)

        def advance(index: int, share: float) -> None:
            bar.update(task, completed=index + share)

        try:
            result = simulate(parsed, scenario.parent, advance, count)
        except ValueError as exc:  # an empirical CSV that cannot be read, say
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=2) from None
    if plot is not None:
        from callbridge.sim.plot import plot_day  # matplotlib loads only when asked for

        plot_day(result, plot)
        console.print(f"plot written to {plot}")
    if as_json:
        out.print(json.dumps(result.json(), indent=2))
        return
    out.print(_table(result))
    still_open = sum(r.report.tallies[ALL_QUEUES].open for r in result.replications)
    if still_open:
        console.print(
            f"[yellow]note:[/yellow] {still_open} counted arrival(s) never resolved "
            "(no agent could take them and nobody gave up); they are left out of the rates"
        )
    console.print(
        f"{result.arrivals:,} simulated calls in {result.wall_s:.2f} s "
        f"({result.calls_per_s:,.0f} calls/s)"
    )
