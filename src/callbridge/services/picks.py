"""Picking what a campaign dials next: `next_dial` over the campaign's list, skipping the
records and numbers a call (or a preview) already holds, one pick at a time."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from callbridge.domain.dialer.attempts import NumberHistory, RecordProgress
from callbridge.domain.dialer.dnc import DncBook
from callbridge.domain.dialer.eligibility import next_dial
from callbridge.domain.dialer.ids import RecordId
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.ports import StoredCampaign

if TYPE_CHECKING:
    from callbridge.services.dialer import CampaignRun, Dialer

log = structlog.get_logger(__name__)


@dataclass(eq=False)
class Picker:
    """A campaign's records to dial now, one by one, through `next_dial`: a record and a
    number no call holds; None when there is none (the campaign may then be complete) or the
    registry copy is too old (`why` says which)."""

    dialer: Dialer
    run: CampaignRun
    stored: StoredCampaign
    records: list[DialingRecord]
    progress: dict[RecordId, RecordProgress]
    mine: dict[RecordId, RecordProgress]
    histories: dict[str, NumberHistory]
    dnc: DncBook
    busy_numbers: set[str]
    why: str = ""

    def next(self) -> tuple[DialingRecord, str] | None:
        campaign = self.run.campaign
        at = datetime.fromtimestamp(self.dialer.clock.now(), tz=UTC)
        while True:
            pick = next_dial(campaign, self.records, self.mine, self.histories, self.dnc, at)
            if pick.halt:
                log.error(
                    "dialer.halted", campaign_id=campaign.campaign_id, why=list(pick.skipped[-1:])
                )
                self.why = "halted: the do-not-call registry copy is too old or missing"
                return None
            if pick.record is None or pick.number is None:
                self.dialer.maybe_complete(self.run, self.stored, self.records, self.progress)
                self.why = "no record can be dialled now"
                return None
            rid = pick.record.record_id
            self.mine[rid] = replace(self.mine.get(rid, RecordProgress()), done=True)
            if pick.number in self.busy_numbers:
                continue  # that number is being called already (by another record or campaign)
            self.busy_numbers.add(pick.number)
            return pick.record, pick.number
