"""The compliance report: per regulatory window, live answers, abandoned calls and their rate
against the cap, and every abandoned call with the message it heard.

The window a call counts in is the one the dialer counted it in (the call's `window`, from the
profile's `window_of`); its bounds are worked out again from the campaign's first start. Under
a profile that counts answering-machine false positives (UK), each machine detection adds the
campaign's estimated share to both live answers and abandons, as the pacer's tally does.

Numbers are masked to their last four digits in everything the report renders (`mask`): the
report goes to auditors and clients; the full number of a call is in the call log, by call id.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from callbridge.domain.dialer.campaigns import Campaign
from callbridge.domain.dialer.dispositions import MACHINE
from callbridge.domain.ids import DispositionCode

VISIBLE_DIGITS = 4


class EndedCall(Protocol):
    """What the report reads of a campaign's ended call (ports.CampaignCall is one)."""

    @property
    def call_id(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def dialled_at(self) -> datetime: ...
    @property
    def answered_at(self) -> datetime | None: ...
    @property
    def disposition(self) -> DispositionCode: ...
    @property
    def window(self) -> str: ...
    @property
    def live(self) -> bool: ...
    @property
    def abandoned(self) -> bool: ...
    @property
    def message(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class AbandonedCall:
    call_id: str
    number: str  # masked
    dialled_at: datetime
    answered_at: datetime | None
    message: str | None


@dataclass(frozen=True, slots=True)
class WindowReport:
    """One regulatory window. `live` and `abandoned` include the false-positive estimate
    (`false_positives`, zero unless the profile counts it)."""

    key: str
    start: datetime
    end: datetime
    dialled: int
    live: float
    abandoned: float
    false_positives: float
    cap: float
    abandoned_calls: tuple[AbandonedCall, ...]

    @property
    def rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    @property
    def within_cap(self) -> bool:
        return self.rate <= self.cap


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    campaign_id: str
    name: str
    profile: str
    cap: float
    target: float
    windows: tuple[WindowReport, ...]

    @property
    def live(self) -> float:
        return sum(w.live for w in self.windows)

    @property
    def abandoned(self) -> float:
        return sum(w.abandoned for w in self.windows)

    @property
    def rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    @property
    def worst_rate(self) -> float:
        return max((w.rate for w in self.windows), default=0.0)

    @property
    def within_cap(self) -> bool:
        return all(w.within_cap for w in self.windows)


def mask(number: str) -> str:
    """'+14155550123' -> '+*******0123': the last four digits and a leading '+' stay."""
    digits = number.removeprefix("+")
    if len(digits) <= VISIBLE_DIGITS:
        return number
    hidden = "*" * (len(digits) - VISIBLE_DIGITS)
    return ("+" if number.startswith("+") else "") + hidden + digits[-VISIBLE_DIGITS:]


def compliance_report(
    campaign: Campaign, first_started: datetime | None, calls: Iterable[EndedCall]
) -> ComplianceReport:
    """The report over `calls` (any order), for a campaign that first dialled at
    `first_started` (None: from its first call)."""
    ordered = sorted(calls, key=lambda c: (c.dialled_at, c.call_id))
    share = campaign.counted_false_positives
    groups: dict[str, list[EndedCall]] = {}
    for call in ordered:
        groups.setdefault(call.window, []).append(call)
    origin = first_started or (ordered[0].dialled_at if ordered else None)
    windows = [
        _window(campaign, key, group, origin, share)
        for key, group in groups.items()
        if origin is not None
    ]
    windows.sort(key=lambda w: (w.start, w.key))
    return ComplianceReport(
        campaign.campaign_id,
        campaign.name,
        campaign.profile.name,
        campaign.abandonment.cap,
        campaign.abandonment.target,
        tuple(windows),
    )


def _window(
    campaign: Campaign, key: str, calls: Sequence[EndedCall], origin: datetime, share: float
) -> WindowReport:
    first = calls[0].dialled_at
    bounds = campaign.profile.window_of(min(origin, first), first, campaign.zone)
    machines = sum(1 for c in calls if c.disposition == MACHINE.code)
    estimate = machines * share
    abandoned = [c for c in calls if c.abandoned]
    return WindowReport(
        key=key,
        start=bounds.start,
        end=bounds.end,
        dialled=len(calls),
        live=sum(1 for c in calls if c.live or c.abandoned) + estimate,
        abandoned=len(abandoned) + estimate,
        false_positives=estimate,
        cap=campaign.abandonment.cap,
        abandoned_calls=tuple(
            AbandonedCall(c.call_id, mask(c.number), c.dialled_at, c.answered_at, c.message)
            for c in abandoned
        ),
    )


# --- rendering (the API and the CLI give the same fields) ---------------------------------------


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def report_json(report: ComplianceReport) -> dict[str, object]:
    """The report as JSON-ready values (times ISO 8601, in the campaign's zone as computed)."""
    return {
        "campaign_id": report.campaign_id,
        "name": report.name,
        "profile": report.profile,
        "cap": report.cap,
        "target": report.target,
        "live": report.live,
        "abandoned": report.abandoned,
        "rate": report.rate,
        "worst_rate": report.worst_rate,
        "within_cap": report.within_cap,
        "windows": [
            {
                "window": w.key,
                "start": _iso(w.start),
                "end": _iso(w.end),
                "dialled": w.dialled,
                "live": w.live,
                "abandoned": w.abandoned,
                "false_positives": w.false_positives,
                "rate": w.rate,
                "cap": w.cap,
                "within_cap": w.within_cap,
                "abandoned_calls": [
                    {
                        "call_id": c.call_id,
                        "number": c.number,
                        "dialled_at": _iso(c.dialled_at),
                        "answered_at": _iso(c.answered_at),
                        "message": c.message,
                    }
                    for c in w.abandoned_calls
                ],
            }
            for w in report.windows
        ],
    }


CSV_COLUMNS = (
    "kind",
    "window",
    "start",
    "end",
    "dialled",
    "live",
    "abandoned",
    "rate",
    "cap",
    "within_cap",
    "call_id",
    "number",
    "dialled_at",
    "answered_at",
    "message",
)


def report_csv(report: ComplianceReport) -> str:
    """One `window` row per window, followed by one `abandoned` row per abandoned call in it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for w in report.windows:
        writer.writerow(
            [
                "window",
                w.key,
                _iso(w.start),
                _iso(w.end),
                w.dialled,
                f"{w.live:g}",
                f"{w.abandoned:g}",
                f"{w.rate:.6f}",
                f"{w.cap:g}",
                str(w.within_cap).lower(),
                "",
                "",
                "",
                "",
                "",
            ]
        )
        for c in w.abandoned_calls:
            writer.writerow(
                [
                    "abandoned",
                    w.key,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    c.call_id,
                    c.number,
                    _iso(c.dialled_at),
                    _iso(c.answered_at) or "",
                    c.message or "",
                ]
            )
    return buffer.getvalue()
