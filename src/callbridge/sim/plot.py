"""A picture of a simulated day: service level, ASA and queue length per interval, with the
95 % confidence band across replications."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window

import matplotlib.pyplot as plt

from callbridge.domain.reporting.kpis import ALL_QUEUES
from callbridge.sim.results import Estimate, SimulationResult

PANELS = (
    ("service_level", "Service level", 100.0, "%"),
    ("asa_s", "ASA", 1.0, "s"),
    ("avg_waiting", "Waiting in line", 1.0, "callers"),
)


def _band(values: list[Estimate], scale: float) -> tuple[list[float], list[float], list[float]]:
    mean = [math.nan if v.mean is None else v.mean * scale for v in values]
    hw = [0.0 if math.isnan(v.half_width) else v.half_width * scale for v in values]
    low = [max(m - h, 0.0) for m, h in zip(mean, hw, strict=True)]
    high = [m + h for m, h in zip(mean, hw, strict=True)]
    return mean, low, high


def plot_day(result: SimulationResult, path: Path, queue_id: str = ALL_QUEUES) -> None:
    """Write a PNG (or any format matplotlib knows by the suffix) of the day to `path`."""
    rows = [iv for iv in result.intervals if iv.queue_id == queue_id]
    begin, end = result.scenario.begin_s, result.scenario.end_s
    rows = [iv for iv in rows if begin <= iv.start < end]
    hours = [iv.start / 3600.0 for iv in rows]
    fig, axes = plt.subplots(len(PANELS), 1, sharex=True, figsize=(9, 7.5))
    try:
        for ax, (name, title, scale, unit) in zip(axes, PANELS, strict=True):
            mean, low, high = _band([iv.kpis[name] for iv in rows], scale)
            ax.step(hours, mean, where="post", color="#1f5f99", label=f"{title} (mean)")
            if len(result.replications) > 1:
                ax.fill_between(hours, low, high, step="post", color="#1f5f99", alpha=0.2)
            ax.set_ylabel(f"{title} ({unit})")
            ax.grid(alpha=0.3)
        target = next((q.service_level_s for q in result.scenario.queues), 20.0)
        axes[0].set_title(
            f"{result.scenario.name}: {len(result.replications)} replication(s), "
            f"service level = answered within {target:g} s of all offered"
        )
        axes[-1].set_xlabel("time of day (h)")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
