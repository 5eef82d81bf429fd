"""Erlang A: the published case, the exact identities, a brute-force cross-check, 10,000 agents."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from staffing_reference import erlang_a_brute_force, poisson_upper_tail_exact

from callbridge.domain.errors import InvalidInput
from callbridge.domain.staffing import (
    Model,
    Performance,
    Workload,
    erlang_a_performance,
    erlang_c_performance,
    performance,
)

PROBABILITY = 1e-6
SECONDS = 1e-3


def erlang_a(
    calls_per_hour: float, aht: float, agents: int, patience: float, t: float = 20.0
) -> Performance:
    return performance(Workload(calls_per_hour, aht, patience), agents, sl_seconds=t)


def test_matches_published_case_a02() -> None:
    perf = erlang_a(200, 180, 12, 180)
    assert perf.model is Model.ERLANG_A
    assert perf.p_wait == pytest.approx(0.3032239, abs=PROBABILITY)
    assert perf.p_abandon == pytest.approx(0.0530916, abs=PROBABILITY)
    assert perf.asa_s == pytest.approx(8.5287, abs=SECONDS)
    assert perf.service_level == pytest.approx(0.8023039, abs=PROBABILITY)
    assert perf.occupancy == pytest.approx(0.7890903, abs=PROBABILITY)


def test_matches_published_case_a12_long_patience() -> None:
    """Reference identity 4: patience 1e7 s gives P(wait) 0.449377 against Erlang C's 0.449388."""
    assert erlang_a(200, 180, 12, 1e7).p_wait == pytest.approx(0.449377, abs=PROBABILITY)


@settings(max_examples=40, deadline=None)
@given(mean=st.integers(min_value=1, max_value=60), shift=st.integers(min_value=-5, max_value=15))
def test_patience_equal_to_handle_time_gives_a_poisson_tail(mean: int, shift: int) -> None:
    """θ = μ makes the system M/M/∞: P(wait) = P(Poisson(A) ≥ N)."""
    agents = max(1, mean + shift)
    aht = 180.0
    perf = erlang_a(mean / aht * 3600.0, aht, agents, aht)
    expected = float(poisson_upper_tail_exact(mean, agents))
    assert perf.p_wait == pytest.approx(expected, abs=1e-12)


def test_a02_is_the_poisson_tail() -> None:
    assert erlang_a(200, 180, 12, 180).p_wait == pytest.approx(
        float(poisson_upper_tail_exact(10, 12)), abs=1e-13
    )


@pytest.mark.parametrize("agents", [11, 12, 14, 20])
def test_long_patience_converges_to_erlang_c(agents: int) -> None:
    c = erlang_c_performance(200 / 3600, 180.0, agents, 20.0)
    a = erlang_a(200, 180, agents, 1e7)
    assert a.p_wait == pytest.approx(c.p_wait, abs=1e-4)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-4)
    assert a.occupancy == pytest.approx(c.occupancy, abs=1e-4)
    assert a.p_abandon < 1e-4
    # the gap closes in proportion to θ: 100 times more patience, about 100 times closer
    gap = abs(a.asa_s - c.asa_s)
    closer = abs(erlang_a(200, 180, agents, 1e9).asa_s - c.asa_s)
    assert 0.0 < closer < gap / 50.0
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-3)


calls = st.floats(min_value=1.0, max_value=3000.0)
handle = st.floats(min_value=30.0, max_value=900.0)
patience = st.floats(min_value=2.0, max_value=2000.0)
agent_counts = st.integers(min_value=1, max_value=60)
sl_times = st.floats(min_value=0.0, max_value=120.0)


@settings(max_examples=150, deadline=None)
@given(cph=calls, aht=handle, agents=agent_counts, pat=patience, t=sl_times)
def test_exact_identities_over_random_queues(
    cph: float, aht: float, agents: int, pat: float, t: float
) -> None:
    perf = erlang_a(cph, aht, agents, pat, t)
    lam = cph / 3600.0
    # 1. Little's law on the queue: abandonments per second = θ · mean number waiting
    assert perf.p_abandon == pytest.approx(perf.mean_wait_s / pat, rel=1e-9, abs=1e-15)
    # 2. carried load: busy agents = λ · (1 - P(ab)) · AHT
    assert perf.occupancy == pytest.approx(lam * (1.0 - perf.p_abandon) * aht / agents, rel=1e-9)
    # the three fates by time t are exclusive: answered, abandoned, still waiting
    assert perf.service_level <= perf.service_level_virtual + 1e-12
    assert perf.service_level + perf.p_abandon_within_t <= 1.0 + 1e-12
    assert perf.p_abandon_within_t <= perf.p_abandon + 1e-12
    assert perf.service_level >= 1.0 - perf.p_wait - 1e-12
    values = (
        perf.p_wait,
        perf.p_abandon,
        perf.service_level,
        perf.service_level_virtual,
        perf.occupancy,
        perf.p_abandon_within_t,
    )
    assert all(0.0 <= v <= 1.0 for v in values)


@settings(max_examples=80, deadline=None)
@given(cph=calls, aht=handle, agents=agent_counts, pat=patience, t1=sl_times, t2=sl_times)
def test_time_measures_grow_with_t(
    cph: float, aht: float, agents: int, pat: float, t1: float, t2: float
) -> None:
    early_t, late_t = sorted((t1, t2))
    early = erlang_a(cph, aht, agents, pat, early_t)
    late = erlang_a(cph, aht, agents, pat, late_t)
    assert early.service_level <= late.service_level + 1e-12
    assert early.service_level_virtual <= late.service_level_virtual + 1e-12
    assert early.p_abandon_within_t <= late.p_abandon_within_t + 1e-12


@settings(max_examples=80, deadline=None)
@given(cph=calls, aht=handle, agents=agent_counts, pat=patience)
def test_more_agents_serve_better(cph: float, aht: float, agents: int, pat: float) -> None:
    fewer = erlang_a(cph, aht, agents, pat)
    more = erlang_a(cph, aht, agents + 1, pat)
    assert more.p_wait <= fewer.p_wait + 1e-12
    assert more.p_abandon <= fewer.p_abandon + 1e-12
    assert more.service_level >= fewer.service_level - 1e-12
    assert more.asa_s <= fewer.asa_s * (1.0 + 1e-9)
    assert more.occupancy <= fewer.occupancy + 1e-12


def test_service_level_at_zero_is_answered_at_once_and_at_infinity_is_answered() -> None:
    at_0 = erlang_a(200, 180, 12, 180, 0.0)
    assert at_0.service_level == pytest.approx(1.0 - at_0.p_wait, abs=1e-15)
    assert at_0.p_abandon_within_t == 0.0
    far = erlang_a(200, 180, 12, 180, 5000.0)
    assert far.service_level == pytest.approx(1.0 - far.p_abandon, abs=1e-12)
    assert far.p_abandon_within_t == pytest.approx(far.p_abandon, abs=1e-12)
    assert far.service_level_virtual == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("cph", "aht", "agents", "pat", "t", "cap"),
    [
        (200, 180, 12, 180, 20, 80),  # A02
        (200, 180, 8, 60, 20, 80),  # overloaded: 10 Erlang on 8 agents
        (400, 300, 20, 30, 15, 80),  # impatient callers
        (200, 180, 12, 1e4, 30, 200),  # patient callers: close to Erlang C
        (50, 200, 1, 5, 10, 60),  # a single agent
    ],
)
def test_agrees_with_brute_force_linear_algebra(
    cph: float, aht: float, agents: int, pat: float, t: float, cap: int
) -> None:
    reference = erlang_a_brute_force(cph, aht, agents, pat, t, queue_cap=cap)
    perf = erlang_a(cph, aht, agents, pat, t)
    for name in (
        "p_wait",
        "p_abandon",
        "service_level",
        "service_level_virtual",
        "p_abandon_within_t",
        "occupancy",
    ):
        assert getattr(perf, name) == pytest.approx(getattr(reference, name), abs=1e-10), name
    assert perf.asa_s == pytest.approx(reference.asa_s, abs=1e-8)
    assert perf.mean_wait_s == pytest.approx(reference.mean_wait_s, abs=1e-8)


@pytest.mark.parametrize(
    ("load", "pat"),
    [(9900.0, 180.0), (9990.0, 180.0), (10_100.0, 180.0), (9900.0, 1e12), (9990.0, 1e12)],
)
def test_ten_thousand_agents(load: float, pat: float) -> None:
    aht = 180.0
    previous = None
    for agents in (9_998, 9_999, 10_000, 10_001, 10_002):
        perf = erlang_a_performance(load / aht, aht, agents, pat, 20.0)
        values = (
            perf.p_wait,
            perf.p_abandon,
            perf.service_level,
            perf.service_level_virtual,
            perf.occupancy,
            perf.p_abandon_within_t,
        )
        assert all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in values)
        assert math.isfinite(perf.asa_s) and math.isfinite(perf.mean_wait_s)
        assert perf.p_abandon == pytest.approx(perf.mean_wait_s / pat, rel=1e-9, abs=1e-15)
        if previous is not None:
            assert perf.p_wait < previous.p_wait
            assert perf.service_level >= previous.service_level
        previous = perf


@pytest.mark.parametrize("load", [9900.0, 9990.0])
def test_tiny_abandonment_rate_agrees_with_erlang_c_at_ten_thousand_agents(load: float) -> None:
    aht = 180.0
    a = erlang_a_performance(load / aht, aht, 10_000, 1e12, 20.0)
    c = erlang_c_performance(load / aht, aht, 10_000, 20.0)
    assert a.p_wait == pytest.approx(c.p_wait, abs=1e-8)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-7)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-6)
    assert a.p_abandon < 1e-9


def test_an_overload_nobody_abandons_has_no_steady_state() -> None:
    """10,100 Erlang on 10,000 agents with a patience of 30,000 years: the queue would settle
    around 5e11 callers; the answer is a clear error, not hours of summing."""
    with pytest.raises(InvalidInput) as caught:
        erlang_a_performance(10_100.0 / 180.0, 180.0, 10_000, 1e12, 20.0)
    assert caught.value.details["field"] == "patience"


def test_no_calls_means_no_waiting() -> None:
    perf = erlang_a(0.0, 180, 3, 60)
    assert (perf.p_wait, perf.p_abandon, perf.service_level, perf.occupancy) == (0, 0, 1, 0)


@pytest.mark.parametrize(
    ("patience", "agents", "field"),
    [
        (0.0, 12, "patience"),
        (-5.0, 12, "patience"),
        (math.nan, 12, "patience"),
        (60.0, 0, "agents"),
    ],
)
def test_impossible_input_names_the_field(patience: float, agents: int, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        erlang_a_performance(0.05, 180.0, agents, patience, 20.0)
    assert caught.value.details["field"] == field


def test_rational_reference_helper_is_itself_right() -> None:
    """The Poisson tail helper against a direct float sum, so a wrong helper cannot pass."""
    direct = 1.0 - sum(math.exp(-10) * 10**k / math.factorial(k) for k in range(12))
    assert float(poisson_upper_tail_exact(10, 12)) == pytest.approx(direct, rel=1e-12)
    assert poisson_upper_tail_exact(3, 0) == Fraction(1)
