"""Predictive pacing: what it dials, why, and the cases where it must not dial."""

from __future__ import annotations

from dialer_helpers import learnt, pacer
from hypothesis import given, settings
from hypothesis import strategies as st

from callbridge.domain.dialer.decisions import PacingReason
from callbridge.domain.dialer.modes import DialMode
from callbridge.domain.dialer.pacing.budget import AbandonmentLimits
from callbridge.domain.dialer.pacing.predictive import PredictivePacer
from callbridge.domain.dialer.pacing.state import PacingState

NOW = 10_000.0


def test_a_new_campaign_dials_progressively_until_it_has_learnt() -> None:
    fresh = PredictivePacer(AbandonmentLimits())
    d = fresh.decide(PacingState(NOW, ready=4, in_flight=(NOW - 3,)), "day-1")
    assert (d.mode, d.reason, d.dial) == (DialMode.PREDICTIVE, PacingReason.LEARNING, 3)
    assert d.forecast is None and d.budget is not None


def test_ready_agents_get_more_than_one_call_each_when_few_answer_live() -> None:
    d = pacer(live_rate=0.1).decide(PacingState(NOW, ready=5, logged_in=5), "day-1")
    assert d.dial > 5  # a tenth answer live: one call per agent would leave most idle
    assert d.reason in (PacingReason.RISK_LIMIT, PacingReason.CAP_GUARD)
    assert d.forecast is not None and d.budget is not None
    assert len(d.risks) == d.dial
    assert all(b >= a - 1e-12 for a, b in zip(d.risks, d.risks[1:], strict=False))  # riskier
    assert d.forecast.last_risk == d.risks[-1] <= d.forecast.threshold < d.forecast.next_risk
    assert d.forecast.agents_free == 5.0 and d.inputs.ready == 5
    assert "call(s)" in d.explanation


def test_an_agent_finishing_wrap_up_soon_is_dialled_for_before_being_free() -> None:
    # talk ended 10 s ago: the 15 s wrap-up ends in 5 s, about when a call placed now answers
    state = PacingState(NOW, ready=0, talking_since=(), wrapping_since=(NOW - 10,), logged_in=1)
    d = pacer(live_rate=0.3).decide(state, "day-1")
    assert d.dial >= 1
    assert d.forecast is not None and d.forecast.agents_free >= 0.99


def test_nothing_is_dialled_for_agents_who_are_all_on_fresh_calls() -> None:
    state = PacingState(NOW, ready=0, talking_since=(NOW - 1, NOW - 2, NOW - 3), logged_in=3)
    d = pacer(live_rate=0.5).decide(state, "day-1")
    assert (d.dial, d.reason) == (0, PacingReason.NO_AGENTS)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.0, 14.0), max_size=30),  # calls ringing for this long
    st.lists(st.floats(0.0, 2.0), max_size=8),  # talking agents: just started
    st.integers(0, 3),
    st.sampled_from([0.1, 0.35, 0.5]),
)
def test_no_agent_ready_or_about_to_be_means_no_dialling(
    ringing: list[float], talking: list[float], waiting: int, live_rate: float
) -> None:
    # nobody is ready, nobody wraps up, and a talk just begun cannot end and be wrapped up
    # within the time a call placed now takes to be answered
    state = PacingState(
        NOW,
        ready=0,
        waiting=waiting,
        talking_since=tuple(NOW - t for t in talking),
        in_flight=tuple(NOW - a for a in ringing),
        logged_in=len(talking),
    )
    d = pacer(live_rate).decide(state, "day-1")
    assert d.dial == 0


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30), st.lists(st.floats(0.0, 20.0), max_size=40))
def test_more_ready_agents_never_mean_fewer_calls(ready: int, ringing: list[float]) -> None:
    p = pacer(live_rate=0.2)
    in_flight = tuple(NOW - a for a in ringing)
    fewer = p.decide(PacingState(NOW, ready=ready, in_flight=in_flight), "day-1")
    q = pacer(live_rate=0.2)
    more = q.decide(PacingState(NOW, ready=ready + 1, in_flight=in_flight), "day-1")
    assert more.dial >= fewer.dial


def test_small_teams_overdial_less_per_agent_than_large_ones() -> None:
    small = pacer(live_rate=0.2).decide(PacingState(NOW, ready=2), "day-1")
    large = pacer(live_rate=0.2).decide(PacingState(NOW, ready=40), "day-1")
    assert small.dial / 2 < large.dial / 40


def test_the_model_is_rebuilt_from_the_estimates_on_a_cadence() -> None:
    est = learnt(live_rate=0.3)
    p = PredictivePacer(AbandonmentLimits(), estimates=est)
    first = p.tables(NOW)
    for _ in range(500):
        est.observe_attempt(True, 6.0)
    assert p.tables(NOW + 10) is first  # too soon
    again = p.tables(NOW + 400)
    assert again is not first and again.live_rate > first.live_rate
