"""The request log tests assert on."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the stand-in saw it. `status` is 0 for a dropped connection."""

    method: str
    path: str
    query: str
    status: int
    body_size: int
    api_call: bool  # counted against the daily API allocation
    call_options: str | None = None  # the Sforce-Call-Options header


class RequestLog:
    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
