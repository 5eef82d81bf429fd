"""Dialing lists: the records a campaign calls, the order it takes them in, and recycling.

A record has one or more numbers (tried in order), and may carry address data (a time zone, a
US state) that overrides what the numbers say about where the person is. The order is one of:
as loaded; by priority (highest first); fewest attempts first; least recently tried first.
Recycling gives records a further pass once every attempt is spent, for the dispositions the
campaign names, after a delay and a limited number of times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from callbridge.domain.dialer.attempts import RecordProgress
from callbridge.domain.dialer.ids import RecordId
from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import DispositionCode


@dataclass(frozen=True, slots=True)
class DialingRecord:
    record_id: RecordId
    phones: tuple[str, ...]
    name: str = ""
    time_zone: str | None = None
    state: str | None = None
    priority: int = 0
    position: int = 0  # its place in the list as loaded

    def __post_init__(self) -> None:
        if not self.phones:
            raise InvalidInput(f"record {self.record_id} has no number", field="phones")


class ListOrder(StrEnum):
    AS_LOADED = "as_loaded"
    PRIORITY = "priority"
    FEWEST_ATTEMPTS = "fewest_attempts"
    LEAST_RECENT = "least_recent"


@dataclass(frozen=True, slots=True)
class Recycling:
    """Records that ended with one of `dispositions` get another pass `after` the last call,
    at most `max_passes` times."""

    dispositions: frozenset[DispositionCode] = frozenset()
    after: timedelta = timedelta(days=1)
    max_passes: int = 0

    def __post_init__(self) -> None:
        if self.max_passes < 0 or self.after < timedelta(0):
            raise InvalidInput(
                "recycling needs a non-negative delay and pass count", field="max_passes"
            )


def recycled(progress: RecordProgress, recycling: Recycling, at: datetime) -> RecordProgress:
    """`progress` given another pass if recycling says so, else unchanged."""
    if (
        progress.done
        and progress.last in recycling.dispositions
        and progress.passes < recycling.max_passes
    ):
        return replace(
            progress,
            attempts=0,
            done=False,
            due_at=at + recycling.after,
            passes=progress.passes + 1,
        )
    return progress


def due_records(
    records: Iterable[DialingRecord],
    progress: Mapping[RecordId, RecordProgress],
    order: ListOrder,
    at: datetime,
    last_tried: Mapping[RecordId, datetime] | None = None,
) -> list[DialingRecord]:
    """The records that may be tried at `at`, in the campaign's order."""
    fresh = RecordProgress()
    due = [
        r
        for r in records
        if not (p := progress.get(r.record_id, fresh)).done and (p.due_at is None or p.due_at <= at)
    ]
    if order is ListOrder.PRIORITY:
        due.sort(key=lambda r: (-r.priority, r.position))
    elif order is ListOrder.FEWEST_ATTEMPTS:
        due.sort(key=lambda r: (progress.get(r.record_id, fresh).attempts, r.position))
    elif order is ListOrder.LEAST_RECENT:
        tried = last_tried or {}
        never = datetime.min.replace(tzinfo=at.tzinfo)
        due.sort(key=lambda r: (tried.get(r.record_id, never), r.position))
    else:
        due.sort(key=lambda r: r.position)
    return due
