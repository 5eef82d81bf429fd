"""The dialer simulation: the same numbers for every mode, the exact modes exact, the budget
kept (short runs; the benchmark runs the long ones)."""

from __future__ import annotations

from callbridge.sim.dialer import base_campaign, simulate
from callbridge.sim.dialer_outcomes import DialerScenario, Outcomes
from callbridge.sim.dialer_pacers import SimMode


def test_the_base_scenario_figures() -> None:
    s = DialerScenario(20, 0.1)
    assert round(s.progressive_talk_per_agent_hour(), 1) == 22.9  # reference table, 2.5
    assert round(DialerScenario(20, 0.5).progressive_talk_per_agent_hour(), 1) == 43.9
    assert round(s.ceiling_talk_per_agent_hour(), 1) == 53.3


def test_every_mode_calls_the_same_people_who_answer_the_same_way() -> None:
    a, b = Outcomes(DialerScenario(5, 0.3, seed=4)), Outcomes(DialerScenario(50, 0.3, seed=4))
    assert [a.attempt() for _ in range(200)] == [b.attempt() for _ in range(200)]
    other = Outcomes(DialerScenario(5, 0.3, seed=5))
    assert [a.attempt() for _ in range(20)] != [other.attempt() for _ in range(20)]
    attempts = [a.attempt() for _ in range(20_000)]
    live = [x for x in attempts if x.live]
    assert abs(len(live) / len(attempts) - 0.3) < 0.01
    assert all(5.0 <= x.after_s <= 15.0 for x in live)
    assert {x.kind for x in attempts} == {"live", "no_answer", "machine", "busy"}


def test_the_no_answer_timeout_is_the_campaigns() -> None:
    outcomes = Outcomes(DialerScenario(5, 0.01), no_answer_s=30.0)
    assert {
        x.after_s for x in (outcomes.attempt() for _ in range(300)) if x.kind == "no_answer"
    } == {30.0}


def test_progressive_never_abandons_and_a_seed_gives_the_same_run() -> None:
    scenario = DialerScenario(10, 0.3, days=2, hours=1.0)
    run = simulate(scenario, SimMode.PROGRESSIVE)
    assert run.abandon_overall == 0.0 and len(run.days) == 2
    assert simulate(scenario, SimMode.PROGRESSIVE) == run
    exact = scenario.progressive_talk_per_agent_hour()
    assert abs(run.talk_min_per_agent_hour - exact) < 3.0  # two agent-days: noisy, not wrong


def test_predictive_beats_progressive_within_the_cap() -> None:
    scenario = DialerScenario(20, 0.2, days=1, hours=1.0)
    campaign = base_campaign()
    predictive = simulate(scenario, SimMode.PREDICTIVE, campaign)
    progressive = simulate(scenario, SimMode.PROGRESSIVE, campaign)
    assert predictive.talk_min_per_agent_hour > progressive.talk_min_per_agent_hour + 5
    assert predictive.abandon_worst_window <= campaign.profile.abandon_cap
    assert sum(d.placed for d in predictive.days) > sum(d.placed for d in progressive.days)


def test_the_vicidial_baselines_run() -> None:
    scenario = DialerScenario(10, 0.3, days=1, hours=1.0)
    for mode in (SimMode.VICIDIAL_HARD_LIMIT, SimMode.VICIDIAL_TAPERED):
        run = simulate(scenario, mode)
        assert run.days[0].live > 0 and run.talk_min_per_agent_hour > 0
