"""`callbridge simulate` as a planner runs it: a table, JSON, a plot, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from callbridge.cli.main import app

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"
runner = CliRunner()


def test_json_has_the_kpis_with_confidence_intervals() -> None:
    result = runner.invoke(
        app, ["simulate", str(EXAMPLES / "impatient.yaml"), "--json", "--replications", "3"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["scenario"] == "impatient" and data["replications"] == 3
    whole = data["overall"]["*"]
    for name in ("p_wait", "p_abandon", "asa_s", "service_level", "occupancy", "mean_wait_s"):
        assert whole[name]["mean"] >= 0 and whole[name]["ci95"] is not None, name
    assert whole["p_abandon"]["mean"] > 0
    assert data["counted_calls"] < data["simulated_calls"]  # the warm-up is not counted
    starts = {row["start"] for row in data["intervals"]}
    assert min(starts) == 8.5 * 3600  # after the 30-minute warm-up from 08:00


def test_a_table_and_a_plot(tmp_path: Path) -> None:
    plot = tmp_path / "day.png"
    result = runner.invoke(
        app,
        ["simulate", str(EXAMPLES / "lunch-peak.yaml"), "--plot", str(plot), "--replications", "2"],
    )
    assert result.exit_code == 0, result.output
    assert "Service level" in result.stdout and "Occupancy" in result.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot.stat().st_size > 10_000


def test_a_bad_scenario_is_named_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (EXAMPLES / "classic.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("count: 14", "count: -14"), encoding="utf-8")
    result = runner.invoke(app, ["simulate", str(bad)])
    assert result.exit_code == 2
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "count: 14" in t)
    assert f"bad.yaml line {line}, agents.0.count" in result.output
