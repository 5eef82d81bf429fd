"""Chat and text (SMS) conversations: who may write in one, and when.

A message is an event of its interaction (`ChatMessage`), in the log with the rest of what
happened to it, so a transcript is the interaction's messages in order and a page that follows
the event stream sees each message once. The customer may write while the conversation is
open (waiting in the queue too); an agent only while it is connected to them (or holding it).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from callbridge.domain.center import ContactCenter
from callbridge.domain.channels import Channel
from callbridge.domain.errors import InvalidInput, InvalidState, NotFound
from callbridge.domain.events import ChatMessage, Event
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.interactions import InteractionState

CONVERSATIONS = frozenset({Channel.CHAT, Channel.SMS})  # replies to texts go out by SMS
MAX_BODY = 4000
AGENT_STATES = frozenset({InteractionState.CONNECTED, InteractionState.ON_HOLD})


class Sender(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"


def check_body(body: str) -> str:
    """The message as it is kept: trimmed, not empty, not too long."""
    text = body.strip()
    if not text:
        raise InvalidInput("a message needs some text", field="body")
    if len(text) > MAX_BODY:
        raise InvalidInput(f"a message is at most {MAX_BODY:,} characters", field="body")
    return text


def message(
    iid: InteractionId, sender: Sender, body: str, agent_id: AgentId | None = None
) -> Callable[[ContactCenter, float], list[Event]]:
    """The change that adds a message to a conversation."""
    text = check_body(body)

    def change(c: ContactCenter, now: float) -> list[Event]:
        ix = c.interactions.get(iid)
        if ix is None:
            raise NotFound(f"no open interaction {iid}", field="interaction_id")
        if ix.channel not in CONVERSATIONS:
            raise InvalidState(
                f"a {ix.channel.value} interaction has no conversation: only chats and texts do",
                state=ix.state.value,
            )
        if not ix.is_open:
            raise InvalidState("the conversation has ended", state=ix.state.value)
        if sender is Sender.AGENT and (ix.agent_id != agent_id or ix.state not in AGENT_STATES):
            raise InvalidState(
                f"only the agent connected to {iid} may write in it", state=ix.state.value
            )
        return [
            ChatMessage(
                at=now,
                interaction_id=iid,
                sender=sender.value,
                body=text,
                agent_id=ix.agent_id,
                queue_id=ix.queue_id,
            )
        ]

    return change
