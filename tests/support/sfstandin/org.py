"""One Salesforce org: its records, sessions, API allocation, query cursors and Bulk jobs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sfstandin.auth import Credentials, Sessions
from sfstandin.faults import FaultBook
from sfstandin.ids import IdFactory, RecordId
from sfstandin.store import Store

if TYPE_CHECKING:
    from sfstandin.bulk import IngestJob


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Cursor:
    """A query locator: the remaining rendered records of a paged query."""

    records: list[dict[str, Any]]
    endpoint: str  # "query" or "queryAll"


@dataclass
class Limits:
    daily_api_requests: int
    used: int = 0
    bulk_batches_used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        """Count one API call; False if the daily allocation is used up."""
        with self.lock:
            if self.used >= self.daily_api_requests:
                return False
            self.used += 1
            return True

    def usage(self) -> str:
        with self.lock:
            return f"api-usage={self.used}/{self.daily_api_requests}"


class Org:
    """Everything the server knows; the data API handlers and the test API share it."""

    def __init__(
        self,
        *,
        creds: Credentials,
        api_version: str,
        min_version: str,
        daily_limit: int,
        page_size: int,
        session_timeout: float | None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.ids = IdFactory()
        self.org_id: RecordId = self.ids.make("00D")
        self.user_id: RecordId = self.ids.make("005")
        self.creds = creds
        self.api_version = api_version
        self.min_version = min_version
        self.limits = Limits(daily_limit)
        self.page_size = page_size
        self.store = Store(self.ids, clock, self.user_id)
        self.sessions = Sessions(self.org_id, session_timeout)
        self.faults = FaultBook()
        self.cursors: dict[str, Cursor] = {}
        self.jobs: dict[str, IngestJob] = {}
        self.lock = threading.Lock()
        self._seed_user()

    def _seed_user(self) -> None:
        now = self.store.now()
        self.store.tables["User"][self.user_id] = {
            "Id": self.user_id, "IsDeleted": False, "CreatedDate": now, "CreatedById": self.user_id,
            "LastModifiedDate": now, "LastModifiedById": self.user_id, "SystemModstamp": now,
            "Username": self.creds.username, "Name": "Integration User", "FirstName": "Integration",
            "LastName": "User", "Email": self.creds.username, "Phone": None, "IsActive": True,
        }  # fmt: skip

    def supports(self, version: str) -> bool:
        try:
            n = float(version)
        except ValueError:
            return False
        return float(self.min_version) <= n <= float(self.api_version)

    def versions(self) -> list[dict[str, str]]:
        """The `/services/data/` list, labelled by release (59.0 = Winter '24)."""
        out = []
        for n in range(int(float(self.min_version)), int(float(self.api_version)) + 1):
            step = n - 59
            season = ("Winter", "Spring", "Summer")[step % 3]
            year = 24 + step // 3
            out.append(
                {
                    "label": f"{season} '{year:02d}",
                    "url": f"/services/data/v{n}.0",
                    "version": f"{n}.0",
                }
            )
        return out
