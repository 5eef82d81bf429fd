"""The in-process event bus: one bounded asyncio queue per subscriber."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import structlog

from callbridge.ports import StoredEvent

log = structlog.get_logger(__name__)


class MemoryBus:
    """Delivers each published event to every current subscriber, in publish order.

    A subscriber that falls `max_backlog` events behind is cut off (its iterator ends) rather
    than letting memory grow without bound; it resumes from the event log by id.
    """

    def __init__(self, max_backlog: int = 10_000) -> None:
        self._max_backlog = max_backlog
        self._subscribers: set[asyncio.Queue[StoredEvent | None]] = set()

    def publish(self, events: Sequence[StoredEvent]) -> None:
        for queue in list(self._subscribers):
            for event in events:
                if queue.qsize() >= self._max_backlog:
                    log.warning("bus_subscriber_dropped", backlog=queue.qsize())
                    self._subscribers.discard(queue)
                    queue.put_nowait(None)
                    break
                queue.put_nowait(event)

    async def subscribe(self) -> AsyncIterator[StoredEvent]:
        queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._subscribers.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
