"""When a waiting caller leaves the queue: served or abandoned by time t, by uniformization.

A tagged caller at queue position m moves to position m - 1 at rate `advance[m-1]` (an agent
frees up or someone ahead hangs up); from position 1 that move means being answered. The caller
also abandons at the constant rate `leave`. This pure-death chain is uniformized at the rate
Λ = max(advance) + leave: the probability of having left by t is Σ_n Poisson(n; Λt)·(mass
absorbed after n jumps of the embedded chain). Every term is a probability, so nothing cancels:
the sum is exact up to the Poisson tail cut-off, below `POISSON_TAIL`. (Alternating closed forms
of hypoexponential laws lose all precision for long queues; this does not.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

POISSON_TAIL = 1e-13  # probability mass of the jumps left out
DRAINED = 1e-17  # waiting mass below which the remaining jumps change nothing

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Exits:
    """Probabilities, over the whole starting distribution, of leaving the queue by time t."""

    served: float
    abandoned: float


def poisson_weights(mean: float) -> FloatArray:
    """P(Poisson(mean) = n) for n = 0..n_max, with P(Poisson(mean) > n_max) < POISSON_TAIL.

    Built outwards from the mode by the ratios w(n+1)/w(n) = mean/(n + 1), each at most 1, then
    normalized: relative errors stay near machine precision even for a mean of 10^5, where the
    textbook n·log(mean) - mean - lgamma(n + 1) loses about 1e-11 to cancellation. Left out: both
    tails, together below POISSON_TAIL (the lower one underflows to 0 far from the mode).
    """
    if mean <= 0.0:
        return np.ones(1)
    n_max = math.ceil(mean + 10.0 * math.sqrt(mean) + 30.0)
    while _upper_tail_bound(mean, n_max) >= POISSON_TAIL:
        n_max += math.ceil(2.0 * math.sqrt(mean)) + 10
    mode = math.floor(mean)
    up = np.cumprod(mean / np.arange(mode + 1, n_max + 1, dtype=np.float64))
    down = np.cumprod(np.arange(mode, 0, -1, dtype=np.float64) / mean)
    weights: FloatArray = np.concatenate((down[::-1], np.ones(1), up))
    return weights / math.fsum(weights)


def _upper_tail_bound(mean: float, n_max: int) -> float:
    """A bound on P(X > n_max): the pmf at n_max + 1 times a geometric series (n_max > mean)."""
    m = n_max + 1
    log_pmf = m * math.log(mean) - mean - math.lgamma(m + 1.0)
    return math.exp(log_pmf) / (1.0 - mean / (m + 1.0))


def exits_by(start: FloatArray, advance: FloatArray, leave: float, t: float) -> Exits:
    """Served and abandoned by time `t` for a caller whose position is distributed as `start`.

    `start[m-1]` is the probability of starting at position m (it may sum to less than 1: the
    rest never waits); `advance` is non-decreasing in the position; rates are per second.

    Abandonment has the same rate everywhere, so the waiting mass as a whole is one number;
    only positions that can still reach an agent in the jumps left are followed one by one
    (position m needs m jumps). Once none can, the rest is a geometric sum.
    """
    if len(start) == 0 or t <= 0.0:
        return Exits(0.0, 0.0)
    total_rate = float(advance[-1]) + leave
    weights = poisson_weights(total_rate * t)
    jumps = len(weights) - 1
    reachable = start[: min(len(start), jumps)].copy()
    waiting = float(start.sum())  # everyone still in the queue, reachable or not
    move = advance / total_rate
    stay = 1.0 - (advance + leave) / total_rate
    quit_step = leave / total_rate
    served = abandoned = 0.0  # absorbed after n jumps
    served_by_t = abandoned_by_t = 0.0
    for n in range(jumps + 1):
        if float(reachable.sum()) < DRAINED:
            rest = weights[n:]
            gone = -np.expm1(np.arange(len(rest), dtype=np.float64) * math.log1p(-quit_step))
            served_by_t += float(rest.sum()) * served
            abandoned_by_t += float(rest.sum()) * abandoned + waiting * float(rest @ gone)
            break
        served_by_t += weights[n] * served
        abandoned_by_t += weights[n] * abandoned
        if n == jumps:
            break
        size = min(len(reachable), jumps - n)
        reachable = reachable[:size]
        answered = float(reachable[0] * move[0])
        served += answered
        abandoned += quit_step * waiting
        waiting = max(0.0, waiting * (1.0 - quit_step) - answered)
        nxt = reachable * stay[:size]
        nxt[:-1] += reachable[1:] * move[1:size]
        reachable = nxt
    return Exits(served=float(served_by_t), abandoned=float(abandoned_by_t))
