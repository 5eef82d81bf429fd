"""Scenario files: what they accept, and errors that name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbridge.sim.distributions import read_samples
from callbridge.sim.scenario import (
    ScenarioError,
    clock_seconds,
    duration_seconds,
    load_scenario,
    parse_scenario,
)

EXAMPLES = sorted(Path(__file__).parents[3].joinpath("examples", "scenarios").glob("*.yaml"))

BASE = """name: t
duration: 1h
queues:
  - {id: q, name: Q}
arrivals:
  - queue: q
    calls_per_hour: 60
    handle_time: {distribution: exponential, mean_s: 100}
agents:
  - {name: a, count: 2}
"""


def test_every_shipped_example_is_valid() -> None:
    assert len(EXAMPLES) >= 4
    for path in EXAMPLES:
        scenario = load_scenario(path)
        assert scenario.end_s > scenario.begin_s


def test_times_of_day_and_durations() -> None:
    assert clock_seconds("08:30") == 8.5 * 3600
    assert clock_seconds("23:59:30") == 86_370
    assert clock_seconds(600) == 600
    assert duration_seconds("15m") == 900
    assert duration_seconds("8h") == 28_800
    assert duration_seconds("90s") == 90
    with pytest.raises(ValueError, match="time of day"):
        clock_seconds("8.30")
    with pytest.raises(ValueError, match="duration"):
        duration_seconds("forever")


def test_the_queue_is_the_servers_own_format() -> None:
    scenario = parse_scenario(
        BASE.replace(
            "{id: q, name: Q}",
            "{id: q, name: Q, strategy: most_skilled, requirements: [{skill: fr, "
            "min_proficiency: 3}], max_wait_s: 60, overflow: {action: voicemail}}",
        )
    )
    queue = scenario.queues[0].to_domain("q")
    assert queue.requirements[0].min_proficiency == 3
    assert queue.max_wait_s == 60


@pytest.mark.parametrize(
    ("change", "line", "where", "says"),
    [
        (("count: 2", "count: 0"), 10, "agents.0.count", "greater than or equal to 1"),
        (("mean_s: 100", "sd_s: 100"), 8, "arrivals.0.handle_time", "needs mean_s"),
        (("queue: q", "queue: nope"), 6, "arrivals.0.queue", "no queue 'nope' (queues: q)"),
        (
            ("{name: a, count: 2}", "{name: a, count: 2}\n  - {name: a, count: 1}"),
            11,
            "agents.1.name",
            "twice",
        ),
        (
            ("calls_per_hour: 60", "calls_per_hour: -1"),
            7,
            "arrivals.0.calls_per_hour",
            "greater than or equal to 0",
        ),
        (("duration: 1h", "duration: soon"), 2, "duration", "not a duration"),
        (("{id: q, name: Q}", "{id: q, name: Q, colour: red}"), 4, "queues.0.colour", "Extra"),
        (("exponential, mean_s", "poisson, mean_s"), 8, "arrivals.0.handle_time.distribution", ""),
    ],
)
def test_a_mistake_is_named_with_its_line(
    change: tuple[str, str], line: int, where: str, says: str
) -> None:
    text = BASE.replace(*change)
    assert text != BASE
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "day.yaml")
    assert err.value.message.startswith(f"day.yaml line {line}, {where}:"), err.value.message
    assert says in err.value.message


def test_broken_yaml_and_wrong_shapes() -> None:
    with pytest.raises(ScenarioError, match=r"day.yaml line 3: not valid YAML"):
        parse_scenario("name: t\nqueues:\n  - [unclosed\n", "day.yaml")
    with pytest.raises(ScenarioError, match="a scenario is a YAML mapping"):
        parse_scenario("- just a list\n", "day.yaml")
    with pytest.raises(ScenarioError, match="warmup must be shorter"):
        parse_scenario(BASE.replace("duration: 1h", "duration: 1h\nwarmup: 2h"))
    with pytest.raises(ScenarioError, match="either calls_per_hour or profile"):
        parse_scenario(
            BASE.replace(
                "calls_per_hour: 60",
                "profile: [{start: '08:00', calls_per_hour: 5}]\n    calls_per_hour: 60",
            )
        )
    with pytest.raises(ScenarioError, match="time order"):
        parse_scenario(
            BASE.replace(
                "calls_per_hour: 60",
                "profile: [{start: '09:00', calls_per_hour: 5},"
                " {start: '08:00', calls_per_hour: 5}]",
            )
        )
    with pytest.raises(ScenarioError, match="a shift ends after it starts"):
        parse_scenario(
            BASE.replace("count: 2}", "count: 2, shifts: [{start: '10:00', end: '09:00'}]}")
        )


def test_empirical_handle_times_from_a_csv(tmp_path: Path) -> None:
    (tmp_path / "aht.csv").write_text("call,talk_s\n1,120\n2,240.5\n\n3,60\n", encoding="utf-8")
    assert read_samples(tmp_path / "aht.csv", "talk_s").tolist() == [120, 240.5, 60]
    scenario_file = tmp_path / "s.yaml"
    scenario_file.write_text(
        BASE.replace(
            "{distribution: exponential, mean_s: 100}",
            "{distribution: empirical, file: aht.csv, column: talk_s}",
        ),
        encoding="utf-8",
    )
    scenario = load_scenario(scenario_file)
    dist = scenario.arrivals[0].handle_time.build(tmp_path)
    assert dist.mean_s == pytest.approx((120 + 240.5 + 60) / 3)


@pytest.mark.parametrize(
    ("content", "column", "says"),
    [
        ("talk_s\n120\nabc\n", None, "line 3: 'abc' is not a number"),
        ("talk_s\n120\n-4\n", None, "line 3: '-4' is not a duration"),
        ("a,b\n1,2\n", None, "has 2 columns; say which with `column`"),
        ("a,b\n1,2\n", "c", "no column 'c' (it has a, b)"),
        ("talk_s\n", None, "needs a header line and at least one value"),
    ],
)
def test_a_bad_csv_is_named_with_its_line(
    tmp_path: Path, content: str, column: str | None, says: str
) -> None:
    path = tmp_path / "aht.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=r"aht\.csv") as err:
        read_samples(path, column)
    assert says in str(err.value)
