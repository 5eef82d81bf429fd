"""An in-memory `CampaignStore` (our own port) for the dialer's tests, and campaign makings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from callbridge.adapters.store.campaigns import SqlCampaignStore
from callbridge.app import App
from callbridge.domain.dialer.attempts import NumberHistory, RecordProgress
from callbridge.domain.dialer.calls import CallResult, DialProgress, PlacedCall
from callbridge.domain.dialer.campaign_file import parse_campaign
from callbridge.domain.dialer.campaigns import Campaign, CampaignAction, CampaignStatus, transition
from callbridge.domain.dialer.decisions import PacingDecision
from callbridge.domain.dialer.dnc import DncBook, DncEntry, RegistryCopy
from callbridge.domain.dialer.ids import CampaignId, ListId, RecordId
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.domain.ids import AgentId
from callbridge.ports import CampaignCall, StoredCampaign
from callbridge.services.dialer import CallPlacer


class MemoryCampaignStore:
    """The `CampaignStore` port in dicts: no sealing, no SQL."""

    def __init__(self, dnc: DncBook | None = None) -> None:
        self.stored: dict[CampaignId, StoredCampaign] = {}
        self.lists: dict[ListId, list[DialingRecord]] = {}
        self.progresses: dict[CampaignId, dict[RecordId, RecordProgress]] = {}
        self.history: dict[str, NumberHistory] = {}
        self.ended: list[CampaignCall] = []
        self.logged: dict[CampaignId, list[PacingDecision]] = {}
        self.dnc = dnc or DncBook()

    def save_campaign(self, stored: StoredCampaign) -> None:
        self.stored[stored.campaign.campaign_id] = stored

    def campaign(self, campaign_id: CampaignId) -> StoredCampaign | None:
        return self.stored.get(campaign_id)

    def campaigns(self) -> list[StoredCampaign]:
        return list(self.stored.values())

    def add_records(self, list_id: ListId, records: Sequence[DialingRecord]) -> int:
        kept = self.lists.setdefault(list_id, [])
        for record in records:
            place = next((i for i, r in enumerate(kept) if r.record_id == record.record_id), None)
            if place is None:
                kept.append(replace(record, position=len(kept)))
            else:
                kept[place] = replace(record, position=place)
        return len(records)

    def records(self, list_id: ListId) -> list[DialingRecord]:
        return list(self.lists.get(list_id, []))

    def progress(self, campaign_id: CampaignId) -> dict[RecordId, RecordProgress]:
        return dict(self.progresses.get(campaign_id, {}))

    def histories(self, numbers: Sequence[str]) -> dict[str, NumberHistory]:
        return {n: self.history[n] for n in numbers if n in self.history}

    def record_call(
        self, call: CampaignCall, progress: RecordProgress, history: NumberHistory
    ) -> None:
        self.ended.append(call)
        self.progresses.setdefault(call.campaign_id, {})[call.record_id] = progress
        self.history[call.number] = history

    def calls(
        self,
        campaign_id: CampaignId,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[CampaignCall]:
        return [
            c
            for c in self.ended
            if c.campaign_id == campaign_id
            and (since is None or c.dialled_at >= since)
            and (until is None or c.dialled_at < until)
        ]

    def dnc_book(self, campaign_id: CampaignId) -> DncBook:
        return self.dnc

    def add_dnc(
        self,
        entries: Sequence[DncEntry],
        campaign_id: CampaignId | None = None,
        *,
        added_at: datetime,
    ) -> int:
        """Onto the internal list (the only one the dialer adds to)."""
        assert campaign_id is None
        internal = [e for entries_ in self.dnc.internal.values() for e in entries_]
        self.dnc = replace(self.dnc, internal=DncBook.of([*internal, *entries]).internal)
        return len(entries)

    def record_decision(self, campaign_id: CampaignId, decision: PacingDecision) -> None:
        self.logged.setdefault(campaign_id, []).append(decision)

    def decisions(self, campaign_id: CampaignId, limit: int = 100) -> list[PacingDecision]:
        return list(reversed(self.logged.get(campaign_id, [])))[:limit]


def fresh_registry(at: datetime) -> DncBook:
    """A do-not-call book with an empty national registry copy taken a day before `at`."""
    return DncBook.of(registry=RegistryCopy(at - timedelta(days=1), frozenset(), "TPS"))


def uk_campaign(
    mode: str = "predictive", agents: str = "[a1]", extra: str = ""
) -> tuple[Campaign, str]:
    """A UK campaign on list `calls`, with its file text."""
    text = f"""\
campaign: spring
name: Spring offers
mode: {mode}
compliance: {{profile: uk}}
time_zone: Europe/London
caller_id: "+442071230000"
seller: {{name: Acme Energy, phone: "+442071239999"}}
no_answer_timeout_s: 15
agents: {agents}
lists: [{{list: calls}}]
{extra}"""
    return parse_campaign(text, "spring.yaml"), text


def running(campaign: Campaign, source: str, at: datetime | None = None) -> StoredCampaign:
    """The campaign, started at `at`."""
    when = at or datetime.now(UTC)
    return StoredCampaign(
        campaign, transition(CampaignStatus(), CampaignAction.START, when), source
    )


def midday_zone(at: datetime) -> str:
    """A fixed-offset zone where `at` is about midday, so calling hours never get in the way."""
    offset = 12 - at.astimezone(UTC).hour  # local = UTC + offset
    offset = max(-12, min(14, offset))
    # Etc/GMT signs are inverted: Etc/GMT-3 is UTC+3
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def sql_campaign_store(
    app: App, campaign: Campaign, text: str, numbers: Sequence[str]
) -> SqlCampaignStore:
    """The app's SQL campaign store with `campaign` running, a record per number on list
    `calls` (in a zone where it is about midday, so calling hours never get in the way) and a
    fresh registry copy."""
    now = datetime.now(UTC)
    store = SqlCampaignStore(app.store.engine, app.store.cipher)
    store.save_campaign(running(campaign, text, now))
    zone = midday_zone(now)
    store.add_records(
        ListId("calls"),
        [
            DialingRecord(RecordId(f"r{i}"), (number,), time_zone=zone)
            for i, number in enumerate(numbers, 1)
        ],
    )
    registry = fresh_registry(now).registry
    assert registry is not None
    store.add_registry(registry, "GB", now)
    return store


class KeptResults:
    """The gateway as the dialer's placer, keeping each call's result for the assertions."""

    def __init__(self, placer: CallPlacer) -> None:
        self.placer = placer
        self.results: dict[str, CallResult] = {}

    @property
    def can_place_calls(self) -> bool:
        return self.placer.can_place_calls

    async def place_campaign_call(
        self, placed: PlacedCall, progress: DialProgress | None = None
    ) -> CallResult:
        result = await self.placer.place_campaign_call(placed, progress)
        self.results[placed.number] = result
        return result

    async def place_preview_call(
        self, placed: PlacedCall, agent_id: AgentId, progress: DialProgress | None = None
    ) -> CallResult:
        result = await self.placer.place_preview_call(placed, agent_id, progress)
        self.results[placed.number] = result
        return result
