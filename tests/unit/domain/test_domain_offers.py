"""Offers: a reservation with a timeout; a reject or no answer sends it back to its place."""

from __future__ import annotations

import pytest
from domain_helpers import SUPPORT, agent, arrive, center_with, of_type, offers, one, waiting

from callbridge.domain.agents import MISSED_REASON, AgentState, Presence
from callbridge.domain.errors import InvalidState, NotFound
from callbridge.domain.events import (
    AgentPresenceChanged,
    InteractionConnected,
    InteractionEnded,
    InteractionOffered,
    InteractionQueued,
    OfferMissed,
)
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.queues import Queue

I1, I2, I3 = InteractionId("i1"), InteractionId("i2"), InteractionId("i3")
ANN, BOB = AgentId("ann"), AgentId("bob")


def support(offer_timeout_s: float = 20.0) -> Queue:
    return Queue(SUPPORT, "Support", offer_timeout_s=offer_timeout_s)


def test_an_offer_reserves_the_agent_until_its_deadline() -> None:
    center = center_with(support(offer_timeout_s=12.0))
    agent(center, "ann")
    offered = one(arrive(center, "i1", now=3.0), InteractionOffered)
    assert (offered.agent_id, offered.queue_id, offered.at, offered.deadline) == (
        ANN,
        SUPPORT,
        3.0,
        15.0,
    )
    assert center.agent(ANN).state is AgentState.RESERVED
    ix = center.interaction(I1)
    assert (ix.state, ix.agent_id, ix.offer_deadline) == (S.OFFERED, ANN, 15.0)
    assert center.next_deadline() == 15.0


def test_accepting_connects_it() -> None:
    center = center_with(support())
    agent(center, "ann")
    arrive(center, "i1")
    connected = one(center.accept(I1, ANN, 4.0), InteractionConnected)
    assert (connected.agent_id, connected.at) == (ANN, 4.0)
    ix = center.interaction(I1)
    assert (ix.state, ix.answered_at, ix.offer_deadline) == (S.CONNECTED, 4.0, None)
    assert center.agent(ANN).state is AgentState.BUSY
    assert center.tick(100.0) == []  # the offer's timer is void once accepted


def test_rejecting_makes_the_agent_not_ready_missed_and_requeues_the_interaction() -> None:
    center = center_with(support())
    agent(center, "ann")
    arrive(center, "i1")
    seq = center.interaction(I1).seq
    events = center.reject(I1, ANN, 5.0)
    missed = one(events, OfferMissed)
    assert (missed.agent_id, missed.reason, missed.at) == (ANN, "rejected", 5.0)
    presence = one(events, AgentPresenceChanged)
    assert (presence.presence, presence.reason) == ("not_ready", MISSED_REASON)
    queued = one(events, InteractionQueued)
    assert (queued.reason, queued.seq, queued.queue_id) == ("returned", seq, SUPPORT)
    ann = center.agent(ANN)
    assert (ann.state, ann.presence, ann.reason, ann.work) == (
        AgentState.NOT_READY,
        Presence.NOT_READY,
        "missed",
        {},
    )
    assert center.interaction(I1).state is S.QUEUED


def test_no_answer_by_the_deadline_does_the_same() -> None:
    center = center_with(support(offer_timeout_s=10.0))
    agent(center, "ann")
    arrive(center, "i1", now=1.0)
    assert center.tick(10.9) == []
    events = center.tick(30.0)
    missed = one(events, OfferMissed)
    assert (missed.reason, missed.at) == ("timeout", 11.0)
    assert (center.agent(ANN).reason, center.interaction(I1).state) == ("missed", S.QUEUED)
    with pytest.raises(InvalidState):
        center.accept(I1, ANN, 30.0)  # too late


def test_a_missed_interaction_goes_back_ahead_of_later_arrivals() -> None:
    center = center_with(support())
    agent(center, "ann")
    arrive(center, "i1", now=0.0)  # offered to ann
    arrive(center, "i2", now=1.0)
    arrive(center, "i3", now=2.0)
    center.reject(I1, ANN, 3.0)
    assert waiting(center) == [I1, I2, I3]
    assert center.interaction(I1).queue_entered_at == 0.0  # its wait counts from arrival
    agent(center, "bob", now=4.0)
    assert center.interaction(I1).agent_id == BOB


def test_a_missed_interaction_is_offered_at_once_to_another_free_agent() -> None:
    center = center_with(support())
    agent(center, "ann", now=0.0)
    agent(center, "bob", now=1.0)
    arrive(center, "i1", now=2.0)
    events = center.reject(I1, ANN, 3.0)
    assert offers(events) == {I1: BOB}
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "OfferMissed",
        "AgentPresenceChanged",
        "InteractionQueued",
        "InteractionOffered",
    ]


def test_the_missing_agent_is_not_offered_it_again_until_ready() -> None:
    center = center_with(support())
    agent(center, "ann")
    arrive(center, "i1")
    center.reject(I1, ANN, 1.0)
    assert offers(center.tick(50.0)) == {}
    assert offers(center.set_ready(ANN, 60.0)) == {I1: ANN}


def test_only_the_agent_offered_it_can_answer() -> None:
    center = center_with(support())
    agent(center, "ann")
    agent(center, "bob", ready=False)
    arrive(center, "i1")
    for answer in (center.accept, center.reject):
        with pytest.raises(InvalidState) as info:
            answer(I1, BOB, 1.0)
        assert (info.value.code, info.value.details) == (
            "invalid_state",
            {"interaction_id": "i1", "agent_id": "bob"},
        )
    with pytest.raises(NotFound) as not_found:
        center.accept(I1, AgentId("ghost"), 1.0)
    assert not_found.value.details["field"] == "agent_id"
    assert center.interaction(I1).agent_id == ANN


def test_an_accepted_offer_cannot_be_answered_again() -> None:
    center = center_with(support())
    agent(center, "ann")
    arrive(center, "i1")
    center.accept(I1, ANN, 1.0)
    with pytest.raises(InvalidState):
        center.accept(I1, ANN, 2.0)
    with pytest.raises(InvalidState):
        center.reject(I1, ANN, 2.0)


def test_a_caller_hanging_up_while_offered_frees_the_agent_without_a_miss() -> None:
    center = center_with(support())
    agent(center, "ann")
    arrive(center, "i1")
    arrive(center, "i2", now=1.0)
    events = center.end(I1, "customer", 2.0)
    ended = one(events, InteractionEnded)
    assert (ended.reason, ended.agent_id) == ("abandoned", ANN)
    assert of_type(events, OfferMissed) == []
    assert offers(events) == {I2: ANN}
    assert center.agent(ANN).presence is Presence.READY
    # i1's offer timer is void; only i2's runs out
    assert [e.interaction_id for e in of_type(center.tick(100.0), OfferMissed)] == [I2]
