"""Predictive pacing: place the calls whose modelled abandonment risk is below the threshold the
abandonment budget sets, within the regulatory cap.

Per decision: read the state through the model (`outlook.view`), then take new calls one by one
in the order the model ranks them (each later one is riskier, since it competes with the earlier
ones) while the next call's risk stays at or below the threshold and the cap guard allows it.
With no agent ready and none about to be, every call's risk is 1 and nothing is dialled. Until
the campaign has seen enough calls to trust its estimates, it dials progressively.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from callbridge.domain.dialer.decisions import Forecast, PacingDecision, PacingInputs, PacingReason
from callbridge.domain.dialer.modes import DialMode
from callbridge.domain.dialer.pacing.budget import AbandonmentBudget, AbandonmentLimits
from callbridge.domain.dialer.pacing.estimates import CampaignEstimates
from callbridge.domain.dialer.pacing.outlook import FIRST_BLOCK, Tables, View, build_tables, view
from callbridge.domain.dialer.pacing.progressive import progressive
from callbridge.domain.dialer.pacing.state import PacingState
from callbridge.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class PredictiveSettings:
    """`grace_s`: how long after the completed greeting an agent may still take the call (the
    US and UK rules: 2 s). `rebuild_s`: the model's tables are rebuilt from the estimates at
    most this often. `max_calls`: most calls one decision may place."""

    grace_s: float = 2.0
    rebuild_s: float = 300.0
    max_calls: int = 1000
    initial_threshold: float = 0.03

    def __post_init__(self) -> None:
        if self.grace_s < 0 or self.rebuild_s <= 0 or self.max_calls < 1:
            raise InvalidInput("grace, rebuild interval and call limit must be positive")


class PredictivePacer:
    """One campaign's predictive pacing: its estimates, its budget and its model."""

    def __init__(
        self,
        limits: AbandonmentLimits,
        settings: PredictiveSettings | None = None,
        estimates: CampaignEstimates | None = None,
    ) -> None:
        self.settings = settings or PredictiveSettings()
        self.estimates = estimates or CampaignEstimates()
        self.budget = AbandonmentBudget(limits, threshold=self.settings.initial_threshold)
        self._tables: Tables | None = None
        self._built_at = -math.inf
        self._built_changes = -1

    # --- what happened ------------------------------------------------------------------

    def observe_attempt(self, live: bool, after_s: float) -> None:
        """A call stopped ringing `after_s` after it was dialled: answered live, or failed."""
        self.estimates.observe_attempt(live, after_s)

    def observe_talk(self, seconds: float) -> None:
        self.estimates.observe_talk(seconds)

    def observe_wrap(self, seconds: float) -> None:
        self.estimates.observe_wrap(seconds)

    def observe_answer(self, at: float, window: str, abandoned: bool) -> None:
        """A live answer in `window`: connected to an agent in time, or abandoned."""
        self.budget.observe_live(at, window, abandoned)

    # --- the decision -------------------------------------------------------------------

    def tables(self, now: float) -> Tables:
        """The model's tables, rebuilt when they are older than `rebuild_s` and the estimates
        have moved since."""
        stale = now - self._built_at >= self.settings.rebuild_s
        if self._tables is None or (stale and self.estimates.changes != self._built_changes):
            self._tables = build_tables(self.estimates, self.settings.grace_s)
            self._built_at = now
            self._built_changes = self.estimates.changes
        return self._tables

    def decide(self, state: PacingState, window: str) -> PacingDecision:
        """How many calls to place now. `window` keys the regulatory window `now` falls in."""
        budget = self.budget
        budget.roll(window)
        estimates = self.estimates
        if not estimates.ready:
            plan = budget.plan(state.now, state.remaining_s)
            base = progressive(state)
            return PacingDecision(
                state.now,
                DialMode.PREDICTIVE,
                base.dial,
                PacingReason.LEARNING,
                f"learning the campaign ({base.explanation}); dialling progressively",
                base.inputs,
                budget=budget.view(plan, budget.headroom(plan, 0.0, 0.0)),
            )
        tables = self.tables(state.now)
        # live answers the agents can take: the projection of the window's remaining answers
        capacity = state.agents / max(tables.handle_s, 1.0)
        plan = budget.plan(state.now, state.remaining_s, capacity)
        reading = view(tables, state)
        headroom = budget.headroom(plan, reading.live_in_flight, reading.abandons_in_flight)
        threshold = budget.threshold
        risks, next_risk, reason = self._choose(reading, threshold, headroom)
        live_rate = reading.tables.live_rate
        budget.placed(state.now, live_rate, risks, plan.allowed_rate)
        if reason is PacingReason.RISK_LIMIT and state.ready == 0 and reading.agents_free < 0.5:
            reason = PacingReason.NO_AGENTS
        forecast = Forecast(
            reading.tables.horizon,
            reading.agents_free,
            reading.live_in_flight,
            reading.abandons_in_flight,
            live_rate,
            risks[-1] if risks else None,
            next_risk,
            threshold,
        )
        return PacingDecision(
            state.now,
            DialMode.PREDICTIVE,
            len(risks),
            reason,
            _explain(len(risks), reason, next_risk, threshold, forecast),
            PacingInputs.of(state),
            forecast=forecast,
            budget=budget.view(plan, headroom),
            risks=risks,
        )

    def _choose(
        self, reading: View, threshold: float, headroom: float
    ) -> tuple[tuple[float, ...], float, PacingReason]:
        """The calls to place, the risk of the first one held back, and why it was."""
        cap = self.budget.limits.cap
        scale = self.budget.guard_calibration
        live_rate = reading.tables.live_rate
        room = max(headroom, 0.0)
        spent = 0.0
        placed: list[float] = []
        block = FIRST_BLOCK
        limit = self.settings.max_calls
        while len(placed) < limit:
            for risk in reading.risks(len(placed), min(block, limit - len(placed))).tolist():
                if risk > threshold:
                    return tuple(placed), risk, PacingReason.RISK_LIMIT
                # a call below the cap lowers the projected rate; one above spends headroom
                cost = live_rate * (risk * scale - cap)
                if cost > 0 and spent + cost > room:
                    return tuple(placed), risk, PacingReason.CAP_GUARD
                spent += cost
                placed.append(risk)
            block *= 2
        return tuple(placed), 1.0, PacingReason.RISK_LIMIT


def _explain(
    dial: int, reason: PacingReason, next_risk: float, threshold: float, forecast: Forecast
) -> str:
    free = f"{forecast.agents_free:.1f} agent(s) free within {forecast.horizon_s:.0f} s"
    coming = f"{forecast.live_in_flight:.1f} live answer(s) expected from calls ringing"
    if reason is PacingReason.NO_AGENTS:
        return f"no agent ready or about to be ({free})"
    held = (
        f"the next call's risk {next_risk:.1%} is above the {threshold:.2%} accepted"
        if reason is PacingReason.RISK_LIMIT
        else f"the next call's risk {next_risk:.1%} would take the window past its cap"
    )
    return f"{dial} call(s): {free}, {coming}; {held}"
