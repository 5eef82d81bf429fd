"""`/ws/events`: the event log as it happens, over a WebSocket, for whoever may see it.

The socket is authorised by the same check as every route (`ws_requires`). Each event is
sent as the subscriber may see it (`visibility.py`, the same projection as GET /events): with
interactions.read over every queue, all of them; limited to some queues, the events of the
interactions in those queues and of the agents who serve them (their other work withheld down
to what their state needs); otherwise only events about the subscriber's own agent.

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

The queues and the broadcaster that encodes each frame once for all sockets are in
`broadcast.py`; here each socket replays what it missed, then writes what it is handed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect

from callbridge.adapters.web.auth import Caller, ws_requires
from callbridge.adapters.web.broadcast import (
    REPLAY_PAGE,
    ClientQueue,
    Connection,
    Hub,
    encode,
    frame,
    last_logged_id,
)
from callbridge.adapters.web.schemas import EventOut
from callbridge.adapters.web.visibility import Whereabouts, project
from callbridge.domain.security.permissions import Permission, Principal
from callbridge.ports import EventBus
from callbridge.services.runtime import Runtime

__all__ = ["QUEUE_GONE", "TRY_AGAIN", "Connection", "Hub", "last_logged_id", "router"]

router = APIRouter(tags=["events"])
QUEUE_GONE = 4410  # close code: the queue is unknown or expired; read a fresh snapshot
TRY_AGAIN = 1013  # close code: too far behind; reconnect and resume from the log
CLOSE_WAIT_S = 5.0  # a socket cut off for not reading may not read its close frame either


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
    places = Whereabouts(rt.store)  # for a queue-limited subscriber: where each interaction is
    last = after_id
    try:
        if after_id:
            while batch := rt.store.events(after_id=last, limit=REPLAY_PAGE):
                last = batch[-1].id
                for event in project(caller.principal, rt.center, places, batch):
                    await websocket.send_json(EventOut.of(event).model_dump(mode="json"))
        async with anyio.create_task_group() as tg:
            tg.start_soon(_watch_close, websocket, tg.cancel_scope, None)
            async for logged in live:
                if logged.id <= last:
                    continue
                last = logged.id
                for event in project(caller.principal, rt.center, places, [logged]):
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
    hub.connections.add(conn)  # live events are held while the log is replayed
    try:
        async with anyio.create_task_group() as tg:
            conn.scope = tg.cancel_scope
            tg.start_soon(_watch_close, websocket, tg.cancel_scope, lambda n: _ack(queue, conn, n))
            await _replay(websocket, hub, conn)
            await _write(websocket, conn)
        if conn.overflowed:
            with anyio.move_on_after(CLOSE_WAIT_S):
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
    """What the client missed, from the log, in frames of at most a page; then live."""
    after = conn.last_sent
    places = Whereabouts(hub.rt.store)
    while page := hub.rt.store.events(after_id=after, limit=REPLAY_PAGE):
        after = page[-1].id
        texts = [encode(e) for e in project(conn.principal, hub.rt.center, places, page)]
        if texts:
            await websocket.send_text(frame(texts))
        conn.last_sent = after
    conn.sent_at = anyio.current_time()
    conn.send = websocket.send_text  # the broadcaster writes from now on, while it can
    hub.go_live(conn)  # in the same step as the last read: nothing falls in between


async def _write(websocket: WebSocket, conn: Connection) -> None:
    """Write what the broadcaster hands this socket while a write to it blocked the
    broadcaster (`Connection.slow`), until it has caught up; runs until cancelled (the client
    left, or fell too far behind)."""
    while True:
        taken = conn.take() if conn.slow else None  # else the broadcaster writes
        if taken is None:
            await conn.wake.wait()
            conn.wake = anyio.Event()
            continue
        text, last_id = taken
        await websocket.send_text(text)
        conn.last_sent = max(conn.last_sent, last_id)
        conn.sent_at = anyio.current_time()
        if not conn.chunks:
            conn.slow = False  # caught up: the broadcaster writes again


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
