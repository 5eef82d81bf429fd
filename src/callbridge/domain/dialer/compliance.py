"""Compliance profiles: the rules of a jurisdiction a campaign dials under.

US (FTC 16 CFR 310.4 and FCC 47 CFR 64.1200):
- at most 3 % of live-answered calls abandoned per campaign, measured over the campaign if
  shorter than 30 days, else over each successive 30-day period (or portion) it runs;
- abandoned: not connected to a representative within 2 s of the completed greeting;
- ring at least 15 s (or four rings) before hanging up; the default no-answer timeout is 26 s,
  leaving margin for post-dial delay;
- on an abandoned call, a recorded message with the seller's name and telephone number, and
  (FCC) an automated opt-out;
- calls between 8:00 and 21:00 in the called person's local time, stricter states apply;
- a national registry copy no more than 31 days old.
UK (Ofcom's persistent-misuse policy):
- at most 3 % per campaign per calendar day, with an estimate of answering-machine-detection
  false positives counted as live and abandoned;
- the information message within 2 s (of the start of the called person's speech: we count
  from the answer, the earlier moment);
- ring at least 15 s; no repeat call within 72 h of an abandoned one, nor on the same day after
  a machine was detected, unless a live agent is guaranteed (preview or progressive);
- no statutory calling hours: 8:00-21:00 by practice; TPS screening at least every 28 days.
reference/queueing-and-dialing.md section 1 quotes the texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from callbridge.domain.dialer.calling_hours import STATE_HOURS, UK_DEFAULT, US_FEDERAL, HoursRule
from callbridge.domain.errors import InvalidInput

THIRTY_DAYS = timedelta(days=30)


class WindowKind(StrEnum):
    THIRTY_DAYS = "30_days"  # successive 30-day periods from the campaign's first day
    CALENDAR_DAY = "calendar_day"  # midnight to midnight in the campaign's time zone


GRACE_FROM_GREETING = "the completed greeting"


@dataclass(frozen=True, slots=True)
class ComplianceProfile:
    """One jurisdiction's dialling rules (see the module docstring)."""

    name: str
    abandon_cap: float
    window: WindowKind
    grace_s: float
    grace_from: str
    min_ring_s: float
    default_no_answer_s: float
    hours: HoursRule
    state_hours: bool
    counts_amd_false_positives: bool
    redial_after_abandon: timedelta | None
    no_same_day_redial_after_machine: bool
    registry_max_age: timedelta | None
    message_needs_opt_out: bool

    @property
    def grace_from_greeting(self) -> bool:
        """Whether the grace counts from the called person's completed greeting (which only
        answering-machine detection sees; without it we count from the answer: stricter)."""
        return self.grace_from == GRACE_FROM_GREETING

    def window_of(self, first_day: datetime, at: datetime, zone: ZoneInfo) -> RegulatoryWindow:
        """The regulatory window `at` falls in, for a campaign that first dialled on
        `first_day` (both timezone-aware; days are counted in `zone`)."""
        local = at.astimezone(zone)
        if self.window is WindowKind.CALENDAR_DAY:
            start = datetime(local.year, local.month, local.day, tzinfo=zone)
            return RegulatoryWindow(f"{local:%Y-%m-%d}", start, _next_midnight(start, zone))
        first = first_day.astimezone(zone)
        origin = datetime(first.year, first.month, first.day, tzinfo=zone)
        days = (local.date() - origin.date()).days
        if days < 0:
            raise InvalidInput("a dial cannot come before the campaign's first day", field="at")
        index = days // 30
        start = _add_days(origin, index * 30, zone)
        end = _add_days(origin, (index + 1) * 30, zone)
        return RegulatoryWindow(f"period {index + 1} from {start:%Y-%m-%d}", start, end)


@dataclass(frozen=True, slots=True)
class RegulatoryWindow:
    """A window's name (the budget's key) and its bounds."""

    key: str
    start: datetime
    end: datetime


def _add_days(start: datetime, days: int, zone: ZoneInfo) -> datetime:
    # calendar days, so a daylight-saving change does not shift midnight
    day = (start + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _next_midnight(start: datetime, zone: ZoneInfo) -> datetime:
    return _add_days(start, 1, zone)


US = ComplianceProfile(
    name="us",
    abandon_cap=0.03,
    window=WindowKind.THIRTY_DAYS,
    grace_s=2.0,
    grace_from=GRACE_FROM_GREETING,
    min_ring_s=15.0,
    default_no_answer_s=26.0,
    hours=US_FEDERAL,
    state_hours=True,
    counts_amd_false_positives=False,
    redial_after_abandon=None,
    no_same_day_redial_after_machine=False,
    registry_max_age=timedelta(days=31),
    message_needs_opt_out=True,
)

UK = ComplianceProfile(
    name="uk",
    abandon_cap=0.03,
    window=WindowKind.CALENDAR_DAY,
    grace_s=2.0,
    grace_from="the answer",
    min_ring_s=15.0,
    default_no_answer_s=26.0,
    hours=UK_DEFAULT,
    state_hours=False,
    counts_amd_false_positives=True,
    redial_after_abandon=timedelta(hours=72),
    no_same_day_redial_after_machine=True,
    registry_max_age=timedelta(days=28),
    message_needs_opt_out=False,
)

PROFILES = {"us": US, "uk": UK}


def profile(name: str) -> ComplianceProfile:
    """The profile called `name` ("us" or "uk")."""
    try:
        return PROFILES[name.lower()]
    except KeyError:
        known = ", ".join(PROFILES)
        raise InvalidInput(
            f"unknown compliance profile {name!r} (known: {known})", field="profile"
        ) from None


def state_rules(profile: ComplianceProfile) -> dict[str, HoursRule]:
    """The state windows that apply under `profile`."""
    return dict(STATE_HOURS) if profile.state_hours else {}


@dataclass(frozen=True, slots=True)
class Seller:
    """On whose behalf the calls are placed: named in every abandon message."""

    name: str
    phone: str  # E.164; a number that takes do-not-call requests in business hours

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInput("the seller needs a name", field="seller.name")
        if not self.phone.startswith("+") or not self.phone[1:].isdigit():
            raise InvalidInput("the seller's phone is an E.164 number", field="seller.phone")


def abandon_message(
    template: str, seller: Seller, opt_out_key: str | None, field: str = "abandon_message"
) -> str:
    """The message an abandoned call hears, from a template with {seller}, {phone} and
    {opt_out} ("press 9 to ..." when the campaign has an opt-out key). An agentless campaign's
    message is rendered the same way (`field` names it in the error)."""
    opt_out = f"To stop further calls, press {opt_out_key}." if opt_out_key is not None else ""
    try:
        return template.format(seller=seller.name, phone=seller.phone, opt_out=opt_out).strip()
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidInput(
            f"the message uses an unknown placeholder ({exc}); use {{seller}}, {{phone}} and "
            "{opt_out}",
            field=field,
        ) from None


def check_agentless_message(
    profile: ComplianceProfile, template: str, seller: Seller, opt_out_key: str | None
) -> str:
    """An agentless campaign's message rendered, if `profile` allows it. Where the abandon
    message must offer an automated opt-out (US), a prerecorded call must too, and name the
    seller and their number (47 CFR 64.1200(b)); else InvalidInput on `agentless.message`."""
    where = "agentless.message"
    text = abandon_message(template, seller, opt_out_key, where)
    if profile.message_needs_opt_out and (
        seller.name not in text
        or seller.phone not in text
        or opt_out_key is None
        or "{opt_out}" not in template
    ):
        raise InvalidInput(
            f"under the {profile.name} profile a prerecorded message must name the seller and "
            "their number and offer an automated opt-out: use {seller}, {phone} and {opt_out}, "
            "and set opt_out_key",
            field=where,
        )
    return text


def check_abandon_message(
    profile: ComplianceProfile, template: str, seller: Seller, opt_out_key: str | None
) -> str:
    """The rendered message, if it says what `profile` requires; else InvalidInput."""
    text = abandon_message(template, seller, opt_out_key)
    if seller.name not in text or seller.phone not in text:
        raise InvalidInput(
            "the abandon message must give the seller's name and telephone number "
            "({seller} and {phone})",
            field="abandon_message",
        )
    if profile.message_needs_opt_out and (opt_out_key is None or "{opt_out}" not in template):
        raise InvalidInput(
            f"under the {profile.name} profile the abandon message must offer an automated "
            "opt-out: set opt_out_key and put {opt_out} in the message",
            field="abandon_message",
        )
    return text


def check_ring_timeout(profile: ComplianceProfile, seconds: float) -> None:
    """An unanswered call must ring at least the profile's minimum."""
    if seconds < profile.min_ring_s:
        raise InvalidInput(
            f"the no-answer timeout must be at least {profile.min_ring_s:g} s under the "
            f"{profile.name} profile (give margin for post-dial delay: "
            f"{profile.default_no_answer_s:g} s is the default)",
            field="no_answer_timeout_s",
        )
