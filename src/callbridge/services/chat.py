"""Chat and text conversations: a customer starts one and writes in it, the agent connected to
it answers, both read the transcript. The rules are the domain's (`domain.chat`); messages are
events of their interaction, so they are stored, streamed and sealed like the rest."""

from __future__ import annotations

from dataclasses import dataclass

from callbridge.domain.channels import Channel
from callbridge.domain.chat import CONVERSATIONS, Sender, check_body, message
from callbridge.domain.errors import InvalidInput, NotFound
from callbridge.domain.events import ChatMessage
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.ports import StoredEvent
from callbridge.services import interactions as svc
from callbridge.services.runtime import Runtime
from callbridge.services.security.crypto import FieldCipher

TOKEN_PURPOSE = "webchat"  # noqa: S105 - a label for the keyed hash, not a secret


@dataclass(frozen=True, slots=True)
class Message:
    id: int  # the event's id in the log: the order, and what a reader resumes after
    at: float
    sender: str
    body: str
    agent_id: str | None


def do_start(
    rt: Runtime,
    queue_id: QueueId,
    customer: str,
    first: str | None = None,
    attached: dict[str, str] | None = None,
) -> InteractionId:
    """A customer opens a web chat (optionally with a first message) in a queue: one chat
    interaction, routed like any other."""
    if first is not None:
        check_body(first)  # refused before anything is made
    new = svc.NewInteraction(
        channel=Channel.CHAT,
        from_address=customer,
        to_address="webchat",
        queue_id=queue_id,
        attached=dict(attached or {}),
    )
    events = svc.do_create_interaction(rt, new)
    iid = InteractionId(str(events[0].interaction_id))
    if first is not None:
        do_send(rt, iid, Sender.CUSTOMER, first)
    return iid


def open_text(rt: Runtime, customer: str, ours: str) -> InteractionId | None:
    """The open SMS conversation between `customer` and our number `ours`, if there is one: a
    new text from them belongs in it rather than in a new interaction."""
    for ix in rt.center.interactions.values():
        if (
            ix.channel is Channel.SMS
            and ix.is_open
            and ix.from_address == customer
            and ix.to_address == ours
        ):
            return ix.id
    return None


def do_send(
    rt: Runtime, iid: InteractionId, sender: Sender, body: str, agent_id: AgentId | None = None
) -> Message:
    """Add a message; InvalidState when the conversation has ended or the agent is not the
    one connected to it."""
    stored = rt.apply(message(iid, sender, body, agent_id))
    return _message(stored[0])


def transcript(rt: Runtime, iid: InteractionId, after_id: int = 0) -> list[Message]:
    """The conversation's messages in order (those after `after_id`)."""
    ix = rt.center.interactions.get(iid) or rt.store.get_interaction(iid)
    if ix is None:
        raise NotFound(f"no interaction {iid}", field="interaction_id")
    if ix.channel not in CONVERSATIONS:
        raise InvalidInput(
            f"a {ix.channel.value} interaction has no conversation", field="interaction_id"
        )
    events = rt.store.events(interaction_id=iid, after_id=after_id, limit=10_000)
    return [_message(e) for e in events if e.kind == ChatMessage.kind]


def token(cipher: FieldCipher, iid: InteractionId) -> str:
    """The customer's bearer token for their chat: made from the interaction id with the
    server's keys, so nothing is stored and a restart loses nothing."""
    return cipher.mac(TOKEN_PURPOSE, iid)


def _message(e: StoredEvent) -> Message:
    p = e.payload
    agent = p.get("agent_id")
    return Message(
        id=e.id,
        at=e.at,
        sender=str(p["sender"]),
        body=str(p["body"]),
        agent_id=agent if isinstance(agent, str) else None,
    )
