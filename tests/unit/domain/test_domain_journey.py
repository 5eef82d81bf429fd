"""The caller's journey in the center: through an IVR, told their place, and what a queue does
with an arrival nobody logged in could take."""

from __future__ import annotations

import pytest
from domain_helpers import CALLER, DIALED, SALES, SUPPORT, agent, arrive, center_with, one, skills

from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.errors import InvalidInput, InvalidState
from callbridge.domain.events import (
    CallbackRequested,
    InteractionEnded,
    InteractionOffered,
    InteractionOverflowed,
    InteractionQueued,
    IvrEntered,
    IvrFinished,
    WaitAnnounced,
)
from callbridge.domain.ids import InteractionId, QueueId
from callbridge.domain.interactions import EndReason
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.queues import OverflowAction, OverflowKind, Queue, SkillRequirement
from callbridge.domain.waiting import HandleTimes, estimate, position

BILLING = QueueId("billing")


def _in_ivr(center: ContactCenter, name: str = "c1") -> InteractionId:
    iid = InteractionId(name)
    center.create_interaction(iid, Channel.VOICE, Direction.INBOUND, CALLER, DIALED, {}, 0.0)
    assert one(center.enter_ivr(iid, "main", 0.0), IvrEntered).flow == "main"
    return iid


def test_a_flow_attaches_what_it_gathered_then_the_call_queues_with_its_priority() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    iid = _in_ivr(center)
    assert center.interactions[iid].state is S.IN_IVR
    done = center.finish_ivr(iid, "main", "queue", ("welcome", "menu"), {"account": "42"}, 1.0)
    assert one(done, IvrFinished).path == ("welcome", "menu")
    queued = one(center.enqueue(iid, SUPPORT, 1.0, 7), InteractionQueued)
    assert queued.priority == 7
    assert center.interactions[iid].attached == {"account": "42"}


def test_a_flow_that_ends_the_call_ends_it_as_self_service() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    iid = _in_ivr(center)
    center.finish_ivr(iid, "main", "hangup", ("closed",), {}, 2.0)
    ended = one(center.end_in_ivr(iid, EndReason.SELF_SERVICE, 2.0), InteractionEnded)
    assert (ended.by, ended.reason) == ("system", "self_service")


def test_a_caller_who_hangs_up_in_the_ivr_abandons() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    iid = _in_ivr(center)
    assert one(center.end(iid, "customer", 3.0), InteractionEnded).reason == "abandoned"


def test_ivr_steps_refuse_a_call_that_is_not_in_the_ivr() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    arrive(center, "c1")
    iid = InteractionId("c1")
    with pytest.raises(InvalidState):
        center.finish_ivr(iid, "main", "queue", (), {}, 1.0)
    with pytest.raises(InvalidState):
        center.end_in_ivr(iid, EndReason.SELF_SERVICE, 1.0)
    with pytest.raises(InvalidInput):
        center.enter_ivr(_in_ivr(center, "c2"), "", 1.0)


@pytest.mark.parametrize(
    ("action", "state", "reason"),
    [
        (OverflowAction(OverflowKind.VOICEMAIL), S.ENDED, "voicemail"),
        (OverflowAction(OverflowKind.DISCONNECT, message="closed"), S.ENDED, "disconnected"),
        (OverflowAction(OverflowKind.CALLBACK), S.QUEUED, None),
        (OverflowAction(OverflowKind.QUEUE, SALES), S.OFFERED, None),
    ],
)
def test_an_arrival_nobody_logged_in_can_take_gets_the_no_agent_action(
    action: OverflowAction, state: S, reason: str | None
) -> None:
    center = center_with(
        Queue(SALES, "Sales"),
        Queue(SUPPORT, "Support", (SkillRequirement(skills(french=1).popitem()[0]),)),
    )
    center.save_queue(
        Queue(SUPPORT, "Support", center.queues[SUPPORT].requirements, no_agent=action), 0.0
    )
    agent(center, "ann")  # logged in, but without french
    events = arrive(center, "c1")
    moved = one(events, InteractionOverflowed)
    assert (moved.cause, moved.action) == ("no_agent", action.kind.value)
    ix = center.interactions.get(InteractionId("c1"))
    if state is S.ENDED:
        assert ix is None  # closed
        assert one(events, InteractionEnded).reason == reason
    else:
        assert ix is not None and ix.state is state
    if action.kind is OverflowKind.CALLBACK:
        assert one(events, CallbackRequested).number == CALLER
    if action.kind is OverflowKind.QUEUE:
        assert ix is not None and ix.queue_id == SALES
        assert one(events, InteractionOffered).agent_id == "ann"  # sales takes anyone


def test_a_staffed_queue_ignores_its_no_agent_action_even_when_all_are_busy() -> None:
    center = center_with(Queue(SUPPORT, "Support", no_agent=OverflowAction(OverflowKind.VOICEMAIL)))
    agent(center, "ann", ready=False)  # logged in, Not Ready: staffed, not free
    events = arrive(center, "c1")
    assert not [e for e in events if isinstance(e, InteractionOverflowed)]
    assert center.interactions[InteractionId("c1")].state is S.QUEUED


def test_no_agent_targets_are_checked_like_overflow_targets() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    with pytest.raises(Exception, match="billing"):
        center.save_queue(
            Queue(SALES, "Sales", no_agent=OverflowAction(OverflowKind.QUEUE, BILLING)), 0.0
        )
    with pytest.raises(InvalidInput):
        Queue(SALES, "Sales", no_agent=OverflowAction(OverflowKind.QUEUE, SALES))
    center.save_queue(
        Queue(SALES, "Sales", no_agent=OverflowAction(OverflowKind.QUEUE, SUPPORT)), 0.0
    )
    with pytest.raises(InvalidState):
        center.remove_queue(SUPPORT, 0.0)


def _line(center: ContactCenter, n: int, *, now: float = 0.0) -> list[InteractionId]:
    for i in range(n):
        arrive(center, f"c{i}", now=now + i)
    return [InteractionId(f"c{i}") for i in range(n)]


def test_position_counts_those_ahead_by_priority_then_line_order_on_the_same_channel() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    agent(center, "ann", ready=False)
    line = _line(center, 3)
    arrive(center, "vip", now=5.0, priority=5)
    arrive(center, "chat", now=6.0, channel=Channel.CHAT)
    places = [position(center, center.interactions[i]) for i in line]
    assert places == [2, 3, 4]
    assert position(center, center.interactions[InteractionId("vip")]) == 1
    assert position(center, center.interactions[InteractionId("chat")]) == 1


def test_expected_wait_is_the_line_ahead_over_the_agents_at_the_queues_handle_time() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    agent(center, "ann", ready=False)
    agent(center, "bob", ready=False)
    line = _line(center, 4)
    waits = [estimate(center, i, 120.0) for i in line]
    assert [w.position for w in waits] == [1, 2, 3, 4]
    assert [w.expected_wait_s for w in waits] == [60.0, 120.0, 180.0, 240.0]
    assert {(w.agents, w.free_agents) for w in waits} == {(2, 0)}


def test_expected_wait_is_unknown_with_nobody_logged_in() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    (iid,) = _line(center, 1)
    told = estimate(center, iid, 120.0)
    assert (told.position, told.expected_wait_s, told.agents) == (1, None, 0)
    assert one(center.announce_wait(iid, 1, None, 3.0), WaitAnnounced).expected_wait_s is None
    with pytest.raises(InvalidInput):
        center.announce_wait(iid, 0, None, 3.0)


def test_handle_times_average_answer_to_free_per_queue() -> None:
    times = HandleTimes(default_s=100.0)
    assert times.of(SUPPORT) == 100.0
    times.connected(InteractionId("a"), SUPPORT, 10.0)
    times.finished(InteractionId("a"), 70.0)
    assert times.of(SUPPORT) == 60.0
    times.connected(InteractionId("b"), SUPPORT, 0.0)
    times.finished(InteractionId("b"), 160.0)
    assert times.of(SUPPORT) == pytest.approx(70.0)
    times.finished(InteractionId("never-connected"), 10.0)
    assert times.of(SALES) == 100.0
