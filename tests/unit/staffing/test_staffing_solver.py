"""The solver: the published staffing answer, minimality over random targets, shrinkage."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callbridge.domain.errors import InvalidInput
from callbridge.domain.staffing import (
    Targets,
    Workload,
    halfin_whitt_p_wait,
    performance,
    scheduled_headcount,
    solve,
    square_root_agents,
)


def test_published_answer_14_agents_and_20_after_shrinkage() -> None:
    """Reference 3.2: 200 calls/h, AHT 180 s, 80 % in 20 s needs 14; 20 after 30 % shrinkage."""
    answer = solve(Workload(200, 180), Targets(service_level=0.8, sl_seconds=20), shrinkage=0.3)
    assert answer.agents == 14
    assert answer.scheduled_agents == 20
    assert answer.binding == ("target_sl",)
    assert answer.performance == performance(Workload(200, 180), 14, 20)


def test_erlang_a_answer_is_the_fewest_meeting_the_target() -> None:
    workload = Workload(200, 180, patience_s=180)
    answer = solve(workload, Targets(service_level=0.8, sl_seconds=20))
    assert answer.performance.service_level >= 0.8
    assert performance(workload, answer.agents - 1, 20).service_level < 0.8


@pytest.mark.parametrize(("agents", "shrinkage"), [(14, 0.3), (10, 0.5), (7, 0.0), (9, 0.1)])
def test_scheduled_headcount_is_the_smallest_roster_leaving_enough(
    agents: int, shrinkage: float
) -> None:
    scheduled = scheduled_headcount(agents, shrinkage)
    assert scheduled * (1.0 - shrinkage) >= agents - 1e-9
    assert (scheduled - 1) * (1.0 - shrinkage) < agents - 1e-9


@settings(max_examples=200, deadline=None)
@given(agents=st.integers(1, 20_000), shrinkage=st.floats(0.0, 0.9))
def test_scheduled_headcount_property(agents: int, shrinkage: float) -> None:
    scheduled = scheduled_headcount(agents, shrinkage)
    assert scheduled >= agents
    assert scheduled * (1.0 - shrinkage) >= agents * (1.0 - 1e-12)
    assert (scheduled - 1) * (1.0 - shrinkage) < agents


def test_occupancy_cap_alone_is_load_over_cap() -> None:
    workload = Workload(200, 180)  # 10 Erlang
    answer = solve(workload, Targets(max_occupancy=0.7))
    assert answer.agents == math.ceil(10 / 0.7)
    assert answer.binding == ("max_occupancy",)


def test_a_lax_target_leaves_only_stability() -> None:
    answer = solve(Workload(200, 180), Targets(max_asa_s=1e6))
    assert answer.agents == 11  # the fewest for which Erlang C has a steady state
    assert answer.binding == ("stability",)


def erlang_c_workloads() -> st.SearchStrategy[Workload]:
    return st.builds(Workload, st.floats(5.0, 20_000.0), st.floats(30.0, 900.0))


def erlang_a_workloads() -> st.SearchStrategy[Workload]:
    return st.builds(
        Workload, st.floats(5.0, 5_000.0), st.floats(30.0, 900.0), st.floats(5.0, 3600.0)
    )


def targets() -> st.SearchStrategy[Targets]:
    limits = st.tuples(
        st.none() | st.floats(0.05, 0.99),
        st.none() | st.floats(0.5, 600.0),
        st.none() | st.floats(0.005, 0.5),
        st.none() | st.floats(0.3, 1.0),
    ).filter(lambda given: any(v is not None for v in given))
    return st.builds(
        lambda limit, t: Targets(limit[0], t, limit[1], limit[2], limit[3]),
        limits,
        st.floats(0.0, 120.0),
    )


@settings(max_examples=60, deadline=None)
@given(workload=erlang_c_workloads() | erlang_a_workloads(), wanted=targets())
def test_the_answer_meets_every_target_and_one_fewer_does_not(
    workload: Workload, wanted: Targets
) -> None:
    answer = solve(workload, wanted)
    assert wanted.missed(answer.performance) == ()
    one_fewer = answer.agents - 1
    if answer.binding == ("stability",):
        assert workload.patience_s is None and one_fewer <= workload.load
    elif one_fewer >= 1:
        assert wanted.missed(performance(workload, one_fewer, wanted.sl_seconds)) == answer.binding
        assert answer.binding != ()


@pytest.mark.parametrize(
    ("patience", "wanted", "guess_is_close"),
    [
        (None, Targets(service_level=0.8, sl_seconds=20), True),
        (180.0, Targets(max_abandon=0.02), True),
        # the Erlang A service-level guess ignores that short waits can meet 80 % in 20 s even
        # with fewer agents than Erlang: the exact search corrects it
        (180.0, Targets(service_level=0.8, sl_seconds=20, max_abandon=0.02), False),
    ],
)
def test_ten_thousand_agent_center(
    patience: float | None, wanted: Targets, guess_is_close: bool
) -> None:
    workload = Workload(9900 * 20.0, 180.0, patience)  # 9,900 Erlang
    answer = solve(workload, wanted, shrinkage=0.3)
    assert wanted.missed(answer.performance) == ()
    assert wanted.missed(performance(workload, answer.agents - 1, 20)) != ()
    assert answer.scheduled_agents == scheduled_headcount(answer.agents, 0.3)
    if guess_is_close:
        assert abs(answer.first_guess - answer.agents) <= 2


@pytest.mark.parametrize(
    ("beta", "published"),
    [(0.25, 0.7209), (0.5, 0.5045), (1.0, 0.2234), (1.5, 0.0847), (2.0, 0.0269), (2.5, 0.0070)],
)
def test_halfin_whitt_table(beta: float, published: float) -> None:
    assert halfin_whitt_p_wait(beta) == pytest.approx(published, abs=1e-4)


@pytest.mark.parametrize(("p_wait", "beta"), [(0.5, 0.506), (0.2, 1.062), (0.1, 1.420)])
def test_square_root_guess_uses_the_published_inverse(p_wait: float, beta: float) -> None:
    load = 400.0  # √R = 20: the β of the guess shows to 0.05
    guess = square_root_agents(load, p_wait, None)
    assert guess == math.ceil(load + beta * 20.0) or abs(guess - (load + beta * 20.0)) <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "target_sl"),
        ({"service_level": 1.0}, "target_sl"),
        ({"service_level": 0.0}, "target_sl"),
        ({"service_level": 0.8, "sl_seconds": -1.0}, "sl_seconds"),
        ({"max_asa_s": 0.0}, "max_asa"),
        ({"max_abandon": 1.5}, "max_abandon"),
        ({"max_occupancy": -0.1}, "max_occupancy"),
    ],
)
def test_impossible_targets_name_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Targets(**kwargs)
    assert caught.value.details["field"] == field


@pytest.mark.parametrize("shrinkage", [-0.1, 1.0, math.nan])
def test_impossible_shrinkage(shrinkage: float) -> None:
    with pytest.raises(InvalidInput) as caught:
        solve(Workload(200, 180), Targets(service_level=0.8), shrinkage=shrinkage)
    assert caught.value.details["field"] == "shrinkage"


def test_nothing_to_staff_for() -> None:
    with pytest.raises(InvalidInput) as caught:
        solve(Workload(0, 180), Targets(service_level=0.8))
    assert caught.value.details["field"] == "calls_per_hour"
