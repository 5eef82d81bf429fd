"""The predictive model's reading of a state: demand from the calls ringing, supply from the
agents, and the risk of one more call."""

from __future__ import annotations

import numpy as np
from dialer_helpers import learnt

from callbridge.domain.dialer.pacing.estimates import CampaignEstimates, Histogram
from callbridge.domain.dialer.pacing.outlook import build_tables, view
from callbridge.domain.dialer.pacing.state import PacingState

NOW = 1000.0
TABLES = build_tables(learnt(live_rate=0.3), grace_s=2.0)


def test_the_cells_cover_when_a_live_answer_can_come() -> None:
    assert 14.5 <= TABLES.horizon <= 15.5
    assert abs(TABLES.weights.sum() - 1.0) < 1e-9
    before_five = TABLES.cells < 4.5
    assert TABLES.weights[before_five].sum() < 0.01  # nobody answers live within 5 s


def test_a_call_that_rang_past_every_live_answer_is_no_longer_expected() -> None:
    young = view(TABLES, PacingState(NOW, ready=0, in_flight=(NOW - 1.0,)))
    old = view(TABLES, PacingState(NOW, ready=0, in_flight=(NOW - 16.0,)))
    assert 0.25 < young.live_in_flight < 0.35  # the live share, all of it still to come
    assert old.live_in_flight == 0.0


def test_a_call_ringing_longer_is_less_likely_live() -> None:
    # busy lines are released at 4 s: still ringing at 6 s makes a live answer likelier; at
    # 12 s most live answers would have come
    at = {
        a: view(TABLES, PacingState(NOW, 0, in_flight=(NOW - a,))).live_in_flight
        for a in (1, 6, 12)
    }
    assert at[6] > at[1] > at[12]


def test_supply_counts_agents_whose_wrap_up_ends_within_the_horizon() -> None:
    soon = view(TABLES, PacingState(NOW, ready=1, wrapping_since=(NOW - 14.0,)))
    later = view(TABLES, PacingState(NOW, ready=1, wrapping_since=(NOW - 0.5,)))
    assert abs(soon.agents_free - 2.0) < 0.01
    assert abs(later.agents_free - 2.0) < 0.01  # wrap-up ends at 14.5 s: still inside
    talking = view(TABLES, PacingState(NOW, ready=1, talking_since=(NOW - 60.0,)))
    assert 1.0 <= talking.agents_free < 1.05  # a talk cannot end and be wrapped up that soon


def test_each_further_call_is_riskier_and_with_no_agent_every_call_is_abandoned() -> None:
    reading = view(TABLES, PacingState(NOW, ready=3))
    risks = reading.risks(0, 30)
    assert np.all(np.diff(risks) >= -1e-12)
    assert risks[0] < 1e-9  # three agents ready: the first call finds one
    assert risks[-1] > 0.5
    nobody = view(TABLES, PacingState(NOW, ready=0))
    assert nobody.risks(0, 1)[0] == 1.0


def test_the_first_block_of_risks_is_the_same_as_asking_for_it() -> None:
    reading = view(TABLES, PacingState(NOW, ready=2, in_flight=(NOW - 3.0, NOW - 9.0)))
    direct = reading.risks(2, 10)
    head = reading.risks(0, 12)
    assert np.allclose(direct, head[2:])


def test_histograms_learn_and_forget_together() -> None:
    h = Histogram(0.5, 60.0, memory=100)
    for _ in range(80):
        h.add(10.2)
    assert h.cdf(np.array([10.0, 10.5]))[1] == 1.0 and h.quantile(0.5) == 10.5
    est = CampaignEstimates(memory=100)
    for i in range(1000):
        est.observe_attempt(i % 4 == 0, 8.0)
    assert abs(est.live_rate - 0.25) < 0.03  # halving both sides keeps the share
    assert not est.ready  # no talk or wrap-up seen yet
