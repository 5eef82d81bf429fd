"""Chat: the agent's side (the transcript of a chat in their hands, and answering in it) and
the customer's web chat (start one in a queue, write, read the answers, leave).

The customer is not a user: their requests carry the chat's own token (X-Chat-Token), which
the server makes from the chat's id with its keys (services.chat.token). Starting a chat is
open to anyone, in the queues the `webchat_queues` setting names, at most
`webchat_starts_per_minute` per client address.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from callbridge.adapters.web.auth import (
    Caller,
    CallerDep,
    check_handle,
    public,
    readable_interaction,
    requires,
)
from callbridge.adapters.web.deps import RuntimeDep
from callbridge.domain.channels import Channel
from callbridge.domain.chat import AGENT_STATES, MAX_BODY, Sender
from callbridge.domain.errors import CallbridgeError, InvalidState, NotFound
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.interactions import Interaction
from callbridge.domain.security.permissions import Permission
from callbridge.ports import EventBus
from callbridge.services import chat as svc
from callbridge.services import interactions as interactions_svc
from callbridge.services import views
from callbridge.services.runtime import Runtime
from callbridge.services.security.crypto import FieldCipher

router = APIRouter(tags=["chat"])
TYPING_S = 5.0  # how long one "typing" notice lasts; the pages send one every 2 s of typing


class TooManyChats(CallbridgeError):
    code = "rate_limited"


@dataclass
class WebChat:
    """The web chat's settings, the recent starts per client address, and the customers
    waiting for something to happen in their chat (a long poll)."""

    queues: frozenset[str]
    per_minute: int
    cipher: FieldCipher
    frame_ancestors: tuple[str, ...] = ()  # origins whose pages may frame the chat page
    _starts: dict[str, deque[float]] = field(default_factory=dict)
    _waiting: dict[str, set[asyncio.Event]] = field(default_factory=dict)
    _typing: dict[tuple[str, str], float] = field(default_factory=dict)  # until, by chat, side

    def set_typing(self, iid: InteractionId, sender: Sender, now: float) -> None:
        """`sender` is typing in the chat (for the next TYPING_S seconds); a waiting customer
        hears of it at once."""
        if len(self._typing) > 10_000:
            self._typing = {k: v for k, v in self._typing.items() if v > now}
        self._typing[(iid, sender.value)] = now + TYPING_S
        self._wake(iid)

    def done_typing(self, iid: InteractionId, sender: Sender) -> None:
        """`sender`'s message is sent: no longer typing."""
        self._typing.pop((iid, sender.value), None)

    def typing(self, iid: InteractionId, sender: Sender, now: float) -> bool:
        return self._typing.get((iid, sender.value), 0.0) > now

    def _wake(self, iid: str) -> None:
        for woken in self._waiting.get(iid, ()):
            woken.set()

    async def follow(self, bus: EventBus) -> None:
        """Wake the customers of each chat something happened in (one bus subscription for
        all of them); runs with the server."""
        while True:  # the bus cuts a subscriber that falls behind: subscribe again
            async for event in bus.subscribe():
                self._wake(event.interaction_id or "")

    async def wait(self, iid: InteractionId, timeout_s: float) -> None:
        """Until an event of the chat is published, or `timeout_s`."""
        woken = asyncio.Event()
        self._waiting.setdefault(iid, set()).add(woken)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout_s)
        finally:
            waiters = self._waiting.get(iid)
            if waiters is not None:
                waiters.discard(woken)
                if not waiters:
                    del self._waiting[iid]

    def admit(self, client: str, now: float) -> None:
        recent = self._starts.setdefault(client, deque())
        while recent and now - recent[0] >= 60.0:
            recent.popleft()
        if len(recent) >= self.per_minute:
            raise TooManyChats(
                f"at most {self.per_minute} chats a minute from one address; try again shortly"
            )
        recent.append(now)
        if len(self._starts) > 10_000:  # forget quiet addresses
            for key in [k for k, v in self._starts.items() if not v or now - v[-1] >= 60.0]:
                del self._starts[key]


def _webchat(request: Request) -> WebChat:
    chat: WebChat = request.app.state.webchat
    return chat


WebChatDep = Annotated[WebChat, Depends(_webchat)]


class MessageOut(BaseModel):
    id: int
    at: float
    sender: str
    body: str
    agent_id: str | None

    @classmethod
    def of(cls, m: svc.Message) -> MessageOut:
        return cls(id=m.id, at=m.at, sender=m.sender, body=m.body, agent_id=m.agent_id)


class AgentMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: str
    body: str = Field(min_length=1, max_length=MAX_BODY)


class CustomerMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=MAX_BODY)


class ChatStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    queue_id: str
    from_: str = Field(
        alias="from",
        min_length=3,
        max_length=254,
        description="The customer's email address or phone number (finds their CRM record)",
    )
    name: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, min_length=1, max_length=MAX_BODY)


class ChatStarted(BaseModel):
    interaction_id: str
    token: str = Field(description="Send it as X-Chat-Token with every later request")


class ChatOut(BaseModel):
    interaction_id: str
    state: str
    agent: str | None = Field(description="The name of the agent connected, if any")
    agent_typing: bool = Field(description="The agent is writing a message now")
    messages: list[MessageOut]


class TypingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: str


class TypingOut(BaseModel):
    customer: bool = Field(description="The customer is writing a message now")


# --- the agent's side -------------------------------------------------------------------------


@router.get(
    "/interactions/{interaction_id}/messages",
    dependencies=[Depends(requires(Permission.AGENTS_SELF))],
)
async def messages(
    interaction_id: str,
    rt: RuntimeDep,
    caller: CallerDep,
    after_id: Annotated[int, Query(ge=0)] = 0,
) -> list[MessageOut]:
    """A chat's transcript, oldest first: any chat with interactions.read, else only one that
    is or was with the caller's own agent."""
    ix = _readable(rt, caller, interaction_id)
    return [MessageOut.of(m) for m in svc.transcript(rt, ix.id, after_id)]


def _readable(rt: Runtime, caller: Caller, interaction_id: str) -> Interaction:
    return readable_interaction(
        caller, rt, interaction_id, "may read only the chats of its own agent"
    )


@router.post(
    "/interactions/{interaction_id}/messages",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def answer(
    interaction_id: str,
    body: AgentMessageIn,
    request: Request,
    rt: RuntimeDep,
    caller: CallerDep,
    chat: WebChatDep,
) -> MessageOut:
    """The connected agent writes in the chat, or answers the text (sent by SMS)."""
    iid = InteractionId(interaction_id)
    check_handle(caller, rt, iid, body.agent_id)
    if request.app.state.texts is None and views.get_interaction(rt, iid).channel is Channel.SMS:
        raise InvalidState(
            "texts cannot be answered here: no SMS provider is set (setting sms_outbound_url)",
            field="sms_outbound_url",
        )
    chat.done_typing(iid, Sender.AGENT)
    return MessageOut.of(svc.do_send(rt, iid, Sender.AGENT, body.body, AgentId(body.agent_id)))


@router.post(
    "/interactions/{interaction_id}/typing",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(requires(Permission.INTERACTIONS_HANDLE))],
)
async def agent_typing(
    interaction_id: str, body: TypingIn, rt: RuntimeDep, caller: CallerDep, chat: WebChatDep
) -> None:
    """The connected agent is typing (the customer's page shows it for a few seconds)."""
    iid = InteractionId(interaction_id)
    check_handle(caller, rt, iid, body.agent_id)
    ix = views.get_interaction(rt, iid)
    if ix.agent_id != body.agent_id or ix.state not in AGENT_STATES:
        raise InvalidState(f"only the agent connected to {iid} types in it", state=ix.state.value)
    chat.set_typing(iid, Sender.AGENT, time.monotonic())


@router.get(
    "/interactions/{interaction_id}/typing",
    dependencies=[Depends(requires(Permission.AGENTS_SELF))],
)
async def typing_now(
    interaction_id: str, rt: RuntimeDep, caller: CallerDep, chat: WebChatDep
) -> TypingOut:
    """Is the customer typing in this chat now?"""
    ix = _readable(rt, caller, interaction_id)
    return TypingOut(customer=chat.typing(ix.id, Sender.CUSTOMER, time.monotonic()))


# --- the customer's side ----------------------------------------------------------------------


def _customer_chat(chat: WebChat, interaction_id: str, given: str | None) -> InteractionId:
    expected = svc.token(chat.cipher, InteractionId(interaction_id))
    if given is None or not hmac.compare_digest(given, expected):
        # without its token a chat does not exist for the caller: not found, not "unauthorized"
        raise NotFound(f"no chat {interaction_id} with this X-Chat-Token", field="X-Chat-Token")
    return InteractionId(interaction_id)


TokenHeader = Annotated[str | None, Header(alias="X-Chat-Token")]


@router.post("/chat", status_code=status.HTTP_201_CREATED, dependencies=[Depends(public)])
async def start_chat(
    body: ChatStartIn, request: Request, rt: RuntimeDep, chat: WebChatDep
) -> ChatStarted:
    """A customer starts a web chat in a queue (with a first message, if they like)."""
    if body.queue_id not in chat.queues:
        raise NotFound(f"no web chat into queue {body.queue_id!r}", field="queue_id")
    chat.admit(request.client.host if request.client else "unknown", time.monotonic())
    attached = {"name": body.name} if body.name else {}
    iid = svc.do_start(rt, QueueId(body.queue_id), body.from_, body.message, attached)
    return ChatStarted(interaction_id=iid, token=svc.token(chat.cipher, iid))


@router.get("/chat/{interaction_id}", dependencies=[Depends(public)])
async def read_chat(
    interaction_id: str,
    rt: RuntimeDep,
    chat: WebChatDep,
    token: TokenHeader = None,
    after_id: Annotated[int, Query(ge=0)] = 0,
    wait: Annotated[float, Query(ge=0, le=30)] = 0,
    state: Annotated[str | None, Query(max_length=20)] = None,
    typing: bool = False,
) -> ChatOut:
    """Where the chat stands, and the messages after `after_id`. A long poll: with `wait`
    (seconds), the `state` the customer last saw and whether the agent was `typing`, when
    nothing is new the answer waits until something happens in the chat."""
    iid = _customer_chat(chat, interaction_id, token)
    seen = views.get_interaction(rt, iid).state.value
    unchanged = state == seen and typing == chat.typing(iid, Sender.AGENT, time.monotonic())
    if wait > 0 and unchanged and not svc.transcript(rt, iid, after_id):
        await chat.wait(iid, wait)
    ix = views.get_interaction(rt, iid)
    agent = rt.center.agents.get(ix.agent_id) if ix.agent_id else None
    return ChatOut(
        interaction_id=iid,
        state=ix.state.value,
        agent=agent.name if agent is not None and ix.state.value == "connected" else None,
        agent_typing=chat.typing(iid, Sender.AGENT, time.monotonic()),
        messages=[MessageOut.of(m) for m in svc.transcript(rt, iid, after_id)],
    )


@router.post(
    "/chat/{interaction_id}/messages",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(public)],
)
async def write_chat(
    interaction_id: str,
    body: CustomerMessageIn,
    rt: RuntimeDep,
    chat: WebChatDep,
    token: TokenHeader = None,
) -> MessageOut:
    iid = _customer_chat(chat, interaction_id, token)
    chat.done_typing(iid, Sender.CUSTOMER)
    return MessageOut.of(svc.do_send(rt, iid, Sender.CUSTOMER, body.body))


@router.post(
    "/chat/{interaction_id}/typing",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(public)],
)
async def customer_typing(
    interaction_id: str, rt: RuntimeDep, chat: WebChatDep, token: TokenHeader = None
) -> None:
    """The customer is typing (the agent's page shows it for a few seconds)."""
    iid = _customer_chat(chat, interaction_id, token)
    if views.get_interaction(rt, iid).is_open:
        chat.set_typing(iid, Sender.CUSTOMER, time.monotonic())


@router.post(
    "/chat/{interaction_id}/end",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(public)],
)
async def leave_chat(
    interaction_id: str, rt: RuntimeDep, chat: WebChatDep, token: TokenHeader = None
) -> None:
    """The customer leaves: the chat ends (the agent wraps up as after a call)."""
    iid = _customer_chat(chat, interaction_id, token)
    ix = views.get_interaction(rt, iid)
    if not ix.is_open:
        raise InvalidState("the chat has already ended", state=ix.state.value)
    interactions_svc.do_end(rt, iid, "customer")
