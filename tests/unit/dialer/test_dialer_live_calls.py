"""The pure parts of the live dialer: a call's outcome as a disposition, who works a campaign,
and a campaign's pacing state read from the live center."""

from __future__ import annotations

from datetime import UTC, datetime

from campaign_fakes import fresh_registry, uk_campaign

from callbridge.domain.agents import Agent, Presence, WorkItem, WorkPhase
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.dialer.calls import (
    CONTACTED,
    OPTED_OUT,
    CallResult,
    DialOutcome,
    disposition_of,
    outcome_of_status,
    works_campaign,
)
from callbridge.domain.dialer.dispositions import (
    ABANDONED,
    BUSY,
    INVALID,
    NO_ANSWER,
    UNREACHABLE,
    Effect,
)
from callbridge.domain.dialer.eligibility import next_dial
from callbridge.domain.dialer.ids import RecordId
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.domain.dialer.live_state import pacing_state
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId, QueueId, SkillId
from callbridge.domain.interactions import Interaction, InteractionState


def answered(**kw: object) -> CallResult:
    return CallResult(DialOutcome.ANSWERED, 100.0, 160.0, answered_at=108.0, **kw)  # type: ignore[arg-type]


def test_sip_statuses_become_outcomes() -> None:
    assert outcome_of_status(486) is DialOutcome.BUSY
    assert outcome_of_status(600) is DialOutcome.BUSY
    assert outcome_of_status(408) is DialOutcome.NO_ANSWER
    assert outcome_of_status(487) is DialOutcome.NO_ANSWER
    assert outcome_of_status(503) is DialOutcome.FAILED
    assert outcome_of_status(None) is DialOutcome.FAILED


def test_failed_attempts_get_the_system_dispositions_that_retry() -> None:
    campaign, _ = uk_campaign()
    busy = CallResult(DialOutcome.BUSY, 0.0, 2.0, 486)
    ring_out = CallResult(DialOutcome.NO_ANSWER, 0.0, 15.0, 408)
    assert disposition_of(campaign, busy) is BUSY
    assert disposition_of(campaign, ring_out) is NO_ANSWER
    assert BUSY.effect is Effect.RETRY and NO_ANSWER.effect is Effect.RETRY
    assert disposition_of(campaign, CallResult(DialOutcome.FAILED, 0.0, 1.0, 503)) is UNREACHABLE
    assert disposition_of(campaign, CallResult(DialOutcome.FAILED, 0.0, 1.0, 404)) is INVALID
    assert ring_out.ring_s == 15.0


def test_an_abandoned_call_is_dropped_or_opted_out() -> None:
    campaign, _ = uk_campaign()
    assert disposition_of(campaign, answered(abandoned=True)) is ABANDONED
    # the campaign's own do-not-call disposition (the default agent ones have DNC)
    opted = disposition_of(campaign, answered(abandoned=True, opted_out=True))
    assert opted.effect is Effect.DNC and opted.code == "DNC"
    bare, _ = uk_campaign(extra="dispositions: [{code: SALE, label: Sale, effect: final}]\n")
    assert disposition_of(bare, answered(abandoned=True, opted_out=True)) is OPTED_OUT


def test_a_connected_call_takes_the_agents_disposition_or_contacted() -> None:
    campaign, _ = uk_campaign()
    talked = answered(connected_at=109.0, agent_id=AgentId("a1"))
    assert disposition_of(campaign, talked, DispositionCode("SALE")).code == "SALE"
    assert disposition_of(campaign, talked) is CONTACTED
    assert disposition_of(campaign, talked, DispositionCode("NOPE")) is CONTACTED
    assert talked.talk_s == 51.0 and talked.ring_s == 8.0


def test_who_works_a_campaign() -> None:
    alice = Agent(AgentId("a1"), "Alice", {SkillId("sales"): 5, SkillId("fr"): 3})
    assert works_campaign(alice, (AgentId("a1"),), ())
    assert not works_campaign(alice, (AgentId("a2"),), (SkillId("sales"),))  # named: only them
    assert works_campaign(alice, (), (SkillId("sales"), SkillId("fr")))
    assert not works_campaign(alice, (), (SkillId("sales"), SkillId("de")))
    assert works_campaign(alice, (), ())


def agent(name: str, presence: Presence, *work: tuple[str, WorkPhase]) -> Agent:
    a = Agent(AgentId(name), name.title(), presence=presence)
    for iid, phase in work:
        a.work[InteractionId(iid)] = WorkItem(InteractionId(iid), Channel.VOICE, phase)
    return a


def test_the_pacing_state_of_a_campaign_from_the_center() -> None:
    campaign, _ = uk_campaign(agents="[a1, a2, a3, a4]", extra="inbound_reserve: 1\n")
    talk = Interaction(
        InteractionId("t"), Channel.VOICE, Direction.OUTBOUND, "x", "y", 10.0, answered_at=40.0
    )
    wrap = Interaction(
        InteractionId("w"), Channel.VOICE, Direction.OUTBOUND, "x", "y", 10.0, ended_at=90.0
    )
    agents = [
        agent("a1", Presence.READY),
        agent("a2", Presence.READY),
        agent("a3", Presence.READY, ("t", WorkPhase.BUSY)),
        agent("a4", Presence.READY, ("w", WorkPhase.WRAP_UP)),
        agent("other", Presence.READY),  # not the campaign's
        agent("a5", Presence.LOGGED_OUT),
    ]
    interactions = {talk.id: talk, wrap.id: wrap}
    state = pacing_state(campaign, agents, interactions, {QueueId("q")}, [95.0], 1, 100.0)
    assert state.ready == 1  # two ready, one kept for inbound
    assert list(state.talking_since) == [40.0] and list(state.wrapping_since) == [90.0]
    assert list(state.in_flight) == [95.0] and state.waiting == 1
    assert state.agents == 4
    queued = Interaction(InteractionId("q1"), Channel.VOICE, Direction.INBOUND, "x", "y", 1.0)
    queued.state, queued.queue_id = InteractionState.QUEUED, QueueId("q")
    interactions[queued.id] = queued
    state = pacing_state(campaign, agents, interactions, {QueueId("q")}, [], 0, 100.0)
    assert state.ready == 0  # inbound first


def test_a_number_with_no_known_zone_is_skipped_not_fatal() -> None:
    campaign, _ = uk_campaign()
    at = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    dnc = fresh_registry(at)
    nowhere = DialingRecord(RecordId("r1"), ("+447700900001",))  # a drama number: no zone
    london = DialingRecord(RecordId("r2"), ("+442079460001",), position=1)
    pick = next_dial(campaign, [nowhere, london], {}, {}, dnc, at)
    assert pick.record == london
    ((skipped, why),) = pick.skipped
    assert skipped == "r1" and "no time zone" in why[0]
