"""Tail probabilities of counts: how likely a sum of independent yes/no events (calls answering
live, agents freeing up) reaches a threshold, from its mean and variance alone.

A sum of Bernoulli variables with mean m and variance v < m is approximated by the binomial with
the same mean and (nearly) the same variance: n = round(m^2 / (m - v)) trials of chance m / n.
That is exact for identical chances, and keeps the small-count shape that a normal
approximation loses (a team of five, two calls that may answer). Where v >= m the Poisson with
mean m stands in; where v is nil the count is certain. Two moments cannot pin down a sum of a
few very unequal chances (off by up to about 0.23 for three), but for the pacer's sums of many
middling chances the tail is within 0.03 of the exact Poisson-binomial. Vectorised: the pacer
asks for a few hundred tails per decision.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def at_least(mean: Array, var: Array, k: Array) -> Array:
    """P(count >= k), elementwise over arrays of one shape; k is a whole number."""
    mean = np.maximum(mean, 0.0)
    spread = mean - var
    with np.errstate(divide="ignore", invalid="ignore"):
        trials = np.rint(mean * mean / np.maximum(spread, 1e-300))
        # chances near 1 make the matched binomial round below its own mean: count them as a
        # certain shift and match the rest (1 + Bin(1, 0.25) for chances 1 and 0.25, exactly)
        shift = np.where(trials < mean - 1e-9, np.floor(np.maximum(spread, 0.0)), 0.0)
        rest = mean - shift
        spread = rest - var
        binomial = spread > rest * 1e-9
        trials = np.where(
            binomial, np.maximum(1.0, np.rint(rest * rest / np.maximum(spread, 1e-300))), 1e9
        )
    # the Poisson is the binomial with (very) many trials of a small chance
    chance = np.minimum(rest / trials, 1.0 - 1e-12)
    need = np.ceil(k - 1e-9) - shift
    top = int(max(need.max(initial=0.0), 1.0))
    steps = np.arange(top, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        # pmf(0), then pmf(j) / pmf(j - 1) = (n - j + 1) / j * q / (1 - q): their running product
        factors = np.empty((*mean.shape, top), dtype=np.float64)
        factors[..., 0] = np.exp(trials * np.log1p(-chance))
        odds = chance / (1.0 - chance)
        factors[..., 1:] = np.maximum(trials[..., None] - steps[:-1], 0.0) * (
            odds[..., None] / steps[1:]
        )
        pmf = np.cumprod(factors, axis=-1)
        below = np.sum(pmf * (steps < need[..., None]), axis=-1)
    tail = np.clip(1.0 - below, 0.0, 1.0)
    # nothing uncertain: the count is its mean
    tail = np.where(var < 1e-9, (rest >= need - 1e-9).astype(np.float64), tail)
    result: Array = np.where(need <= 0, 1.0, tail)
    return result
