"""The media clock: absolute deadlines (no drift), lag per tick, skipping when far behind."""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import time

import pytest

from callbridge.adapters.telephony.media.clock import MediaClock


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def run_clock(clock: MediaClock, seconds: float) -> None:
    async def scenario() -> None:
        task = asyncio.create_task(clock.run())
        await asyncio.sleep(seconds)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_five_seconds_of_busy_ticks_do_not_drift() -> None:
    # Each tick does 0-8 ms of work. A ticker that slept 20 ms after its work would be ~1 s
    # behind after 250 ticks; on absolute deadlines tick k still starts right at start + k*20ms.
    rng = random.Random(5)
    ran: dict[int, float] = {}

    def on_tick(k: int) -> None:
        ran[k] = time.monotonic()
        busy(rng.uniform(0.0, 0.008))

    clock = MediaClock(on_tick, period=0.020)
    run_clock(clock, 5.05)
    assert clock.started_at is not None
    ticks = sorted(ran)
    assert ticks == list(range(len(ticks)))  # none skipped
    assert 250 <= len(ticks) <= 254
    lags = [ran[k] - clock.deadline(k) for k in ticks]
    assert min(lags) >= 0.0  # never early
    # A ticker sleeping 20 ms after its work would now be ~1 s late; on absolute deadlines the
    # last ticks are as punctual as the first ones.
    assert statistics.median(lags[-50:]) < 0.005
    assert statistics.median(lags[-50:]) < statistics.median(lags[:50]) + 0.002
    stats = clock.lag_stats()
    assert stats.ticks == len(ticks) and stats.skipped == 0
    assert 0.0 <= stats.p50_ms <= stats.p99_ms <= stats.max_ms
    assert stats.p50_ms < 5.0


def test_far_behind_it_skips_and_stays_on_the_grid() -> None:
    ran: list[int] = []
    times: dict[int, float] = {}

    def on_tick(k: int) -> None:
        ran.append(k)
        times[k] = time.monotonic()
        if k == 10:
            busy(0.150)  # the loop is blocked for 7.5 ticks

    clock = MediaClock(on_tick, period=0.020, max_catch_up=5)
    run_clock(clock, 0.6)
    gap = [b for a, b in itertools.pairwise(ran) if b != a + 1]
    assert len(gap) == 1 and gap[0] >= 17  # jumped over the ticks it could not make
    assert clock.lag_stats().skipped == gap[0] - 11
    after = [times[k] - clock.deadline(k) for k in ran if k > gap[0]]
    assert statistics.median(after) < 0.005  # back on the original grid
