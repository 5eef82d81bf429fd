"""Attempts: how often a record and a number may be tried, and what a call's disposition does to
the record's progress.

Limits: attempts per record over the campaign, and per number within a rolling period. The UK
profile adds two redial rules that only a guaranteed live agent (preview, progressive) escapes:
no call within 72 h of an abandoned one, and none the same day after a machine was detected.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from callbridge.domain.dialer.compliance import ComplianceProfile
from callbridge.domain.dialer.dispositions import ABANDONED, MACHINE, Disposition, Effect
from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import DispositionCode


@dataclass(frozen=True, slots=True)
class AttemptLimits:
    """At most `per_record` attempts on a record, and `per_number` on one number in any
    `period`."""

    per_record: int = 6
    per_number: int = 3
    period: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        if self.per_record < 1 or self.per_number < 1:
            raise InvalidInput("attempt limits must be at least 1", field="per_record")
        if self.period <= timedelta(0):
            raise InvalidInput("the attempt period must be positive", field="period")


@dataclass(frozen=True, slots=True)
class NumberHistory:
    """What has happened on one number: when it was tried, and the last abandoned call and
    machine detection (the UK redial rules)."""

    number: str
    attempts: tuple[datetime, ...] = ()
    last_abandoned_at: datetime | None = None
    last_machine_at: datetime | None = None

    def recorded(self, at: datetime, disposition: Disposition) -> NumberHistory:
        """The history after a call at `at` ended with `disposition`."""
        return replace(
            self,
            attempts=(*self.attempts, at),
            last_abandoned_at=at if disposition.code == ABANDONED.code else self.last_abandoned_at,
            last_machine_at=at if disposition.code == MACHINE.code else self.last_machine_at,
        )


@dataclass(frozen=True, slots=True)
class RecordProgress:
    """A record's state in its campaign: attempts made, not to be tried before `due_at`, done or
    not, its last disposition, and how many times the list was recycled over it."""

    attempts: int = 0
    due_at: datetime | None = None
    done: bool = False
    last: DispositionCode | None = None
    passes: int = 0


def refusals(
    limits: AttemptLimits,
    profile: ComplianceProfile,
    progress: RecordProgress,
    history: NumberHistory,
    at: datetime,
    zone: ZoneInfo,
    agent_guaranteed: bool,
) -> list[str]:
    """Why the record's number may not be tried at `at` (empty: it may). `zone` is the
    campaign's, for "the same day"; `agent_guaranteed` when the mode reserves an agent."""
    reasons: list[str] = []
    if progress.done:
        reasons.append(f"the record is done ({progress.last})")
    if progress.due_at is not None and at < progress.due_at:
        reasons.append(f"not due before {progress.due_at:%Y-%m-%d %H:%M}")
    if progress.attempts >= limits.per_record:
        reasons.append(f"{progress.attempts} attempts on the record (at most {limits.per_record})")
    recent = sum(1 for t in history.attempts if at - t < limits.period)
    if recent >= limits.per_number:
        reasons.append(
            f"{recent} attempts on {history.number} in the period (at most {limits.per_number})"
        )
    if not agent_guaranteed:
        window = profile.redial_after_abandon
        last = history.last_abandoned_at
        if window is not None and last is not None and at - last < window:
            hours = window.total_seconds() / 3600
            reasons.append(
                f"abandoned within the last {hours:g} h: only a guaranteed agent may call"
            )
        machine = history.last_machine_at
        if (
            profile.no_same_day_redial_after_machine
            and machine is not None
            and machine.astimezone(zone).date() == at.astimezone(zone).date()
        ):
            reasons.append("a machine answered today: only a guaranteed agent may call again")
    return reasons


def after_call(
    limits: AttemptLimits, progress: RecordProgress, disposition: Disposition, at: datetime
) -> RecordProgress:
    """The record's progress after a call at `at` ended with `disposition`."""
    attempts = progress.attempts + 1
    if disposition.effect is not Effect.RETRY:
        return replace(progress, attempts=attempts, done=True, last=disposition.code, due_at=None)
    assert disposition.retry_after_s is not None  # checked when the disposition was made
    exhausted = attempts >= limits.per_record
    due = None if exhausted else at + timedelta(seconds=disposition.retry_after_s)
    return replace(progress, attempts=attempts, done=exhausted, last=disposition.code, due_at=due)
