"""What the telephone network adds to the center: transfers to outside numbers and call
progress."""

from __future__ import annotations

import pytest
from domain_helpers import SUPPORT, agent, arrive, center_with, one

from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel
from callbridge.domain.errors import InvalidInput, InvalidState
from callbridge.domain.events import (
    CallProgress,
    InteractionEnded,
    InteractionTransferred,
    WrapUpStarted,
)
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.interactions import EndReason
from callbridge.domain.interactions import InteractionState as S
from callbridge.domain.queues import Queue, WrapUpPolicy


def _connected(channel: Channel = Channel.VOICE) -> tuple[ContactCenter, InteractionId]:
    center = center_with(Queue(SUPPORT, "Support", wrap_up=WrapUpPolicy(duration_s=30.0)))
    ann = agent(center, "ann")
    arrive(center, "c1", channel=channel)
    center.accept(InteractionId("c1"), ann, 1.0)
    return center, InteractionId("c1")


def test_a_transfer_out_ends_the_interaction_and_the_agent_wraps_up() -> None:
    center, iid = _connected()
    events = center.transfer_out(iid, AgentId("ann"), " +15550001111 ", 5.0)
    moved = one(events, InteractionTransferred)
    assert moved.to_number == "+15550001111" and moved.from_agent_id == "ann"
    ended = one(events, InteractionEnded)
    assert (ended.by, ended.reason) == ("agent", EndReason.TRANSFERRED.value)
    assert one(events, WrapUpStarted).agent_id == "ann"
    assert center.interactions[iid].state is S.ENDED


@pytest.mark.parametrize(
    ("channel", "number", "field"),
    [(Channel.CHAT, "+15550001111", "to_number"), (Channel.VOICE, "  ", "to_number")],
)
def test_only_a_call_goes_to_a_number(channel: Channel, number: str, field: str) -> None:
    center, iid = _connected(channel)
    with pytest.raises(InvalidInput) as err:
        center.transfer_out(iid, AgentId("ann"), number, 5.0)
    assert err.value.details["field"] == field
    assert center.interactions[iid].state is S.CONNECTED


def test_only_the_agent_on_the_call_transfers_it() -> None:
    center, iid = _connected()
    agent(center, "bob")
    with pytest.raises(InvalidState):
        center.transfer_out(iid, AgentId("bob"), "+15550001111", 5.0)


def test_call_progress_is_told_and_changes_nothing() -> None:
    center, iid = _connected()
    before = center.interactions[iid].version
    event = one(center.call_progress(iid, "customer", "ringing", 180, 2.0), CallProgress)
    assert (event.leg, event.stage, event.status, event.at) == ("customer", "ringing", 180, 2.0)
    assert center.interactions[iid].version == before
    with pytest.raises(InvalidInput, match="stage"):
        center.call_progress(iid, "customer", "maybe", None, 2.0)
    with pytest.raises(InvalidInput, match="leg"):
        center.call_progress(iid, "robot", "ringing", None, 2.0)
