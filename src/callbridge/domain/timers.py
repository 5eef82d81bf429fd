"""Deadlines the center must act on: offer time-outs, wrap-up ends, escalations, max waits."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from enum import IntEnum

from callbridge.domain.ids import InteractionId


class TimerKind(IntEnum):
    OFFER_TIMEOUT = 1
    WRAP_UP_END = 2
    ESCALATION = 3
    MAX_WAIT = 4


@dataclass(order=True, frozen=True, slots=True)
class Timer:
    at: float
    seq: int
    kind: TimerKind = field(compare=False)
    interaction_id: InteractionId = field(compare=False)
    # What the interaction looked like when the timer was set; a changed token voids the timer.
    token: int = field(compare=False)


class Timers:
    """A heap of timers. Stale timers are not removed; the center checks each one it pops."""

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = 0

    def add(self, at: float, kind: TimerKind, interaction_id: InteractionId, token: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, Timer(at, self._seq, kind, interaction_id, token))

    def pop_due(self, now: float) -> Timer | None:
        if self._heap and self._heap[0].at <= now:
            return heapq.heappop(self._heap)
        return None

    def next_at(self) -> float | None:
        return self._heap[0].at if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)
