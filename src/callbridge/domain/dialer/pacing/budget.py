"""The abandonment budget: spending the regulatory window's allowance so the cap is not passed.

Per decision the budget makes a `Plan` from the window's tally (live answers L and abandons A so
far; a UK profile adds its estimate of AMD false positives to both) and R, the live answers
expected in what is left of the window:

1. The aim. The internal target, lowered for a small window: a window expected to hold few
   live answers ends above the cap by bad luck alone unless the aim leaves room for it, so the
   aim is the largest rate whose abandons, Poisson at that rate over the window, stay under the
   cap with 97.7 % confidence (and never above the configured target).
2. The allowed rate r* = (aim (L + R) - A) / R: what the rest of the window may run at for the
   window to end at the aim. A window that went badly so far gets less; one that went well may
   spend its savings, up to twice the aim.
3. The threshold: the abandonment risk the predictive model accepts for a call. Each placed call
   moves it so that the model's expected abandons per live answer track r* divided by a
   calibration factor (abandons seen / abandons the model expected, over the campaign). Risky
   moments then get fewer calls and safe ones more: a price for risk spends a budget better
   than a fixed dial ratio.
4. The guard, on top: the headroom is the abandons the window can still take and end at or
   below the cap, counting what the calls in flight are expected to add and what the rest of
   the window will add at r*, less a 97.7 % allowance for bad luck (the model's abandons
   scaled up by the calibration when it has been optimistic, never down):
   headroom = cap (L + live in flight + R) - (A + abandons in flight + r* R) - z sqrt(...)
   A call may be placed only while its expected cost, live share x (risk - cap), fits in the
   headroom; a call below the cap has a negative cost (it lowers the projected rate) and makes
   room for the next. Once bad luck has put the projection above the cap, the calls a decision
   places must lower it together. With little of the window left, this is what keeps its last
   abandons from tipping it over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from callbridge.domain.dialer.decisions import BudgetView
from callbridge.domain.errors import InvalidInput

RATE_MEMORY_S = 900.0  # the live-answer rate used to project R looks back about this far
DEFAULT_HORIZON_S = 3600.0  # with no end of window known, spread surpluses over an hour
SETTLE_S = 3600.0  # the threshold a new window starts from averages about the last hour
THRESHOLD_LIMITS = (1e-4, 0.5)
CONFIDENCE_Z = 2.0  # one-sided 97.7 %
CALIBRATION_PRIOR = 10.0  # pretend abandons, seen and expected alike, before any evidence


@dataclass(frozen=True, slots=True)
class AbandonmentLimits:
    """The regulatory cap on abandons per live answer in a window, and the lower internal
    target the dialer aims at (a 30-day ratio cannot be repaired late, so aim below)."""

    cap: float = 0.03
    target: float = 0.025

    def __post_init__(self) -> None:
        if not 0.0 < self.cap < 1.0:
            raise InvalidInput("the abandonment cap must be between 0 and 1", field="cap")
        if not 0.0 < self.target <= self.cap:
            raise InvalidInput(
                "the abandonment target must be positive and at most the cap", field="target"
            )


@dataclass(slots=True)
class WindowTally:
    """Live answers and abandons in one regulatory window (`key` names it, e.g. a date)."""

    key: str
    live: float = 0.0
    abandoned: float = 0.0

    @property
    def rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    """One decision's reading of the budget: the live answers expected in the rest of the
    window (`remaining_live`), the rate aimed at over the window and the rate allowed now."""

    remaining_live: float
    aim: float
    allowed_rate: float


def window_aim(cap: float, target: float, window_live: float) -> float:
    """The largest rate, at most `target`, whose Poisson abandons over `window_live` answers stay
    at or under the cap with 97.7 % confidence: lambda + z sqrt(lambda) <= cap x window_live."""
    if window_live <= 0:
        return target
    room = cap * window_live
    root = math.sqrt(CONFIDENCE_Z**2 / 4.0 + room) - CONFIDENCE_Z / 2.0
    return min(target, root * root / window_live)


class AbandonmentBudget:
    """The window tally, the allowed rate, the guard and the predictive threshold of a campaign."""

    def __init__(
        self, limits: AbandonmentLimits, *, threshold: float = 0.03, gain: float = 0.05
    ) -> None:
        self.limits = limits
        self.tally = WindowTally("")
        self.gain = gain
        self.log_threshold = math.log(_clamp_threshold(threshold))
        # the threshold's recent average: a new window starts from it, not from wherever the
        # last minutes of the old one (with little left to spend, or nothing) pushed it
        self._settled = self.log_threshold
        self._settled_at: float | None = None
        self.seen_abandons = 0.0  # calibration: abandons seen and expected, with forgetting
        self.expected_abandons = 0.0
        self._rate_count = 0.0  # exponentially fading count of live answers, for the rate
        self._rate_at: float | None = None

    # --- the window ---------------------------------------------------------------------

    def roll(self, key: str) -> None:
        """Make `key` the current window; a new key starts an empty tally."""
        if key != self.tally.key:
            if self.tally.key:
                self.log_threshold = self._settled
            self.tally = WindowTally(key)

    def observe_live(self, at: float, key: str, abandoned: bool) -> None:
        """A call answered live in window `key`, connected or abandoned."""
        self.roll(key)
        self.tally.live += 1
        if abandoned:
            self.tally.abandoned += 1
            self.seen_abandons += 1
        self._fade_rate(at)
        self._rate_count += 1

    def observe_false_positives(self, key: str, share: float) -> None:
        """A machine detection, of which `share` is the estimate of live people wrongly taken
        for machines and hung up on: UK rules count it as live and abandoned."""
        self.roll(key)
        self.tally.live += share
        self.tally.abandoned += share

    def live_per_s(self, at: float) -> float:
        """The recent rate of live answers."""
        self._fade_rate(at)
        return self._rate_count / RATE_MEMORY_S

    def _fade_rate(self, at: float) -> None:
        if self._rate_at is not None and at > self._rate_at:
            self._rate_count *= math.exp(-(at - self._rate_at) / RATE_MEMORY_S)
        self._rate_at = at if self._rate_at is None else max(at, self._rate_at)

    # --- the plan and the guard ---------------------------------------------------------

    def plan(self, at: float, remaining_s: float | None, live_per_s: float | None = None) -> Plan:
        """This decision's aim and allowed rate. `remaining_s` is the dialling time left in the
        window (None: unknown, spread over an hour); `live_per_s` the caller's forecast of live
        answers per second (else the recent rate)."""
        horizon = DEFAULT_HORIZON_S if remaining_s is None else max(remaining_s, 0.0)
        rate = self.live_per_s(at) if live_per_s is None else live_per_s
        remaining = rate * horizon
        tally = self.tally
        aim = window_aim(self.limits.cap, self.limits.target, tally.live + remaining)
        bank = aim * tally.live - tally.abandoned
        if remaining < 1.0:
            allowed = aim if bank >= 0 else 0.0
        else:
            allowed = min(max(aim + bank / remaining, 0.0), 2.0 * aim)
        return Plan(remaining, aim, allowed)

    @property
    def guard_calibration(self) -> float:
        """The calibration the guard scales the model's abandons by: never below 1, so a model
        that has been pessimistic so far does not loosen the guard."""
        return max(1.0, self.calibration)

    def headroom(self, plan: Plan, live_in_flight: float, abandons_in_flight: float) -> float:
        """Expected abandons that may still be added for the window to end at or below the cap
        (with 97.7 % confidence), given the calls in flight (the model's abandons scaled by the
        guard's calibration) and the rest of the window at r*."""
        cap = self.limits.cap
        t = self.tally
        abandons_in_flight *= self.guard_calibration
        future = plan.allowed_rate * plan.remaining_live
        allowance = cap * (t.live + live_in_flight + plan.remaining_live)
        expected = t.abandoned + abandons_in_flight + future
        return allowance - expected - CONFIDENCE_Z * math.sqrt(abandons_in_flight + future)

    # --- the threshold ------------------------------------------------------------------

    @property
    def calibration(self) -> float:
        """Abandons seen per abandon the model expected (starts at 1)."""
        prior = CALIBRATION_PRIOR
        return (self.seen_abandons + prior) / (self.expected_abandons + prior)

    @property
    def threshold(self) -> float:
        return math.exp(self.log_threshold)

    def placed(
        self, at: float, live_rate: float, risks: tuple[float, ...], allowed_rate: float
    ) -> None:
        """Calls were placed with these modelled risks: move the threshold towards the risk that
        makes expected abandons per live answer equal `allowed_rate`."""
        if self._settled_at is not None and at > self._settled_at:
            weight = 1.0 - math.exp(-(at - self._settled_at) / SETTLE_S)
            self._settled += weight * (self.log_threshold - self._settled)
        self._settled_at = at if self._settled_at is None else max(at, self._settled_at)
        if not risks:
            return
        goal = allowed_rate / self.calibration
        scale = max(goal, 1e-3)
        step = sum(live_rate * (goal - risk) / scale for risk in risks)
        low, high = THRESHOLD_LIMITS
        self.log_threshold = min(
            max(self.log_threshold + self.gain * step, math.log(low)), math.log(high)
        )
        self.expected_abandons += live_rate * sum(risks)
        # calibration forgets like the estimates: its evidence is the last few thousand calls
        if self.expected_abandons > 200.0:
            self.expected_abandons *= 0.5
            self.seen_abandons *= 0.5

    def view(self, plan: Plan, headroom: float) -> BudgetView:
        t = self.tally
        return BudgetView(
            t.key,
            t.live,
            t.abandoned,
            self.limits.cap,
            self.limits.target,
            plan.aim,
            plan.allowed_rate,
            headroom,
        )


def _clamp_threshold(value: float) -> float:
    low, high = THRESHOLD_LIMITS
    return min(max(value, low), high)
