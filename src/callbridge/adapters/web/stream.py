"""`/ws/events`: the event log as it happens, over a WebSocket, for whoever may see it.

The socket is authorised by the same check as every route (`ws_requires`). Each event is
sent only if the subscriber may see it: with interactions.read, every event in the queues the
subscriber is limited to; otherwise only events about the subscriber's own agent. On connect,
`?after_id=N` first replays the logged events after N, so a client that reconnects misses
nothing; then live events follow, as JSON objects shaped like GET /events.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect

from callbridge.adapters.web.auth import Caller, ws_requires
from callbridge.adapters.web.schemas import EventOut
from callbridge.domain.security.permissions import Permission, Principal
from callbridge.ports import EventBus, StoredEvent
from callbridge.services.runtime import Runtime

router = APIRouter(tags=["events"])
REPLAY_PAGE = 1000


def visible(principal: Principal, event: StoredEvent) -> bool:
    """May this principal see this event?"""
    scope = principal.scope
    if Permission.INTERACTIONS_READ in principal.permissions:
        return scope.queues is None or event.queue_id is None or event.queue_id in scope.queues
    return scope.agent_id is not None and event.agent_id == scope.agent_id


@router.websocket("/ws/events")
async def events(
    websocket: WebSocket,
    caller: Annotated[Caller, Depends(ws_requires(Permission.EVENTS_SUBSCRIBE))],
    after_id: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> None:
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
            tg.start_soon(_watch_close, websocket, tg.cancel_scope)
            async for event in live:
                if event.id > last and visible(caller.principal, event):
                    last = event.id
                    await websocket.send_json(EventOut.of(event).model_dump(mode="json"))
            tg.cancel_scope.cancel()
    except WebSocketDisconnect:
        pass
    finally:
        await live.aclose()  # type: ignore[attr-defined]  # an async generator


async def _watch_close(websocket: WebSocket, scope: anyio.CancelScope) -> None:
    """Stop streaming when the client goes away (the stream itself may be idle)."""
    try:
        while True:
            await websocket.receive_text()  # clients may send pings; nothing else is expected
    except WebSocketDisconnect:
        scope.cancel()
