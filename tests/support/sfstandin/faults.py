"""Injected faults: errors, latency, dropped connections and SOSL index lag."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["error", "latency", "drop", "search_lag"]


@dataclass(frozen=True)
class Fault:
    """One fault rule.

    `path` is a regular expression searched in the request path (None: every path, OAuth
    included); `method` an HTTP method (None: any). `times` limits the rule to the next N
    matching requests; `every` fires it on every k-th matching request only. A `search_lag`
    fault matches nothing: while it is active, records written less than `seconds` ago are not
    found by /search.
    """

    kind: FaultKind
    path: str | None = None
    method: str | None = None
    status: int = 503
    error_code: str = "SERVER_UNAVAILABLE"
    message: str = "Server unavailable, please try again later"
    seconds: float = 0.0
    times: int | None = None
    every: int | None = None

    @classmethod
    def error(
        cls, status: int, error_code: str, message: str, *, path: str | None = None,
        method: str | None = None, times: int | None = None, every: int | None = None,
    ) -> Fault:  # fmt: skip
        return cls("error", path, method, status, error_code, message, 0.0, times, every)

    @classmethod
    def unable_to_lock_row(
        cls, *, path: str | None = None, method: str | None = None, times: int | None = None,
        every: int | None = None,
    ) -> Fault:  # fmt: skip
        return cls.error(
            400,
            "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to this record or 1 records: 00T5e00000A1b2cEAB",
            path=path,
            method=method,
            times=times,
            every=every,
        )

    @classmethod
    def server_unavailable(
        cls, *, path: str | None = None, method: str | None = None, times: int | None = None,
        every: int | None = None,
    ) -> Fault:  # fmt: skip
        return cls.error(
            503,
            "SERVER_UNAVAILABLE",
            "Server unavailable, please try again later",
            path=path,
            method=method,
            times=times,
            every=every,
        )

    @classmethod
    def concurrent_limit(
        cls, *, path: str | None = None, method: str | None = None, times: int | None = None,
        every: int | None = None,
    ) -> Fault:  # fmt: skip
        """The concurrency flavour of REQUEST_LIMIT_EXCEEDED (retryable, unlike the daily one)."""
        return cls.error(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentPerOrgLongTxn Limit exceeded.",
            path=path,
            method=method,
            times=times,
            every=every,
        )

    @classmethod
    def invalid_session(
        cls, *, path: str | None = None, method: str | None = None, times: int | None = None,
        every: int | None = None,
    ) -> Fault:  # fmt: skip
        return cls.error(
            401,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
            path=path,
            method=method,
            times=times,
            every=every,
        )

    @classmethod
    def latency(
        cls, seconds: float, *, path: str | None = None, method: str | None = None,
        times: int | None = None, every: int | None = None,
    ) -> Fault:  # fmt: skip
        return cls("latency", path, method, seconds=seconds, times=times, every=every)

    @classmethod
    def drop(
        cls, *, path: str | None = None, method: str | None = None, times: int | None = None,
        every: int | None = None,
    ) -> Fault:  # fmt: skip
        return cls("drop", path, method, times=times, every=every)

    @classmethod
    def search_lag(cls, seconds: float) -> Fault:
        return cls("search_lag", seconds=seconds)


@dataclass
class _Rule:
    fault: Fault
    pattern: re.Pattern[str] | None
    seen: int = 0
    fired: int = 0


class FaultBook:
    """The active faults and how often each has matched (thread-safe)."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        pattern = re.compile(fault.path) if fault.path is not None else None
        with self._lock:
            self._rules.append(_Rule(fault, pattern))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def match(self, method: str, path: str) -> list[Fault]:
        """The faults that fire for this request, consuming their `times` budget."""
        fired: list[Fault] = []
        with self._lock:
            for rule in self._rules:
                f = rule.fault
                if f.kind == "search_lag":
                    continue
                if f.method is not None and f.method.upper() != method.upper():
                    continue
                if rule.pattern is not None and not rule.pattern.search(path):
                    continue
                if f.times is not None and rule.fired >= f.times:
                    continue
                rule.seen += 1
                if f.every is not None and rule.seen % f.every != 0:
                    continue
                rule.fired += 1
                fired.append(f)
        return fired

    def search_lag(self) -> float:
        with self._lock:
            lags = [r.fault.seconds for r in self._rules if r.fault.kind == "search_lag"]
        return max(lags, default=0.0)


def sleep_for(faults: list[Fault]) -> float:
    return sum(f.seconds for f in faults if f.kind == "latency")
