"""Time distributions for handle times, patience and ring times, drawn from seeded streams.

Each simulated quantity has its own numpy `Generator` (spawned from the scenario's seed), so
changing one distribution does not reshuffle the others' draws. Draws come in batches: numpy
makes a thousand at the cost of a few, and the simulator takes them one at a time.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BATCH = 2048

Sampler = Callable[[np.random.Generator, int], np.ndarray]


@dataclass(frozen=True, slots=True)
class Distribution:
    """A distribution of durations in seconds; `mean_s` is its mean (inf: never)."""

    name: str
    mean_s: float
    sample: Sampler

    def describe(self) -> str:
        return f"{self.name}, mean {self.mean_s:g} s"


def exponential(mean_s: float) -> Distribution:
    return Distribution("exponential", mean_s, lambda g, n: g.exponential(mean_s, n))


def lognormal(mean_s: float, sd_s: float) -> Distribution:
    """Lognormal with the given mean and standard deviation (not those of the logarithm)."""
    sigma2 = math.log1p((sd_s / mean_s) ** 2)
    mu = math.log(mean_s) - sigma2 / 2
    sigma = math.sqrt(sigma2)
    return Distribution("lognormal", mean_s, lambda g, n: g.lognormal(mu, sigma, n))


def deterministic(value_s: float) -> Distribution:
    return Distribution("deterministic", value_s, lambda g, n: np.full(n, value_s))


def never() -> Distribution:
    """Infinite patience: nobody abandons."""
    return Distribution("none", math.inf, lambda g, n: np.full(n, math.inf))


def empirical(values: np.ndarray, source: str) -> Distribution:
    """Resampled with replacement from observed values."""
    data = np.asarray(values, dtype=float)
    return Distribution(f"empirical ({source})", float(data.mean()), lambda g, n: g.choice(data, n))


def read_samples(path: Path, column: str | None) -> np.ndarray:
    """Durations in seconds from a CSV file: one column, or the named one, with a header.

    Errors name the file, the line and what is wrong with it.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror})") from None
    if len(rows) < 2:
        raise ValueError(f"{path}: needs a header line and at least one value")
    header = [h.strip() for h in rows[0]]
    if column is None:
        if len(header) != 1:
            raise ValueError(f"{path}: has {len(header)} columns; say which with `column`")
        index = 0
    elif column in header:
        index = header.index(column)
    else:
        raise ValueError(f"{path}: no column {column!r} (it has {', '.join(header)})")
    values: list[float] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        cell = row[index].strip() if index < len(row) else ""
        try:
            value = float(cell)
        except ValueError:
            raise ValueError(f"{path}, line {line}: {cell!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{path}, line {line}: {cell!r} is not a duration (>= 0 seconds)")
        values.append(value)
    if not values:
        raise ValueError(f"{path}: has no values")
    return np.array(values)


class Stream:
    """One seeded source of draws from one distribution, handed out one at a time.

    `draws` holds those drawn and not yet handed out, the next last: where a call to the
    stream costs too much, take `draws.pop()` when it is not empty, and call it when it is."""

    __slots__ = ("_dist", "_gen", "draws")

    def __init__(self, dist: Distribution, gen: np.random.Generator) -> None:
        self._dist, self._gen = dist, gen
        self.draws: list[float] = []

    def __call__(self) -> float:
        buffer = self.draws
        if not buffer:
            buffer.extend(reversed(self._dist.sample(self._gen, BATCH).tolist()))
        return buffer.pop()

    def batch(self) -> list[float]:
        """Every draw not yet handed out, in order, or the next batch when none is left: the
        same draws one call at a time would hand out."""
        buffer = self.draws
        if not buffer:
            return list(self._dist.sample(self._gen, BATCH).tolist())
        draws = buffer[::-1]
        buffer.clear()
        return draws
