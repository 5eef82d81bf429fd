"""Calling hours in the called person's local time, from the number or the address."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from callbridge.domain.dialer.calling_hours import (
    STATE_HOURS,
    US_FEDERAL,
    CallingHours,
    HoursRule,
    Window,
    locate,
)
from callbridge.domain.errors import InvalidInput

US_HOURS = CallingHours(US_FEDERAL, STATE_HOURS)


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)  # 2 March 2026 is a Monday


def test_the_number_says_where_unless_the_address_does() -> None:
    new_york = locate("+12125550100")
    assert new_york == locate("+12125550100", None, None)
    assert (new_york.zones, new_york.state, new_york.source) == (
        ("America/New_York",),
        "NY",
        "number",
    )
    assert locate("+13055550100").state == "FL"
    moved = locate("+12125550100", address_zone="America/Los_Angeles", address_state="ca")
    assert (moved.zones, moved.state, moved.source) == (("America/Los_Angeles",), "CA", "address")
    with pytest.raises(InvalidInput):
        locate("+12125550100", address_zone="Mars/Olympus")


def test_federal_hours_are_eight_to_nine_local() -> None:
    ny = locate("+12125550100")  # 13:00 UTC is 08:00 in New York (EST)
    assert not US_HOURS.check(ny, at(12, 59)).allowed
    assert US_HOURS.check(ny, at(13, 0)).allowed
    assert US_HOURS.check(ny, at(1, 59, day=3)).allowed  # 20:59
    refused = US_HOURS.check(ny, at(2, 0, day=3))
    assert not refused.allowed and refused.refused_by is not None
    assert refused.refused_by.endswith("08:00-21:00 on mon (21:00 in America/New_York)")


def test_a_stricter_state_window_applies_and_an_address_state_chooses_it() -> None:
    florida = locate("+13055550100")
    assert not US_HOURS.check(florida, at(1, 30, day=3)).allowed  # 20:30 in Miami
    ny_number_in_florida = locate("+12125550100", address_state="FL")
    assert not US_HOURS.check(ny_number_in_florida, at(1, 30, day=3)).allowed
    assert US_HOURS.check(locate("+12125550100"), at(1, 30, day=3)).allowed


def test_a_number_in_several_zones_is_called_only_when_all_allow() -> None:
    toll_free = locate("+18005550100")
    assert len(toll_free.zones) > 5
    # 14:00 UTC: 09:00 in New York but 04:00 in Honolulu
    verdict = US_HOURS.check(toll_free, at(14, 0))
    assert not verdict.allowed and len(verdict.local_times) == len(toll_free.zones)


def test_weekly_rules_and_the_next_allowed_moment() -> None:
    texas = STATE_HOURS["TX"]
    assert texas.days[6] == Window.parse("12:00-21:00") and texas.days[0] == Window(540, 1260)
    own = HoursRule.weekly("campaign", {"mon-fri": "10:00-18:00", "sat-sun": None})
    hours = CallingHours(US_FEDERAL, {}, (own,))
    ny = locate("+12125550100")
    saturday_night = datetime(2026, 3, 7, 2, 0, tzinfo=UTC)
    nxt = hours.next_allowed(ny, saturday_night)
    assert nxt == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # Monday 10:00 in New York (EDT)
    with pytest.raises(InvalidInput):
        HoursRule.weekly("bad", {"mon-funday": "10:00-18:00"})
    with pytest.raises(InvalidInput):
        Window.parse("18:00-10:00")
