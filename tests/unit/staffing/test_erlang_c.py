"""Erlang B and C: published values, the textbook definitions, invariants, 10,000 agents."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from staffing_reference import erlang_b_decimal, erlang_b_exact, erlang_c_exact

from callbridge.domain.errors import InvalidInput
from callbridge.domain.staffing import (
    Model,
    Workload,
    erlang_b,
    erlang_c,
    erlang_c_performance,
    performance,
)

# reference section 3.2: (agents, P(wait), ASA s, SL20 answered/offered, occupancy)
PUBLISHED = {
    "C01": (11, 0.6821182, 122.7813, 0.3896138, 0.9090909),
    "C02": (12, 0.4493882, 40.4449, 0.6401580, 0.8333333),
    "C03": (13, 0.2852705, 17.1162, 0.7955948, 0.7692308),
    "C04": (14, 0.1741319, 7.8359, 0.8883500, 0.7142857),
}
PROBABILITY = 1e-6
SECONDS = 1e-3


@pytest.mark.parametrize("case", sorted(PUBLISHED))
def test_matches_the_published_cases(case: str) -> None:
    agents, p_wait, asa, sl20, occupancy = PUBLISHED[case]
    perf = performance(Workload(calls_per_hour=200, aht_s=180), agents, sl_seconds=20)
    assert perf.model is Model.ERLANG_C and perf.agents == agents
    assert perf.p_wait == pytest.approx(p_wait, abs=PROBABILITY)
    assert perf.asa_s == pytest.approx(asa, abs=SECONDS)
    assert perf.service_level == pytest.approx(sl20, abs=PROBABILITY)
    assert perf.occupancy == pytest.approx(occupancy, abs=PROBABILITY)
    assert perf.p_abandon == 0.0 and perf.p_abandon_within_t == 0.0
    assert perf.service_level_virtual == perf.service_level
    assert perf.mean_wait_s == perf.asa_s  # nobody abandons: all callers are answered


@pytest.mark.parametrize("agents", [1, 2, 5, 12, 30])
@pytest.mark.parametrize("load", [Fraction(1, 3), Fraction(7, 2), Fraction(10), Fraction(49, 2)])
def test_erlang_b_and_c_equal_the_textbook_sums(agents: int, load: Fraction) -> None:
    assert erlang_b(agents, float(load)) == pytest.approx(
        float(erlang_b_exact(agents, load)), rel=1e-13
    )
    if agents > load:
        assert erlang_c(agents, float(load)) == pytest.approx(
            float(erlang_c_exact(agents, load)), rel=1e-13
        )


@pytest.mark.parametrize("agents", [1, 9, 10])
def test_erlang_c_needs_more_agents_than_the_load(agents: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        performance(Workload(calls_per_hour=200, aht_s=180), agents)  # load 10 Erlang
    assert caught.value.details["field"] == "agents"
    assert "at least 11 agents" in caught.value.message


@pytest.mark.parametrize(
    ("arrival_rate", "aht", "agents", "sl_seconds", "field"),
    [
        (-0.01, 180.0, 12, 20.0, "arrival_rate"),
        (math.nan, 180.0, 12, 20.0, "arrival_rate"),
        (0.05, 0.0, 12, 20.0, "aht"),
        (0.05, math.inf, 12, 20.0, "aht"),
        (0.05, 180.0, 0, 20.0, "agents"),
        (0.05, 180.0, 12, -1.0, "sl_seconds"),
    ],
)
def test_impossible_input_names_the_field(
    arrival_rate: float, aht: float, agents: int, sl_seconds: float, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        erlang_c_performance(arrival_rate, aht, agents, sl_seconds)
    assert caught.value.details["field"] == field


def test_a_workload_refuses_negative_rates() -> None:
    with pytest.raises(InvalidInput) as caught:
        Workload(calls_per_hour=-1, aht_s=180)
    assert caught.value.details["field"] == "calls_per_hour"


loads = st.floats(min_value=0.01, max_value=400.0)
times = st.floats(min_value=0.0, max_value=600.0)


@settings(max_examples=200, deadline=None)
@given(load=loads, extra=st.integers(min_value=1, max_value=40), aht=st.floats(10.0, 900.0))
def test_more_agents_wait_less(load: float, extra: int, aht: float) -> None:
    agents = math.floor(load) + extra
    fewer = erlang_c_performance(load / aht, aht, agents, 20.0)
    more = erlang_c_performance(load / aht, aht, agents + 1, 20.0)
    assert 0.0 <= more.p_wait <= fewer.p_wait <= 1.0
    assert more.asa_s <= fewer.asa_s
    assert more.service_level >= fewer.service_level
    assert more.occupancy < fewer.occupancy


@settings(max_examples=200, deadline=None)
@given(load=loads, extra=st.integers(min_value=1, max_value=40), t1=times, t2=times)
def test_service_level_grows_with_t_from_one_minus_p_wait(
    load: float, extra: int, t1: float, t2: float
) -> None:
    agents = math.floor(load) + extra
    early, late = sorted((t1, t2))
    at_0 = erlang_c_performance(load / 180.0, 180.0, agents, 0.0)
    at_early = erlang_c_performance(load / 180.0, 180.0, agents, early)
    at_late = erlang_c_performance(load / 180.0, 180.0, agents, late)
    assert at_0.service_level == pytest.approx(1.0 - at_0.p_wait, abs=1e-15)
    assert at_0.service_level <= at_early.service_level <= at_late.service_level <= 1.0


@settings(max_examples=100, deadline=None)
@given(load=loads, extra=st.integers(min_value=1, max_value=40))
def test_erlang_c_from_b_identity(load: float, extra: int) -> None:
    """C = B / (1 - (A/N)(1 - B)): the same law written through blocking."""
    agents = math.floor(load) + extra
    b = erlang_b(agents, load)
    rho = load / agents
    assert erlang_c(agents, load) == pytest.approx(b / (1.0 - rho * (1.0 - b)), rel=1e-12)


@pytest.mark.parametrize("load", [9900.0, 9990.0])
def test_ten_thousand_agents_at_high_load(load: float) -> None:
    agents = 10_000
    reference = float(erlang_b_decimal(agents, load))
    assert erlang_b(agents, load) == pytest.approx(reference, rel=1e-11)
    previous = None
    for n in range(agents - 5, agents + 6):
        perf = erlang_c_performance(load / 180.0, 180.0, n, 20.0)
        values = (perf.p_wait, perf.service_level, perf.occupancy)
        assert all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in values)
        assert math.isfinite(perf.asa_s) and perf.asa_s > 0.0
        if previous is not None:
            assert perf.p_wait < previous.p_wait
            assert perf.service_level > previous.service_level
        previous = perf


def test_tiny_load_on_many_agents_underflows_to_no_wait() -> None:
    perf = erlang_c_performance(1.0 / 180.0, 180.0, 10_000, 20.0)
    assert perf.p_wait == 0.0 and perf.service_level == 1.0 and perf.asa_s == 0.0
