"""VICIdial's adaptive pacing (ADAPT_HARD_LIMIT, ADAPT_TAPERED, ADAPT_AVERAGE), re-implemented from
its source as the industry baseline the benchmark measures ours against.

From `AST_VDadapt.pl` (sub `count_agents_lines` and `calculate_dial_level`) and
`AST_VDauto_dial.pl` (the goal-calls arithmetic), as docs/design/dialer.md details:

- every second, sample the ready agents, the answered calls waiting for an agent and the
  agents logged in; the differential is the average of (ready - waiting) over the last 15
  samples (the reference calls it "1-min"; the source keeps 15 samples, one a second);
- every 15 s: level *= 1 + (differential + dl_diff_target) / average agents, with the
  intensity factor, then clamped to [1, maximum level]; then the drop rules: more than 20 calls
  in the last minute with over 50 % of them dropped halves it; more than 50 calls today with
  drops over `dropped_percentage` % of today's answers sets it to 1 (HARD_LIMIT), halves it
  (AVERAGE) or multiplies it by (latest server time - now) / 1000 in HHMM arithmetic, 1 past
  that time (TAPERED); never below 1;
- drop statistics are refreshed every 60 s (the level uses the last refresh);
- lines: round(level x (ready + talking agents)) less the calls up (ringing, waiting, talking):
  agents in wrap-up (VICIdial's PAUSED during disposition) are not counted.

The baseline decides as often as our pacer does, so what differs is the rule, not its cadence.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from callbridge.domain.dialer.decisions import PacingDecision, PacingInputs, PacingReason
from callbridge.domain.dialer.modes import DialMode
from callbridge.domain.dialer.pacing.state import PacingState


class AdaptMethod(StrEnum):
    HARD_LIMIT = "ADAPT_HARD_LIMIT"
    TAPERED = "ADAPT_TAPERED"
    AVERAGE = "ADAPT_AVERAGE"


@dataclass(frozen=True, slots=True)
class VicidialSettings:
    """VICIdial's campaign fields, with the defaults integrators quote."""

    method: AdaptMethod
    auto_dial_level: float = 1.0
    dropped_percentage: float = 3.0
    maximum_level: float = 3.0
    intensity: float = 0.0
    dl_diff_target: float = 0.0
    latest_server_time: int = 2100  # HHMM
    samples: int = 15
    sample_s: float = 1.0
    level_every_s: float = 15.0
    drops_every_s: float = 60.0


@dataclass(frozen=True, slots=True)
class DropStats:
    """The drop counters as of the last refresh."""

    calls_today: int = 0
    answers_today: int = 0
    drops_today: int = 0
    calls_minute: int = 0
    drops_minute: int = 0


class VicidialPacer:
    """One campaign's adaptive dial level, as VICIdial keeps it."""

    def __init__(self, settings: VicidialSettings) -> None:
        self.settings = settings
        self.level = settings.auto_dial_level
        self._samples: deque[tuple[int, int, int]] = deque(maxlen=settings.samples)
        self._next_sample = float("-inf")
        self._next_level = float("-inf")
        self._next_drops = float("-inf")
        self._day = ""
        self._calls_today = 0
        self._answers_today = 0
        self._drops_today = 0
        self._recent: deque[tuple[float, bool]] = deque()  # (dialled at, dropped) last minute
        self.stats = DropStats()

    def _roll(self, day: str) -> None:
        if day != self._day:
            self._day = day
            self._calls_today = self._answers_today = self._drops_today = 0

    def observe_dial(self, at: float, day: str) -> None:
        """A call was placed (VICIdial logs every call when it is placed)."""
        self._roll(day)
        self._calls_today += 1
        self._recent.append((at, False))

    def observe_answer(self, at: float, day: str, dropped: bool) -> None:
        """A live answer; `dropped` when no agent took it in time."""
        self._roll(day)
        self._answers_today += 1
        if dropped:
            self._drops_today += 1
            self._recent.append((at, True))

    def _refresh_drops(self, now: float) -> None:
        while self._recent and self._recent[0][0] <= now - 60.0:
            self._recent.popleft()
        calls = sum(1 for _, dropped in self._recent if not dropped)
        drops = sum(1 for _, dropped in self._recent if dropped)
        self.stats = DropStats(
            self._calls_today, self._answers_today, self._drops_today, calls, drops
        )

    def _update_level(self, hhmm: int) -> None:
        s = self.settings
        n = len(self._samples)
        ready = sum(r for r, _, _ in self._samples) / n if n else 0.0
        waiting = sum(w for _, w, _ in self._samples) / n if n else 0.0
        agents = sum(a for _, _, a in self._samples) / n if n else 0.0
        target = (ready - waiting) + s.dl_diff_target
        mul = target / agents if target != 0 and agents != 0 else 0.0
        pct = mul * 100.0
        intensity = s.intensity / 100.0
        diff = pct * abs(intensity - 1.0) if pct < 0 else pct * (intensity + 1.0)
        level = round(self.level * (diff / 100.0 + 1.0), 3)
        level = min(max(level, 1.0), s.maximum_level)
        st = self.stats
        if st.calls_minute > 20 and st.drops_minute * 100.0 / st.calls_minute > 50.0:
            level /= 2.0
        answers = max(st.answers_today, 1)
        if st.calls_today > 50 and st.drops_today * 100.0 / answers > s.dropped_percentage:
            if s.method is AdaptMethod.HARD_LIMIT:
                level = 1.0
            elif s.method is AdaptMethod.AVERAGE:
                level /= 2.0
            else:
                left = s.latest_server_time - hhmm
                level = 1.0 if left < 0 else level * min(1.0, left / 1000.0)
        self.level = max(level, 1.0)

    def decide(self, state: PacingState, day: str, hhmm: int) -> PacingDecision:
        """Lines to add now; `hhmm` is the server's time of day (for TAPERED)."""
        self._roll(day)
        s = self.settings
        now = state.now
        if now >= self._next_sample:
            self._samples.append((state.ready, state.waiting, state.agents))
            self._next_sample = now + s.sample_s
        if now >= self._next_drops:
            self._refresh_drops(now)
            self._next_drops = now + s.drops_every_s
        if now >= self._next_level:
            self._update_level(hhmm)
            self._next_level = now + s.level_every_s
        talking = len(state.talking_since)
        goal = round(self.level * (state.ready + talking))
        up = len(state.in_flight) + state.waiting + talking
        dial = max(0, goal - up)
        mode = DialMode.PREDICTIVE
        why = f"level {self.level:.3f} x {state.ready + talking} agent(s) = {goal} line(s), {up} up"
        reason = PacingReason.DIAL_LEVEL if state.ready + talking else PacingReason.NO_AGENTS
        return PacingDecision(
            now, mode, dial, reason, why, PacingInputs.of(state), dial_level=self.level
        )
