"""Routing experiments from the queueing reference, run through the real engine.

- With identical agents, the agent-selection rule cannot change queueing KPIs: a call's
  handle time belongs to the call, so who takes it does not change when anyone waits.
- A fully pooled group beats split groups as Erlang C predicts.
"""

from __future__ import annotations

import numpy as np
import pytest
from sim_support import run, single_queue, within, z_score

from callbridge.domain.reporting.kpis import ALL_QUEUES
from callbridge.domain.staffing.models import Workload
from callbridge.domain.staffing.performance import performance
from callbridge.sim.results import simulate
from callbridge.sim.scenario import parse_scenario
from callbridge.sim.simulation import Simulation

STRATEGIES = ("longest_idle", "most_skilled", "least_occupied", "round_robin")


def test_every_selection_rule_gives_the_same_kpis_with_identical_agents() -> None:
    results = {s: run(single_queue(agents=13, strategy=s, replications=8)) for s in STRATEGIES}
    baseline = results["longest_idle"].overall[ALL_QUEUES]
    exact = performance(Workload(200, 180), 13, 20)
    for strategy, result in results.items():
        kpis = result.overall[ALL_QUEUES]
        for name in ("offered", "p_wait", "asa_s", "service_level", "occupancy"):
            assert kpis[name].mean == pytest.approx(baseline[name].mean, rel=1e-9), (strategy, name)
        assert within(kpis["p_wait"], exact.p_wait), z_score(kpis["p_wait"], exact.p_wait)


def test_the_selection_rules_do_pick_different_agents() -> None:
    """The KPIs above agree although the rules really share the work out differently."""
    busy: dict[str, list[float]] = {}
    # (most skilled, with equal skills, falls back to longest idle)
    for strategy in ("longest_idle", "round_robin", "least_occupied"):
        sim = Simulation(
            single_queue(agents=13, strategy=strategy, hours=2), np.random.SeedSequence(3)
        )
        sim.run()
        agents = sorted(sim.center.agents.values(), key=lambda a: a.id)
        busy[strategy] = [round(a.busy_seconds, 6) for a in agents]
    totals = {s: round(sum(b), 3) for s, b in busy.items()}
    assert len(set(totals.values())) == 1  # the same work in all
    assert len({tuple(b) for b in busy.values()}) == 3  # shared out three ways


POOLING = """
name: pooling-{kind}
seed: 21
duration: 6h
warmup: 1h
replications: 15
interval_s: 3600
queues:
  - {{id: billing, name: Billing, requirements: [{{skill: billing}}], wrap_up: {{duration_s: 0}}}}
  - {{id: tech, name: Tech, requirements: [{{skill: tech}}], wrap_up: {{duration_s: 0}}}}
arrivals:
  - {{queue: billing, calls_per_hour: 200, handle_time: {{distribution: exponential, mean_s: 180}}}}
  - {{queue: tech, calls_per_hour: 200, handle_time: {{distribution: exponential, mean_s: 180}}}}
agents:
{agents}
"""
SPLIT = """  - {name: billers, count: 14, skills: {billing: 5}}
  - {name: techies, count: 14, skills: {tech: 5}}"""
POOLED = "  - {name: generalists, count: 28, skills: {billing: 5, tech: 5}}"


def test_a_pooled_group_beats_split_groups_as_erlang_predicts() -> None:
    split = simulate(parse_scenario(POOLING.format(kind="split", agents=SPLIT)))
    pooled = simulate(parse_scenario(POOLING.format(kind="pooled", agents=POOLED)))
    one_group = performance(Workload(200, 180), 14, 20)  # each split group: A = 10, N = 14
    one_pool = performance(Workload(400, 180), 28, 20)  # the pool: A = 20, N = 28
    for queue in ("billing", "tech"):
        for name in ("p_wait", "asa_s", "service_level"):
            s, p = split.overall[queue][name], pooled.overall[queue][name]
            assert within(s, getattr(one_group, name)), (queue, name, "split")
            assert within(p, getattr(one_pool, name)), (queue, name, "pooled")
    whole_split, whole_pooled = split.overall[ALL_QUEUES], pooled.overall[ALL_QUEUES]
    sw, pw = whole_split["p_wait"], whole_pooled["p_wait"]
    assert pw.mean is not None and sw.mean is not None
    assert pw.mean + 3 * pw.stderr < sw.mean - 3 * sw.stderr
    ssl, psl = whole_split["service_level"], whole_pooled["service_level"]
    assert psl.mean is not None and ssl.mean is not None and psl.mean > ssl.mean
