"""What a campaign has learnt from its own calls: the share answered live, how long a live answer
takes to come, how long failed attempts hold a line, and its talk and wrap-up times.

Each duration is a histogram of fixed-width bins; once a histogram holds more than `memory`
observations every count is halved, so the estimates follow a campaign whose list, hour or team
changes, while one odd call moves nothing. Nothing here knows about the clock: the caller feeds
observations as calls happen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from callbridge.domain.dialer.pacing.counts import Array
from callbridge.domain.errors import InvalidInput


class Histogram:
    """Durations in `width`-second bins up to `limit` (longer ones count in the last bin)."""

    def __init__(self, width: float, limit: float, memory: float) -> None:
        if width <= 0 or limit <= width or memory < 10:
            raise InvalidInput("a histogram needs a positive width below its limit", field="width")
        self.width = width
        self.bins = int(np.ceil(limit / width))
        self.counts = np.zeros(self.bins, dtype=np.float64)
        self.memory = memory
        self.total = 0.0
        self.added = 0  # observations ever added (never halved): how much evidence there is

    def add(self, seconds: float) -> None:
        index = min(max(int(seconds / self.width), 0), self.bins - 1)
        self.counts[index] += 1.0
        self.total += 1.0
        self.added += 1
        if self.total > self.memory:
            self.halve()

    def halve(self) -> None:
        """Forget half of every count: older calls weigh less than newer ones."""
        self.counts *= 0.5
        self.total *= 0.5

    def cdf(self, seconds: Array) -> Array:
        """P(duration <= seconds), linear within a bin; all zeros while empty."""
        if self.total <= 0:
            return np.zeros_like(seconds)
        edges = np.concatenate([[0.0], np.cumsum(self.counts) / self.total])
        position = np.clip(seconds / self.width, 0.0, float(self.bins))
        result: Array = np.interp(position, np.arange(self.bins + 1, dtype=np.float64), edges)
        return result

    def quantile(self, share: float) -> float:
        """The shortest duration below which `share` of observations fall (bin resolution)."""
        if self.total <= 0:
            return 0.0
        cumulative = np.cumsum(self.counts) / self.total
        index = int(np.searchsorted(cumulative, share - 1e-12))
        return min(index + 1, self.bins) * self.width

    def mean(self) -> float:
        if self.total <= 0:
            return 0.0
        centres = (np.arange(self.bins) + 0.5) * self.width
        return float(np.dot(self.counts, centres) / self.total)


@dataclass(frozen=True, slots=True)
class Evidence:
    """How much a campaign must have seen before its predictive model is trusted."""

    attempts: int = 100
    live: int = 20
    talks: int = 10
    wraps: int = 10


class CampaignEstimates:
    """Live-answer share and duration histograms, learnt as calls happen.

    `live_prior` and `prior_weight` seed the live share (as that many pretend attempts) so that
    the first minutes of a campaign do not swing on a handful of calls.
    """

    def __init__(
        self,
        *,
        ring_limit_s: float = 60.0,
        memory: float = 20_000,
        live_prior: float = 0.2,
        prior_weight: float = 20.0,
        evidence: Evidence | None = None,
    ) -> None:
        if not 0.0 < live_prior < 1.0:
            raise InvalidInput("the live-answer prior must be between 0 and 1", field="live_prior")
        # the two ring histograms forget together, so their ratio (the live share) stays true
        self.live_ring = Histogram(0.5, ring_limit_s, float("inf"))
        self.failed_ring = Histogram(0.5, ring_limit_s, float("inf"))
        self.memory = memory
        self.talk = Histogram(2.0, 4 * 3600.0, memory)
        self.wrap = Histogram(0.25, 1800.0, memory)
        self._prior_live = live_prior * prior_weight
        self._prior_weight = prior_weight
        self.evidence = evidence or Evidence()
        self.changes = 0  # observations since the start: the outlook rebuilds on a cadence

    def observe_attempt(self, live: bool, after_s: float) -> None:
        """A dialled call ended its ringing: answered live after `after_s`, or failed then (no
        answer, busy, unreachable, or a machine detected)."""
        (self.live_ring if live else self.failed_ring).add(after_s)
        self.changes += 1
        if self.live_ring.total + self.failed_ring.total > self.memory:
            self.live_ring.halve()
            self.failed_ring.halve()

    def observe_talk(self, seconds: float) -> None:
        self.talk.add(seconds)
        self.changes += 1

    def observe_wrap(self, seconds: float) -> None:
        self.wrap.add(seconds)
        self.changes += 1

    @property
    def live_rate(self) -> float:
        """The share of attempts answered live (the prior blended in)."""
        live, failed = self.live_ring.total, self.failed_ring.total
        return (live + self._prior_live) / (live + failed + self._prior_weight)

    @property
    def ready(self) -> bool:
        """Enough seen to trust a model of this campaign."""
        need = self.evidence
        return (
            self.live_ring.added + self.failed_ring.added >= need.attempts
            and self.live_ring.added >= need.live
            and self.talk.added >= need.talks
            and self.wrap.added >= need.wraps
        )
