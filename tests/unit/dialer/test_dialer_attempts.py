"""Attempt limits, the UK redial rules, dispositions and recycling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callbridge.domain.dialer.attempts import (
    AttemptLimits,
    NumberHistory,
    RecordProgress,
    after_call,
    refusals,
)
from callbridge.domain.dialer.compliance import UK, US, ComplianceProfile
from callbridge.domain.dialer.dispositions import (
    ABANDONED,
    DEFAULT_AGENT,
    MACHINE,
    NO_ANSWER,
    Disposition,
    Effect,
    disposition_table,
)
from callbridge.domain.dialer.lists import Recycling, recycled
from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import DispositionCode

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
LIMITS = AttemptLimits(per_record=3, per_number=2, period=timedelta(hours=24))
NUMBER = "+442071234567"


def why(
    history: NumberHistory,
    progress: RecordProgress | None = None,
    profile: ComplianceProfile = UK,
    guaranteed: bool = False,
) -> list[str]:
    return refusals(LIMITS, profile, progress or RecordProgress(), history, NOW, LONDON, guaranteed)


def test_a_fresh_number_may_be_called() -> None:
    assert why(NumberHistory(NUMBER)) == []


def test_attempts_per_number_count_within_the_period_only() -> None:
    recent = NumberHistory(NUMBER, (NOW - timedelta(hours=2), NOW - timedelta(hours=1)))
    assert any("2 attempts on" in r for r in why(recent))
    older = NumberHistory(NUMBER, (NOW - timedelta(hours=30), NOW - timedelta(hours=1)))
    assert why(older) == []
    assert any(
        "attempts on the record" in r
        for r in why(NumberHistory(NUMBER), RecordProgress(attempts=3))
    )


def test_uk_no_redial_within_72_hours_of_an_abandoned_call_unless_an_agent_is_guaranteed() -> None:
    history = NumberHistory(NUMBER).recorded(NOW - timedelta(hours=71), ABANDONED)
    assert any("72 h" in r for r in why(history))
    assert why(history, guaranteed=True) == []
    assert why(NumberHistory(NUMBER).recorded(NOW - timedelta(hours=73), ABANDONED)) == []
    assert all("72" not in r for r in why(history, profile=US))


def test_uk_no_redial_the_same_day_after_a_machine() -> None:
    morning = NumberHistory(NUMBER).recorded(NOW - timedelta(hours=5), MACHINE)
    assert any("machine" in r for r in why(morning))
    yesterday = NumberHistory(NUMBER).recorded(NOW - timedelta(hours=20), MACHINE)
    assert why(yesterday) == []
    assert why(morning, profile=US) == []


def test_a_disposition_decides_what_happens_to_the_record() -> None:
    retry = after_call(LIMITS, RecordProgress(), NO_ANSWER, NOW)
    assert (retry.attempts, retry.done, retry.due_at) == (1, False, NOW + timedelta(hours=1))
    assert any("not due before" in r for r in why(NumberHistory(NUMBER), retry))
    sale = after_call(LIMITS, retry, DEFAULT_AGENT[0], NOW)
    assert (sale.done, sale.last) == (True, DispositionCode("SALE"))
    last = after_call(LIMITS, RecordProgress(attempts=2), NO_ANSWER, NOW)
    assert last.done and last.due_at is None  # out of attempts


def test_recycling_gives_finished_records_another_pass() -> None:
    rule = Recycling(frozenset({NO_ANSWER.code}), timedelta(days=2), max_passes=1)
    spent = RecordProgress(attempts=3, done=True, last=NO_ANSWER.code)
    again = recycled(spent, rule, NOW)
    assert (again.done, again.attempts, again.passes, again.due_at) == (
        False,
        0,
        1,
        NOW + timedelta(days=2),
    )
    twice = RecordProgress(attempts=3, done=True, last=NO_ANSWER.code, passes=1)
    assert recycled(twice, rule, NOW) is twice  # no passes left
    sold = RecordProgress(attempts=1, done=True, last=DispositionCode("SALE"))
    assert recycled(sold, rule, NOW) is sold


def test_disposition_codes_are_unique_and_retries_need_a_delay() -> None:
    assert DispositionCode("DROP") in disposition_table(DEFAULT_AGENT)
    with pytest.raises(InvalidInput, match="used twice"):
        disposition_table([Disposition(DispositionCode("NA"), "Mine", Effect.FINAL)])
    with pytest.raises(InvalidInput, match="retry needs"):
        Disposition(DispositionCode("X"), "X", Effect.RETRY)
