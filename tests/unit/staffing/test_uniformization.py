"""The time-t engine on its own: Poisson weights and the leave-the-queue chain."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callbridge.domain.staffing.uniformization import POISSON_TAIL, exits_by, poisson_weights


@pytest.mark.parametrize("mean", [0.3, 4.0, 37.5, 1111.0, 20_000.0])
def test_poisson_weights_are_the_pmf_and_keep_all_but_the_tail(mean: float) -> None:
    weights = poisson_weights(mean)
    assert math.fsum(weights) == pytest.approx(1.0, abs=1e-15)
    for n in {0, math.floor(mean), len(weights) - 1} | {len(weights) // 2}:
        terms = (n * math.log(mean), mean, math.lgamma(n + 1.0))
        pmf = math.exp(terms[0] - terms[1] - terms[2])
        # the textbook exponent cancels terms of this size: it is the less exact side here
        magnitude = sum(abs(term) for term in terms)
        assert weights[n] == pytest.approx(pmf, rel=4e-16 * (1.0 + magnitude), abs=1e-300)
    n_max = len(weights) - 1
    beyond = sum(
        math.exp(n * math.log(mean) - mean - math.lgamma(n + 1.0))
        for n in range(n_max + 1, n_max + 200)
    )
    assert beyond < POISSON_TAIL


@settings(max_examples=100, deadline=None)
@given(advance=st.floats(1e-3, 50.0), leave=st.floats(0.0, 5.0), t=st.floats(0.0, 100.0))
def test_one_position_is_competing_exponentials(advance: float, leave: float, t: float) -> None:
    """From position 1: answered by t with probability a/(a+l)·(1 - e^{-(a+l)t})."""
    exits = exits_by(np.array([1.0]), np.array([advance]), leave, t)
    gone = -math.expm1(-(advance + leave) * t)
    assert exits.served == pytest.approx(advance / (advance + leave) * gone, abs=1e-12)
    assert exits.abandoned == pytest.approx(leave / (advance + leave) * gone, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(rate=st.floats(0.05, 5.0), positions=st.integers(1, 300), t=st.floats(0.0, 200.0))
def test_equal_rates_make_an_erlang_distribution(rate: float, positions: int, t: float) -> None:
    """Equal advance rates, no abandonment: served by t iff a Gamma(m, rate) time is ≤ t,
    i.e. iff Poisson(rate·t) ≥ m; compared in log space, so deep positions test precision."""
    start = np.zeros(positions)
    start[-1] = 1.0
    exits = exits_by(start, np.full(positions, rate), 0.0, t)
    x = rate * t
    below = math.fsum(
        math.exp(k * math.log(x) - x - math.lgamma(k + 1.0)) if x > 0 else float(k == 0)
        for k in range(positions)
    )
    assert exits.served == pytest.approx(max(0.0, 1.0 - below), abs=1e-11)
    assert exits.abandoned == 0.0


@settings(max_examples=100, deadline=None)
@given(
    served_rate=st.floats(0.01, 60.0),
    leave=st.floats(1e-6, 2.0),
    weights=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=400),
    t=st.floats(0.0, 60.0),
)
def test_every_caller_is_answered_gone_or_still_waiting(
    served_rate: float, leave: float, weights: list[float], t: float
) -> None:
    """Patience is independent of the queue: still waiting at t = e^{-θt}·P(V > t), with V the
    wait of a caller who never hangs up. Queues deeper than the jumps kept are included."""
    start = np.array(weights)
    total = float(start.sum())
    position = np.arange(1, len(start) + 1, dtype=np.float64)
    advance = served_rate + (position - 1.0) * leave
    exits = exits_by(start, advance, leave, t)
    virtual = exits_by(start, advance, 0.0, t)
    still_waiting = math.exp(-leave * t) * (total - virtual.served)
    assert exits.served + exits.abandoned + still_waiting == pytest.approx(total, abs=1e-11)
    assert exits.served <= virtual.served + 1e-12
