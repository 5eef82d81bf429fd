"""Business hours: weekly windows in a time zone, public holidays, custom closed days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from callbridge.domain.errors import InvalidInput
from callbridge.domain.ivr.hours import HoursError, Schedule, make_schedule

LONDON = make_schedule(
    "Europe/London",
    {"mon-fri": "08:00-18:00", "sat": "09:00-12:30, 13:00-16:00"},
    {"country": "GB", "subdivision": "ENG"},
    [date(2026, 12, 24)],
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "is_open", "reason"),
    [
        ("2026-11-26T10:00", True, "open"),  # a Thursday
        ("2026-11-26T07:59", False, "outside hours"),
        ("2026-11-26T08:00", True, "open"),  # a window includes its start
        ("2026-11-26T18:00", False, "outside hours"),  # and not its end
        ("2026-11-28T12:45", False, "outside hours"),  # Saturday lunch
        ("2026-11-28T13:00", True, "open"),
        ("2026-11-29T10:00", False, "outside hours"),  # Sunday: not listed, closed
        ("2026-12-25T10:00", False, "holiday Christmas Day"),
        ("2026-12-28T10:00", False, "holiday Boxing Day (observed)"),
        ("2026-12-24T10:00", False, "closed day 2026-12-24"),
    ],
)
def test_status(at: str, is_open: bool, reason: str) -> None:
    opening = LONDON.status(utc(at))  # London is on UTC in winter
    assert (opening.open, opening.reason) == (is_open, reason)
    assert LONDON.is_open(utc(at)) is is_open


def test_windows_keep_local_time_across_daylight_saving() -> None:
    # 07:30 UTC is 08:30 in London in summer (open) but 07:30 in winter (closed)
    assert LONDON.is_open(utc("2026-07-02T07:30"))
    assert not LONDON.is_open(utc("2026-01-08T07:30"))
    # the last minutes before the clocks change, in local time either side
    assert LONDON.status(utc("2026-10-23T16:59")).local.hour == 17


def test_the_day_is_the_local_day() -> None:
    berlin = make_schedule("Europe/Berlin", {"sat": "00:00-02:00"})
    friday_night_utc = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # 00:30 Saturday in Berlin
    assert berlin.is_open(friday_night_utc)
    assert berlin.status(friday_night_utc).local.weekday() == 5
    # any offset of the same instant is the same answer
    assert berlin.is_open(friday_night_utc.astimezone(timezone(timedelta(hours=-5))))


def test_open_until_midnight_and_again_after() -> None:
    late = make_schedule("UTC", {"fri": "20:00-24:00", "sat": "00:00-02:00"})
    assert late.is_open(utc("2026-11-27T23:59"))
    assert late.is_open(utc("2026-11-28T00:00"))
    assert not late.is_open(utc("2026-11-28T02:00"))


def test_holidays_follow_the_subdivision() -> None:
    scotland = make_schedule("Europe/London", {"mon-sun": "00:00-24:00"}, "GB")
    st_andrews = utc("2026-11-30T10:00")  # a bank holiday in Scotland, not in England
    assert scotland.is_open(st_andrews)
    assert not make_schedule(
        "Europe/London", {"mon-sun": "00:00-24:00"}, {"country": "GB", "subdivision": "SCT"}
    ).is_open(st_andrews)


def test_named_closed_days() -> None:
    schedule = make_schedule("UTC", {"mon-sun": "00:00-24:00"}, closed={"2026-06-01": "Inventory"})
    assert schedule.status(utc("2026-06-01T12:00")).reason == "closed day Inventory"


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        LONDON.status(datetime(2026, 11, 26, 10, 0))  # noqa: DTZ001 - the mistake under test


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        (("Mars/Olympus", {"mon": "08:00-09:00"}), "timezone", "unknown time zone"),
        ((None, {"mon": "08:00-09:00"}), "timezone", "needs a 'timezone'"),
        (("UTC", {}), "weekly", "must map days"),
        (("UTC", {"mon-fry": "08:00-09:00"}), "weekly.mon-fry", "not a day"),
        (("UTC", {"fri-mon": "08:00-09:00"}), "weekly.fri-mon", "runs backwards"),
        (("UTC", {"mon": "8-9"}), "weekly.mon", "not hours like 08:00-18:00"),
        (("UTC", {"mon": "18:00-08:00"}), "weekly.mon", "ends before it starts"),
        (("UTC", {"mon": "25:00-26:00"}), "weekly.mon", "not a time of day"),
        (("UTC", {"mon-fri": "08:00-09:00", "fri": "closed"}), "weekly.fri", "given twice"),
        (("UTC", {"mon": "08:00-09:00"}, {"country": "XX"}), "holidays.country", "no holiday"),
        (
            ("UTC", {"mon": "08:00-09:00"}, {"country": "GB", "subdivision": "ZZ"}),
            "holidays.subdivision",
            "no holiday calendar for GB/ZZ",
        ),
        (("UTC", {"mon": "08:00-09:00"}, None, ["2026-02-30"]), "closed.0", "not a date"),
    ],
)
def test_schedule_errors_name_the_field(args: tuple[object, ...], field: str, message: str) -> None:
    with pytest.raises(HoursError) as caught:
        make_schedule(*args)
    assert caught.value.field == field
    assert message in caught.value.message


def test_closed_windows_and_lists() -> None:
    schedule = make_schedule("UTC", {"mon": ["08:00-10:00", "11:00-12:00"], "tue": "closed"})
    assert isinstance(schedule, Schedule)
    assert [str(w) for w in schedule.weekly[0]] == ["08:00-10:00", "11:00-12:00"]
    assert schedule.weekly[1] == ()
