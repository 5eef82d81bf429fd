"""A dialer call a person answered: offered to the agent the dialer chose, outside any queue;
accepted when the phone answers; a missed offer ends it abandoned."""

from __future__ import annotations

import pytest
from domain_helpers import SUPPORT, agent, center_with, one

from callbridge.domain.agents import AgentState
from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.errors import AgentUnavailable, InvalidState
from callbridge.domain.events import InteractionEnded, InteractionOffered
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.interactions import EndReason, InteractionState
from callbridge.domain.queues import Queue
from callbridge.domain.routing.explanation import Trigger

OUT = InteractionId("out1")


def answered(center_agent_ready: bool = True) -> tuple[ContactCenter, AgentId]:
    center = center_with(Queue(SUPPORT, "Support"))
    ann = agent(center, "ann", ready=center_agent_ready)
    center.create_interaction(
        OUT, Channel.VOICE, Direction.OUTBOUND, "+442071230000", "+442079460001", {}, 5.0
    )
    return center, ann


def test_an_answered_call_is_offered_then_connected() -> None:
    center, ann = answered()
    events = center.offer_answered(OUT, ann, "campaign spring", 6.0)
    offer = one(events, InteractionOffered)
    assert offer.decision.trigger is Trigger.CAMPAIGN and offer.decision.rule == "campaign spring"
    assert offer.queue_id is None
    center.accept(OUT, ann, 6.5)
    assert center.interactions[OUT].state is InteractionState.CONNECTED
    assert center.agents[ann].state is AgentState.BUSY


def test_a_missed_offer_ends_the_call_abandoned() -> None:
    center, ann = answered()
    center.offer_answered(OUT, ann, "campaign spring", 6.0)
    events = center.reject(OUT, ann, 7.0)
    assert one(events, InteractionEnded).reason == EndReason.ABANDONED.value
    assert center.agents[ann].state is AgentState.NOT_READY


def test_only_a_ready_agent_and_a_new_outbound_call() -> None:
    center, ann = answered(center_agent_ready=False)
    with pytest.raises(AgentUnavailable):
        center.offer_answered(OUT, ann, "campaign spring", 6.0)
    center, ann = answered()
    center.offer_answered(OUT, ann, "campaign spring", 6.0)
    with pytest.raises(InvalidState):  # offered already
        center.offer_answered(OUT, ann, "campaign spring", 6.0)
