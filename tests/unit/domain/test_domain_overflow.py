"""Max wait and its overflow actions: another queue, voicemail, callback, disconnect."""

from __future__ import annotations

from domain_helpers import (
    CALLER,
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

from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel
from callbridge.domain.events import (
    CallbackRequested,
    InteractionEnded,
    InteractionOverflowed,
    InteractionQueued,
)
from callbridge.domain.ids import AgentId, InteractionId, SkillId
from callbridge.domain.interactions import EndReason
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.queues import OverflowAction, OverflowKind, Queue, SkillRequirement

I1, I2 = InteractionId("i1"), InteractionId("i2")
ANN, BOB = AgentId("ann"), AgentId("bob")
SALES_SKILL, SUPPORT_SKILL = SkillId("sales"), SkillId("support")


def overflowing(action: OverflowAction, max_wait_s: float = 30.0) -> ContactCenter:
    """Support overflows after max_wait_s; each queue needs its own skill."""
    return center_with(
        Queue(SALES, "Sales", requirements=(SkillRequirement(SALES_SKILL, 5),)),
        Queue(
            SUPPORT,
            "Support",
            requirements=(SkillRequirement(SUPPORT_SKILL, 1),),
            max_wait_s=max_wait_s,
            overflow=action,
            offer_timeout_s=100.0,
        ),
    )


def test_overflow_to_another_queue_at_max_wait() -> None:
    center = overflowing(OverflowAction(OverflowKind.QUEUE, SALES))
    agent(center, "bob", skills(sales=6), ready=False)
    arrive(center, "i1", now=0.0, priority=2)
    assert center.tick(29.9) == []
    events = center.tick(30.0)
    overflowed = one(events, InteractionOverflowed)
    assert (overflowed.at, overflowed.queue_id, overflowed.action) == (30.0, SUPPORT, "queue")
    assert (overflowed.target_queue_id, overflowed.message) == (SALES, None)
    queued = one(events, InteractionQueued)
    assert (queued.queue_id, queued.reason, queued.priority) == (SALES, "overflow", 2)
    assert waiting(center, SUPPORT) == [] and waiting(center, SALES) == [I1]
    assert center.interaction(I1).queue_entered_at == 30.0  # its wait there starts now
    assert offers(center.set_ready(BOB, 31.0)) == {I1: BOB}


def test_overflow_into_a_queue_with_a_free_agent_offers_it_at_once() -> None:
    center = overflowing(OverflowAction(OverflowKind.QUEUE, SALES))
    agent(center, "bob", skills(sales=6))
    arrive(center, "i1")
    assert offers(center.tick(30.0)) == {I1: BOB}


def test_an_overflowed_queue_overflows_again_by_its_own_max_wait() -> None:
    center = center_with(
        Queue(SALES, "Sales", max_wait_s=60.0, overflow=OverflowAction(OverflowKind.VOICEMAIL))
    )
    center.save_queue(
        Queue(
            SUPPORT,
            "Support",
            max_wait_s=30.0,
            overflow=OverflowAction(OverflowKind.QUEUE, SALES),
        ),
        0.0,
    )
    arrive(center, "i1")
    events = center.tick(200.0)
    assert [(e.at, e.queue_id, e.action) for e in of_type(events, InteractionOverflowed)] == [
        (30.0, SUPPORT, "queue"),
        (90.0, SALES, "voicemail"),
    ]


def test_overflow_to_voicemail_ends_the_interaction() -> None:
    center = overflowing(OverflowAction(OverflowKind.VOICEMAIL))
    arrive(center, "i1")
    events = center.tick(30.0)
    assert one(events, InteractionOverflowed).action == "voicemail"
    ended = one(events, InteractionEnded)
    assert (ended.by, ended.reason, ended.agent_id) == ("system", "voicemail", None)
    [closed] = center.drain_closed()
    assert (closed.id, closed.end_reason, closed.state) == (I1, EndReason.VOICEMAIL, S.ENDED)
    assert waiting(center) == []


def test_overflow_to_disconnect_plays_the_message_and_ends_it() -> None:
    center = overflowing(OverflowAction(OverflowKind.DISCONNECT, message="We are closed."))
    arrive(center, "i1")
    events = center.tick(30.0)
    overflowed = one(events, InteractionOverflowed)
    assert (overflowed.action, overflowed.message) == ("disconnect", "We are closed.")
    assert one(events, InteractionEnded).reason == "disconnected"
    assert center.drain_closed()[0].end_reason is EndReason.DISCONNECTED


def test_overflow_to_callback_keeps_the_place_and_stops_the_clock() -> None:
    center = overflowing(OverflowAction(OverflowKind.CALLBACK))
    arrive(center, "i1", now=0.0)
    arrive(center, "i2", now=10.0)
    events = center.tick(30.0)
    assert one(events, InteractionOverflowed).action == "callback"
    requested = one(events, CallbackRequested)
    assert (requested.interaction_id, requested.number) == (I1, CALLER)
    assert center.interaction(I1).callback_number == CALLER
    assert waiting(center) == [I1, I2]
    later = center.tick(1000.0)
    assert [e.interaction_id for e in of_type(later, CallbackRequested)] == [I2]
    assert waiting(center) == [I1, I2]


def test_overflow_to_callback_does_not_fail_for_a_chat() -> None:
    center = overflowing(OverflowAction(OverflowKind.CALLBACK))
    arrive(center, "c1", channel=Channel.CHAT)
    events = center.tick(30.0)
    assert one(events, CallbackRequested).number == CALLER
    assert center.interaction(InteractionId("c1")).state is S.QUEUED


def test_an_offered_interaction_does_not_overflow() -> None:
    center = overflowing(OverflowAction(OverflowKind.VOICEMAIL))
    agent(center, "ann", skills(support=3))
    arrive(center, "i1")
    assert center.tick(60.0) == []
    assert center.interaction(I1).state is S.OFFERED


def test_one_returned_after_max_wait_overflows_at_the_next_tick_not_in_the_past() -> None:
    center = overflowing(OverflowAction(OverflowKind.VOICEMAIL))
    agent(center, "ann", skills(support=3))
    arrive(center, "i1", now=0.0)
    assert center.tick(30.0) == []  # offered to ann: no overflow
    center.reject(I1, ANN, 50.0)
    ended = one(center.tick(50.0), InteractionEnded)
    assert (ended.reason, ended.at) == ("voicemail", 50.0)


def test_a_changed_max_wait_applies_to_those_already_waiting() -> None:
    center = overflowing(OverflowAction(OverflowKind.VOICEMAIL), max_wait_s=30.0)
    arrive(center, "i1", now=0.0)
    center.save_queue(Queue(SUPPORT, "Support"), 10.0)  # no max wait any more
    assert center.tick(100.0) == []
    center.save_queue(
        Queue(
            SUPPORT, "Support", max_wait_s=120.0, overflow=OverflowAction(OverflowKind.VOICEMAIL)
        ),
        110.0,
    )
    assert center.tick(119.0) == []
    assert one(center.tick(120.0), InteractionEnded).reason == "voicemail"


def test_max_wait_happens_on_time_whatever_the_clock_reading() -> None:
    center = overflowing(OverflowAction(OverflowKind.VOICEMAIL), max_wait_s=0.1)
    arrive(center, "i1", now=0.7)  # 0.7 + 0.1 rounds to 0.7999999999999999
    assert one(center.tick(0.8), InteractionEnded).reason == "voicemail"


def test_a_late_overflow_joins_the_line_behind_who_entered_meanwhile() -> None:
    # The max wait passes at 30, but the tick comes after someone entered Sales at 30.5: the
    # overflow is acted on as of then, so the line stays in the order people entered it.
    center = overflowing(OverflowAction(OverflowKind.QUEUE, SALES))
    arrive(center, "i1", now=0.0)
    arrive(center, "s1", SALES, now=30.5)
    events = center.tick(31.0)
    assert [e.at for e in events] == [30.5, 30.5]
    assert waiting(center, SALES) == ["s1", I1]
    entered = [center.interaction(InteractionId(i)).queue_entered_at for i in ("s1", "i1")]
    assert entered == [30.5, 30.5]
