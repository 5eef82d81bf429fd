"""Count tails: the binomial/Poisson approximation against the exact Poisson-binomial."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from callbridge.domain.dialer.pacing.counts import at_least


def exact_at_least(chances: list[float], k: int) -> float:
    pmf = np.array([1.0])
    for p in chances:
        pmf = np.convolve(pmf, [1.0 - p, p])
    return float(pmf[k:].sum()) if k > 0 else 1.0


def tail(chances: list[float], k: float) -> float:
    mean = sum(chances)
    var = sum(p * (1 - p) for p in chances)
    return float(at_least(np.array([mean]), np.array([var]), np.array([k]))[0])


def test_identical_chances_are_exactly_binomial() -> None:
    for chances, k in (([0.1] * 30, 5), ([0.5] * 10, 7), ([0.02] * 200, 6)):
        assert abs(tail(chances, k) - exact_at_least(chances, k)) < 1e-9


def test_a_certain_count_is_its_mean_and_nothing_is_needed_below_one() -> None:
    zero = np.zeros(3)
    assert at_least(np.array([2.0, 2.0, 0.0]), zero, np.array([2.0, 3.0, 1.0])).tolist() == [
        1.0,
        0.0,
        0.0,
    ]
    assert at_least(np.array([0.3]), np.array([0.2]), np.array([0.0])).tolist() == [1.0]


def test_variance_at_or_above_the_mean_is_poisson() -> None:
    got = at_least(np.array([3.0]), np.array([3.0]), np.array([2.0]))[0]
    assert abs(got - (1 - np.exp(-3.0) * 4.0)) < 1e-9


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=25),
    st.integers(0, 12),
)
def test_close_to_the_exact_tail_and_a_probability(chances: list[float], k: int) -> None:
    got = tail(chances, k)
    assert 0.0 <= got <= 1.0
    # mean and variance alone cannot pin a sum of a few very unequal chances down: the worst
    # found in a 100,000-case search is 0.23 ([0.04, 0.97, 0.21] for k = 2; [1, 0.5, 0.25,
    # 0.0625] for k = 2 is off by 0.17)
    assert abs(got - exact_at_least(chances, k)) < 0.25


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(0.05, 0.6), min_size=5, max_size=40),
    st.integers(0, 25),
)
def test_close_where_the_pacer_uses_it(chances: list[float], k: int) -> None:
    # the pacer's counts are sums of many middling chances (calls answering live, agents
    # freeing up); there the two moments pin the tail within 0.03 (worst found 0.025)
    assert abs(tail(chances, k) - exact_at_least(chances, k)) < 0.03


@settings(max_examples=100, deadline=None)
@given(st.floats(0.0, 40.0), st.floats(0.0, 1.0), st.integers(0, 50))
def test_a_higher_threshold_is_never_likelier(mean: float, share: float, k: int) -> None:
    var = mean * share
    lower, higher = at_least(np.array([mean] * 2), np.array([var] * 2), np.array([k, k + 1.0]))
    assert higher <= lower + 1e-12
