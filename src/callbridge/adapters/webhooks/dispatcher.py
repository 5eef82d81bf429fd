"""`WebhookDispatcher`: every event on the bus, POSTed as signed JSON to each subscriber.

One worker per subscription delivers that subscription's events in order, so a slow or dead
receiver delays only itself. A delivery is retried with exponential backoff on connection
errors, time-outs, 408, 429 and 5xx, a bounded number of times; each attempt is signed afresh,
so a late retry is not refused as a replay. Receivers deduplicate by `Callbridge-Delivery`
(the event id), since a delivery whose answer was lost is sent again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

import anyio
import httpx
import structlog
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from callbridge import __version__
from callbridge.domain.clock import Clock
from callbridge.ports import EventBus, JsonValue, StoredEvent
from callbridge.services.webhooks import HEADER, Subscription, sign

log = structlog.get_logger(__name__)

RETRYABLE = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6  # in all, the first included
    first_delay_s: float = 1.0
    max_delay_s: float = 60.0
    timeout_s: float = 10.0

    def delay(self, failed_attempts: int) -> float:
        """The wait after the n-th failed attempt: doubling, capped."""
        return min(self.first_delay_s * 2.0 ** (failed_attempts - 1), self.max_delay_s)


class SubscriptionSource(Protocol):
    @property
    def generation(self) -> int:
        """Changes when the subscriptions do (in this process)."""
        ...

    def active_with_secrets(self) -> list[tuple[Subscription, str]]:
        """The active subscriptions and their signing secrets."""
        ...


def event_json(event: StoredEvent) -> dict[str, JsonValue]:
    """The body of one delivery."""
    return {
        "id": event.id,
        "at": event.at,
        "kind": event.kind,
        "interaction_id": event.interaction_id,
        "agent_id": event.agent_id,
        "queue_id": event.queue_id,
        "payload": event.payload,
    }


@dataclass(slots=True)
class _Worker:
    url: str
    secret: str
    send: MemoryObjectSendStream[StoredEvent]


@dataclass
class WebhookDispatcher:
    subscriptions: SubscriptionSource
    bus: EventBus
    clock: Clock
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    backlog: int = 1000  # events queued per subscription before new ones are dropped
    refresh_s: float = 30.0  # reread subscriptions at least this often (other nodes' changes)
    transport: httpx.AsyncBaseTransport | None = None
    _workers: dict[str, _Worker] = field(default_factory=dict, init=False)
    _seen: tuple[int, float] | None = field(default=None, init=False)
    _current: list[tuple[Subscription, str]] = field(default_factory=list, init=False)

    async def run(self) -> None:
        """Deliver until cancelled."""
        timeout = httpx.Timeout(self.retry.timeout_s)
        async with (
            httpx.AsyncClient(timeout=timeout, transport=self.transport) as client,
            anyio.create_task_group() as tg,
        ):
            try:
                while True:
                    async for event in self.bus.subscribe():
                        self._dispatch(event, client, tg)
                    # cut off for falling behind: what was missed stays in the event log
                    log.warning("webhooks_resubscribed")
            finally:
                for worker in self._workers.values():
                    worker.send.close()

    def _dispatch(self, event: StoredEvent, client: httpx.AsyncClient, tg: TaskGroup) -> None:
        for sub, secret in self._subscriptions():
            if not sub.wants(event.kind):
                continue
            worker = self._worker(sub, secret, client, tg)
            try:
                worker.send.send_nowait(event)
            except anyio.WouldBlock:
                log.error("webhook_backlog_full", webhook_id=sub.id, event_id=event.id)

    def _subscriptions(self) -> list[tuple[Subscription, str]]:
        now = anyio.current_time()
        generation = self.subscriptions.generation
        seen = self._seen
        if seen is None or seen[0] != generation or now - seen[1] > self.refresh_s:
            try:
                self._current = self.subscriptions.active_with_secrets()
            except Exception as exc:  # keep the last list; the store may be back next time
                log.error("webhooks_unreadable", error=str(exc))
            self._seen = (generation, now)
            wanted = {sub.id: (sub.url, secret) for sub, secret in self._current}
            for sub_id, worker in list(self._workers.items()):
                if wanted.get(sub_id) != (worker.url, worker.secret):
                    worker.send.close()  # its worker finishes what it holds, then ends
                    del self._workers[sub_id]
        return self._current

    def _worker(
        self, sub: Subscription, secret: str, client: httpx.AsyncClient, tg: TaskGroup
    ) -> _Worker:
        worker = self._workers.get(sub.id)
        if worker is None:
            send, receive = anyio.create_memory_object_stream[StoredEvent](self.backlog)
            worker = self._workers[sub.id] = _Worker(sub.url, secret, send)
            tg.start_soon(self._deliver_all, sub, secret, receive, client)
        return worker

    async def _deliver_all(
        self,
        sub: Subscription,
        secret: str,
        receive: MemoryObjectReceiveStream[StoredEvent],
        client: httpx.AsyncClient,
    ) -> None:
        async with receive:
            async for event in receive:
                await self.deliver(client, sub, secret, event)

    async def deliver(
        self, client: httpx.AsyncClient, sub: Subscription, secret: str, event: StoredEvent
    ) -> bool:
        """POST one event, retrying as the policy says; whether it was accepted."""
        body = json.dumps(event_json(event), separators=(",", ":"), sort_keys=True).encode()
        where = {"webhook_id": sub.id, "event_id": event.id, "kind": event.kind}
        for attempt in range(1, self.retry.attempts + 1):
            headers = {
                "Content-Type": "application/json",
                "User-Agent": f"Callbridge/{__version__}",
                HEADER: sign(secret, self.clock.now(), body),
                "Callbridge-Event": event.kind,
                "Callbridge-Delivery": str(event.id),
                "Callbridge-Webhook": sub.id,
            }
            try:
                response = await client.post(sub.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if response.is_success:
                    return True
                if status < 500 and status not in RETRYABLE:
                    log.error("webhook_refused", status=status, **where)
                    return False
                problem = f"HTTP {status}"
            if attempt == self.retry.attempts:
                log.error("webhook_failed", attempts=attempt, error=problem, **where)
                return False
            log.warning("webhook_retry", attempt=attempt, error=problem, **where)
            await anyio.sleep(self.retry.delay(attempt))
        return False
