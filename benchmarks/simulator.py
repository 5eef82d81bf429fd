"""Simulator benchmark: simulated calls per second through the full engine, against Ciw on the
same M/M/N model, with both sets of KPIs checked against Erlang C.

Run:
    .venv/bin/python benchmarks/simulator.py --json            # full: about two minutes
    .venv/bin/python benchmarks/simulator.py --json --quick    # fewer replications, within 30 s
    .venv/bin/python benchmarks/simulator.py --json --seed 7

Two cases, Poisson arrivals and exponential handle times (mean 180 s), one FIFO queue, patient
callers, no wrap-up: "classic" (200 calls/h, 14 agents, the case in
examples/scenarios/classic.yaml) and "large" (6,000 calls/h = 300 Erlang, 310 agents).

The engine side is `callbridge.sim.simulation.Simulation`, one replication at a time with the
seeds `callbridge.sim.results.simulate` gives them: the real `ContactCenter` on a virtual clock
and the live `KpiCollector` fed every event, timed as `simulate` times it (building the
replication, running it until every arrival is resolved, its KPI report). The Ciw side (Ciw 3.2,
a published queueing simulator, a benchmark-only dependency) is `ciw.Simulation` on the same
model, timed from building the simulation to `get_all_records`. Replications alternate between
the two, so a change in the machine's load falls on both. Both rates are every arrival simulated
over that wall time. The KPIs of each side, over the arrivals of the counted window, are
compared with Erlang C from `callbridge.domain.staffing`. One JSON object goes to stdout
(progress to stderr); "method" in it says what each number is. The simulated KPIs (not the
timings) are deterministic for a seed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import ciw
import numpy as np
import psutil

from callbridge.domain.reporting.kpis import ALL_QUEUES
from callbridge.domain.staffing import erlang_c_performance
from callbridge.sim.results import Estimate
from callbridge.sim.scenario import Scenario
from callbridge.sim.simulation import Simulation

AHT_S = 180.0
SL_S = 20.0
INTERVAL_S = 1800.0
CIW_DRAIN_S = 1800.0  # Ciw runs this long past the window so that its arrivals are resolved
AGREE_Z = 3.0
AGREE_KPIS = ("p_wait", "asa_s", "service_level", "occupancy")
KPIS = (*AGREE_KPIS, "aht_s", "offered")
TARGETS = {"engine_calls_per_s": 20_000, "ratio": 1, "ratio_goal": 3}


@dataclass(frozen=True)
class Case:
    name: str
    calls_per_hour: float
    agents: int
    hours: float  # arrivals in [0, hours); the run goes on until all are resolved
    warmup_h: float  # counted window: arrivals in [warmup_h, hours)
    replications: int

    @property
    def window(self) -> tuple[float, float]:
        return self.warmup_h * 3600.0, self.hours * 3600.0

    @property
    def load(self) -> float:
        return self.calls_per_hour / 3600.0 * AHT_S


FULL = (Case("classic", 200, 14, 8, 0.5, 40), Case("large", 6000, 310, 8, 1, 20))
QUICK = (Case("classic", 200, 14, 8, 0.5, 10), Case("large", 6000, 310, 1.5, 0.5, 6))


@dataclass(frozen=True)
class Replication:
    """One replication on one simulator: arrivals simulated, wall time, KPIs of the window."""

    arrivals: int
    wall_s: float
    kpis: dict[str, float | int | None]
    unresolved: int  # counted arrivals without an outcome at the end (should be 0)


@dataclass(frozen=True)
class Side:
    """One simulator's replications of a case, and its KPI estimates across them."""

    arrivals: int
    wall_s: float
    kpis: dict[str, Estimate]
    unresolved: int

    @classmethod
    def of(cls, reps: list[Replication]) -> Side:
        return cls(
            sum(r.arrivals for r in reps),
            math.fsum(r.wall_s for r in reps),
            {name: Estimate.of([r.kpis[name] for r in reps]) for name in KPIS},
            sum(r.unresolved for r in reps),
        )

    @property
    def calls_per_s(self) -> float:
        return self.arrivals / self.wall_s


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the engine ------------------------------------------------------------------------------


def scenario(case: Case, seed: int) -> Scenario:
    return Scenario.model_validate(
        {
            "name": case.name,
            "seed": seed,
            "start": 0,
            "duration": case.hours * 3600.0,
            "warmup": case.warmup_h * 3600.0,
            "replications": case.replications,
            "interval_s": INTERVAL_S,
            "queues": [
                {
                    "id": "support",
                    "name": "Support",
                    "service_level_s": SL_S,
                    "wrap_up": {"duration_s": 0},
                }
            ],
            "arrivals": [
                {
                    "queue": "support",
                    "calls_per_hour": case.calls_per_hour,
                    "handle_time": {"distribution": "exponential", "mean_s": AHT_S},
                }
            ],
            "agents": [{"name": "agent", "count": case.agents}],
        }
    )


def engine_replication(scen: Scenario, seed: np.random.SeedSequence) -> Replication:
    """As `callbridge.sim.results.simulate` runs and times each of its replications."""
    started = time.perf_counter()
    run = Simulation(scen, seed).run()
    wall = time.perf_counter() - started
    overall = run.report.overall[ALL_QUEUES]
    kpis = {name: getattr(overall, name) for name in KPIS}
    return Replication(run.arrivals, wall, kpis, overall.open)


# --- Ciw ------------------------------------------------------------------------------------


def ciw_network(case: Case) -> Any:
    return ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(case.calls_per_hour / 3600.0)],
        service_distributions=[ciw.dists.Exponential(1.0 / AHT_S)],
        number_of_servers=[case.agents],
    )


def ciw_replication(network: Any, case: Case, seed: int) -> Replication:
    """Ciw's M/M/N, run CIW_DRAIN_S past the window; KPIs over arrivals in the window."""
    low, high = case.window
    ciw.seed(seed)
    started = time.perf_counter()
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(high + CIW_DRAIN_S)
    records = sim.get_all_records()
    wall = time.perf_counter() - started
    unresolved = sum(1 for ind in sim.nodes[1].all_individuals if low <= ind.arrival_date < high)
    return Replication(
        int(sim.nodes[0].number_of_individuals), wall, ciw_kpis(records, case), unresolved
    )


def ciw_kpis(records: list[Any], case: Case) -> dict[str, float | int | None]:
    """The engine's definitions on Ciw's records: P(wait) is the share that waited at all, ASA
    the mean wait, service level the share answered within 20 s, occupancy the agents' busy
    time inside the window over their time."""
    low, high = case.window
    waits: list[float] = []
    services: list[float] = []
    busy = 0.0
    for r in records:
        start, end = float(r.service_start_date), float(r.service_end_date)
        if start < high and end > low:
            busy += min(end, high) - max(start, low)
        if low <= r.arrival_date < high:
            waits.append(float(r.waiting_time))
            services.append(float(r.service_time))
    n = len(waits)
    if not n:
        return {name: None for name in KPIS}
    return {
        "p_wait": sum(1 for w in waits if w > 0) / n,
        "asa_s": math.fsum(waits) / n,
        "service_level": sum(1 for w in waits if w <= SL_S) / n,
        "occupancy": busy / (case.agents * (high - low)),
        "aht_s": math.fsum(services) / n,
        "offered": n,
    }


# --- Erlang C and agreement -----------------------------------------------------------------


def analytic(case: Case) -> dict[str, float]:
    low, high = case.window
    rate = case.calls_per_hour / 3600.0
    perf = erlang_c_performance(rate, AHT_S, case.agents, SL_S)
    return {
        "p_wait": perf.p_wait,
        "asa_s": perf.asa_s,
        "service_level": perf.service_level,
        "occupancy": perf.occupancy,
        "aht_s": AHT_S,
        "offered": rate * (high - low),
    }


def _z(estimate: Estimate, expected: float) -> float | None:
    if estimate.mean is None or not estimate.stderr > 0:
        return None
    return (estimate.mean - expected) / estimate.stderr


def agreement(
    exact: Mapping[str, float], engine: Mapping[str, Estimate], other: Mapping[str, Estimate]
) -> dict[str, dict[str, Any]]:
    """Per KPI: is Erlang C within AGREE_Z standard errors of both sides' means?"""
    out: dict[str, dict[str, Any]] = {}
    for name in AGREE_KPIS:
        ez, cz = _z(engine[name], exact[name]), _z(other[name], exact[name])
        a, b = engine[name], other[name]
        diff: float | None = None
        if a.mean is not None and b.mean is not None and a.stderr > 0 and b.stderr > 0:
            diff = (a.mean - b.mean) / math.hypot(a.stderr, b.stderr)
        out[name] = {
            "analytic": round(exact[name], 6),
            "engine_z": _round(ez, 2),
            "ciw_z": _round(cz, 2),
            "engine_vs_ciw_z": _round(diff, 2),
            "agree": ez is not None
            and cz is not None
            and abs(ez) <= AGREE_Z
            and abs(cz) <= AGREE_Z,
        }
    return out


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)


def _estimate(est: Estimate) -> dict[str, float | int | None]:
    return {
        key: round(value, 6) if isinstance(value, float) else value
        for key, value in est.json().items()
    }


# --- report ----------------------------------------------------------------------------------


def run_case(case: Case, seed: int) -> tuple[dict[str, Any], Side, Side]:
    """Both simulators on one case, a replication of each in turn, so that a change in the
    machine's load falls on both; the report, and each side's totals for the aggregate."""
    scen = scenario(case, seed)
    engine_seeds = np.random.SeedSequence(scen.seed).spawn(case.replications)  # as simulate()
    ciw_seeds = np.random.SeedSequence([seed, case.agents]).generate_state(case.replications)
    network = ciw_network(case)
    log(f"{case.name}: {case.replications} replications of {case.hours:g} h ...")
    engine_reps: list[Replication] = []
    ciw_reps: list[Replication] = []
    for engine_seed, ciw_seed in zip(engine_seeds, ciw_seeds, strict=True):
        engine_reps.append(engine_replication(scen, engine_seed))
        ciw_reps.append(ciw_replication(network, case, int(ciw_seed)))
    engine, other = Side.of(engine_reps), Side.of(ciw_reps)
    log(f"{case.name}: engine {engine.arrivals} calls in {engine.wall_s:.1f} s")
    log(f"{case.name}: Ciw {other.arrivals} calls in {other.wall_s:.1f} s")
    exact = analytic(case)
    agree = agreement(exact, engine.kpis, other.kpis)
    ratio = engine.calls_per_s / other.calls_per_s
    kpis_agree = all(v["agree"] for v in agree.values())
    report = {
        "model": {
            **asdict(case),
            "load_erlang": round(case.load, 3),
            "aht_s": AHT_S,
            "service_level_s": SL_S,
            "counted_window_s": list(case.window),
        },
        "engine_calls": engine.arrivals,
        "engine_wall_s": round(engine.wall_s, 3),
        "engine_calls_per_s": round(engine.calls_per_s),
        "ciw_calls": other.arrivals,
        "ciw_wall_s": round(other.wall_s, 3),
        "ciw_calls_per_s": round(other.calls_per_s),
        "ratio": round(ratio, 3),
        "simulated": {name: _estimate(engine.kpis[name]) for name in KPIS},
        "ciw": {name: _estimate(other.kpis[name]) for name in KPIS},
        "analytic": {name: round(value, 6) for name, value in exact.items()},
        "agree": agree,
        "unresolved": {"engine": engine.unresolved, "ciw": other.unresolved},
        "meets_targets": {
            "engine_calls_per_s": engine.calls_per_s >= TARGETS["engine_calls_per_s"],
            "ratio": ratio >= TARGETS["ratio"],
            "ratio_goal": ratio >= TARGETS["ratio_goal"],
            "kpis_agree": kpis_agree,
        },
    }
    return report, engine, other


METHOD = {
    "engine_calls_per_s": "top level: every arrival simulated (warm-up included) in both cases "
    "over the wall time of both, i.e. the aggregate over classic and large, weighted by calls "
    "(the large case dominates). Per case: arrivals / the sum over replications of "
    "perf_counter around Simulation(scenario, seed).run() (what callbridge.sim.results.simulate "
    "times): building the replication (ContactCenter, agents, random streams), running it until "
    "every arrival is resolved, and its KPI report. Engine and Ciw replications alternate.",
    "ciw_calls_per_s": "the same for Ciw: arrivals generated (sim.nodes[0].number_of_individuals) "
    "over perf_counter around ciw.Simulation(network), simulate_until_max_time(end + 1800 s) "
    "and get_all_records(); ciw.create_network is built once per case, outside the timing, as "
    "the scenario is validated outside ours. Ciw keeps generating arrivals past the window "
    "(it does not drain); those count in its rate too.",
    "ratio": "engine_calls_per_s / ciw_calls_per_s: at the top level over both cases, and per "
    "case.",
    "kpis": "over arrivals in the counted window [warm-up, end): p_wait is the share that "
    "waited at all (engine: not offered at the instant of arrival; Ciw: waiting_time > 0), "
    "asa_s the mean wait of answered calls (all are answered), service_level the share answered "
    "within 20 s, aht_s the mean handle time, offered the counted calls per replication. "
    "occupancy is busy time over staffed time clipped to the window (engine: its KpiCollector, "
    "which clips time-based sums to the window; Ciw: service time clipped to the window over "
    "agents x window), so neither the empty start nor the drain after the last arrival counts. "
    "mean, stderr and ci95 (Student t) are across replications; each replication's seed is "
    "spawned from --seed.",
    "analytic": "Erlang C (callbridge.domain.staffing.erlang_c_performance) for the "
    "arrival rate, AHT 180 s, the agents and a 20 s service level.",
    "agree": f"per KPI, z = (mean - analytic) / stderr for each side; agree when both |z| <= "
    f"{AGREE_Z:g}. engine_vs_ciw_z compares the two means directly.",
    "unresolved": "counted arrivals still without an outcome when the run stopped (0 expected).",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--quick", action="store_true", help="fewer replications, under 30 s")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    cases = QUICK if args.quick else FULL
    runs = {case.name: run_case(case, args.seed) for case in cases}
    scenarios = {name: report for name, (report, _, _) in runs.items()}
    engines = [engine for _, engine, _ in runs.values()]
    others = [other for _, _, other in runs.values()]
    engine_rate = sum(s.arrivals for s in engines) / sum(s.wall_s for s in engines)
    ciw_rate = sum(s.arrivals for s in others) / sum(s.wall_s for s in others)
    ratio = engine_rate / ciw_rate
    result = {
        "benchmark": "simulator",
        "quick": args.quick,
        "seed": args.seed,
        "ciw_version": str(ciw.__version__),
        "engine_calls_per_s": round(engine_rate),
        "ciw_calls_per_s": round(ciw_rate),
        "ratio": round(ratio, 3),
        "targets": TARGETS,
        "meets_targets": {
            "engine_calls_per_s": engine_rate >= TARGETS["engine_calls_per_s"],
            "ratio": ratio >= TARGETS["ratio"],
            "ratio_goal": ratio >= TARGETS["ratio_goal"],
            "kpis_agree": all(s["meets_targets"]["kpis_agree"] for s in scenarios.values()),
        },
        "scenarios": scenarios,
        "wall_s": round(time.perf_counter() - started, 1),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_now_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
        # other work on the machine slows both sides alike (replications alternate), not the ratio
        "load_avg_1m": {"start": load_before, "end": os.getloadavg()[0]},
        "method": METHOD,
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
