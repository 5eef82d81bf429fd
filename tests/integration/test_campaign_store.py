"""The SQL campaign store on SQLite and PostgreSQL: campaigns as their files, records kept in
place, progress and histories written with their call in one transaction, do-not-call with
dates, registry copies and exemptions, pacing decisions, numbers sealed at rest, privacy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from callbridge.adapters.store import SqlStore
from callbridge.adapters.store.campaign_personal import CampaignRecords
from callbridge.adapters.store.campaigns import SqlCampaignStore
from callbridge.domain.dialer.attempts import NumberHistory, RecordProgress
from callbridge.domain.dialer.campaign_file import parse_campaign
from callbridge.domain.dialer.campaigns import CampaignAction, CampaignStatus, transition
from callbridge.domain.dialer.decisions import (
    BudgetView,
    Forecast,
    PacingDecision,
    PacingInputs,
    PacingReason,
)
from callbridge.domain.dialer.dnc import DncEntry, DncScope, Exemption, ExemptionKind, RegistryCopy
from callbridge.domain.dialer.ids import CampaignId, ListId, RecordId
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.domain.dialer.modes import DialMode
from callbridge.domain.errors import StorageError
from callbridge.domain.ids import AgentId, DispositionCode
from callbridge.ports import AuditRecord, CampaignCall, StoredCampaign
from callbridge.services.security.crypto import FieldCipher, Keyring

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
CID = CampaignId("renewals")
SOURCE = """campaign: renewals
name: Spring renewals
mode: predictive
compliance: {profile: us}
time_zone: America/New_York
caller_id: "+12125550100"
seller: {name: Acme Insurance, phone: "+12125550199"}
lists: [{list: march}]
"""
NUMBER = "+14155550100"


@pytest.fixture
def sql(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore.open(database_url, FieldCipher(Keyring.generate()))
    yield store
    store.close()


@pytest.fixture
def store(sql: SqlStore) -> SqlCampaignStore:
    return SqlCampaignStore(sql.engine, sql.cipher)


def raw(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql)).all()]


def call(n: int, **changes: object) -> CampaignCall:
    base = CampaignCall(
        call_id=f"c{n}",
        campaign_id=CID,
        record_id=RecordId("r1"),
        number=NUMBER,
        dialled_at=T0 + timedelta(minutes=n),
        ended_at=T0 + timedelta(minutes=n, seconds=40),
        disposition=DispositionCode("SALE"),
        window="period 1 from 2026-03-02",
        answered_at=T0 + timedelta(minutes=n, seconds=8),
        live=True,
        connected_at=T0 + timedelta(minutes=n, seconds=9),
        agent_id=AgentId("a1"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_campaign_is_kept_as_its_file_and_status(store: SqlCampaignStore) -> None:
    assert store.campaign(CID) is None and store.campaigns() == []
    campaign = parse_campaign(SOURCE)
    draft = StoredCampaign(campaign, CampaignStatus(), SOURCE)
    store.save_campaign(draft)
    assert store.campaign(CID) == draft
    running = replace(draft, status=transition(draft.status, CampaignAction.START, T0))
    audit = AuditRecord(T0.timestamp(), "user:u1", "campaign.start", "campaign", CID, "test")
    store.save_campaign(running, [audit])
    (found,) = store.campaigns()
    assert found == running and found.status.first_started == T0


def test_records_append_and_a_known_id_keeps_its_place(
    store: SqlCampaignStore, sql: SqlStore
) -> None:
    march = ListId("march")
    first = [
        DialingRecord(RecordId(f"r{n}"), (f"+1415555010{n}",), f"Person {n}", priority=n)
        for n in range(3)
    ]
    assert store.add_records(march, first) == 3
    again = [
        DialingRecord(
            RecordId("r1"), ("+12125550111", "+12125550112"), "Renamed", "America/Chicago", "IL"
        ),
        DialingRecord(RecordId("r9"), ("+14155550109",), "Newcomer"),
    ]
    assert store.add_records(march, again) == 2
    got = store.records(march)
    assert [(r.record_id, r.position) for r in got] == [("r0", 0), ("r1", 1), ("r2", 2), ("r9", 3)]
    assert got[1] == replace(again[0], position=1)
    assert store.records(ListId("other")) == []
    assert store.list_sizes() == {march: 4}
    # names and numbers are sealed at rest
    stored = " ".join(
        str(v) for row in raw(sql.engine, "SELECT * FROM campaign_records") for v in row
    )
    assert "Renamed" not in stored and "2125550111" not in stored


def test_a_call_its_progress_and_its_history_are_written_together(
    store: SqlCampaignStore,
) -> None:
    assert store.progress(CID) == {} and store.histories([NUMBER]) == {}
    progress = RecordProgress(1, T0 + timedelta(hours=1), False, DispositionCode("NA"), 0)
    history = NumberHistory(NUMBER, (T0,), None, None)
    store.record_call(call(0, disposition=DispositionCode("NA"), live=False), progress, history)
    assert store.progress(CID) == {RecordId("r1"): progress}
    assert store.histories([NUMBER, "+19999999999"]) == {NUMBER: history}

    later = NumberHistory(NUMBER, (T0, T0 + timedelta(minutes=5)), T0 + timedelta(minutes=5))
    dropped = call(5, abandoned=True, connected_at=None, agent_id=None, message="Sorry ...")
    store.record_call(dropped, RecordProgress(2, None, True, DispositionCode("DROP")), later)
    # the same call again (a retry after a lost answer) changes nothing
    store.record_call(dropped, RecordProgress(9), NumberHistory(NUMBER))
    assert store.progress(CID)[RecordId("r1")].attempts == 2
    assert store.histories([NUMBER])[NUMBER] == later
    assert [c.call_id for c in store.calls(CID)] == ["c0", "c5"]
    assert store.calls(CID)[1] == dropped
    assert [c.call_id for c in store.calls(CID, since=T0 + timedelta(minutes=1))] == ["c5"]
    assert [c.call_id for c in store.calls(CID, until=T0 + timedelta(minutes=5))] == ["c0"]
    assert store.calls(CampaignId("other")) == []


def _fail_history_writes(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for when in ("INSERT", "UPDATE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER boom_{when} BEFORE {when} ON number_histories "
                    "BEGIN SELECT RAISE(ABORT, 'disk gone'); END"
                )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'disk gone'; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT OR UPDATE ON number_histories "
                "FOR EACH ROW EXECUTE FUNCTION boom()"
            )


def test_a_failure_midway_leaves_no_call_without_its_effect(
    store: SqlCampaignStore, sql: SqlStore
) -> None:
    store.record_call(
        call(0),
        RecordProgress(1, None, True, DispositionCode("SALE")),
        NumberHistory(NUMBER, (T0,)),
    )
    _fail_history_writes(sql.engine)
    with pytest.raises(StorageError, match="record a campaign call"):
        store.record_call(
            call(1),
            RecordProgress(2, None, True, DispositionCode("SALE")),
            NumberHistory(NUMBER, (T0, T0)),
        )
    # neither the call nor the progress written before the failure is there
    assert [c.call_id for c in store.calls(CID)] == ["c0"]
    assert store.progress(CID)[RecordId("r1")].attempts == 1


def test_pacing_decisions_come_back_equal_and_newest_first(store: SqlCampaignStore) -> None:
    made = [
        PacingDecision(
            at=1000.0 + n,
            mode=DialMode.PREDICTIVE,
            dial=n,
            reason=PacingReason.RISK_LIMIT,
            explanation=f"decision {n}",
            inputs=PacingInputs(n, 0, 3, 1, 2),
            forecast=Forecast(15.0, 1.5, 0.7, 0.01, 0.3, None, 0.04, 0.03),
            budget=BudgetView("period 1", 100.0, 2.0, 0.03, 0.025, 0.024, 0.02, 0.5),
            risks=(0.01, 0.02),
        )
        for n in range(5)
    ]
    for d in made:
        store.record_decision(CID, d)
    store.record_decision(CampaignId("other"), made[0])
    assert store.decisions(CID) == made[::-1]
    assert store.decisions(CID, limit=2) == [made[4], made[3]]


def test_the_dnc_book_holds_every_source_with_its_dates(
    store: SqlCampaignStore, sql: SqlStore
) -> None:
    later = T0 + timedelta(days=10)
    other = "+14155550199"
    assert store.add_dnc([DncEntry(NUMBER, later, later + timedelta(days=30))], added_at=T0) == 1
    # the same number again widens the entry; adding never shortens a block
    assert store.add_dnc([DncEntry(NUMBER, T0 + timedelta(days=20), None)], added_at=T0) == 0
    assert store.add_dnc([DncEntry(other, T0)], CID, added_at=T0) == 1
    registered = "+12125550142"
    store.add_registry(RegistryCopy(T0 - timedelta(days=40), frozenset({other})), "US", T0)
    store.add_registry(RegistryCopy(T0 - timedelta(days=3), frozenset({registered})), "US", T0)
    store.add_exemptions([Exemption(registered, ExemptionKind.CONSENT, T0 + timedelta(days=1))])

    book = store.dnc_book(CID)
    (entry,) = book.internal[NUMBER]
    assert entry.effective_at == later and entry.expires_at is None
    assert book.registry is not None and book.registry.numbers == {registered}
    max_age = timedelta(days=31)
    assert not book.check(NUMBER, CID, T0, max_age).blocked
    assert book.check(NUMBER, CID, later, max_age).scope is DncScope.INTERNAL
    assert book.check(other, CID, T0, max_age).scope is DncScope.CAMPAIGN
    assert (
        not store.dnc_book(CampaignId("other"))
        .check(other, CampaignId("other"), T0, max_age)
        .blocked
    )
    assert book.check(registered, CID, T0, max_age).scope is DncScope.REGISTRY
    assert not book.check(registered, CID, T0 + timedelta(days=2), max_age).blocked
    # the older copy keeps its header, not its numbers
    assert [c[5] for c in store.dnc.registry_copies()] == [1, 1]
    assert raw(sql.engine, "SELECT count(*) FROM dnc_registry_numbers") == [(1,)]
    # a newer copy replaces the one the store has opened already
    store.add_registry(RegistryCopy(T0 - timedelta(days=1), frozenset({other})), "US", T0)
    assert store.dnc_book(CID).registry == RegistryCopy(T0 - timedelta(days=1), frozenset({other}))
    sealed = raw(sql.engine, "SELECT number FROM dnc UNION ALL SELECT number FROM campaign_dnc")
    assert all(NUMBER not in str(v) and other not in str(v) for (v,) in sealed)


def test_a_person_is_exported_and_erased_by_number(store: SqlCampaignStore, sql: SqlStore) -> None:
    store.add_records(ListId("march"), [DialingRecord(RecordId("r1"), (NUMBER,), "Ada Lovelace")])
    store.record_call(
        call(0, abandoned=True, message="Sorry"), RecordProgress(1), NumberHistory(NUMBER, (T0,))
    )
    store.add_exemptions([Exemption(NUMBER, ExemptionKind.PURCHASE, T0)])
    store.add_dnc([DncEntry(NUMBER, T0)], CID, added_at=T0)
    holder = CampaignRecords(sql.engine, sql.cipher)
    key = sql.cipher.index(NUMBER)
    exported = holder.export(key, NUMBER)
    assert isinstance(exported, dict)
    assert exported["dialing_records"] == [
        {
            "list_id": "march",
            "record_id": "r1",
            "name": "Ada Lovelace",
            "phones": [NUMBER],
            "time_zone": None,
            "state": None,
        }
    ]
    assert exported["campaign_do_not_call"] == ["renewals"]
    calls = exported["calls"]
    assert isinstance(calls, list) and len(calls) == 1

    assert holder.erase(key, NUMBER) == 4  # the record, the call's number, history, exemption
    assert store.records(ListId("march")) == []
    (kept,) = store.calls(CID)
    assert kept.number == "[erased]" and kept.abandoned  # the report still counts it
    assert store.histories([NUMBER]) == {}
    assert store.dnc_book(CID).campaigns[CID][NUMBER]  # do-not-call is kept on purpose
    assert raw(sql.engine, "SELECT count(*) FROM campaign_record_phones") == [(0,)]
