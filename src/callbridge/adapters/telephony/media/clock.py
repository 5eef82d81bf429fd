"""The one media clock of a process: a 20 ms ticker on absolute deadlines.

Tick k is due at `start + k * period` on the event loop's clock, whatever happened before it, so
the clock cannot drift: a slow tick makes the next one late, never every later one. How late
each tick ran (its lag) is kept for the last `history` ticks; p99 of that lag is the health
figure of the whole media plane, since every stream's frame for tick k goes out in tick k.
When the loop falls more than `max_catch_up` ticks behind, the missed ticks are skipped (counted
in `skipped`) instead of being run back to back: a burst of stale frames helps no listener.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LagStats:
    ticks: int  # ticks run since the clock started (or since `reset_lag`)
    skipped: int
    p50_ms: float
    p99_ms: float
    max_ms: float


class MediaClock:
    """Calls `on_tick(k)` for k = 0, 1, 2, ... every `period` seconds until cancelled."""

    def __init__(
        self,
        on_tick: Callable[[int], None],
        period: float = 0.020,
        max_catch_up: int = 5,
        history: int = 30_000,
    ) -> None:
        self._on_tick = on_tick
        self.period = period
        self._max_catch_up = max_catch_up
        self._lags = np.zeros(history, dtype=np.float64)
        self._count = 0
        self._skipped = 0
        self.tick = -1  # the tick running now or last run
        self.started_at: float | None = None  # on time.monotonic()
        self._loop_start = 0.0

    def deadline(self, tick: int) -> float:
        """When tick `tick` is due, on time.monotonic()."""
        assert self.started_at is not None, "the clock has not started"
        return self.started_at + tick * self.period

    def reset_lag(self) -> None:
        """Forget the lag history (a benchmark does this after its warm-up)."""
        self._count = 0
        self._skipped = 0

    def lag_stats(self) -> LagStats:
        filled = self._lags[: min(self._count, len(self._lags))]
        if filled.size == 0:
            return LagStats(0, self._skipped, 0.0, 0.0, 0.0)
        p50, p99 = np.percentile(filled, [50, 99]) * 1000.0
        return LagStats(
            self._count, self._skipped, float(p50), float(p99), float(filled.max() * 1000.0)
        )

    async def run(self) -> None:
        """Tick until cancelled."""
        loop = asyncio.get_running_loop()
        # Deadlines are kept on the loop's clock (what call_at understands) and lag is measured
        # on time.monotonic(), which is the same clock at full resolution (uvloop's loop.time()
        # is rounded to the millisecond).
        self._loop_start = loop.time()
        self.started_at = time.monotonic() - (loop.time() - self._loop_start)
        k = 0
        while True:
            due = self._loop_start + k * self.period
            if due > loop.time():
                await _sleep(loop.call_at, due)
            early = self.started_at + k * self.period - time.monotonic()
            if early > 0.0002:  # a loop with millisecond timers (uvloop) can wake a bit early
                await _sleep(loop.call_later, early)
            lag = time.monotonic() - (self.started_at + k * self.period)
            if lag > self._max_catch_up * self.period:
                behind = int(lag / self.period)
                self._skipped += behind
                k += behind
                lag -= behind * self.period
            self._lags[self._count % len(self._lags)] = max(lag, 0.0)
            self._count += 1
            self.tick = k
            try:
                self._on_tick(k)
            except Exception:
                log.exception("media_tick_failed", tick=k)
            k += 1


async def _sleep(schedule: Callable[..., asyncio.TimerHandle], when: float) -> None:
    """Sleep with one timer handle (cheaper than asyncio.sleep's wrapper, and either clock)."""
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    handle = schedule(when, _wake, waiter)
    try:
        await waiter
    finally:
        handle.cancel()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
