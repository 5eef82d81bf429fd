"""Interactions: what one is made of, and the state machine it moves through."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from domain_helpers import CALLER, DIALED, SUPPORT, agent, arrive, center_with, one

from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.errors import AlreadyExists, InvalidInput, InvalidState, NotFound
from callbridge.domain.events import (
    InteractionCreated,
    InteractionEnded,
    InteractionHeld,
    InteractionQueued,
    InteractionResumed,
)
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.interactions import EndReason, Interaction
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.queues import Queue

# The state machine as the contact center works it, written out independently of the table.
ALLOWED = {
    (S.NEW, S.IN_IVR),  # an IVR flow answers first
    (S.NEW, S.QUEUED),  # straight to a queue
    (S.NEW, S.OFFERED),  # offered directly (a preview dial, say)
    (S.NEW, S.ENDED),
    (S.IN_IVR, S.QUEUED),
    (S.IN_IVR, S.ENDED),  # hung up in the menu
    (S.QUEUED, S.QUEUED),  # overflow into another queue
    (S.QUEUED, S.OFFERED),
    (S.QUEUED, S.ENDED),  # abandoned, or voicemail / disconnect on max wait
    (S.OFFERED, S.CONNECTED),  # accepted
    (S.OFFERED, S.QUEUED),  # rejected or timed out: back in line
    (S.OFFERED, S.ENDED),  # the customer hung up while it rang
    (S.CONNECTED, S.ON_HOLD),
    (S.CONNECTED, S.ENDED),
    (S.CONNECTED, S.QUEUED),  # transferred to a queue
    (S.CONNECTED, S.OFFERED),  # transferred to an agent
    (S.ON_HOLD, S.CONNECTED),
    (S.ON_HOLD, S.ENDED),
    (S.ON_HOLD, S.QUEUED),
    (S.ON_HOLD, S.OFFERED),
    (S.ENDED, S.WRAPPED_UP),
}


def fresh(state: S) -> Interaction:
    ix = Interaction(InteractionId("i1"), Channel.VOICE, Direction.INBOUND, CALLER, DIALED, 0.0)
    ix.state = state
    return ix


@pytest.mark.parametrize("channel", list(Channel))
def test_an_interaction_is_created_on_any_channel_with_its_addresses_and_data(
    channel: Channel,
) -> None:
    center = center_with()
    attached = {"account": "ACME-42", "language": "fr"}
    events = center.create_interaction(
        InteractionId("i1"), channel, Direction.OUTBOUND, CALLER, DIALED, attached, 5.0
    )
    created = one(events, InteractionCreated)
    assert (created.at, created.interaction_id) == (5.0, "i1")
    assert (created.channel, created.direction) == (channel.value, "outbound")
    assert (created.from_address, created.to_address) == (CALLER, DIALED)
    assert created.attached == attached
    ix = center.interaction(InteractionId("i1"))
    assert (ix.channel, ix.direction, ix.state, ix.created_at) == (
        channel,
        Direction.OUTBOUND,
        S.NEW,
        5.0,
    )
    attached["account"] = "changed later by the caller"
    assert ix.attached["account"] == "ACME-42"
    assert created.attached["account"] == "ACME-42"


def test_an_interaction_id_is_unique_among_open_interactions() -> None:
    center = center_with()
    center.create_interaction(
        InteractionId("i1"), Channel.CHAT, Direction.INBOUND, CALLER, DIALED, {}, 0.0
    )
    with pytest.raises(AlreadyExists) as info:
        center.create_interaction(
            InteractionId("i1"), Channel.VOICE, Direction.INBOUND, CALLER, DIALED, {}, 1.0
        )
    assert info.value.code == "already_exists"
    assert info.value.details["field"] == "id"
    assert center.interaction(InteractionId("i1")).channel is Channel.CHAT


def test_an_interaction_needs_a_from_address() -> None:
    center = center_with()
    with pytest.raises(InvalidInput) as info:
        center.create_interaction(
            InteractionId("i1"), Channel.SMS, Direction.INBOUND, "", DIALED, {}, 0.0
        )
    assert (info.value.code, info.value.details["field"]) == ("invalid_input", "from")
    assert not center.interactions


@pytest.mark.parametrize(("start", "end"), sorted(ALLOWED))
def test_each_allowed_transition_moves_the_state_and_bumps_the_version(start: S, end: S) -> None:
    ix = fresh(start)
    ix.move_to(end)
    assert (ix.state, ix.version) == (end, 1)


@pytest.mark.parametrize(
    ("start", "end"), sorted(set(itertools.product(S, S)) - ALLOWED), ids=lambda s: s.value
)
def test_every_other_transition_raises_invalid_state_and_changes_nothing(start: S, end: S) -> None:
    ix = fresh(start)
    with pytest.raises(InvalidState) as info:
        ix.move_to(end)
    assert info.value.code == "invalid_state"
    assert info.value.details == {"interaction_id": "i1", "state": start.value}
    assert (ix.state, ix.version) == (start, 0)


def test_a_whole_life_through_the_center() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    ann = agent(center, "ann")
    iid = InteractionId("i1")
    center.create_interaction(iid, Channel.VOICE, Direction.INBOUND, CALLER, DIALED, {}, 0.0)
    ix = center.interaction(iid)
    ix.move_to(S.IN_IVR)  # the IVR is not part of the center: it hands over to enqueue()
    center.enqueue(iid, SUPPORT, 1.0)
    assert (ix.state, ix.agent_id) == (S.OFFERED, ann)
    center.accept(iid, ann, 2.0)
    assert (ix.state, ix.answered_at) == (S.CONNECTED, 2.0)
    assert one(center.hold(iid, ann, 3.0), InteractionHeld).agent_id == ann
    assert (ix.state, ix.is_open) == (S.ON_HOLD, True)
    assert one(center.resume(iid, ann, 4.0), InteractionResumed).agent_id == ann
    assert (ix.state, ix.is_open) == (S.CONNECTED, True)
    ended = one(center.end(iid, "agent", 5.0, ann), InteractionEnded)
    assert (ended.by, ended.reason, ended.agent_id) == ("agent", "completed", ann)
    assert (ix.state, ix.is_open) == (S.ENDED, False)
    center.wrap_up(iid, ann, None, None, 6.0)
    assert (ix.state, ix.is_open) == (S.WRAPPED_UP, False)
    assert center.drain_closed() == [ix]
    assert iid not in center.interactions


def test_enqueue_only_takes_a_new_interaction_or_one_in_the_ivr() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    arrive(center, "i1")
    with pytest.raises(InvalidState) as info:
        center.enqueue(InteractionId("i1"), SUPPORT, 1.0)
    assert info.value.details["interaction_id"] == "i1"
    assert len(list(center.index.waiting_in(SUPPORT))) == 1


def test_enqueue_into_an_unknown_queue_is_not_found_and_changes_nothing() -> None:
    center = center_with()
    center.create_interaction(
        InteractionId("i1"), Channel.EMAIL, Direction.INBOUND, CALLER, DIALED, {}, 0.0
    )
    with pytest.raises(NotFound) as info:
        center.enqueue(InteractionId("i1"), QueueId("nowhere"), 0.0)
    assert (info.value.code, info.value.details["field"]) == ("not_found", "queue_id")
    assert center.interaction(InteractionId("i1")).state is S.NEW


@pytest.mark.parametrize(
    "call",
    [  # each an operation naming an interaction that does not exist
        lambda c: c.accept(InteractionId("nope"), AgentId("ann"), 0.0),
        lambda c: c.hold(InteractionId("nope"), AgentId("ann"), 0.0),
        lambda c: c.end(InteractionId("nope"), "customer", 0.0),
        lambda c: c.enqueue(InteractionId("nope"), SUPPORT, 0.0),
        lambda c: c.request_callback(InteractionId("nope"), CALLER, 0.0),
    ],
    ids=["accept", "hold", "end", "enqueue", "callback"],
)
def test_an_unknown_interaction_is_not_found(call: Callable[[ContactCenter], object]) -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    agent(center, "ann")
    with pytest.raises(NotFound) as info:
        call(center)
    assert info.value.details["field"] == "interaction_id"


def test_hold_and_resume_only_from_the_right_state() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    ann = agent(center, "ann")
    arrive(center, "i1")
    iid = InteractionId("i1")
    with pytest.raises(InvalidState):
        center.hold(iid, ann, 1.0)  # offered, not yet connected
    center.accept(iid, ann, 1.0)
    with pytest.raises(InvalidState):
        center.resume(iid, ann, 2.0)  # not on hold
    center.hold(iid, ann, 2.0)
    with pytest.raises(InvalidState):
        center.hold(iid, ann, 3.0)  # already on hold
    assert center.interaction(iid).state is S.ON_HOLD


def test_only_the_connected_agent_may_hold_or_end() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    ann = agent(center, "ann")
    bob = agent(center, "bob", ready=False)
    arrive(center, "i1")
    iid = InteractionId("i1")
    center.accept(iid, ann, 1.0)
    with pytest.raises(InvalidState) as info:
        center.hold(iid, bob, 2.0)
    assert info.value.details == {"interaction_id": "i1", "agent_id": "bob"}
    with pytest.raises(InvalidState):
        center.end(iid, "agent", 2.0, bob)
    with pytest.raises(InvalidState):
        center.end(iid, "agent", 2.0)  # by an agent, but which?
    assert center.interaction(iid).state is S.CONNECTED


def test_end_names_who_ended_it_and_rejects_anyone_else() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    arrive(center, "i1")
    with pytest.raises(InvalidInput) as info:
        center.end(InteractionId("i1"), "the weather", 1.0)
    assert info.value.details["field"] == "by"
    assert center.interaction(InteractionId("i1")).state is S.QUEUED


def test_a_customer_leaving_the_queue_abandons_it_and_frees_its_place() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    arrive(center, "i1")
    arrive(center, "i2", now=1.0)
    ended = one(center.end(InteractionId("i1"), "customer", 30.0), InteractionEnded)
    assert (ended.by, ended.reason, ended.agent_id) == ("customer", "abandoned", None)
    assert list(center.index.waiting_in(SUPPORT)) == ["i2"]
    [closed] = center.drain_closed()
    assert (closed.id, closed.state, closed.end_reason, closed.ended_at) == (
        "i1",
        S.ENDED,
        EndReason.ABANDONED,
        30.0,
    )


def test_a_new_interaction_can_end_before_it_is_queued() -> None:
    center = center_with()
    center.create_interaction(
        InteractionId("i1"), Channel.VOICE, Direction.INBOUND, CALLER, DIALED, {}, 0.0
    )
    center.end(InteractionId("i1"), "customer", 1.0)
    assert [ix.id for ix in center.drain_closed()] == ["i1"]


def test_an_ended_interaction_cannot_end_again() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    ann = agent(center, "ann")
    arrive(center, "i1")
    center.accept(InteractionId("i1"), ann, 1.0)
    center.end(InteractionId("i1"), "customer", 2.0)  # ann wraps up
    with pytest.raises(InvalidState):
        center.end(InteractionId("i1"), "agent", 3.0, ann)


def test_queued_event_tells_queue_priority_and_place() -> None:
    center = center_with(Queue(SUPPORT, "Support", priority=2))
    queued = one(arrive(center, "i1", now=3.0), InteractionQueued)
    assert (queued.queue_id, queued.priority, queued.seq, queued.reason) == (
        SUPPORT,
        2,
        1,
        "arrival",
    )
    assert [one(arrive(center, f"i{n}", now=4.0), InteractionQueued).seq for n in (2, 3)] == [2, 3]
