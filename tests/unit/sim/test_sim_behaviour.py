"""How a simulated day runs: seeds, the counted window, shifts, profiles and distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sim_support import single_queue

from callbridge.domain.agents import Presence
from callbridge.domain.reporting.kpis import ALL_QUEUES
from callbridge.sim.results import simulate
from callbridge.sim.scenario import parse_scenario
from callbridge.sim.simulation import Simulation


def test_a_seed_gives_the_same_day_and_replications_differ() -> None:
    scenario = single_queue(agents=13, hours=2, replications=3)
    first, second = simulate(scenario), simulate(scenario)
    assert first.json()["overall"] == second.json()["overall"]
    asa = [r.report.overall[ALL_QUEUES].asa_s for r in first.replications]
    assert len(set(asa)) == 3
    # replication i is the same whether it runs alone or among others
    alone = simulate(scenario, replications=1)
    assert alone.replications[0].report == first.replications[0].report


def test_counted_by_arrival_window_and_run_until_every_one_resolves() -> None:
    scenario = single_queue(agents=11, hours=2, replications=1)  # 91 % busy: a long tail
    run = Simulation(scenario, np.random.SeedSequence(1)).run()
    whole = run.report.tallies[ALL_QUEUES]
    assert whole.open == 0
    assert whole.offered == whole.answered == whole.handled == run.counted
    assert run.end_s > scenario.end_s  # the backlog at the end was worked off
    warmup_arrivals = run.arrivals - run.counted
    assert 100 < warmup_arrivals < 300  # about 200 in the first hour, not counted
    assert all(row.start >= scenario.count_from_s for row in run.report.intervals)


def test_a_progress_callback_sees_the_day_go_by() -> None:
    seen: list[float] = []
    Simulation(single_queue(agents=13, hours=2), np.random.SeedSequence(1)).run(seen.append)
    assert seen[-1] == 1.0
    assert seen == sorted(seen) and len(seen) > 50


SHIFTS = """
name: shifts
start: "08:00"
duration: 4h
interval_s: 3600
queues: [{id: q, name: Q, wrap_up: {duration_s: 60}}]
arrivals:
  - queue: q
    calls_per_hour: 40
    handle_time: {distribution: deterministic, value_s: 300}
agents:
  - {name: early, count: 6, shifts: [{start: "08:00", end: "10:00"}]}
  - {name: late, count: 6, shifts: [{start: "10:00", end: "13:00"}]}
"""


def test_agents_work_their_shifts_and_finish_what_they_hold() -> None:
    sim = Simulation(parse_scenario(SHIFTS), np.random.SeedSequence(5))
    run = sim.run()
    for agent in sim.center.agents.values():
        assert agent.presence is Presence.LOGGED_OUT
        assert not agent.work
    whole = run.report.tallies[ALL_QUEUES]
    assert whole.open == 0 and whole.offered == run.counted > 100
    # deterministic 300 s calls plus 60 s wrap-up: the handle time is exactly 300 s
    assert run.report.overall[ALL_QUEUES].aht_s == pytest.approx(360.0)


NOBODY = """
name: nobody
start: "08:00"
duration: 2h
queues: [{id: q, name: Q, requirements: [{skill: french}], wrap_up: {duration_s: 0}}]
arrivals:
  - queue: q
    calls_per_hour: 60
    handle_time: {distribution: exponential, mean_s: 120}
agents:
  - {name: french, count: 1, skills: {french: 5}, shifts: [{start: "08:00", end: "08:30"}]}
  - {name: english, count: 5, skills: {english: 5}}
"""


def test_nobody_to_answer_leaves_arrivals_open_and_the_run_still_ends() -> None:
    run = Simulation(parse_scenario(NOBODY), np.random.SeedSequence(5)).run()
    whole = run.report.overall[ALL_QUEUES]
    assert whole.open > 50  # reported, not counted in the rates
    assert whole.offered + whole.open == run.counted


PROFILE = """
name: profile
start: "08:00"
duration: 4h
replications: 20
interval_s: 3600
queues: [{id: q, name: Q, wrap_up: {duration_s: 0}}]
arrivals:
  - queue: q
    profile:
      - {start: "09:00", calls_per_hour: 100}
      - {start: "10:00", calls_per_hour: 400}
      - {start: "11:00", calls_per_hour: 0}
    handle_time: {distribution: lognormal, mean_s: 60, sd_s: 90}
ring_time: {distribution: deterministic, value_s: 4}
agents:
  - {name: a, count: 20}
"""


def test_a_day_profile_sets_the_rate_hour_by_hour() -> None:
    result = simulate(parse_scenario(PROFILE))
    offered = {iv.start / 3600: iv.kpis["offered"] for iv in result.intervals if iv.queue_id == "q"}
    assert 8.0 not in offered or offered[8.0].mean == 0  # before the first step: no calls
    for hour, rate in ((9.0, 100), (10.0, 400)):
        est = offered[hour]
        assert est.mean is not None and abs(est.mean - rate) < 3 * math.sqrt(rate / 20) + 1
    assert 11.0 not in offered or offered[11.0].mean == 0
    whole = result.overall[ALL_QUEUES]
    # 20 agents are plenty: every call waits exactly the 4 s ring
    assert whole["asa_s"].mean == pytest.approx(4.0)
    assert whole["p_wait"].mean == 0.0
    # lognormal with mean 60 s; handle time runs from the answer (the ring is not in it)
    aht = whole["aht_s"]
    assert aht.mean is not None and abs(aht.mean - 60.0) < 3 * aht.stderr
