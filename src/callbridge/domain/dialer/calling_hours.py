"""When a person may be called: windows in the called person's local time, checked at dial time.

US federal rule (16 CFR 310.4(c), 47 CFR 64.1200(c)(1)): 8:00 to 21:00 local time at the called
person's location. Some states are stricter; `STATE_HOURS` holds the windows of those we know
of. Florida's is in the reference (Florida Telephone Solicitation Act as amended in 2021); the
others come from secondary summaries of state law and must be checked against the statutes
before a campaign relies on them [verify]. A campaign may add its own, stricter window.

Where the person is: the address on the record when it gives a time zone or a state; else what
the number says (phonenumbers' time zone and geocoding data, by area code). A number that could
be in several zones (a toll-free number, an area code across a zone line) may be called only
when every one of them is inside the window. Mobile numbers move with their owners, which is
why address data wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as number_zones

from callbridge.domain.errors import InvalidInput

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class Window:
    """Calls allowed from `start` up to, not including, `end` (minutes after local midnight)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= 24 * 60:
            raise InvalidInput("a calling window runs forward within one day", field="hours")

    def __str__(self) -> str:
        return (
            f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"
        )

    @classmethod
    def parse(cls, text: str, where: str = "hours") -> Window:
        """'08:00-21:00'."""
        try:
            start, end = (part.strip() for part in text.split("-"))
        except ValueError:
            raise InvalidInput(f"'{text}' is not a window like 08:00-21:00", field=where) from None
        return cls(_minutes(start, where), _minutes(end, where))


def _minutes(text: str, where: str) -> int:
    match = _CLOCK.match(text)
    if match is None or int(match[1]) > 24 or int(match[2]) > 59:
        raise InvalidInput(f"'{text}' is not a time like 08:30", field=where)
    return int(match[1]) * 60 + int(match[2])


@dataclass(frozen=True, slots=True)
class HoursRule:
    """A rule's window for each weekday (0 = Monday); None forbids the day."""

    name: str
    days: tuple[Window | None, ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise InvalidInput("an hours rule gives all seven days", field="hours")

    @classmethod
    def every_day(cls, name: str, window: str) -> HoursRule:
        w = Window.parse(window)
        return cls(name, (w,) * 7)

    @classmethod
    def weekly(cls, name: str, days: Mapping[str, str | None]) -> HoursRule:
        """From {"mon-fri": "09:00-18:00", "sat": "10:00-17:00", "sun": None}."""
        table: list[Window | None] = [None] * 7
        for key, text in days.items():
            for day in _day_range(key):
                table[day] = None if text is None else Window.parse(text, f"hours.{key}")
        return cls(name, tuple(table))

    def allows(self, local: datetime) -> bool:
        window = self.days[local.weekday()]
        minute = local.hour * 60 + local.minute
        return window is not None and window.start <= minute < window.end

    def describe(self, weekday: int) -> str:
        window = self.days[weekday]
        return f"{self.name}: {'no calls' if window is None else window} on {DAYS[weekday]}"


def _day_range(key: str) -> list[int]:
    parts = key.lower().split("-")
    if len(parts) > 2 or any(p not in DAYS for p in parts):
        raise InvalidInput(f"'{key}' is not a day or a range like mon-fri", field=f"hours.{key}")
    first, last = DAYS.index(parts[0]), DAYS.index(parts[-1])
    return list(range(first, last + 1)) if first <= last else [*range(first, 7), *range(last + 1)]


US_FEDERAL = HoursRule.every_day("US federal (16 CFR 310.4(c))", "08:00-21:00")
UK_DEFAULT = HoursRule.every_day("UK practice (no statutory window)", "08:00-21:00")

# Stricter state windows. Florida is in the reference; the rest are from secondary summaries
# of the statutes [verify each before relying on it]. Holidays some states add are not here:
# add them to the campaign's own hours.
STATE_HOURS: dict[str, HoursRule] = {
    "FL": HoursRule.every_day("Florida (FTSA, 2021)", "08:00-20:00"),
    "OK": HoursRule.every_day("Oklahoma (OTSA, 2022) [verify]", "08:00-20:00"),
    "MD": HoursRule.every_day("Maryland (Stop the Spam Calls Act, 2023) [verify]", "08:00-20:00"),
    "WA": HoursRule.every_day("Washington (RCW 80.36.390) [verify]", "08:00-20:00"),
    "MA": HoursRule.every_day("Massachusetts (940 CMR 19) [verify]", "08:00-20:00"),
    "CT": HoursRule.every_day("Connecticut (CGS 42-288a) [verify]", "09:00-20:00"),
    "TX": HoursRule.weekly(
        "Texas (Bus. & Com. Code 301.051) [verify]",
        {"mon-sat": "09:00-21:00", "sun": "12:00-21:00"},
    ),
    "AL": HoursRule.weekly("Alabama [verify]", {"mon-sat": "08:00-20:00", "sun": None}),
    "LA": HoursRule.weekly("Louisiana [verify]", {"mon-sat": "08:00-20:00", "sun": None}),
    "MS": HoursRule.weekly("Mississippi [verify]", {"mon-sat": "08:00-20:00", "sun": None}),
    "UT": HoursRule.weekly("Utah [verify]", {"mon-sat": "08:00-21:00", "sun": None}),
    "RI": HoursRule.weekly(
        "Rhode Island [verify]", {"mon-fri": "09:00-18:00", "sat": "10:00-17:00", "sun": None}
    ),
}

US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "District of Columbia": "DC",
    "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL",
    "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN",
    "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR",
    "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD",
    "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA",
    "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Location:
    """Where the called person is taken to be: candidate time zones, the US state if known, and
    whether that came from the record's address or from the number."""

    zones: tuple[str, ...]
    state: str | None
    source: str  # "address" or "number"


def locate(
    number: str, address_zone: str | None = None, address_state: str | None = None
) -> Location:
    """The called person's location for `number` (E.164), the address data winning."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"{number!r} is not a phone number in E.164", field="phone") from None
    state = address_state.upper() if address_state else None
    if address_zone:
        try:
            ZoneInfo(address_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown time zone {address_zone!r}", field="time_zone") from None
        return Location((address_zone,), state or _state_of(parsed), "address")
    zones = tuple(z for z in number_zones.time_zones_for_number(parsed) if z != "Etc/Unknown")
    if not zones:
        raise InvalidInput(f"no time zone is known for {number}: give one", field="time_zone")
    return Location(zones, state or _state_of(parsed), "address" if state else "number")


def _state_of(parsed: phonenumbers.PhoneNumber) -> str | None:
    if phonenumbers.region_code_for_number(parsed) != "US":
        return None
    place = geocoder.description_for_number(parsed, "en")
    if ", " in place:
        return place.rsplit(", ", 1)[1]
    return US_STATES.get(place)


@dataclass(frozen=True, slots=True)
class HoursVerdict:
    """Whether the person may be called now, the local time(s) judged, and the rule that said
    no (or None)."""

    allowed: bool
    local_times: tuple[datetime, ...]
    refused_by: str | None = None


@dataclass(frozen=True, slots=True)
class CallingHours:
    """The rules a campaign dials under: its profile's, the states' (US), its own."""

    base: HoursRule
    states: Mapping[str, HoursRule] = field(default_factory=dict)
    own: Sequence[HoursRule] = ()

    def check(self, location: Location, at: datetime) -> HoursVerdict:
        """Judge `at` (timezone-aware) in every candidate zone of `location`."""
        if at.tzinfo is None:
            raise InvalidInput("the dial time must carry its time zone", field="at")
        rules = [self.base, *self.own]
        if location.state and location.state in self.states:
            rules.append(self.states[location.state])
        local_times = tuple(at.astimezone(ZoneInfo(zone)) for zone in location.zones)
        for local in local_times:
            for rule in rules:
                if not rule.allows(local):
                    return HoursVerdict(
                        False,
                        local_times,
                        f"{rule.describe(local.weekday())} ({local:%H:%M} in {local.tzinfo})",
                    )
        return HoursVerdict(True, local_times)

    def next_allowed(self, location: Location, at: datetime, step_min: int = 15) -> datetime | None:
        """The first moment from `at` (in `step_min` steps, within a week) when calling is
        allowed: when to retry a record refused for the hour."""
        probe = at
        for _ in range(7 * 24 * 60 // step_min):
            if self.check(location, probe).allowed:
                return probe
            probe += timedelta(minutes=step_min)
        return None
