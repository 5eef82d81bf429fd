"""Square-root staffing N = R + β√R: asymptotic, so only the solver's first guess.

- Halfin & Whitt (1981), Erlang C: P(wait) → alpha(β) = [1 + βΦ(β)/φ(β)]⁻¹ as R → ∞.
- Garnett, Mandelbaum & Reiman (2002), Erlang A with r = √(μ/θ) and h the standard normal
  hazard: P(wait) ~ [1 + h(βr)/(r·h(-β))]⁻¹, for any real β.

Within about 0.01-0.02 of the exact P(wait) from 80 Erlang up, worse for small loads; the solver
corrects the guess with the exact formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable

BETA_RANGE = 10.0  # |β| beyond this changes nothing a planner could see


def normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_hazard(x: float) -> float:
    """φ(x)/(1 - Φ(x)), from erfc so that it stays accurate far in the right tail."""
    if x > 35.0:  # erfc underflows; the asymptotic series is exact to double precision here
        return x + 1.0 / x - 2.0 / x**3
    return normal_pdf(x) / (0.5 * math.erfc(x / math.sqrt(2.0)))


def halfin_whitt_p_wait(beta: float) -> float:
    """Limit of Erlang C's P(wait) for N = R + β√R, β ≥ 0."""
    if beta <= 0.0:
        return 1.0
    return 1.0 / (1.0 + beta * normal_cdf(beta) / normal_pdf(beta))


def garnett_p_wait(beta: float, r: float) -> float:
    """Garnett-Mandelbaum-Reiman approximation of Erlang A's P(wait); r = √(patience/AHT)."""
    return 1.0 / (1.0 + normal_hazard(beta * r) / (r * normal_hazard(-beta)))


def garnett_p_abandon(beta: float, r: float, agents: float) -> float:
    """Garnett-Mandelbaum-Reiman: P(ab) ~ P(wait)·(1/√N)·(1/r)·(h(βr) - βr)."""
    return garnett_p_wait(beta, r) / (math.sqrt(agents) * r) * (normal_hazard(beta * r) - beta * r)


def square_root_agents_for_abandonment(
    load: float, p_abandon: float, patience_over_aht: float
) -> int:
    """ceil(R + β√R) for the β at which Garnett et al. give `p_abandon` (N ~ R inside)."""
    r = math.sqrt(patience_over_aht)
    root = math.sqrt(load)
    beta = _solve_decreasing(lambda b: garnett_p_abandon(b, r, load), p_abandon, -root, BETA_RANGE)
    return max(1, math.ceil(load + beta * root))


def square_root_agents(
    load: float, p_late: float, patience_over_aht: float | None = None, t_over_aht: float = 0.0
) -> int:
    """ceil(R + β√R) for the β at which the approximation of P(wait > t) gives `p_late`.

    P(wait > t) ~ P(wait)·exp(-β√R·t/AHT): Erlang C's delayed callers wait an Exp((N - A)/AHT)
    time, and N - A = β√R. `patience_over_aht` None means Erlang C (Halfin-Whitt), else Erlang A
    (Garnett et al.; the exponential factor only for β > 0 there).
    """
    root = math.sqrt(load)

    def late(beta: float) -> float:
        if patience_over_aht is None:
            p_wait = halfin_whitt_p_wait(beta)
        else:
            p_wait = garnett_p_wait(beta, math.sqrt(patience_over_aht))
        return p_wait * math.exp(-max(beta, 0.0) * root * t_over_aht)

    low = 0.0 if patience_over_aht is None else -BETA_RANGE
    beta = _solve_decreasing(late, p_late, low, BETA_RANGE)
    return max(1, math.ceil(load + beta * root))


def _solve_decreasing(f: Callable[[float], float], target: float, low: float, high: float) -> float:
    """The x in [low, high] with f(x) = target for a decreasing f, clamped to the ends."""
    if f(low) <= target:
        return low
    if f(high) >= target:
        return high
    for _ in range(60):
        mid = 0.5 * (low + high)
        if f(mid) > target:
            low = mid
        else:
            high = mid
    return high
