"""Compliance profiles: regulatory windows, the abandon message, the ring time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from callbridge.domain.dialer.compliance import (
    UK,
    US,
    Seller,
    abandon_message,
    check_abandon_message,
    check_ring_timeout,
    profile,
)
from callbridge.domain.errors import InvalidInput

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SELLER = Seller("Acme Insurance", "+12125550199")


def test_us_windows_are_successive_thirty_day_periods_from_the_first_day() -> None:
    first = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)
    day1 = US.window_of(first, datetime(2026, 3, 1, 20, 0, tzinfo=UTC), NY)
    day30 = US.window_of(first, datetime(2026, 3, 30, 20, 0, tzinfo=UTC), NY)
    day31 = US.window_of(first, datetime(2026, 3, 31, 20, 0, tzinfo=UTC), NY)
    assert day1.key == day30.key == "period 1 from 2026-03-01"
    assert day31.key == "period 2 from 2026-03-31"
    assert day1.end == day31.start == datetime(2026, 3, 31, tzinfo=NY)
    with pytest.raises(InvalidInput):
        US.window_of(first, datetime(2026, 2, 1, tzinfo=UTC), NY)


def test_uk_windows_are_calendar_days_in_the_campaign_zone_across_a_clock_change() -> None:
    first = datetime(2026, 3, 1, tzinfo=UTC)
    # 23:30 UTC on 28 March is 23:30 GMT; 23:30 UTC on 29 March is 00:30 BST on the 30th
    before = UK.window_of(first, datetime(2026, 3, 28, 23, 30, tzinfo=UTC), LONDON)
    after = UK.window_of(first, datetime(2026, 3, 29, 23, 30, tzinfo=UTC), LONDON)
    assert (before.key, after.key) == ("2026-03-28", "2026-03-30")
    short = UK.window_of(first, datetime(2026, 3, 29, 12, 0, tzinfo=UTC), LONDON)
    hours = (short.end.astimezone(UTC) - short.start.astimezone(UTC)).total_seconds() / 3600
    assert hours == 23  # the day the clocks go on


def test_the_profiles_differ_where_the_rules_do() -> None:
    assert profile("US") is US and profile("uk") is UK
    assert US.counts_amd_false_positives is False and UK.counts_amd_false_positives is True
    assert UK.redial_after_abandon is not None and US.redial_after_abandon is None
    assert US.registry_max_age is not None and US.registry_max_age.days == 31
    with pytest.raises(InvalidInput, match="known: us, uk"):
        profile("fr")


def test_the_abandon_message_names_the_seller_and_offers_an_opt_out() -> None:
    template = "A call from {seller}. Call us on {phone}. {opt_out}"
    text = check_abandon_message(US, template, SELLER, "9")
    assert (
        text
        == "A call from Acme Insurance. Call us on +12125550199. To stop further calls, press 9."
    )
    with pytest.raises(InvalidInput, match="opt-out"):
        check_abandon_message(US, "A call from {seller}, {phone}.", SELLER, "9")
    assert check_abandon_message(UK, "A call from {seller}, {phone}.", SELLER, None)
    with pytest.raises(InvalidInput, match="name and telephone number"):
        check_abandon_message(UK, "Sorry we missed you.", SELLER, None)
    with pytest.raises(InvalidInput, match="unknown placeholder"):
        abandon_message("{seller} {website}", SELLER, None)


def test_unanswered_calls_ring_at_least_fifteen_seconds() -> None:
    check_ring_timeout(US, 15.0)
    with pytest.raises(InvalidInput, match="at least 15 s") as raised:
        check_ring_timeout(UK, 12.0)
    assert raised.value.details["field"] == "no_answer_timeout_s"
