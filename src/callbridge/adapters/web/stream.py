"""`/ws/events`: the event log as it happens, over a WebSocket, for whoever may see it.

The socket is authorised by the same check as every route (`ws_requires`). Each event is
sent only if the subscriber may see it: with interactions.read, every event in the queues the
subscriber is limited to; otherwise only events about the subscriber's own agent.

Two ways to follow the log:

- Raw (`?after_id=N`): the logged events after N are replayed first, then live events follow,
  each as one JSON object shaped like GET /events. For integrations.
- With a resumable queue (`?queue_id=Q&last_event_id=N`), what the browser pages use. A page
  reads a snapshot of its view, which registers a queue positioned at the snapshot's last
  event (`Hub.register`). The socket then sends frames `{"type": "events", "events": [...]}`
  (a batch, oldest first, never an event twice nor one skipped), `{"type": "heartbeat"}` when
  idle for `heartbeat_s`, and `{"type": "queue_gone"}` before closing with code 4410 when the
  queue is unknown, expired or not the caller's: the page then reads a fresh snapshot. The
  client sends `{"ack": N}` once it has applied (and saved) events up to N; a reconnect, or
  a page refreshed from its saved state, resumes from any N at or after its last ack. A queue
  without a socket for `idle_s` is dropped. A client that falls `max_pending` events behind is
  closed (1013) and resumes from the log when it reconnects.

One `Hub` per app follows the bus, encodes each event once and hands it to every socket that
may see it; each socket sends what piled up as one frame, at most every `flush_s`, so a burst
costs a frame per client, not a frame per event.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
import structlog
from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect

from callbridge.adapters.web.auth import Caller, ws_requires
from callbridge.adapters.web.schemas import EventOut
from callbridge.domain.security.permissions import Permission, Principal
from callbridge.ports import EventBus, Store, StoredEvent
from callbridge.services.runtime import Runtime

log = structlog.get_logger(__name__)
router = APIRouter(tags=["events"])
REPLAY_PAGE = 1000
QUEUE_GONE = 4410  # close code: the queue is unknown or expired; read a fresh snapshot
TRY_AGAIN = 1013  # close code: too far behind; reconnect and resume from the log


def visible(principal: Principal, event: StoredEvent) -> bool:
    """May this principal see this event?"""
    scope = principal.scope
    if Permission.INTERACTIONS_READ in principal.permissions:
        return scope.queues is None or event.queue_id is None or event.queue_id in scope.queues
    return scope.agent_id is not None and event.agent_id == scope.agent_id


def encode(event: StoredEvent) -> str:
    """One event as the JSON text every subscriber gets (the shape of GET /events)."""
    return json.dumps(
        {
            "id": event.id,
            "at": event.at,
            "kind": event.kind,
            "interaction_id": event.interaction_id,
            "agent_id": event.agent_id,
            "queue_id": event.queue_id,
            "payload": event.payload,
        },
        separators=(",", ":"),
    )


def last_logged_id(store: Store, known: int = 0) -> int:
    """The id of the newest logged event (0 for none), given that `known` is logged or 0.

    Ids only grow, so "is any event after x" is monotone in x: a doubling search brackets the
    newest, halving narrows it, and the last stretch is read in pages. About 2·log2(id) reads
    of one row each.
    """
    found = store.events(after_id=known, limit=1)
    if not found:
        return known
    low, step = found[0].id, 1  # low is logged
    while found := store.events(after_id=low + step, limit=1):
        low, step = found[0].id, step * 2
    high = low + step  # nothing after high
    while high - low > REPLAY_PAGE:
        middle = (low + high) // 2
        found = store.events(after_id=middle, limit=1)
        if found:
            low = found[0].id
        else:
            high = middle
    while page := store.events(after_id=low, limit=REPLAY_PAGE):
        low = page[-1].id
    return low


@dataclass(slots=True)
class ClientQueue:
    """One page's place in the event log: what it acknowledged, and whether it is in use."""

    id: str
    user_id: str
    acked: int
    sockets: int = 0
    idle_since: float | None = None  # runtime clock; None while a socket is open


@dataclass(eq=False, slots=True)
class Connection:
    """One open socket of a queue: the events waiting to be sent to it."""

    principal: Principal
    last_sent: int
    pending: list[tuple[int, str]] = field(default_factory=list)
    wake: anyio.Event = field(default_factory=anyio.Event)
    overflowed: bool = False


class Hub:
    """The queues of the pages, and the one subscription to the bus that feeds their sockets."""

    def __init__(
        self,
        rt: Runtime,
        *,
        heartbeat_s: float = 15.0,
        idle_s: float = 600.0,
        flush_s: float = 0.05,
        max_pending: int = 20_000,
    ) -> None:
        self.rt = rt
        self.heartbeat_s, self.idle_s = heartbeat_s, idle_s
        self.flush_s, self.max_pending = flush_s, max_pending
        self.queues: dict[str, ClientQueue] = {}
        self.connections: set[Connection] = set()
        self._last_id = last_logged_id(rt.store)
        self.running = False

    def position(self) -> int:
        """The id of the newest logged event. A snapshot taken in the same step of the event
        loop (no await between) shows exactly the events up to it."""
        self._last_id = last_logged_id(self.rt.store, self._last_id)
        return self._last_id

    def register(self, principal: Principal, after_id: int) -> ClientQueue:
        """A new queue for a snapshot that shows the events up to `after_id`."""
        self.sweep()
        queue = ClientQueue(
            secrets.token_urlsafe(16), principal.user_id, after_id, idle_since=self.rt.clock.now()
        )
        self.queues[queue.id] = queue
        return queue

    def sweep(self) -> int:
        """Drop the queues nobody has used for `idle_s`; returns how many."""
        cutoff = self.rt.clock.now() - self.idle_s
        gone = [
            q.id
            for q in self.queues.values()
            if q.sockets == 0 and q.idle_since is not None and q.idle_since <= cutoff
        ]
        for queue_id in gone:
            del self.queues[queue_id]
        return len(gone)

    def claim(self, queue_id: str, principal: Principal, last_event_id: int) -> ClientQueue | None:
        """The caller's queue, if it still exists and the client is not behind its own ack."""
        self.sweep()
        queue = self.queues.get(queue_id)
        if queue is None or queue.user_id != principal.user_id or last_event_id < queue.acked:
            return None
        queue.sockets += 1
        queue.idle_since = None
        return queue

    def release(self, queue: ClientQueue) -> None:
        queue.sockets = max(0, queue.sockets - 1)
        if queue.sockets == 0:
            queue.idle_since = self.rt.clock.now()

    def publish(self, event: StoredEvent) -> None:
        """Hand one event to every open socket that may see it."""
        text: str | None = None
        for conn in self.connections:
            if event.id <= conn.last_sent or not visible(conn.principal, event):
                continue
            if text is None:
                text = encode(event)
            conn.pending.append((event.id, text))
            if len(conn.pending) > self.max_pending:
                conn.overflowed = True
            conn.wake.set()

    async def run(self) -> None:
        """Follow the bus for as long as the app runs; catch up from the log if cut off."""
        bus: EventBus = self.rt.bus
        self.running = True
        try:
            while True:
                live = bus.subscribe()
                try:
                    caught_up = self._last_id
                    for event in self._logged_after(caught_up):  # published while resubscribing
                        self.publish(event)
                        self._last_id = max(self._last_id, event.id)
                    async for event in live:
                        if event.id > caught_up:
                            self.publish(event)
                            self._last_id = max(self._last_id, event.id)
                finally:
                    await live.aclose()  # type: ignore[attr-defined]  # an async generator
                log.warning("event_hub_resubscribing", last_id=self._last_id)
        finally:
            self.running = False

    def _logged_after(self, after_id: int) -> list[StoredEvent]:
        found: list[StoredEvent] = []
        while page := self.rt.store.events(after_id=after_id, limit=REPLAY_PAGE):
            found += page
            after_id = page[-1].id
        return found


def _frame(texts: list[str]) -> str:
    return '{"type":"events","events":[' + ",".join(texts) + "]}"


@router.websocket("/ws/events")
async def events(
    websocket: WebSocket,
    caller: Annotated[Caller, Depends(ws_requires(Permission.EVENTS_SUBSCRIBE))],
    after_id: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    queue_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    last_event_id: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> None:
    if queue_id is not None:
        await _follow_queue(websocket, caller.principal, queue_id, last_event_id)
        return
    rt: Runtime = websocket.app.state.runtime
    bus: EventBus = rt.bus
    await websocket.accept()
    live = bus.subscribe()  # subscribe before replaying, so nothing falls in between
    last = after_id
    try:
        if after_id:
            while batch := rt.store.events(after_id=last, limit=REPLAY_PAGE):
                for event in batch:
                    last = event.id
                    if visible(caller.principal, event):
                        await websocket.send_json(EventOut.of(event).model_dump(mode="json"))
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_close, websocket, tg.cancel_scope, None)
            async for event in live:
                if event.id > last and visible(caller.principal, event):
                    last = event.id
                    await websocket.send_json(EventOut.of(event).model_dump(mode="json"))
            tg.cancel_scope.cancel()
    except* WebSocketDisconnect:
        pass
    finally:
        await live.aclose()  # type: ignore[attr-defined]  # an async generator


async def _follow_queue(
    websocket: WebSocket, principal: Principal, queue_id: str, last_event_id: int
) -> None:
    hub: Hub = websocket.app.state.hub
    await websocket.accept()
    queue = hub.claim(queue_id, principal, last_event_id) if hub.running else None
    if queue is None:
        await websocket.send_text('{"type":"queue_gone"}')
        await websocket.close(QUEUE_GONE, "queue_gone: read a fresh snapshot")
        return
    conn = Connection(principal, last_event_id)
    hub.connections.add(conn)  # live events pile up in pending while the log is replayed
    try:
        await _replay(websocket, hub, conn)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_close, websocket, tg.cancel_scope, lambda n: _ack(queue, conn, n))
            await _send_live(websocket, hub, conn)
            tg.cancel_scope.cancel()
        await websocket.close(TRY_AGAIN, "too far behind: reconnect to resume")
    except* WebSocketDisconnect:
        pass
    finally:
        hub.connections.discard(conn)
        hub.release(queue)


def _ack(queue: ClientQueue, conn: Connection, event_id: int) -> None:
    """The client applied everything up to `event_id` (never beyond what it was sent)."""
    queue.acked = max(queue.acked, min(event_id, conn.last_sent))


async def _replay(websocket: WebSocket, hub: Hub, conn: Connection) -> None:
    """What the client missed, from the log, in frames of at most a page."""
    after = conn.last_sent
    while page := hub.rt.store.events(after_id=after, limit=REPLAY_PAGE):
        after = page[-1].id
        texts = [encode(e) for e in page if visible(conn.principal, e)]
        if texts:
            await websocket.send_text(_frame(texts))
        conn.last_sent = after
    conn.pending = [(i, t) for i, t in conn.pending if i > conn.last_sent]


async def _send_live(websocket: WebSocket, hub: Hub, conn: Connection) -> None:
    """Send what piles up, one frame at a time; a heartbeat when nothing has for a while.
    Returns when the client fell too far behind."""
    while True:
        if not conn.pending:
            with anyio.move_on_after(hub.heartbeat_s):
                await conn.wake.wait()
            conn.wake = anyio.Event()
        if _behind(conn):
            return
        if not conn.pending:
            await websocket.send_text('{"type":"heartbeat"}')
            continue
        batch, conn.pending = conn.pending, []
        conn.last_sent = batch[-1][0]
        await websocket.send_text(_frame([t for _, t in batch]))
        if hub.flush_s:
            await anyio.sleep(hub.flush_s)  # let a burst gather into the next frame


def _behind(conn: Connection) -> bool:
    return conn.overflowed


async def _watch_close(
    websocket: WebSocket, scope: anyio.CancelScope, on_ack: Callable[[int], None] | None
) -> None:
    """Stop streaming when the client goes away (the stream itself may be idle); take acks."""
    try:
        while True:
            text = await websocket.receive_text()  # pings are welcome; acks are read
            if on_ack is not None:
                ack = _ack_of(text)
                if ack is not None:
                    on_ack(ack)
    except WebSocketDisconnect:
        scope.cancel()


def _ack_of(text: str) -> int | None:
    try:
        message: Any = json.loads(text)
    except ValueError:
        return None
    value = message.get("ack") if isinstance(message, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
