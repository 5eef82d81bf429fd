"""VICIdial's ADAPT_* pacing as re-implemented: the level arithmetic and the drop rules."""

from __future__ import annotations

from callbridge.domain.dialer.decisions import PacingReason
from callbridge.domain.dialer.pacing.state import PacingState
from callbridge.domain.dialer.pacing.vicidial import AdaptMethod, VicidialPacer, VicidialSettings


def state(now: float, ready: int, talking: int, ringing: int = 0) -> PacingState:
    return PacingState(
        now,
        ready,
        talking_since=(now - 30.0,) * talking,
        in_flight=(now - 1.0,) * ringing,
        logged_in=ready + talking,
    )


def test_lines_are_the_level_times_ready_and_talking_agents_less_calls_up() -> None:
    p = VicidialPacer(VicidialSettings(AdaptMethod.HARD_LIMIT, auto_dial_level=2.0))
    d = p.decide(state(0.0, ready=2, talking=8, ringing=3), "day", 900)
    # the first decision also updates the level: two of ten agents ready raises it by 20 %
    assert d.dial_level == 2.4
    assert d.dial == round(2.4 * 10) - (3 + 8)
    assert d.reason is PacingReason.DIAL_LEVEL


def test_the_level_rises_with_waiting_agents_and_stays_within_its_bounds() -> None:
    p = VicidialPacer(VicidialSettings(AdaptMethod.HARD_LIMIT))
    for second in range(0, 600):
        p.decide(state(float(second), ready=5, talking=5), "day", 900)
    assert p.level == 3.0  # the maximum level
    for second in range(600, 1200):
        p.decide(PacingState(float(second), 0, waiting=3, logged_in=10), "day", 900)
    assert p.level == 1.0  # calls waiting for agents push it down, never below 1


def test_hard_limit_drops_to_one_once_today_passes_the_drop_percentage() -> None:
    p = VicidialPacer(VicidialSettings(AdaptMethod.HARD_LIMIT, auto_dial_level=2.0))
    for i in range(60):
        p.observe_dial(float(i), "day")
    for i in range(20):
        p.observe_answer(float(i), "day", dropped=i < 2)  # 10 % of answers dropped
    d = p.decide(state(100.0, ready=5, talking=5), "day", 1000)
    assert p.stats.drops_today == 2 and d.dial_level == 1.0


def test_tapered_cuts_by_the_time_left_to_the_latest_server_time() -> None:
    settings = VicidialSettings(AdaptMethod.TAPERED, auto_dial_level=2.0, latest_server_time=1700)
    for hhmm, factor in ((900, 0.8), (1600, 0.1), (1730, None)):
        p = VicidialPacer(settings)
        for i in range(60):
            p.observe_dial(float(i), "day")
        for i in range(20):
            p.observe_answer(float(i), "day", dropped=i < 2)
        d = p.decide(state(100.0, ready=0, talking=10), "day", hhmm)
        expected = 1.0 if factor is None else max(1.0, 2.0 * factor)
        assert d.dial_level == expected


def test_a_new_day_clears_the_drop_counters() -> None:
    p = VicidialPacer(VicidialSettings(AdaptMethod.HARD_LIMIT))
    p.observe_dial(1.0, "monday")
    p.observe_answer(2.0, "monday", dropped=True)
    p.decide(state(200.0, ready=1, talking=1), "tuesday", 900)
    assert (p.stats.calls_today, p.stats.drops_today) == (0, 0)
