"""What a pacing decision records, so a supervisor can ask "why did it dial 3 now?" afterwards
(served by GET /campaigns/{id}/pacing).

Every decision keeps its inputs (the agents and calls it saw), the model's forecast when the
mode has one, the abandonment budget when the mode spends one, and a reason with a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from callbridge.domain.dialer.modes import DialMode
from callbridge.domain.dialer.pacing.state import PacingState


class PacingReason(StrEnum):
    NOT_RUNNING = "not_running"  # the campaign is not running (paused, stopped, outside hours)
    NO_AGENTS = "no_agents"  # no agent ready and none about to be
    READY_AGENTS = "ready_agents"  # progressive/power: lines for the ready agents
    AGENTS_COVERED = "agents_covered"  # every ready agent already has a call coming
    PREVIEW = "preview"  # the agent asks for each call; the dialer does not pace
    LEARNING = "learning"  # predictive without enough history: progressive meanwhile
    RISK_LIMIT = "risk_limit"  # predictive: the next call's abandonment risk is above threshold
    CAP_GUARD = "cap_guard"  # the projected window rate would pass the regulatory cap
    DIAL_LEVEL = "dial_level"  # VICIdial: lines = dial level x agents counted
    LINES_FREE = "lines_free"  # agentless: lines free to fill
    LINES_FULL = "lines_full"  # agentless: every line is busy
    NO_QUEUE = "no_queue"  # agentless press_1: the queue a key press goes to does not exist


@dataclass(frozen=True, slots=True)
class PacingInputs:
    """The counts the decision saw."""

    ready: int
    waiting: int
    talking: int
    wrapping: int
    in_flight: int

    @classmethod
    def of(cls, state: PacingState) -> PacingInputs:
        return cls(
            state.ready,
            state.waiting,
            len(state.talking_since),
            len(state.wrapping_since),
            len(state.in_flight),
        )


@dataclass(frozen=True, slots=True)
class Forecast:
    """The predictive model's view over the next `horizon_s`: agents expected free (ready now
    included, waiting calls deducted), live answers expected from the calls in flight and the
    abandons among them, the live-answer rate it assumed, the abandonment risk (if answered
    live) of the last call it placed and of the first it held back, and the risk it accepts."""

    horizon_s: float
    agents_free: float
    live_in_flight: float
    abandons_in_flight: float
    live_rate: float
    last_risk: float | None
    next_risk: float
    threshold: float


@dataclass(frozen=True, slots=True)
class BudgetView:
    """The regulatory window's tally and what the controller makes of it: the rate it aims the
    window at (the target, lower for a small window), the rate the rest of the window may run
    at (`allowed_rate`), and the expected abandons it can still take and end at or below the
    cap (`cap_headroom`)."""

    window: str
    live: float
    abandoned: float
    cap: float
    target: float
    aim: float
    allowed_rate: float
    cap_headroom: float

    @property
    def rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0


@dataclass(frozen=True, slots=True)
class PacingDecision:
    """How many calls to place at `at`, and why. `risks` holds each placed call's modelled
    chance of being abandoned if answered live (predictive only), in order."""

    at: float
    mode: DialMode
    dial: int
    reason: PacingReason
    explanation: str
    inputs: PacingInputs
    forecast: Forecast | None = None
    budget: BudgetView | None = None
    dial_level: float | None = None
    risks: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.dial < 0:
            raise ValueError("a decision cannot dial a negative number of calls")
