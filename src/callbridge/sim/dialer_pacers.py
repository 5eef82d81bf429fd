"""The pacers a dialer simulation can run, behind one small interface: the domain's progressive,
predictive and VICIdial pacers, fed what the simulated calls do as the live service feeds them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from callbridge.domain.dialer.decisions import PacingDecision
from callbridge.domain.dialer.pacing.budget import AbandonmentLimits
from callbridge.domain.dialer.pacing.predictive import PredictivePacer, PredictiveSettings
from callbridge.domain.dialer.pacing.progressive import progressive
from callbridge.domain.dialer.pacing.state import PacingState
from callbridge.domain.dialer.pacing.vicidial import AdaptMethod, VicidialPacer, VicidialSettings


class SimMode(StrEnum):
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"
    VICIDIAL_HARD_LIMIT = "vicidial_hard_limit"
    VICIDIAL_TAPERED = "vicidial_tapered"


class SimPacer(Protocol):
    every_event: bool  # decide after every change
    ticks: bool  # decide on the decision ticks too (time alone changes what it would do)

    def decide(self, state: PacingState, window: str, hhmm: int) -> PacingDecision: ...

    def placed(self, at: float, window: str, count: int) -> None: ...

    def attempt(self, live: bool, after_s: float) -> None: ...

    def talked(self, seconds: float) -> None: ...

    def wrapped(self, seconds: float) -> None: ...

    def answered(self, at: float, window: str, abandoned: bool) -> None: ...


class _Quiet:
    """Observations a pacer without a model ignores."""

    def placed(self, at: float, window: str, count: int) -> None:
        return None

    def attempt(self, live: bool, after_s: float) -> None:
        return None

    def talked(self, seconds: float) -> None:
        return None

    def wrapped(self, seconds: float) -> None:
        return None

    def answered(self, at: float, window: str, abandoned: bool) -> None:
        return None


class ProgressiveSim(_Quiet):
    every_event = True
    ticks = False

    def decide(self, state: PacingState, window: str, hhmm: int) -> PacingDecision:
        return progressive(state)


class PredictiveSim:
    every_event = False
    ticks = True

    def __init__(self, pacer: PredictivePacer) -> None:
        self.pacer = pacer

    def decide(self, state: PacingState, window: str, hhmm: int) -> PacingDecision:
        return self.pacer.decide(state, window)

    def placed(self, at: float, window: str, count: int) -> None:
        return None

    def attempt(self, live: bool, after_s: float) -> None:
        self.pacer.observe_attempt(live, after_s)

    def talked(self, seconds: float) -> None:
        self.pacer.observe_talk(seconds)

    def wrapped(self, seconds: float) -> None:
        self.pacer.observe_wrap(seconds)

    def answered(self, at: float, window: str, abandoned: bool) -> None:
        self.pacer.observe_answer(at, window, abandoned)


class VicidialSim(_Quiet):
    every_event = True
    ticks = True  # it samples the agents once a second

    def __init__(self, pacer: VicidialPacer) -> None:
        self.pacer = pacer

    def decide(self, state: PacingState, window: str, hhmm: int) -> PacingDecision:
        return self.pacer.decide(state, window, hhmm)

    def placed(self, at: float, window: str, count: int) -> None:
        for _ in range(count):
            self.pacer.observe_dial(at, window)

    def answered(self, at: float, window: str, abandoned: bool) -> None:
        self.pacer.observe_answer(at, window, abandoned)


def pacer_for(
    mode: SimMode, limits: AbandonmentLimits, grace_s: float, last_dial_hhmm: int = 2100
) -> SimPacer:
    """A fresh pacer of `mode`. VICIdial is set up as its users set it: the drop limit at the
    cap, the latest server time (ADAPT_TAPERED's deadline) at the time dialling ends."""
    if mode is SimMode.PROGRESSIVE:
        return ProgressiveSim()
    if mode is SimMode.PREDICTIVE:
        return PredictiveSim(PredictivePacer(limits, PredictiveSettings(grace_s=grace_s)))
    method = AdaptMethod.HARD_LIMIT if mode is SimMode.VICIDIAL_HARD_LIMIT else AdaptMethod.TAPERED
    settings = VicidialSettings(
        method, dropped_percentage=limits.cap * 100.0, latest_server_time=last_dial_hhmm
    )
    return VicidialSim(VicidialPacer(settings))
