"""Independent references for the staffing tests, computed another way than the product does.

- Erlang B and C straight from their textbook definitions (sums of A^k/k!), in exact rational
  arithmetic for small systems and in 60-digit decimals for 10,000 agents.
- Erlang A by brute force: the stationary law from a linear solve of the truncated generator,
  and the tagged caller's measures from the phase-type matrix formulas (fundamental matrix,
  matrix exponential), instead of the product's recursions, Little's law and uniformization.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]


def erlang_b_exact(agents: int, load: Fraction) -> Fraction:
    """(A^N/N!) / Σ_{k≤N} A^k/k!, in rationals."""
    terms = [load**k / math.factorial(k) for k in range(agents + 1)]
    return terms[-1] / sum(terms, Fraction(0))


def erlang_c_exact(agents: int, load: Fraction) -> Fraction:
    """The textbook Erlang C: (A^N/N!)·N/(N-A) over Σ_{k<N} A^k/k! plus that term."""
    waiting = load**agents / math.factorial(agents) * agents / (agents - load)
    below = sum((load**k / math.factorial(k) for k in range(agents)), Fraction(0))
    return waiting / (below + waiting)


def erlang_b_decimal(agents: int, load: float, digits: int = 60) -> Decimal:
    """Erlang B as 1 / Σ_{k≤N} Π_{j=k+1..N} j/A, in `digits`-digit decimals (large N)."""
    with localcontext() as ctx:
        ctx.prec = digits
        a = Decimal(load)
        total = Decimal(1)
        term = Decimal(1)
        for j in range(agents, 0, -1):  # term for k = j - 1: previous term times j/A
            term = term * Decimal(j) / a
            total += term
        return Decimal(1) / total


def poisson_upper_tail_exact(mean: int, at_least: int) -> Fraction:
    """P(Poisson(mean) >= at_least) for an integer mean, in rationals (e^-mean kept apart)."""
    head = sum((Fraction(mean) ** k / math.factorial(k) for k in range(at_least)), Fraction(0))
    return 1 - head * Fraction(math.exp(-mean))


@dataclass(frozen=True)
class ErlangAReference:
    p_wait: float
    p_abandon: float
    asa_s: float
    mean_wait_s: float
    service_level: float
    service_level_virtual: float
    p_abandon_within_t: float
    occupancy: float


def expm(matrix: Matrix) -> Matrix:
    """Matrix exponential by scaling and squaring with a 30-term Taylor series."""
    norm = float(np.abs(matrix).sum(axis=1).max())
    squarings = max(0, math.ceil(math.log2(norm / 0.25))) if norm > 0.25 else 0
    scaled = matrix / 2.0**squarings
    result = np.eye(len(matrix))
    term = np.eye(len(matrix))
    for k in range(1, 30):
        term = term @ scaled / k
        result = result + term
    for _ in range(squarings):
        result = result @ result
    return result


def erlang_a_brute_force(
    calls_per_hour: float, aht: float, agents: int, patience: float, t: float, queue_cap: int
) -> ErlangAReference:
    """Erlang A by linear algebra on the chain truncated at `queue_cap` waiting callers."""
    lam = calls_per_hour / 3600.0
    mu = 1.0 / aht
    theta = 1.0 / patience
    size = agents + queue_cap + 1
    generator = np.zeros((size, size))
    for n in range(size):
        if n + 1 < size:
            generator[n, n + 1] = lam
        if n > 0:
            generator[n, n - 1] = min(n, agents) * mu + max(n - agents, 0) * theta
        generator[n, n] = -generator[n].sum()
    # π Q = 0 with Σπ = 1: replace one balance equation by the normalization
    system = generator.T.copy()
    system[-1, :] = 1.0
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    pi = np.linalg.solve(system, rhs)
    queued = pi[agents:]  # an arrival finding k waiting takes position k + 1
    positions = queue_cap + 1
    served_rate = agents * mu

    # the tagged caller: transient positions 1..K, position m at index m - 1
    transient = np.zeros((positions, positions))
    virtual = np.zeros((positions, positions))
    for m in range(1, positions + 1):
        advance = served_rate + (m - 1) * theta
        transient[m - 1, m - 1] = -(advance + theta)
        virtual[m - 1, m - 1] = -advance
        if m >= 2:
            transient[m - 1, m - 2] = advance
            virtual[m - 1, m - 2] = advance
    to_served = np.zeros(positions)
    to_served[0] = served_rate
    to_abandon = np.full(positions, theta)
    ones = np.ones(positions)

    fundamental = np.linalg.inv(-transient)  # expected time at each position
    p_served_from = fundamental @ to_served
    mean_time = fundamental @ ones
    wait_times_served = fundamental @ p_served_from  # E[W·1{served}] from each position
    no_wait = float(pi[:agents].sum())
    p_answered = no_wait + float(queued @ p_served_from)
    not_yet = np.eye(positions) - expm(transient * t)
    served_by_t = fundamental @ not_yet @ to_served
    abandoned_by_t = fundamental @ not_yet @ to_abandon
    still_virtual = expm(virtual * t) @ ones
    busy = float(sum(min(n, agents) * pi[n] for n in range(size)))
    return ErlangAReference(
        p_wait=float(queued.sum()),
        p_abandon=float(queued @ (1.0 - p_served_from)),
        asa_s=float(queued @ wait_times_served) / p_answered,
        mean_wait_s=float(queued @ mean_time),
        service_level=no_wait + float(queued @ served_by_t),
        service_level_virtual=no_wait + float(queued @ (1.0 - still_virtual)),
        p_abandon_within_t=float(queued @ abandoned_by_t),
        occupancy=busy / agents,
    )
