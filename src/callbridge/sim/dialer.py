"""A dialer simulation: a campaign's days on a virtual clock, paced by the domain's own pacers,
with modelled outcomes (sim/dialer_outcomes.py) in place of real calls.

Each day every agent starts ready; the pacer is asked how many calls to place on a tick every
`decision_interval_s` (pacers whose answer changes with time alone: predictive, VICIdial) and
after every change (those that want it: progressive, VICIdial); placed calls ring,
then are answered live or fail; a live answer takes a ready agent, or waits up to the grace for
one to come free, or is abandoned. Agents talk, wrap up, and come free. At the end of the day
nothing new is dialled; the calls still ringing play out and count in the day's window. Each day
is one regulatory window. Talk counts up to the end of the day, over the agents' hours.

The pacer learns across days, as a campaign does; its budget restarts with each window.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from callbridge.domain.dialer.campaign_file import parse_campaign
from callbridge.domain.dialer.campaigns import Campaign
from callbridge.domain.dialer.pacing.state import PacingState
from callbridge.sim.dialer_outcomes import DialerScenario, Outcomes
from callbridge.sim.dialer_pacers import SimMode, SimPacer, pacer_for

_TICK, _RING_END, _TALK_END, _WRAP_END, _GRACE_END = range(5)
DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class DayResult:
    """One day (one regulatory window)."""

    live: int
    abandoned: int
    talk_s: float
    placed: int

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0


@dataclass(frozen=True, slots=True)
class DialerRun:
    """A mode's days on a scenario."""

    scenario: DialerScenario
    mode: SimMode
    days: tuple[DayResult, ...]

    @property
    def talk_min_per_agent_hour(self) -> float:
        hours = self.scenario.agents * self.scenario.hours * len(self.days)
        return sum(d.talk_s for d in self.days) / 60.0 / hours

    @property
    def abandon_overall(self) -> float:
        live = sum(d.live for d in self.days)
        return sum(d.abandoned for d in self.days) / live if live else 0.0

    @property
    def abandon_worst_window(self) -> float:
        return max(d.abandon_rate for d in self.days)


BASE_CAMPAIGN = """
campaign: base-scenario
name: Base scenario (reference section 2.4)
mode: predictive
compliance: {profile: uk}
time_zone: Europe/London
caller_id: "+442071234567"
seller: {name: Callbridge Ltd, phone: "+442071234567"}
abandonment: {target: 0.025}
no_answer_timeout_s: 25
lists: [{list: base}]
"""


def base_campaign() -> Campaign:
    """The campaign of the base scenario: UK rules (3 % a calendar day, 2 s), the default 2.5 %
    target, unanswered calls released at 25 s."""
    return parse_campaign(BASE_CAMPAIGN, "base campaign")


def simulate(
    scenario: DialerScenario, mode: SimMode, campaign: Campaign | None = None
) -> DialerRun:
    """Run `mode` over the scenario's days, under `campaign`'s rules (abandonment limits, the
    grace, the no-answer timeout); the base campaign by default."""
    campaign = campaign or base_campaign()
    pacer = pacer_for(
        mode,
        campaign.abandonment,
        campaign.profile.grace_s,
        _hhmm(scenario.day_start_s + scenario.day_s),
    )
    outcomes = Outcomes(scenario, no_answer_s=campaign.ring_timeout_s)
    grace = campaign.profile.grace_s
    days = tuple(_Day(scenario, pacer, outcomes, d, grace).run() for d in range(scenario.days))
    return DialerRun(scenario, mode, days)


class _Day:
    """One day's event loop."""

    def __init__(
        self, scenario: DialerScenario, pacer: SimPacer, outcomes: Outcomes, day: int, grace: float
    ) -> None:
        self.s = scenario
        self.grace_s = grace
        self.pacer = pacer
        self.outcomes = outcomes
        self.key = f"day-{day + 1}"
        # one clock for the whole run, as the pacer's has: day d opens d days after the first
        self.start = day * DAY_S
        self.end = self.start + scenario.day_s
        self.heap: list[tuple[float, int, int, int, float]] = []
        self.seq = 0
        self.ready = scenario.agents
        self.talking: dict[int, float] = {}
        self.wrapping: dict[int, float] = {}
        self.in_flight: dict[int, float] = {}
        self.waiting: dict[int, float] = {}
        self.next_id = 0
        self.live = self.abandoned = self.placed = 0
        self.talk_s = 0.0

    def _push(self, at: float, kind: int, ident: int = 0, value: float = 0.0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, self.seq, kind, ident, value))

    def run(self) -> DayResult:
        if self.pacer.ticks:
            self._push(self.start, _TICK)
        else:
            self._decide(self.start)
        heap = self.heap
        every_event = self.pacer.every_event
        while heap:
            now, _, kind, ident, value = heapq.heappop(heap)
            if kind == _TICK:
                if now < self.end:
                    self._decide(now)
                    self._push(now + self.s.decision_interval_s, _TICK)
                continue
            if kind == _RING_END:
                self._ring_end(now, ident, value)
            elif kind == _TALK_END:
                self._talk_end(now, ident)
            elif kind == _WRAP_END:
                self._wrap_end(now, ident)
            else:
                self._grace_end(now, ident)
            if every_event and now < self.end:
                self._decide(now)
        return DayResult(self.live, self.abandoned, self.talk_s, self.placed)

    def _decide(self, now: float) -> None:
        state = PacingState(
            now,
            self.ready,
            len(self.waiting),
            self.talking.values(),
            self.wrapping.values(),
            self.in_flight.values(),
            self.s.agents,
            self.end - now,
        )
        count = self.pacer.decide(
            state, self.key, _hhmm(self.s.day_start_s + now - self.start)
        ).dial
        if count:
            self.pacer.placed(now, self.key, count)
            for _ in range(count):
                self._place(now)

    def _place(self, now: float) -> None:
        attempt = self.outcomes.attempt()
        self.next_id += 1
        self.placed += 1
        self.in_flight[self.next_id] = now
        self._push(now + attempt.after_s, _RING_END, self.next_id, 1.0 if attempt.live else 0.0)

    def _ring_end(self, now: float, call: int, live: float) -> None:
        dialled = self.in_flight.pop(call)
        self.pacer.attempt(live > 0, now - dialled)
        if not live:
            return
        self.live += 1
        if self.ready > 0:
            self.ready -= 1
            self._connect(now, call)
        else:
            self.waiting[call] = now
            self._push(now + self.grace_s, _GRACE_END, call)

    def _connect(self, now: float, call: int) -> None:
        talk = self.outcomes.talk()
        self.talking[call] = now
        self.talk_s += max(0.0, min(now + talk, self.end) - now)
        self.pacer.answered(now, self.key, False)
        self._push(now + talk, _TALK_END, call)

    def _talk_end(self, now: float, call: int) -> None:
        self.pacer.talked(now - self.talking.pop(call))
        self.wrapping[call] = now
        self._push(now + self.s.wrap_s, _WRAP_END, call)

    def _wrap_end(self, now: float, call: int) -> None:
        self.pacer.wrapped(now - self.wrapping.pop(call))
        if self.waiting:
            waiting = next(iter(self.waiting))
            del self.waiting[waiting]
            self._connect(now, waiting)
        else:
            self.ready += 1

    def _grace_end(self, now: float, call: int) -> None:
        if self.waiting.pop(call, None) is None:
            return
        self.abandoned += 1
        self.pacer.answered(now, self.key, True)


def _hhmm(clock_s: float) -> int:
    """Seconds after midnight as VICIdial's HHMM number (09:30 is 930)."""
    return int(clock_s // 3600) * 100 + int(clock_s % 3600 // 60)
