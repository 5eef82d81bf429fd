"""Who may write in a chat, and when: the customer while it is open, the agent only once
connected to it; the body is trimmed and bounded."""

from __future__ import annotations

import pytest
from domain_helpers import SUPPORT, agent, arrive, center_with

from callbridge.domain.channels import Channel
from callbridge.domain.chat import MAX_BODY, Sender, message
from callbridge.domain.errors import InvalidInput, InvalidState, NotFound
from callbridge.domain.events import ChatMessage
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.queues import Queue


def test_the_customer_writes_while_waiting_and_the_agent_once_connected() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    iid = InteractionId("c1")
    arrive(center, iid, channel=Channel.CHAT)
    (event,) = message(iid, Sender.CUSTOMER, "  Hello?  ")(center, 1.0)
    assert event == ChatMessage(
        at=1.0, interaction_id=iid, sender="customer", body="Hello?", queue_id=SUPPORT
    )
    ann = agent(center, "ann", now=2.0)  # the chat is offered to her
    with pytest.raises(InvalidState, match="only the agent connected"):
        message(iid, Sender.AGENT, "Hi", ann)(center, 3.0)
    center.accept(iid, ann, 3.0)
    (reply,) = message(iid, Sender.AGENT, "Hi", ann)(center, 4.0)
    assert isinstance(reply, ChatMessage) and (reply.sender, reply.agent_id) == ("agent", ann)
    (theirs,) = message(iid, Sender.CUSTOMER, "Thanks")(center, 5.0)
    assert isinstance(theirs, ChatMessage)
    assert theirs.agent_id == ann  # it reaches the agent holding the chat
    with pytest.raises(InvalidState):
        message(iid, Sender.AGENT, "Hi", AgentId("bob"))(center, 5.0)
    center.end(iid, "customer", 6.0)
    with pytest.raises((InvalidState, NotFound)):
        message(iid, Sender.CUSTOMER, "Wait")(center, 7.0)


def test_only_chats_have_conversations_and_bodies_are_checked() -> None:
    center = center_with(Queue(SUPPORT, "Support"))
    call = InteractionId("c1")
    arrive(center, call)
    with pytest.raises(InvalidState, match="voice interaction has no conversation"):
        message(call, Sender.CUSTOMER, "Hello")(center, 1.0)
    with pytest.raises(NotFound):
        message(InteractionId("nope"), Sender.CUSTOMER, "Hello")(center, 1.0)
    for body in ("", "   \n", "x" * (MAX_BODY + 1)):
        with pytest.raises(InvalidInput) as caught:
            message(call, Sender.CUSTOMER, body)
        assert caught.value.details["field"] == "body"
    assert message(call, Sender.CUSTOMER, "x" * MAX_BODY) is not None
