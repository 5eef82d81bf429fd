"""Scenarios for the simulator tests, written as the YAML a planner would write."""

from __future__ import annotations

import math

import numpy as np

from callbridge.sim.results import Estimate, SimulationResult, simulate
from callbridge.sim.scenario import Scenario, parse_scenario


def single_queue(
    *,
    agents: int,
    calls_per_hour: float = 200,
    aht_s: float = 180,
    patience_s: float | None = None,
    hours: float = 6,
    replications: int = 20,
    seed: int = 11,
    strategy: str = "longest_idle",
) -> Scenario:
    patience = (
        f"\n    patience: {{distribution: exponential, mean_s: {patience_s}}}"
        if patience_s is not None
        else ""
    )
    return parse_scenario(
        f"""
name: mmn
seed: {seed}
duration: {hours}h
warmup: 1h
replications: {replications}
interval_s: 3600
queues:
  - {{id: q, name: Q, service_level_s: 20, strategy: {strategy}, wrap_up: {{duration_s: 0}}}}
arrivals:
  - queue: q
    calls_per_hour: {calls_per_hour}
    handle_time: {{distribution: exponential, mean_s: {aht_s}}}{patience}
agents:
  - {{name: a, count: {agents}}}
"""
    )


def run(scenario: Scenario) -> SimulationResult:
    return simulate(scenario)


def within(est: Estimate, expected: float, sigmas: float = 3.0) -> bool:
    """The expected value lies within `sigmas` standard errors of the estimate."""
    assert est.mean is not None and est.n >= 2 and not math.isnan(est.stderr)
    return abs(est.mean - expected) <= sigmas * est.stderr


def z_score(est: Estimate, expected: float) -> float:
    assert est.mean is not None
    return float((est.mean - expected) / est.stderr) if est.stderr else float(np.inf)
