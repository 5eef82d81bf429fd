"""Which failures are worth another try, and how long to wait before it (contract §3.12)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

# Per-record codes (Collections results) that a later attempt may get past.
RETRYABLE_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED"})
# Whole-request codes worth retrying, whatever their HTTP status.
_RETRYABLE_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE"})


class Action(Enum):
    RETRY = "retry"  # back off, then send the same request again
    REAUTH = "reauth"  # get a new token, then send it again
    LATER = "later"  # the daily allocation is used up: trying again now only adds to it
    FAIL = "fail"  # the request itself is wrong: another try gets the same answer


def error_codes(body: object) -> list[str]:
    """The `errorCode`s of a REST error body (a JSON array of {message, errorCode})."""
    items = body if isinstance(body, list) else [body]
    codes: list[str] = []
    for item in items:
        if isinstance(item, dict):
            code = item.get("errorCode") or item.get("statusCode")
            if isinstance(code, str):
                codes.append(code)
    return codes


def error_text(body: object) -> str:
    """`CODE: message` for each error in a REST error body, for logs and results."""
    items = body if isinstance(body, list) else [body]
    parts = []
    for item in items:
        if isinstance(item, dict):
            code = item.get("errorCode") or item.get("statusCode") or "ERROR"
            parts.append(f"{code}: {item.get('message', '')}".strip())
        elif item:
            parts.append(str(item)[:200])
    return "; ".join(parts) or "no error detail"


def classify(status: int, body: object) -> Action:
    """What to do about an HTTP error answer."""
    if status == 401:
        return Action.REAUTH
    if "REQUEST_LIMIT_EXCEEDED" in error_codes(body) and "TotalRequests" in error_text(body):
        return Action.LATER
    if status >= 500 or _RETRYABLE_CODES.intersection(error_codes(body)):
        return Action.RETRY
    return Action.FAIL


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter, bounded in attempts and in each wait."""

    attempts: int = 5  # tries in all, the first included
    first_s: float = 0.5
    max_s: float = 8.0

    def delay(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number `retry` (0 for the first retry): somewhere in the upper
        half of the exponential step, so clients that failed together come back apart."""
        ceiling = min(self.max_s, self.first_s * 2**retry)
        return rng.uniform(ceiling / 2, ceiling)
