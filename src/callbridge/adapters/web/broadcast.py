"""The pages' event queues and the one broadcaster that feeds their sockets.

One `Hub` per app follows the bus. Events gather into a batch; once per tick (at most every
`flush_s`) the broadcaster splits the open sockets by what they may see (`view_of`), encodes
each view's frame once, hands the same string to every socket of that view, and writes them
all in one pass (`Hub.deliver`): per socket one write, with no encoding, no filtering, no task
switch and no timer. A write that would wait (a client that does not read) is left to that
socket's own task until it catches up, and what piled up goes as one frame; a socket more than
`max_pending` events behind is cut off (its tasks are cancelled, it closes with 1013 and the
page resumes from the log). So a slow client never holds up the others, and no client ever
silently misses an event.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import structlog

from callbridge.adapters.web.visibility import Form, Placed, Viewer, Whereabouts, shown, viewer_of
from callbridge.domain.security.permissions import Permission, Principal
from callbridge.ports import EventBus, Store, StoredEvent
from callbridge.services.runtime import Runtime

log = structlog.get_logger(__name__)
REPLAY_PAGE = 1000
HEARTBEAT = '{"type":"heartbeat"}'

View = tuple[str, frozenset[str] | str | None]  # who sees the same events sees the same frames


def view_of(principal: Principal) -> View:
    """What a principal's share of the log depends on: principals with the same view get the
    same events in the same forms (`visibility.Viewer`)."""
    if Permission.INTERACTIONS_READ in principal.permissions:
        return ("queues", principal.scope.queues)
    return ("agent", principal.scope.agent_id)


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


def frame(texts: list[str]) -> str:
    """The frame of a batch of encoded events, oldest first."""
    return '{"type":"events","events":[' + ",".join(texts) + "]}"


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


@dataclass(frozen=True, slots=True)
class Chunk:
    """Events handed to one or more sockets: their frame, and the events alone for joining."""

    last_id: int
    count: int
    events: str  # the encoded events, comma-separated; "" for a heartbeat
    frame: str


@dataclass(eq=False, slots=True)
class Connection:
    """One open socket of a queue: what it was sent, and what waits for its task to write."""

    principal: Principal
    last_sent: int  # the newest event id written to the socket
    view: View = ("", None)
    queued_to: int = 0  # the newest event id handed to it (written or waiting)
    live: bool = False  # False while the log is replayed to it: live events are held
    held: list[tuple[int, str]] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    waiting: int = 0  # events in chunks
    wake: anyio.Event = field(default_factory=anyio.Event)
    sent_at: float = 0.0  # event-loop time of the last write
    overflowed: bool = False
    scope: anyio.CancelScope | None = None  # the socket's tasks, cancelled when cut off
    send: Callable[[str], Awaitable[None]] | None = None  # for the broadcaster to write with
    slow: bool = False  # a write blocked: its own task writes until it has caught up

    def __post_init__(self) -> None:
        self.view = view_of(self.principal)
        self.queued_to = max(self.queued_to, self.last_sent)

    def take(self) -> tuple[str, int] | None:
        """What waits, as one frame, and the newest event id in it (None for nothing); it
        no longer waits."""
        taken = self.peek()
        self.chunks, self.waiting = [], 0
        return taken

    def peek(self) -> tuple[str, int] | None:
        """What waits, as one frame, and the newest event id in it; None for nothing."""
        chunks = self.chunks
        if not chunks:
            return None
        if len(chunks) == 1:
            return chunks[0].frame, chunks[0].last_id
        joined = [c.events for c in chunks if c.events]
        return (frame(joined) if joined else HEARTBEAT), chunks[-1].last_id


class Hub:
    """The queues of the pages, and the one subscription to the bus that feeds their sockets."""

    def __init__(
        self,
        rt: Runtime,
        *,
        heartbeat_s: float = 15.0,
        idle_s: float = 600.0,
        flush_s: float = 0.05,
        max_pending: int = 2_000,
        blocked_s: float = 0.0,
    ) -> None:
        self.rt = rt
        self.heartbeat_s, self.idle_s = heartbeat_s, idle_s
        self.flush_s, self.max_pending, self.blocked_s = flush_s, max_pending, blocked_s
        self._due: list[Connection] = []  # handed something, for the broadcaster to write
        self.blocked = 0  # writes given up because they would wait, since the start
        self.queues: dict[str, ClientQueue] = {}
        self.connections: set[Connection] = set()
        self._last_id = last_logged_id(rt.store)
        self.places = Whereabouts(rt.store)  # where each interaction is, as the events go out
        self._batch: list[StoredEvent] = []
        self._arrived = anyio.Event()
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
        """A socket of this queue closed."""
        queue.sockets = max(0, queue.sockets - 1)
        if queue.sockets == 0:
            queue.idle_since = self.rt.clock.now()

    def publish(self, event: StoredEvent) -> None:
        """Take one event for the next tick."""
        self._batch.append(event)
        self._arrived.set()

    def go_live(self, conn: Connection) -> None:
        """The log is replayed to `conn` up to `conn.last_sent`: hand it the live events held
        meanwhile (those not replayed) and, from now on, its share of every tick."""
        texts = [t for i, t in conn.held if i > conn.last_sent]
        conn.queued_to = max(conn.last_sent, conn.held[-1][0] if conn.held else 0)
        conn.held, conn.live = [], True
        if texts:
            self._hand(conn, Chunk(conn.queued_to, len(texts), ",".join(texts), frame(texts)))
            self._arrived.set()  # the broadcaster writes it

    def flush(self) -> int:
        """Hand the batch to every socket that may see it, one frame per view; returns how many
        events went out."""
        batch, self._batch = self._batch, []
        if not batch:
            return 0
        views: dict[View, list[Connection]] = {}
        for conn in self.connections:
            views.setdefault(conn.view, []).append(conn)
        limited = any(view[0] == "queues" and view[1] is not None for view in views)
        placed = [self.places.place(e, prime=limited) for e in batch]  # even with no socket
        if not views:
            return len(batch)
        logged = [encode(e) for e in batch]
        others: dict[tuple[int, Form], str] = {}  # other forms, encoded once for every view
        first, last = batch[0].id, batch[-1].id
        for connections in views.values():
            viewer = viewer_of(connections[0].principal, self.rt.center)
            share = _share(viewer, batch, placed, logged, others)
            chunk: Chunk | None = None
            for conn in connections:
                if not conn.live:
                    conn.held += share
                elif conn.queued_to >= first:  # rare: it was handed some of these already
                    texts = [t for i, t in share if i > conn.queued_to]
                    if texts:
                        self._hand(conn, Chunk(last, len(texts), ",".join(texts), frame(texts)))
                elif share:
                    if chunk is None:
                        texts = [t for _, t in share]
                        chunk = Chunk(last, len(texts), ",".join(texts), frame(texts))
                    self._hand(conn, chunk)
        return len(batch)

    def beat(self, now: float) -> None:
        """A heartbeat for every live socket that has written nothing for `heartbeat_s`."""
        for conn in list(self.connections):
            if conn.live and not conn.chunks and now - conn.sent_at >= self.heartbeat_s:
                self._hand(conn, Chunk(conn.last_sent, 0, "", HEARTBEAT))
        if self._due:
            self._arrived.set()  # the broadcaster writes them

    def _hand(self, conn: Connection, chunk: Chunk) -> None:
        conn.chunks.append(chunk)
        conn.waiting += chunk.count
        conn.queued_to = max(conn.queued_to, chunk.last_id)
        if conn.waiting > self.max_pending:
            self.cut_off(conn)
        elif conn.send is not None and not conn.slow:
            self._due.append(conn)
        else:
            conn.wake.set()

    def cut_off(self, conn: Connection) -> None:
        """Too far behind: stop feeding `conn` and cancel its socket's tasks (it closes with
        1013 and resumes from the log when it reconnects)."""
        conn.overflowed = True
        self.drop(conn)

    def drop(self, conn: Connection) -> None:
        """Stop feeding `conn` and cancel its socket's tasks."""
        conn.chunks, conn.waiting = [], 0
        self.connections.discard(conn)
        if conn.scope is not None:
            conn.scope.cancel()
        conn.wake.set()

    async def run(self) -> None:
        """Follow the bus, broadcast and beat for as long as the app runs."""
        self._arrived = anyio.Event()  # of this event loop (a test app may run in several)
        self.running = True
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._broadcast)
                tg.start_soon(self._heartbeats)
                await self._follow()
        finally:
            self.running = False

    async def _follow(self) -> None:
        """Take the bus's events into the batch; catch up from the log if cut off."""
        bus: EventBus = self.rt.bus
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

    async def _broadcast(self) -> None:
        """One tick per `flush_s` at most, counted from the end of the last pass: a burst costs
        one frame per socket, not one per event; a busy server sends fewer, fuller frames; an
        event after a quiet spell goes out at once."""
        flushed = -self.flush_s
        while True:
            await self._arrived.wait()
            wait = flushed + self.flush_s - anyio.current_time()
            if wait > 0:
                await anyio.sleep(wait)
            self._arrived = anyio.Event()
            self.flush()
            await self.deliver()
            flushed = anyio.current_time()  # from the end of the pass: a slow pass spaces ticks

    async def deliver(self) -> None:
        """Write what was handed to the sockets, one after the other, from this one task.

        Writing to a socket only waits when its transport's buffer is full (a client that does
        not read); otherwise it completes without yielding to the event loop. A write that has
        to wait longer than `blocked_s` (by default: at all) is given up (the server writes a
        message whole or not at all), the frame stays with the socket, and that socket's own
        task writes for it until it has caught up; the pass goes on with the others.
        """
        due, self._due = iter(self._due), []
        while True:
            writing: Connection | None = None
            with anyio.move_on_after(self.blocked_s) as waited:
                for writing in due:  # on from where a blocked write was given up
                    await self._write(writing)
            if not waited.cancelled_caught or writing is None:
                return
            writing.slow = True
            writing.wake.set()
            self.blocked += 1

    async def _write(self, conn: Connection) -> None:
        if conn.slow or conn.send is None or conn not in self.connections:
            return
        taken = conn.peek()
        if taken is None:
            return
        text, last_id = taken
        try:
            await conn.send(text)
        except Exception:  # the socket is gone: its own task sees that and cleans up
            self.drop(conn)
            return
        conn.chunks, conn.waiting = [], 0
        conn.last_sent = max(conn.last_sent, last_id)
        conn.sent_at = anyio.current_time()

    async def _heartbeats(self) -> None:
        while True:
            await anyio.sleep(min(self.heartbeat_s / 2, 1.0))
            self.beat(anyio.current_time())

    def _logged_after(self, after_id: int) -> list[StoredEvent]:
        found: list[StoredEvent] = []
        while page := self.rt.store.events(after_id=after_id, limit=REPLAY_PAGE):
            found += page
            after_id = page[-1].id
        return found


def _share(
    viewer: Viewer,
    batch: list[StoredEvent],
    placed: list[Placed],
    logged: list[str],
    others: dict[tuple[int, Form], str],
) -> list[tuple[int, str]]:
    """One viewer's share of a batch: (id, encoded event) in the forms it gets them."""
    if viewer.queues is None:
        return [(e.id, t) for e, t in zip(batch, logged, strict=True)]
    share: list[tuple[int, str]] = []
    for i, e in enumerate(batch):
        form = viewer.form(e, placed[i])
        if form is Form.LOGGED:
            share.append((e.id, logged[i]))
        elif form is not None:
            text = others.get((i, form))
            if text is None:
                text = others[(i, form)] = encode(shown(e, form, placed[i]))
            share.append((e.id, text))
    return share
