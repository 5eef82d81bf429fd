"""Whether a number may be dialled now: every per-call rule in one place, checked at dial time.

In order: do-not-call (internal, campaign, the national registry and its copy's age), the
attempt limits and redial rules, then the calling hours in the called person's local time.
Each refusal is a sentence a supervisor can read; `next_dial` walks a campaign's due records
and returns the first record and number that pass, with why the others were skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from callbridge.domain.dialer.attempts import NumberHistory, RecordProgress, refusals
from callbridge.domain.dialer.calling_hours import CallingHours, locate
from callbridge.domain.dialer.campaigns import Campaign
from callbridge.domain.dialer.dnc import DncBook, DncScope
from callbridge.domain.dialer.ids import RecordId
from callbridge.domain.dialer.lists import DialingRecord, due_records
from callbridge.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class DialCheck:
    """May `number` be dialled now? If not, every reason; `halt` when the whole campaign must
    stop dialling (a stale registry copy), not just this number."""

    number: str
    allowed: bool
    reasons: tuple[str, ...] = ()
    halt: bool = False
    local_times: tuple[datetime, ...] = ()


def check_dial(
    campaign: Campaign,
    record: DialingRecord,
    number: str,
    at: datetime,
    *,
    progress: RecordProgress,
    history: NumberHistory,
    dnc: DncBook,
    hours: CallingHours | None = None,
) -> DialCheck:
    """Judge one dial of `number` (one of `record`'s) at `at` (timezone-aware)."""
    verdict = dnc.check(number, campaign.campaign_id, at, campaign.profile.registry_max_age)
    if verdict.blocked:
        halt = verdict.scope is DncScope.STALE_REGISTRY
        return DialCheck(number, False, (verdict.reason,), halt=halt)
    reasons = refusals(
        campaign.attempts,
        campaign.profile,
        progress,
        history,
        at,
        campaign.zone,
        campaign.agent_guaranteed,
    )
    try:
        location = locate(number, record.time_zone, record.state)
    except InvalidInput as exc:  # no time zone to check the hours in: never guess
        return DialCheck(number, False, (*reasons, exc.message))
    judged = (hours or campaign.calling_hours()).check(location, at)
    if not judged.allowed and judged.refused_by is not None:
        reasons.append(f"outside calling hours: {judged.refused_by}")
    return DialCheck(number, not reasons, tuple(reasons), local_times=judged.local_times)


@dataclass(frozen=True, slots=True)
class NextDial:
    """The record and number to dial next (None when nothing may be dialled now), and what was
    skipped on the way, by record."""

    record: DialingRecord | None
    number: str | None
    skipped: tuple[tuple[RecordId, tuple[str, ...]], ...] = ()
    halt: bool = False


def next_dial(
    campaign: Campaign,
    records: Sequence[DialingRecord],
    progress: Mapping[RecordId, RecordProgress],
    histories: Mapping[str, NumberHistory],
    dnc: DncBook,
    at: datetime,
    *,
    limit: int = 200,
) -> NextDial:
    """The first due record (in the campaign's list order) with a number that may be dialled,
    looking at no more than `limit` records."""
    order = campaign.lists[0].order
    hours = campaign.calling_hours()
    skipped: list[tuple[RecordId, tuple[str, ...]]] = []
    for record in due_records(records, progress, order, at)[:limit]:
        why: list[str] = []
        for number in record.phones:
            check = check_dial(
                campaign,
                record,
                number,
                at,
                progress=progress.get(record.record_id, RecordProgress()),
                history=histories.get(number, NumberHistory(number)),
                dnc=dnc,
                hours=hours,
            )
            if check.halt:
                return NextDial(None, None, (*skipped, (record.record_id, check.reasons)), True)
            if check.allowed:
                return NextDial(record, number, tuple(skipped))
            why.extend(f"{number}: {r}" for r in check.reasons)
        skipped.append((record.record_id, tuple(why)))
    return NextDial(None, None, tuple(skipped))
