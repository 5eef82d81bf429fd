"""Agents' replies to texts, sent through the SMS provider.

A reply is a `chat_message` event of an SMS interaction written by its agent, so the event log
is the outbox: the sender follows the log from a cursor kept in the database, sends each reply
in order, and moves the cursor past it once the provider has taken it. A restart resumes at the
cursor, so a reply is never lost, and one whose answer was lost is sent again with the same
delivery id for the provider to drop. While the provider is down or busy, replies wait (backoff
up to a minute) in order; a reply the provider refuses for good is logged and skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import anyio
import structlog

from callbridge.domain.channels import Channel
from callbridge.domain.chat import Sender
from callbridge.domain.events import ChatMessage
from callbridge.domain.ids import InteractionId
from callbridge.ports import StoredEvent
from callbridge.services.runtime import Runtime

log = structlog.get_logger(__name__)

CURSOR = "sms_replies"  # the name of the sender's place in the log


@dataclass(frozen=True, slots=True)
class OutboundText:
    event_id: int  # the message's event: its order, and the delivery id the provider dedupes by
    interaction_id: str
    from_address: str  # the number the customer wrote to
    to_address: str  # the customer's
    body: str


class TextNotSent(Exception):
    """The provider did not take the text; `retry`: worth another try later."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason, self.retry = reason, retry


class TextSender(Protocol):
    async def send(self, text: OutboundText) -> None:
        """Hand one text to the provider, or raise `TextNotSent`."""
        ...

    async def aclose(self) -> None:
        """Let go of connections (the sender is done)."""
        ...


class Cursor(Protocol):
    def get(self) -> int | None: ...

    def set(self, event_id: int) -> None: ...

    def head(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    first_s: float = 1.0
    max_s: float = 60.0

    def delay(self, failures: int) -> float:
        return min(self.first_s * 2.0 ** (failures - 1), self.max_s)


class TextReplies:
    """Follows the event log and sends agents' replies to texts, in order, at least once."""

    def __init__(
        self,
        rt: Runtime,
        sender: TextSender,
        cursor: Cursor,
        *,
        batch: int = 200,
        interval_s: float = 1.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self._rt, self._sender, self._cursor = rt, sender, cursor
        self._batch, self._interval_s = batch, interval_s
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self.sent = 0
        self.refused = 0

    def reply_in(self, event: StoredEvent) -> OutboundText | None:
        """The text to send for `event`, if it is an agent's message in an SMS interaction."""
        if event.kind != ChatMessage.kind or event.payload.get("sender") != Sender.AGENT.value:
            return None
        iid = InteractionId(str(event.interaction_id))
        ix = self._rt.center.interactions.get(iid) or self._rt.store.get_interaction(iid)
        if ix is None or ix.channel is not Channel.SMS:
            return None
        return OutboundText(
            event.id, iid, ix.to_address, ix.from_address, str(event.payload["body"])
        )

    async def run(self) -> None:
        """Forever: from the cursor (first run: from now on, not the history), each reply."""
        position = await anyio.to_thread.run_sync(self._cursor.get)
        if position is None:
            position = await anyio.to_thread.run_sync(self._cursor.head)
            await anyio.to_thread.run_sync(self._cursor.set, position)
        try:
            while True:
                position = await self.step(position)
        finally:
            with anyio.CancelScope(shield=True):
                await self._sender.aclose()

    async def step(self, position: int) -> int:
        """One batch of the log after `position`; where the cursor then stands."""
        events = await anyio.to_thread.run_sync(
            lambda: self._rt.store.events(after_id=position, limit=self._batch)
        )
        if not events:
            await self._sleep(self._interval_s)
            return position
        for event in events:
            text = self.reply_in(event)
            if text is not None:
                await self._deliver(text)
                await anyio.to_thread.run_sync(self._cursor.set, event.id)
        last = events[-1].id
        await anyio.to_thread.run_sync(self._cursor.set, last)
        return last

    async def _deliver(self, text: OutboundText) -> None:
        failures = 0
        while True:
            try:
                await self._sender.send(text)
            except TextNotSent as exc:
                failures += 1
                if not exc.retry:
                    self.refused += 1
                    log.error(
                        "sms_reply_refused",
                        interaction_id=text.interaction_id,
                        event_id=text.event_id,
                        reason=exc.reason,
                    )
                    return
                log.warning("sms_reply_retry", event_id=text.event_id, reason=exc.reason)
                await self._sleep(self._backoff.delay(failures))
                continue
            self.sent += 1
            return
