"""Click-to-dial: the agent places an outbound call, connected to them at once."""

from __future__ import annotations

import pytest
from domain_helpers import SUPPORT, agent, arrive, center_with, one

from callbridge.domain.agents import AgentState
from callbridge.domain.channels import Direction
from callbridge.domain.crm.activity import activity_for
from callbridge.domain.errors import AgentUnavailable, InvalidInput
from callbridge.domain.events import InteractionConnected, InteractionOffered
from callbridge.domain.ids import InteractionId
from callbridge.domain.interactions import InteractionState
from callbridge.domain.queues import Queue
from callbridge.domain.routing.explanation import Trigger

OUT = InteractionId("out1")


def test_dial_connects_a_not_ready_agent_at_once() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    ann = agent(center, "ann", ready=False)
    events = center.dial(OUT, ann, "+14155550100", "+18005550000", {}, 10.0)
    assert one(events, InteractionOffered).decision.trigger is Trigger.DIAL
    one(events, InteractionConnected)
    ix = center.interactions[OUT]
    assert ix.direction is Direction.OUTBOUND and ix.state is InteractionState.CONNECTED
    assert center.agents[ann].state is AgentState.BUSY


def test_dial_refuses_a_busy_or_logged_out_agent_and_an_empty_number() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    ann = agent(center, "ann")
    arrive(center, "in1")  # offered to ann: she has work in hand
    with pytest.raises(AgentUnavailable):
        center.dial(OUT, ann, "+14155550100", "+18005550000", {}, 1.0)
    bob = agent(center, "bob", ready=False)
    center.logout(bob, 1.0)
    with pytest.raises(AgentUnavailable):
        center.dial(OUT, bob, "+14155550100", "+18005550000", {}, 1.0)
    cay = agent(center, "cay", ready=False)
    with pytest.raises(InvalidInput):
        center.dial(OUT, cay, " ", "+18005550000", {}, 1.0)
    assert OUT not in center.interactions


def test_a_dialled_call_ends_wraps_up_and_leaves_an_outbound_activity() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    ann = agent(center, "ann", ready=False)
    center.dial(
        OUT,
        ann,
        "+14155550100",
        "+18005550000",
        {"crm_what_type": "Case", "crm_what_id": "c1"},
        0.0,
    )
    center.end(OUT, "agent", 95.0, ann)
    if OUT in center.interactions:  # wrap-up, when the default policy asks for one
        center.wrap_up(OUT, ann, None, "called back about the refund", 100.0)
    closed = center.drain_closed()
    assert [ix.id for ix in closed] == [OUT]
    activity = activity_for(closed[0], queue_name=None, agent_name="Ann", disposition_label=None)
    assert activity.direction.value == "Outbound"
    assert activity.customer_address == "+14155550100"
    assert activity.duration_s == 95
    assert activity.what is not None and activity.what.id == "c1"
    assert activity.subject == "Outbound call"
