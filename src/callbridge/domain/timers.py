"""Deadlines the center must act on: offer time-outs, wrap-up ends, escalations, max waits."""

from __future__ import annotations

import heapq
from collections.abc import Callable
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


class Timers:
    """A heap of timers. Stale timers are not removed; the center checks each one it pops."""

    def __init__(self) -> None:
        # plain tuples: they compare in C, where ordered dataclasses compare in Python
        self._heap: list[tuple[float, int, TimerKind, InteractionId, int]] = []
        self._seq = 0

    def add(self, at: float, kind: TimerKind, interaction_id: InteractionId, token: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, kind, interaction_id, token))

    def pop_due(self, now: float) -> Timer | None:
        if self._heap and self._heap[0][0] <= now:
            return Timer(*heapq.heappop(self._heap))
        return None

    def next_at(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def next_live(self, live: Callable[[TimerKind, InteractionId, int], bool]) -> float | None:
        """When the first timer falls due that `live(kind, interaction, token)` says can still
        matter; void ones in front of it are dropped on the way."""
        heap = self._heap
        while heap:
            at, _, kind, interaction_id, token = heap[0]
            if live(kind, interaction_id, token):
                return at
            heapq.heappop(heap)
        return None

    def __len__(self) -> int:
        return len(self._heap)
