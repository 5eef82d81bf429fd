"""Business hours: a weekly schedule in a time zone, public holidays (the `holidays` package, by
country and subdivision) and the business's own closed days.

    timezone: Europe/London
    weekly: {mon-fri: "08:00-18:00", sat: "09:00-12:30, 13:00-16:00"}
    holidays: {country: GB, subdivision: ENG}
    closed: [2026-12-24]

Times are the wall clock in the schedule's time zone, so a window keeps its local meaning across
a daylight-saving change. A window runs from its start up to, not including, its end; "24:00"
ends at midnight.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data

from callbridge.domain.errors import InvalidInput

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # the center's business hours, by name
WINDOW = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


class HoursError(InvalidInput):
    """A schedule that cannot be; `field` is where in the hours block (e.g. "weekly.mon-fri")."""

    code = "hours_invalid"

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message, field=field)
        self.field = field


@dataclass(frozen=True, slots=True)
class Window:
    """Open from `start` up to `end`, in minutes after local midnight (end at most 1440)."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"

    def holds(self, seconds: int) -> bool:
        """Whether `seconds` after local midnight falls in the window."""
        return self.start * 60 <= seconds < self.end * 60


@dataclass(frozen=True, slots=True)
class HolidayCalendar:
    """Public holidays of a country (ISO 3166 code), optionally of one subdivision."""

    country: str
    subdivision: str | None = None

    def holiday(self, day: date) -> str | None:
        """The holiday's name on `day`, or None."""
        # a calendar for the one year asked: the package computes holidays per year
        calendar = holiday_data.country_holidays(
            self.country, subdiv=self.subdivision, years=day.year
        )
        name = calendar.get(day)
        return None if name is None else str(name)


@dataclass(frozen=True, slots=True)
class Opening:
    """Whether the schedule is open at a moment, why, and the local time it judged."""

    open: bool
    reason: str  # "open", "outside hours", "holiday Christmas Day", "closed day Christmas Eve"
    local: datetime


@dataclass(frozen=True, slots=True)
class Schedule:
    """A weekly schedule; `weekly` holds seven tuples of windows, Monday first."""

    timezone: str
    weekly: tuple[tuple[Window, ...], ...]
    holidays: HolidayCalendar | None = None
    closed: Mapping[date, str] = field(default_factory=dict)  # the business's own closed days

    def status(self, at: datetime) -> Opening:
        """Open or closed at `at` (timezone-aware), and why."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise InvalidInput("business hours need a timezone-aware time", field="at")
        local = at.astimezone(ZoneInfo(self.timezone))
        day = local.date()
        if day in self.closed:
            return Opening(False, f"closed day {self.closed[day]}", local)
        if self.holidays is not None:
            name = self.holidays.holiday(day)
            if name is not None:
                return Opening(False, f"holiday {name}", local)
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        if any(w.holds(seconds) for w in self.weekly[local.weekday()]):
            return Opening(True, "open", local)
        return Opening(False, "outside hours", local)

    def is_open(self, at: datetime) -> bool:
        """Whether the business is open at `at` (timezone-aware)."""
        return self.status(at).open


SCHEDULE_FIELDS = ("timezone", "weekly", "holidays", "closed")


def parse_schedule(data: object) -> Schedule:
    """A schedule from its block (`{timezone, weekly, holidays?, closed?}`), or `HoursError`
    naming the field."""
    if not isinstance(data, Mapping):
        raise HoursError("a schedule is a mapping with 'timezone' and 'weekly'")
    unknown = [str(k) for k in data if k not in SCHEDULE_FIELDS]
    if unknown:
        raise HoursError(f"unknown field '{unknown[0]}' in hours", unknown[0])
    return make_schedule(
        data.get("timezone"), data.get("weekly"), data.get("holidays"), data.get("closed")
    )


def make_schedule(
    timezone: object,
    weekly: object,
    holidays: object = None,
    closed: object = None,
) -> Schedule:
    """A schedule from the values of an hours block, or `HoursError` naming the field."""
    if not isinstance(timezone, str) or not timezone:
        raise HoursError("a schedule needs a 'timezone', e.g. Europe/London", "timezone")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"unknown time zone '{timezone}'", "timezone") from None
    return Schedule(
        timezone,
        parse_weekly(weekly),
        None if holidays is None else parse_holidays(holidays),
        {} if closed is None else parse_closed(closed),
    )


def parse_weekly(weekly: object) -> tuple[tuple[Window, ...], ...]:
    """Seven tuples of windows from `{"mon-fri": "08:00-18:00", "sat": "closed"}`."""
    if not isinstance(weekly, Mapping) or not weekly:
        raise HoursError("'weekly' must map days to hours, e.g. mon-fri: \"08:00-18:00\"", "weekly")
    days: list[tuple[Window, ...] | None] = [None] * 7
    for spec, hours in weekly.items():
        where = f"weekly.{spec}"
        if not isinstance(spec, str) or not isinstance(hours, str | list):
            raise HoursError('write days and hours as text: mon-fri: "08:00-18:00"', where)
        text = hours if isinstance(hours, str) else ",".join(map(str, hours))
        windows = parse_windows(text, where)
        for day in parse_days(spec, where):
            if days[day] is not None:
                raise HoursError(f"'{DAYS[day]}' is given twice", where)
            days[day] = windows
    return tuple(d or () for d in days)


def parse_days(spec: str, where: str = "weekly") -> list[int]:
    """Weekday numbers (Monday 0) from "mon-fri", "sat,sun" or "wed"."""
    found: list[int] = []
    for part in spec.lower().split(","):
        first, _, last = part.strip().partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise HoursError(
                f"'{spec}' is not a day or days (use {', '.join(DAYS)}, ranges like mon-fri)",
                where,
            )
        start, end = DAYS.index(first), DAYS.index(last or first)
        if end < start:
            raise HoursError(f"'{part.strip()}' runs backwards; a week starts on mon", where)
        found.extend(range(start, end + 1))
    return found


def parse_windows(text: str, where: str = "weekly") -> tuple[Window, ...]:
    """Windows from "08:00-12:00, 13:00-17:00"; "closed" is none."""
    if text.strip().lower() == "closed":
        return ()
    windows: list[Window] = []
    for part in text.split(","):
        match = WINDOW.fullmatch(part)
        if match is None:
            raise HoursError(f"'{part.strip()}' is not hours like 08:00-18:00 or 'closed'", where)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise HoursError(f"'{part.strip()}' is not a time of day", where)
        window = Window(h1 * 60 + m1, h2 * 60 + m2)
        if window.end <= window.start:
            raise HoursError(
                f"'{part.strip()}' ends before it starts (past midnight: end at 24:00 and "
                "open the next day at 00:00)",
                where,
            )
        windows.append(window)
    return tuple(sorted(windows, key=lambda w: w.start))


def parse_holidays(value: object) -> HolidayCalendar:
    """A calendar from `{country: GB, subdivision: ENG}` (or just "GB")."""
    if isinstance(value, str):
        value = {"country": value}
    if not isinstance(value, Mapping):
        raise HoursError("'holidays' must be {country: GB, subdivision: ENG}", "holidays")
    unknown = set(value) - {"country", "subdivision"}
    if unknown:
        raise HoursError(f"unknown field '{sorted(map(str, unknown))[0]}'", "holidays")
    country, subdivision = value.get("country"), value.get("subdivision")
    if not isinstance(country, str) or (
        subdivision is not None and not isinstance(subdivision, str)
    ):
        raise HoursError("'country' and 'subdivision' are codes such as GB and ENG", "holidays")
    calendar = HolidayCalendar(country.upper(), subdivision)
    try:
        calendar.holiday(date(2026, 1, 1))
    except NotImplementedError:
        where = "holidays.subdivision" if subdivision else "holidays.country"
        raise HoursError(
            f"no holiday calendar for {country}{'/' + subdivision if subdivision else ''}", where
        ) from None
    return calendar


def parse_closed(value: object) -> dict[date, str]:
    """Closed days from `[2026-12-24]` or `{2026-12-24: Christmas Eve}`."""
    items: Iterable[tuple[object, object]]
    if isinstance(value, list):
        items = ((d, None) for d in value)
    elif isinstance(value, Mapping):
        items = value.items()
    else:
        raise HoursError("'closed' must be a list of dates (YYYY-MM-DD)", "closed")
    closed: dict[date, str] = {}
    for i, (day, name) in enumerate(items):
        parsed = _date(day)
        if parsed is None:
            where = f"closed.{i}" if isinstance(value, list) else f"closed.{day}"
            raise HoursError(f"'{day}' is not a date (YYYY-MM-DD)", where)
        closed[parsed] = str(name) if name is not None else parsed.isoformat()
    return closed


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
