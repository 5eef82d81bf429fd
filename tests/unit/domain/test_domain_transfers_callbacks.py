"""Transfers to a queue or to an agent, and queued callbacks that keep the caller's place."""

from __future__ import annotations

import pytest
from domain_helpers import (
    SALES,
    SUPPORT,
    agent,
    arrive,
    center_with,
    of_type,
    offers,
    one,
    skills,
    waiting,
)

from callbridge.domain.agents import AgentState
from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel
from callbridge.domain.errors import AgentUnavailable, InvalidInput, InvalidState, NotFound
from callbridge.domain.events import (
    CallbackRequested,
    InteractionOffered,
    InteractionOverflowed,
    InteractionQueued,
    InteractionTransferred,
    WrapUpStarted,
)
from callbridge.domain.ids import AgentId, InteractionId, QueueId, SkillId
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.queues import (
    OverflowAction,
    OverflowKind,
    Queue,
    SkillRequirement,
    WrapUpPolicy,
)
from callbridge.domain.routing.explanation import Trigger

I1, I2 = InteractionId("i1"), InteractionId("i2")
ANN, BOB = AgentId("ann"), AgentId("bob")
SALES_SKILL = SkillId("sales")


def two_queues() -> ContactCenter:
    """Ann (support only) talks to i1 from t=1; Bob (sales) is ready."""
    center = center_with(
        Queue(SUPPORT, "Support", wrap_up=WrapUpPolicy(duration_s=20.0)),
        Queue(
            SALES,
            "Sales",
            requirements=(SkillRequirement(SALES_SKILL, 5),),
            wrap_up=WrapUpPolicy(duration_s=45.0),
        ),
    )
    agent(center, "ann", now=0.0)
    arrive(center, "i1", now=0.0)
    center.accept(I1, ANN, 1.0)
    agent(center, "bob", skills(sales=7), now=0.0)
    return center


# --- to a queue -----------------------------------------------------------------------------


def test_transfer_to_a_queue_requeues_it_there_and_frees_the_agent_without_wrap_up() -> None:
    center = two_queues()
    events = center.transfer_to_queue(I1, ANN, SALES, 10.0)
    moved = one(events, InteractionTransferred)
    assert (moved.from_agent_id, moved.to_queue_id, moved.to_agent_id) == (ANN, SALES, None)
    queued = one(events, InteractionQueued)
    assert (queued.queue_id, queued.reason) == (SALES, "transfer")
    assert offers(events) == {I1: BOB}
    assert of_type(events, WrapUpStarted) == []
    assert (center.agent(ANN).state, center.agent(ANN).work) == (AgentState.READY, {})
    ix = center.interaction(I1)
    assert (ix.queue_id, ix.last_agent_id, ix.answered_at) == (SALES, ANN, 1.0)


def test_after_a_queue_transfer_the_target_queue_sets_the_wrap_up() -> None:
    center = two_queues()
    center.transfer_to_queue(I1, ANN, SALES, 10.0)
    center.accept(I1, BOB, 11.0)
    started = one(center.end(I1, "customer", 20.0), WrapUpStarted)
    assert (started.agent_id, started.deadline) == (BOB, 65.0)


def test_other_agents_get_the_first_chance_at_a_transferred_interaction() -> None:
    center = center_with(Queue(SUPPORT, "Support"), Queue(SALES, "Sales"))
    agent(center, "ann", now=0.0)
    arrive(center, "i1", now=1.0)
    center.accept(I1, ANN, 1.0)
    agent(center, "bob", now=5.0)  # idle for less time than ann will be, but ann is the sender
    assert offers(center.transfer_to_queue(I1, ANN, SALES, 10.0)) == {I1: BOB}


def test_with_nobody_else_free_the_sender_may_get_it_back() -> None:
    center = center_with(Queue(SUPPORT, "Support"), Queue(SALES, "Sales"))
    agent(center, "ann")
    arrive(center, "i1")
    center.accept(I1, ANN, 1.0)
    assert offers(center.transfer_to_queue(I1, ANN, SALES, 10.0)) == {I1: ANN}


def test_a_transferred_interaction_takes_a_new_place_at_the_back_of_the_line() -> None:
    center = two_queues()
    center.set_not_ready(BOB, "break", 2.0)
    arrive(center, "s1", SALES, now=3.0)
    center.transfer_to_queue(I1, ANN, SALES, 10.0)
    assert waiting(center, SALES) == ["s1", I1]


def test_transfer_from_hold_is_allowed() -> None:
    center = two_queues()
    center.hold(I1, ANN, 5.0)
    assert offers(center.transfer_to_queue(I1, ANN, SALES, 10.0)) == {I1: BOB}


def test_transfer_to_an_unknown_queue_is_not_found_and_changes_nothing() -> None:
    center = two_queues()
    with pytest.raises(NotFound) as info:
        center.transfer_to_queue(I1, ANN, QueueId("nowhere"), 10.0)
    assert info.value.details["field"] == "queue_id"
    assert (center.interaction(I1).state, center.interaction(I1).agent_id) == (S.CONNECTED, ANN)


def test_only_a_connected_interaction_can_be_transferred_by_its_agent() -> None:
    center = center_with(Queue(SUPPORT, "Support"), Queue(SALES, "Sales"))
    agent(center, "ann")
    arrive(center, "i1")  # offered, not connected
    with pytest.raises(InvalidState):
        center.transfer_to_queue(I1, ANN, SALES, 1.0)
    center.accept(I1, ANN, 1.0)
    agent(center, "bob", ready=False)
    with pytest.raises(InvalidState) as info:
        center.transfer_to_queue(I1, BOB, SALES, 2.0)
    assert info.value.details == {"interaction_id": "i1", "agent_id": "bob"}


# --- to an agent ----------------------------------------------------------------------------


def test_transfer_to_an_agent_offers_it_to_them_and_frees_the_sender() -> None:
    center = two_queues()
    events = center.transfer_to_agent(I1, ANN, BOB, 10.0)
    moved = one(events, InteractionTransferred)
    assert (moved.from_agent_id, moved.to_agent_id, moved.to_queue_id) == (ANN, BOB, None)
    offered = one(events, InteractionOffered)
    assert (offered.agent_id, offered.queue_id) == (BOB, SUPPORT)
    decision = offered.decision
    assert (decision.trigger, decision.strategy, decision.rule) == (
        Trigger.TRANSFER,
        "direct",
        "transferred by agent ann",
    )
    assert center.agent(ANN).state is AgentState.READY
    assert center.agent(BOB).state is AgentState.RESERVED
    center.accept(I1, BOB, 11.0)
    started = one(center.end(I1, "agent", 30.0, BOB), WrapUpStarted)
    assert (started.agent_id, started.deadline) == (BOB, 50.0)  # the support queue's policy


def test_an_agent_may_take_a_transfer_outside_their_skills() -> None:
    center = center_with(
        Queue(SUPPORT, "Support", requirements=(SkillRequirement(SkillId("fr"), 9),))
    )
    agent(center, "ann", skills(fr=9))
    arrive(center, "i1")
    center.accept(I1, ANN, 1.0)
    agent(center, "bob")  # no French: not in the queue's pool, but named by ann
    assert offers(center.transfer_to_agent(I1, ANN, BOB, 2.0)) == {I1: BOB}


@pytest.mark.parametrize("why", ["not_ready", "busy", "logged_out", "no_capacity"])
def test_transfer_to_an_agent_who_cannot_take_it_is_refused(why: str) -> None:
    center = two_queues()
    if why == "not_ready":
        center.set_not_ready(BOB, "break", 2.0)
    elif why == "busy":
        arrive(center, "s1", SALES, now=2.0)
    elif why == "logged_out":
        center.set_not_ready(BOB, "break", 2.0)
        center.logout(BOB, 2.0)
    else:
        center.save_agent(BOB, "Bob", skills(sales=7), {Channel.VOICE: 0}, [], 2.0)
    with pytest.raises(AgentUnavailable) as info:
        center.transfer_to_agent(I1, ANN, BOB, 10.0)
    assert (info.value.code, info.value.details) == ("agent_unavailable", {"agent_id": "bob"})
    assert (center.interaction(I1).state, center.interaction(I1).agent_id) == (S.CONNECTED, ANN)


def test_transfer_to_yourself_or_to_nobody_is_refused() -> None:
    center = two_queues()
    with pytest.raises(InvalidInput) as info:
        center.transfer_to_agent(I1, ANN, ANN, 10.0)
    assert info.value.details["field"] == "to_agent_id"
    with pytest.raises(NotFound) as not_found:
        center.transfer_to_agent(I1, ANN, AgentId("ghost"), 10.0)
    assert not_found.value.details["field"] == "agent_id"
    assert center.interaction(I1).state is S.CONNECTED


def test_a_rejected_transfer_goes_back_to_its_original_place_in_its_queue() -> None:
    center = center_with(
        Queue(SUPPORT, "Support", requirements=(SkillRequirement(SkillId("fr"), 5),))
    )
    agent(center, "ann", skills(fr=8))
    arrive(center, "i1", now=0.0)
    center.accept(I1, ANN, 1.0)
    arrive(center, "i2", now=2.0)  # waits: ann is busy
    agent(center, "bob", now=3.0)  # no French: not in the queue's pool
    center.transfer_to_agent(I1, ANN, BOB, 4.0)  # ann takes i2
    events = center.reject(I1, BOB, 5.0)
    queued = one(events, InteractionQueued)
    assert (queued.queue_id, queued.reason, queued.seq) == (SUPPORT, "returned", 1)
    arrive(center, "i3", now=6.0)
    assert waiting(center) == [I1, "i3"]
    assert center.interaction(I1).queue_entered_at == 0.0
    cat = agent(center, "cat", skills(fr=5), now=7.0, ready=False)
    assert offers(center.set_ready(cat, 7.0)) == {I1: cat}


# --- callbacks ------------------------------------------------------------------------------


def callback_center() -> ContactCenter:
    return center_with(
        Queue(
            SUPPORT,
            "Support",
            max_wait_s=60.0,
            overflow=OverflowAction(OverflowKind.VOICEMAIL),
        )
    )


def test_a_callback_keeps_the_callers_place_in_line() -> None:
    center = callback_center()
    arrive(center, "i1", now=0.0)
    arrive(center, "i2", now=5.0)
    seq = center.interaction(I1).seq
    requested = one(center.request_callback(I1, " +15555550123 ", 10.0), CallbackRequested)
    assert (requested.number, requested.at) == ("+15555550123", 10.0)
    arrive(center, "i3", now=11.0)
    assert waiting(center) == [I1, I2, "i3"]
    ix = center.interaction(I1)
    assert (ix.state, ix.seq, ix.queue_entered_at, ix.callback_number) == (
        S.QUEUED,
        seq,
        0.0,
        "+15555550123",
    )
    ann = agent(center, "ann", now=12.0, ready=False)
    assert offers(center.set_ready(ann, 12.0)) == {I1: ANN}


def test_a_callback_is_not_sent_to_voicemail_at_max_wait() -> None:
    center = callback_center()
    arrive(center, "i1", now=0.0)
    arrive(center, "i2", now=0.0)
    center.request_callback(I1, "+15555550123", 10.0)
    events = center.tick(120.0)
    assert [e.interaction_id for e in of_type(events, InteractionOverflowed)] == [I2]
    assert waiting(center) == [I1]


def test_callback_needs_a_number() -> None:
    center = callback_center()
    arrive(center, "i1")
    with pytest.raises(InvalidInput) as info:
        center.request_callback(I1, "  ", 1.0)
    assert (info.value.code, info.value.details["field"]) == ("invalid_input", "number")
    assert center.interaction(I1).callback_number is None


def test_callback_only_for_a_waiting_voice_call_and_only_once() -> None:
    center = callback_center()
    arrive(center, "chat", channel=Channel.CHAT)
    with pytest.raises(InvalidState):
        center.request_callback(InteractionId("chat"), "+15555550123", 1.0)
    arrive(center, "i1")
    center.request_callback(I1, "+15555550123", 1.0)
    with pytest.raises(InvalidState):
        center.request_callback(I1, "+15555550199", 2.0)
    agent(center, "ann", capacity={Channel.VOICE: 1})
    assert center.interaction(I1).state is S.OFFERED
    arrive(center, "i2")
    with pytest.raises(InvalidState):
        center.request_callback(I1, "+15555550123", 3.0)  # already offered
