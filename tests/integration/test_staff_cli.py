"""`callbridge staff`: JSON and table output, solving with shrinkage, clear errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from callbridge.cli.main import app
from callbridge.domain.staffing import Targets, Workload, performance, solve

REQUIRED_KEYS = {
    "model",
    "agents",
    "p_wait",
    "p_abandon",
    "asa_s",
    "mean_wait_s",
    "service_level",
    "service_level_virtual",
    "occupancy",
}
runner = CliRunner()


def staff(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["staff", *args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_erlang_c_json_is_the_domain_answer() -> None:
    data = staff("--calls-per-hour", "200", "--aht", "180", "--agents", "14")
    assert data.keys() >= REQUIRED_KEYS
    expected = performance(Workload(200, 180), 14, 20).as_dict()
    assert {key: data[key] for key in expected} == expected
    assert data["model"] == "erlang_c"
    assert data["p_wait"] == pytest.approx(0.1741319, abs=1e-6)  # published C04


def test_patience_switches_to_erlang_a() -> None:
    data = staff("--calls-per-hour", "200", "--aht", "180", "--agents", "12", "--patience", "180")
    assert data.keys() >= REQUIRED_KEYS
    assert data["model"] == "erlang_a"
    assert data["p_abandon"] == pytest.approx(0.0530916, abs=1e-6)  # published A02
    assert data["service_level"] == pytest.approx(0.8023039, abs=1e-6)
    assert data["asa_s"] == pytest.approx(8.5287, abs=1e-3)


def test_solving_reports_the_scheduled_headcount() -> None:
    data = staff("--calls-per-hour", "200", "--aht", "180", "--shrinkage", "0.3")
    assert data["agents"] == 14 and data["scheduled_agents"] == 20 and data["shrinkage"] == 0.3
    assert data["binding"] == ["target_sl"]
    # 80 and 0.8, 30 and 0.3 mean the same
    same = staff(
        "--calls-per-hour", "200", "--aht", "180", "--target-sl", "80", "--shrinkage", "30"
    )
    assert same == data


def test_solving_with_every_target() -> None:
    args = ["--calls-per-hour", "900", "--aht", "240", "--patience", "120", "--sl-seconds", "30"]
    targets = ["--target-sl", "0.85", "--max-asa", "15", "--max-abandon", "0.03"]
    data = staff(*args, *targets, "--max-occupancy", "0.9", "--shrinkage", "0.35")
    wanted = Targets(
        service_level=0.85, sl_seconds=30, max_asa_s=15, max_abandon=0.03, max_occupancy=0.9
    )
    answer = solve(Workload(900, 240, 120), wanted, shrinkage=0.35)
    assert data["agents"] == answer.agents
    assert data["scheduled_agents"] == answer.scheduled_agents
    assert data["service_level"] == answer.performance.service_level


def test_given_agents_and_targets_says_which_are_missed() -> None:
    data = staff("--calls-per-hour", "200", "--aht", "180", "--agents", "12", "--target-sl", "0.8")
    assert data["missed_targets"] == ["target_sl"]


def test_table_in_the_terminal() -> None:
    result = runner.invoke(
        app, ["staff", "--calls-per-hour", "200", "--aht", "180", "--patience", "180"]
    )
    assert result.exit_code == 0, result.output
    assert "Erlang A" in result.stdout
    for label in ("agents on the phones", "P(abandon)", "occupancy", "limited by"):
        assert label in result.stdout
    assert not result.stdout.lstrip().startswith("{")


@pytest.mark.parametrize(
    ("args", "option", "hint"),
    [
        (["--calls-per-hour", "-5", "--aht", "180"], "--calls-per-hour", "at least 0"),
        (["--calls-per-hour", "200", "--aht", "0"], "--aht", "greater than 0"),
        (["--calls-per-hour", "200", "--aht", "180", "--agents", "10"], "--agents", "at least 11"),
        (["--calls-per-hour", "200", "--aht", "180", "--patience", "-1"], "--patience", "than 0"),
        (["--calls-per-hour", "200", "--aht", "180", "--shrinkage", "1"], "--shrinkage", "below 1"),
        (["--calls-per-hour", "200", "--aht", "180", "--target-sl", "100"], "--target-sl", "100"),
        (["--calls-per-hour", "200", "--aht", "180", "--sl-seconds", "-3"], "--sl-seconds", "0"),
        (["--calls-per-hour", "200", "--aht", "180", "--max-asa", "0"], "--max-asa", "than 0"),
    ],
)
def test_impossible_input_exits_2_naming_the_option(
    args: list[str], option: str, hint: str
) -> None:
    result = runner.invoke(app, ["staff", *args, "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"error: {option}:" in result.stderr
    assert hint in result.stderr
