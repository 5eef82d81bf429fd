"""Replications of a scenario, and their KPIs with 95 % confidence intervals.

Each replication runs with its own seed, spawned from the scenario's, so replication i gives the
same result whether it runs alone or among others. A KPI's estimate is the mean over the
replications of that replication's value, and its interval is the Student t interval of that
mean (the replications are independent; the calls within one are not).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from callbridge.domain.reporting.kpis import ALL_QUEUES, Kpis
from callbridge.sim.scenario import Scenario
from callbridge.sim.simulation import ReplicationResult, Simulation

KPI_NAMES = tuple(f.name for f in fields(Kpis))
# two-sided 95 % Student t quantiles by degrees of freedom
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t95(df: int) -> float:
    if df < 1:
        return math.nan
    if df <= len(_T95):
        return _T95[df - 1]
    return 1.96 + 2.4 / df  # within 0.002 of the exact quantile beyond 30


@dataclass(frozen=True, slots=True)
class Estimate:
    """Mean over replications, its standard error and the 95 % half-width (nan with one)."""

    mean: float | None
    stderr: float
    half_width: float
    n: int

    @classmethod
    def of(cls, values: list[float | int | None]) -> Estimate:
        data = [float(v) for v in values if v is not None]
        if not data:
            return cls(None, math.nan, math.nan, 0)
        n = len(data)
        mean = math.fsum(data) / n
        if n < 2:
            return cls(mean, math.nan, math.nan, n)
        sd = math.sqrt(math.fsum((x - mean) ** 2 for x in data) / (n - 1))
        stderr = sd / math.sqrt(n)
        return cls(mean, stderr, t95(n - 1) * stderr, n)

    def json(self) -> dict[str, float | int | None]:
        def clean(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {
            "mean": self.mean,
            "stderr": clean(self.stderr),
            "ci95": clean(self.half_width),
            "n": self.n,
        }


@dataclass(frozen=True, slots=True)
class IntervalEstimate:
    start: float
    queue_id: str
    kpis: dict[str, Estimate]


@dataclass(frozen=True, slots=True)
class SimulationResult:
    scenario: Scenario
    replications: list[ReplicationResult]
    overall: dict[str, dict[str, Estimate]]  # queue id (and ALL_QUEUES) -> KPI -> estimate
    intervals: list[IntervalEstimate]
    wall_s: float

    @property
    def arrivals(self) -> int:
        return sum(r.arrivals for r in self.replications)

    @property
    def calls_per_s(self) -> float:
        return self.arrivals / self.wall_s if self.wall_s > 0 else math.inf

    def json(self) -> dict[str, object]:
        return {
            "scenario": self.scenario.name,
            "replications": len(self.replications),
            "seed": self.scenario.seed,
            "simulated_calls": self.arrivals,
            "counted_calls": sum(r.counted for r in self.replications),
            "wall_s": round(self.wall_s, 3),
            "calls_per_s": round(self.calls_per_s, 1),
            "overall": {
                queue: {name: est.json() for name, est in kpis.items()}
                for queue, kpis in self.overall.items()
            },
            "intervals": [
                {
                    "start": iv.start,
                    "queue_id": iv.queue_id,
                    **{name: est.json() for name, est in iv.kpis.items()},
                }
                for iv in self.intervals
            ],
        }


ReplicationProgress = Callable[[int, float], None]  # replication index, share done


def simulate(
    scenario: Scenario,
    base_dir: Path = Path(),
    progress: ReplicationProgress | None = None,
    replications: int | None = None,
) -> SimulationResult:
    """Run the scenario's replications (or `replications` of them) and estimate its KPIs."""
    count = scenario.replications if replications is None else replications
    seeds = np.random.SeedSequence(scenario.seed).spawn(count)
    started = time.perf_counter()
    runs: list[ReplicationResult] = []
    for index, seed in enumerate(seeds):
        report = None if progress is None else _bind(progress, index)
        runs.append(Simulation(scenario, seed, base_dir).run(report))
    wall = time.perf_counter() - started
    return SimulationResult(scenario, runs, _overall(runs), _intervals(runs), wall)


def _bind(progress: ReplicationProgress, index: int) -> Callable[[float], None]:
    return lambda share: progress(index, share)


def _estimates(kpis: list[Kpis]) -> dict[str, Estimate]:
    return {name: Estimate.of([getattr(k, name) for k in kpis]) for name in KPI_NAMES}


def _overall(runs: list[ReplicationResult]) -> dict[str, dict[str, Estimate]]:
    queues = sorted({q for r in runs for q in r.report.overall}, key=lambda q: (q != ALL_QUEUES, q))
    return {
        q: _estimates([r.report.overall[q] for r in runs if q in r.report.overall]) for q in queues
    }


def _intervals(runs: list[ReplicationResult]) -> list[IntervalEstimate]:
    keyed: dict[tuple[float, str], list[Kpis]] = {}
    for run in runs:
        for row in run.report.intervals:
            keyed.setdefault((row.start, row.queue_id), []).append(row.kpis)
    return [
        IntervalEstimate(start, queue_id, _estimates(kpis))
        for (start, queue_id), kpis in sorted(keyed.items())
    ]
