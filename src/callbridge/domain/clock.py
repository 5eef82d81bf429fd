"""Time as a parameter. Domain code takes `now` (seconds) from its caller; services take a Clock."""

from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (or since the start of a simulation)."""
        ...


class ManualClock:
    """A clock that only moves when told to: simulations and tests."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds

    def set(self, at: float) -> None:
        if at < self._now:
            raise ValueError("a clock cannot go backwards")
        self._now = at
