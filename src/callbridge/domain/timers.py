"""Deadlines the center must act on: offer time-outs, wrap-up ends, escalations, max waits."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from enum import IntEnum

from callbridge.domain.ids import InteractionId


class TimerKind(IntEnum):
    OFFER_TIMEOUT = 1
    WRAP_UP_END = 2
    ESCALATION = 3
    MAX_WAIT = 4


@dataclass(frozen=True, slots=True)
class Timer:
    at: float
    seq: int
    kind: TimerKind
    interaction_id: InteractionId
    # What the interaction looked like when the timer was set; a changed token voids the timer.
    token: int


TimerEntry = tuple[float, int, TimerKind, InteractionId, int]  # (at, seq, kind, id, token)


class Timers:
    """A heap of timers. Stale timers are not removed; the center checks each one it pops."""

    def __init__(self) -> None:
        # Plain tuples: they compare in C, where ordered dataclasses compare in Python. Its
        # first entry is the next timer, void or not. The center drops void ones from the front
        # (`LiveState.next_deadline`); anyone else only reads it. It is read, not asked through
        # a method, because the simulator looks at it for every event.
        self.heap: list[TimerEntry] = []
        # Numbers timers in the order set, from 1 (ties at one instant go in that order). The
        # center's per-call offer time-out does what `add` does inline, with `next(seq)`.
        self.seq = itertools.count(1)

    def add(self, at: float, kind: TimerKind, interaction_id: InteractionId, token: int) -> None:
        heapq.heappush(self.heap, (at, next(self.seq), kind, interaction_id, token))

    def pop_due(self, now: float) -> Timer | None:
        if self.heap and self.heap[0][0] <= now:
            return Timer(*heapq.heappop(self.heap))
        return None

    def next_at(self) -> float | None:
        return self.heap[0][0] if self.heap else None

    def __len__(self) -> int:
        return len(self.heap)
