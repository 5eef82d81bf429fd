"""The daily API allocation: read from `Sforce-Limit-Info` on every response, and the pacing
that stretches what is left when other integrations share the pool (contract §7)."""

from __future__ import annotations

import re
from dataclasses import dataclass

LIMIT_HEADER = "Sforce-Limit-Info"
# "api-usage=18/5000" or "api-usage=25/5000; per-app-api-usage=17/250(appName=app)"
_API_USAGE = re.compile(r"(?:^|[\s;,])api-usage=(\d+)/(\d+)")


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """Requests used of the org's rolling 24-hour allocation."""

    used: int
    max: int

    @property
    def remaining(self) -> int:
        return max(0, self.max - self.used)


def parse_limit_info(header: str | None) -> ApiUsage | None:
    """The org-wide usage in a `Sforce-Limit-Info` value; None when it has none."""
    if not header:
        return None
    found = _API_USAGE.search(header)
    if found is None:
        return None
    return ApiUsage(used=int(found.group(1)), max=int(found.group(2)))


@dataclass(frozen=True, slots=True)
class Pacing:
    """Below `floor` remaining requests, space requests out: the gap grows linearly from 0 at
    the floor to `max_gap_s` when nothing is left, so the connector keeps working slowly
    instead of spending the last of an allocation other integrations need too."""

    floor: int
    max_gap_s: float = 30.0

    def throttled(self, usage: ApiUsage | None) -> bool:
        return usage is not None and self.floor > 0 and usage.remaining < self.floor

    def gap_s(self, usage: ApiUsage | None) -> float:
        """The least time between two requests at this usage."""
        if usage is None or not self.throttled(usage):
            return 0.0
        return self.max_gap_s * (1.0 - usage.remaining / self.floor)

    def wait_s(self, usage: ApiUsage | None, since_last_s: float) -> float:
        """How long to wait before the next request, `since_last_s` after the previous one."""
        return max(0.0, self.gap_s(usage) - since_last_s)
