"""The simulator's output for fixed seeds, pinned: a faster engine must give the same days.

Each case runs one replication and checks the numbers it gave before the simulator was made
faster (issue 5): arrivals, events told, when the last call was done, the whole-center KPIs,
and a digest of every KPI of every interval and queue. A change that moves any of these by
one ulp changed what the engine does, not only how fast it does it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from sim_support import single_queue

from callbridge.domain.reporting.kpis import ALL_QUEUES, KpiReport
from callbridge.sim.results import simulate
from callbridge.sim.scenario import Scenario, load_scenario, parse_scenario
from callbridge.sim.simulation import Simulation

EXAMPLES = Path(__file__).parents[3] / "examples" / "scenarios"
KPI_NAMES = (
    "offered",
    "answered",
    "abandoned",
    "open",
    "service_level",
    "service_level_excl",
    "p_wait",
    "p_abandon",
    "asa_s",
    "mean_wait_s",
    "aht_s",
    "occupancy",
    "avg_waiting",
)

# Four queues with every routing strategy, escalation (relax, then a group), overflow to a
# queue and to a callback, chats three at a time, wrap-up, a ring time that now and then
# outlasts the offer, impatient callers, shifts that end with work in hand, a day profile.
RICH = """
name: golden-rich
seed: 17
start: "08:00"
duration: 3h
warmup: 30m
replications: 2
interval_s: 1800
ring_time: {distribution: exponential, mean_s: 1.5}
queues:
  - id: billing
    name: Billing
    requirements: [{skill: billing, min_proficiency: 5}]
    escalation:
      - {after_s: 30, action: relax, skill: billing, min_proficiency: 2}
      - {after_s: 90, action: add_group, group: backup}
    strategy: most_skilled
    offer_timeout_s: 8
    wrap_up: {duration_s: 20}
  - id: tech
    name: Tech
    requirements: [{skill: tech}]
    strategy: round_robin
    max_wait_s: 120
    overflow: {action: queue, target_queue: billing}
    wrap_up: {duration_s: 10}
  - id: sales
    name: Sales
    requirements: [{skill: sales}]
    max_wait_s: 200
    overflow: {action: callback}
    wrap_up: {duration_s: 0}
  - id: chat
    name: Chat
    requirements: [{skill: chat}]
    strategy: least_occupied
    wrap_up: {duration_s: 5}
arrivals:
  - queue: billing
    calls_per_hour: 70
    handle_time: {distribution: lognormal, mean_s: 200, sd_s: 120}
    patience: {distribution: exponential, mean_s: 150}
  - queue: tech
    profile:
      - {start: "08:00", calls_per_hour: 40}
      - {start: "09:00", calls_per_hour: 90}
      - {start: "10:00", calls_per_hour: 30}
    handle_time: {distribution: exponential, mean_s: 240}
    patience: {distribution: exponential, mean_s: 300}
  - queue: sales
    calls_per_hour: 50
    handle_time: {distribution: deterministic, value_s: 150}
    patience: {distribution: exponential, mean_s: 400}
  - queue: chat
    channel: chat
    calls_per_hour: 60
    handle_time: {distribution: exponential, mean_s: 400}
agents:
  - {name: senior, count: 6, skills: {billing: 8, tech: 6, sales: 3}}
  - name: junior
    count: 6
    skills: {billing: 3, tech: 4, sales: 5}
    shifts: [{start: "08:00", end: "11:00"}]
  - {name: chatter, count: 4, skills: {chat: 5}, capacity: {chat: 3, voice: 0}}
  - {name: backup, count: 2, groups: [backup], shifts: [{start: "09:00", end: "11:30"}]}
"""


def _scenario(name: str) -> Scenario:
    if name == "rich":
        return parse_scenario(RICH)
    if name == "lunch-peak":
        return load_scenario(EXAMPLES / "lunch-peak.yaml")
    if name == "classic":
        return single_queue(agents=14, hours=3, replications=2, seed=5)
    assert name == "impatient"
    return single_queue(
        agents=12, hours=3, patience_s=180, replications=2, seed=6, strategy="most_skilled"
    )


def _digest(report: KpiReport) -> str:
    rows: list[tuple[float | None, str, tuple[object, ...]]] = [
        (row.start, row.queue_id, tuple(getattr(row.kpis, n) for n in KPI_NAMES))
        for row in report.intervals
    ]
    rows += [
        (None, queue_id, tuple(getattr(kpis, n) for n in KPI_NAMES))
        for queue_id, kpis in report.overall.items()
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


# name: arrivals, counted, events, end_s, (offered, answered, asa_s, occupancy), digest
PINNED = {
    "rich": (711, 608, 4915, 41400.0, (608, 557, 15.122547045306138, 0.7756287068581272)),
    "lunch-peak": (
        2060,
        2060,
        14226,
        65283.547370967935,
        (2060, 1981, 9.173325036903046, 0.7207019385462644),
    ),
    "classic": (
        626,
        405,
        4425,
        12045.442251585613,
        (405, 405, 4.164732644016279, 0.747988179069912),
    ),
    "impatient": (
        658,
        448,
        4415,
        11963.16908328936,
        (448, 397, 19.65403594960299, 0.8801268531552155),
    ),
}
DIGESTS = {
    "rich": "2ce8cc8e98f4f80e",
    "lunch-peak": "61e35037b90a1d39",
    "classic": "3997fa2a7632b29c",
    "impatient": "f5a54acfd620441e",
}
SIMULATE_DIGESTS = {
    "rich": "78615a72c91542a6",
    "lunch-peak": "e12aa3522a812972",
    "classic": "52dd741a19a49833",
    "impatient": "9174a92900897d44",
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_a_seeded_replication_gives_the_pinned_day(name: str) -> None:
    scenario = _scenario(name)
    run = Simulation(scenario, np.random.SeedSequence(scenario.seed)).run()
    arrivals, counted, events, end_s, whole = PINNED[name]
    assert (run.arrivals, run.counted, run.events, run.end_s) == (arrivals, counted, events, end_s)
    kpis = run.report.overall[ALL_QUEUES]
    assert (kpis.offered, kpis.answered, kpis.asa_s, kpis.occupancy) == whole
    assert _digest(run.report) == DIGESTS[name]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_replications_pooled_give_the_pinned_estimates(name: str) -> None:
    result = simulate(_scenario(name)).json()
    pooled = repr((result["simulated_calls"], result["overall"], result["intervals"]))
    assert hashlib.sha256(pooled.encode()).hexdigest()[:16] == SIMULATE_DIGESTS[name]
