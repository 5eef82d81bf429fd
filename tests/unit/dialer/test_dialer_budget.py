"""The abandonment budget: the aim, the allowed rate, the threshold and the cap guard."""

from __future__ import annotations

import math

from dialer_helpers import pacer
from hypothesis import given, settings
from hypothesis import strategies as st

from callbridge.domain.dialer.pacing.budget import (
    CONFIDENCE_Z,
    AbandonmentBudget,
    AbandonmentLimits,
    window_aim,
)
from callbridge.domain.dialer.pacing.state import PacingState

NOW = 50_000.0


def tally(budget: AbandonmentBudget, live: int, abandoned: int, key: str = "w") -> None:
    for i in range(live):
        budget.observe_live(NOW - live + i, key, abandoned=i < abandoned)


@given(st.floats(0.001, 0.2), st.floats(0.0, 1.0), st.floats(1.0, 1e6))
def test_the_aim_keeps_a_poisson_window_under_the_cap(
    cap: float, share: float, live: float
) -> None:
    target = cap * max(share, 0.01)
    aim = window_aim(cap, target, live)
    expected = aim * live
    assert 0 < aim <= target
    assert expected + CONFIDENCE_Z * math.sqrt(expected) <= cap * live * (1 + 1e-9)


def test_a_small_window_is_aimed_lower_than_a_large_one() -> None:
    assert window_aim(0.03, 0.025, 200) < window_aim(0.03, 0.025, 900) < 0.025
    assert window_aim(0.03, 0.025, 20_000) == 0.025


def test_the_allowed_rate_spends_savings_and_repays_overspending() -> None:
    budget = AbandonmentBudget(AbandonmentLimits(0.03, 0.025))
    tally(budget, 2000, 20)  # 1 %: savings to spend
    saving = budget.plan(NOW, remaining_s=3600, live_per_s=0.5)
    assert saving.allowed_rate > saving.aim
    over = AbandonmentBudget(AbandonmentLimits(0.03, 0.025))
    tally(over, 2000, 80)  # 4 %: the rest of the window must make up for it
    repaying = over.plan(NOW, remaining_s=3600, live_per_s=0.5)
    assert 0.0 <= repaying.allowed_rate < repaying.aim
    spent = AbandonmentBudget(AbandonmentLimits(0.03, 0.025))
    tally(spent, 200, 50)
    assert spent.plan(NOW, remaining_s=600, live_per_s=0.1).allowed_rate == 0.0


def test_a_new_window_starts_a_new_tally() -> None:
    budget = AbandonmentBudget(AbandonmentLimits())
    tally(budget, 100, 10, key="2026-03-02")
    budget.roll("2026-03-03")
    assert (budget.tally.key, budget.tally.live, budget.tally.abandoned) == ("2026-03-03", 0, 0)


def test_the_threshold_follows_the_allowed_rate() -> None:
    budget = AbandonmentBudget(AbandonmentLimits(), threshold=0.02)
    start = budget.threshold
    budget.placed(NOW, 0.3, (0.0, 0.001, 0.002), allowed_rate=0.025)  # cheaper than allowed
    assert budget.threshold > start
    budget.placed(NOW + 1, 0.3, (0.2, 0.3), allowed_rate=0.025)  # dearer
    assert budget.threshold < start


def test_the_calibration_learns_how_far_the_model_is_off() -> None:
    budget = AbandonmentBudget(AbandonmentLimits())
    for i in range(100):
        budget.placed(NOW + i, 0.5, (0.04,), allowed_rate=0.025)  # expects 2 abandons
    tally(budget, 100, 6)
    assert math.isclose(budget.calibration, (6 + 10) / (2 + 10))  # a prior of 10 each side


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 3000),
    st.floats(0.0, 0.08),
    st.floats(0.0, 20.0),
    st.floats(0.0, 2.0),
    st.floats(0.0, 20_000.0),
)
def test_the_headroom_is_what_keeps_the_projected_rate_at_the_cap(
    live: int, rate: float, live_in_flight: float, abandons_in_flight: float, remaining_s: float
) -> None:
    budget = AbandonmentBudget(AbandonmentLimits(0.03, 0.025))
    tally(budget, live, round(live * rate))
    plan = budget.plan(NOW, remaining_s, live_per_s=0.2)
    room = budget.headroom(plan, live_in_flight, abandons_in_flight)
    future = plan.allowed_rate * plan.remaining_live
    in_flight = abandons_in_flight * budget.guard_calibration  # abandons seen scale it up
    assert budget.guard_calibration >= 1.0
    abandons = budget.tally.abandoned + in_flight + future
    allowance = CONFIDENCE_Z * math.sqrt(in_flight + future)
    answers = budget.tally.live + live_in_flight + plan.remaining_live
    # headroom >= 0 exactly when the projected window (with its allowance for bad luck) ends
    # at or under the cap
    assert (room >= 0) == (abandons + allowance <= 0.03 * answers + 1e-9) or abs(room) < 1e-9


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2000),
    st.floats(0.0, 0.1),
    st.integers(0, 30),
    st.lists(st.floats(0.0, 25.0), max_size=40),
    st.lists(st.floats(0.0, 20.0), max_size=10),
    st.sampled_from([0.1, 0.3, 0.5]),
)
def test_the_pacer_never_spends_past_the_cap_headroom(
    live: int,
    rate: float,
    ready: int,
    ringing: list[float],
    wrapping: list[float],
    live_rate: float,
) -> None:
    """The controller's promise: after a decision the projected window rate is at or below the
    cap, or, if bad luck had already put it above, the calls placed together lower it."""
    p = pacer(live_rate)
    tally(p.budget, live, round(live * rate), key="day-1")
    state = PacingState(
        NOW,
        ready=ready,
        wrapping_since=tuple(NOW - w for w in wrapping),
        in_flight=tuple(NOW - a for a in ringing),
        remaining_s=1800.0,
    )
    d = p.decide(state, "day-1")
    assert d.budget is not None and d.forecast is not None
    cap = d.budget.cap
    scale = p.budget.guard_calibration
    spent = sum(d.forecast.live_rate * (risk * scale - cap) for risk in d.risks)
    # each call adds live_rate x (risk - cap) to the projected abandons over the cap
    assert spent <= max(d.budget.cap_headroom, 0.0) + 1e-9
