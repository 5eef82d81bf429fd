"""What happens to the calls a simulated campaign places: who answers live and when, what the
other attempts are and how long they hold a line, how long agents talk and wrap up.

`DialerScenario` is the base scenario of reference/queueing-and-dialing.md section 2.4 unless
told otherwise: talk exponential with mean 120 s, wrap-up 15 s, a live answer 5-15 s after the
dial (uniform), and of the other attempts 60 % no answer released at the campaign's no-answer
timeout (25 s in the base campaign), 25 % answering machines detected 3 s after they pick up
(5-15 s), 15 % busy or unreachable at 4 s. The grace for an agent to take an answered call is
the campaign's compliance profile's (2 s).

Random numbers come from three seeded streams: the k-th call placed gets the k-th outcome and
ring draw, and the k-th call connected the k-th talk time, whatever mode is pacing. Two modes
run with the same seed therefore call the same people, who answer the same way (common random
numbers), and differ only by how the calls were paced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

BATCH = 4096


@dataclass(frozen=True, slots=True)
class FailedOutcome:
    """A kind of attempt nobody answers live: its share of those, and when it frees the line,
    `after_s + spread_s * u` with u the call's uniform ring draw."""

    kind: str
    share: float
    after_s: float
    spread_s: float = 0.0

    @property
    def mean_s(self) -> float:
        return self.after_s + self.spread_s / 2


NO_ANSWER = "no_answer"  # released at the campaign's no-answer timeout, whatever after_s says
BASE_FAILED = (
    FailedOutcome(NO_ANSWER, 0.60, 25.0),
    FailedOutcome("machine", 0.25, 8.0, 10.0),
    FailedOutcome("busy", 0.15, 4.0),
)


@dataclass(frozen=True, slots=True)
class DialerScenario:
    """A campaign day after day: `agents` working `hours` a day from `day_start_s` (seconds
    after midnight) for `days` days, each day its own regulatory window (the UK calendar day,
    the strictest of the windows in force)."""

    agents: int
    live_rate: float
    days: int = 5
    hours: float = 8.0
    day_start_s: float = 9 * 3600.0
    talk_mean_s: float = 120.0
    wrap_s: float = 15.0
    live_after_s: float = 5.0
    live_spread_s: float = 10.0
    failed: tuple[FailedOutcome, ...] = BASE_FAILED
    decision_interval_s: float = 1.0
    seed: int = 1

    def __post_init__(self) -> None:
        if self.agents < 1 or not 0.0 < self.live_rate <= 1.0 or self.days < 1:
            raise ValueError("a scenario needs agents, a live rate in (0, 1] and a day")
        if abs(sum(f.share for f in self.failed) - 1.0) > 1e-9:
            raise ValueError("the failed outcomes' shares must add up to 1")

    @property
    def day_s(self) -> float:
        return self.hours * 3600.0

    def progressive_talk_per_agent_hour(self) -> float:
        """The exact progressive figure (renewal-reward, section 2.4): talk minutes per agent
        hour = 60 T / (T + W + R_L + (1 - p) / p R_F)."""
        p = self.live_rate
        ring_live = self.live_after_s + self.live_spread_s / 2
        ring_failed = sum(f.share * f.mean_s for f in self.failed)
        cycle = self.talk_mean_s + self.wrap_s + ring_live + (1 - p) / p * ring_failed
        return 60.0 * self.talk_mean_s / cycle

    def ceiling_talk_per_agent_hour(self) -> float:
        """Nobody ever waits: 60 T / (T + W)."""
        return 60.0 * self.talk_mean_s / (self.talk_mean_s + self.wrap_s)


class Stream:
    """One quantity's draws, made in batches and handed out one at a time."""

    def __init__(
        self, gen: np.random.Generator, draw: Callable[[np.random.Generator, int], np.ndarray]
    ) -> None:
        self._gen = gen
        self._draw = draw
        self._values: list[float] = []
        self._next = 0

    def __call__(self) -> float:
        if self._next >= len(self._values):
            self._values = self._draw(self._gen, BATCH).tolist()
            self._next = 0
        value = self._values[self._next]
        self._next += 1
        return value


@dataclass(frozen=True, slots=True)
class Attempt:
    """A placed call's fate: live or not, when its ringing ends, what it was."""

    live: bool
    after_s: float
    kind: str


class Outcomes:
    """The scenario's streams: call k's fate and connected call k's talk time."""

    def __init__(self, scenario: DialerScenario, no_answer_s: float | None = None) -> None:
        fate, ring, talk = (
            np.random.Generator(np.random.PCG64(s))
            for s in np.random.SeedSequence(scenario.seed).spawn(3)
        )
        self._s = scenario
        self._fate = Stream(fate, lambda g, n: g.random(n))
        self._ring = Stream(ring, lambda g, n: g.random(n))
        mean = scenario.talk_mean_s
        self._talk = Stream(talk, lambda g, n: g.exponential(mean, n))
        bounds: list[tuple[float, FailedOutcome]] = []
        total = 0.0
        for failed in scenario.failed:
            if failed.kind == NO_ANSWER and no_answer_s is not None:
                failed = FailedOutcome(NO_ANSWER, failed.share, no_answer_s)
            total += failed.share
            bounds.append((total, failed))
        self._bounds = bounds

    def attempt(self) -> Attempt:
        s = self._s
        u, ring = self._fate(), self._ring()
        if u < s.live_rate:
            return Attempt(True, s.live_after_s + s.live_spread_s * ring, "live")
        share = (u - s.live_rate) / (1.0 - s.live_rate)
        for bound, failed in self._bounds:
            if share < bound:
                return Attempt(False, failed.after_s + failed.spread_s * ring, failed.kind)
        last = self._bounds[-1][1]
        return Attempt(False, last.after_s + last.spread_s * ring, last.kind)

    def talk(self) -> float:
        return self._talk()
