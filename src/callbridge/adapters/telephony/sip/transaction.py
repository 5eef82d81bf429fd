"""Client and server transactions (RFC 3261 section 17, with RFC 6026's Accepted states).

The `TransactionLayer` sits between the transport and the transaction user (the UA core in
`endpoint.py`). It matches each message to its transaction by the Via branch, sent-by and
method (17.1.3, 17.2.3), absorbs retransmissions (a retransmitted request gets the last
response again; the TU sees each request once), retransmits over UDP only, and times out:

- INVITE client: A (retransmit, doubling), B (give up: local 408), D (absorb retransmitted
  final responses, ACKing each), M (Accepted: later 2xx go to the TU, which ACKs each).
- non-INVITE client: E (retransmit, doubling to T2), F (give up: local 408), K.
- INVITE server: 100 Trying after `Timers.trying` if the TU has not answered; G (retransmit a
  non-2xx final until ACK), H (give up waiting for it), I, L (Accepted: the TU retransmits 2xx
  itself until the ACK reaches the dialog).
- non-INVITE server: J.

An ACK for a non-2xx final ends in its INVITE server transaction; an ACK for a 2xx has its own
branch and goes to the TU. A CANCEL is answered here (200, or 481 when it matches nothing)
and the TU is told so it can answer the INVITE 487 (9.2).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Coroutine
from typing import Any, Literal, Protocol

import structlog

from callbridge.adapters.telephony.sip.counters import SipCounters
from callbridge.adapters.telephony.sip.errors import TransportError
from callbridge.adapters.telephony.sip.headers import CSeq, Headers
from callbridge.adapters.telephony.sip.message import Message, Request, Response, response_to
from callbridge.adapters.telephony.sip.timers import Timers
from callbridge.adapters.telephony.sip.transport import Target, via_target

log = structlog.get_logger(__name__)

MAGIC_COOKIE = "z9hG4bK"
State = Literal[
    "calling", "trying", "proceeding", "completed", "accepted", "confirmed", "terminated"
]
ServerKey = tuple[str, str, int | None, str]


def new_branch() -> str:
    """A fresh RFC 3261 branch id."""
    return MAGIC_COOKIE + secrets.token_hex(10)


def new_tag() -> str:
    """A fresh From/To tag."""
    return secrets.token_hex(6)


class Sender(Protocol):
    """What transactions need from the transport."""

    counters: SipCounters

    async def send(self, message: Message, target: Target) -> None: ...

    def send_now(self, message: Message, target: Target) -> None: ...

    async def send_response(self, response: Message, source: Target) -> None: ...


class TransactionUser(Protocol):
    """The UA core: what the transaction layer hands up."""

    def request_received(self, transaction: ServerTransaction) -> None:
        """A new request (not ACK, not CANCEL); answer it through `transaction`."""

    def ack_received(self, ack: Request, source: Target) -> None:
        """An ACK for a 2xx (it has no transaction of its own)."""

    def cancel_received(self, invite: ServerTransaction) -> None:
        """The INVITE in `invite` was cancelled; the CANCEL itself is answered already."""

    def stray_response(self, response: Response) -> None:
        """A response matching no transaction, or a 2xx retransmission: ACK it if it is 2xx."""


class _Timed:
    """Named one-shot timers on the running loop, all cancelled at termination."""

    def __init__(self) -> None:
        self._handles: dict[str, asyncio.TimerHandle] = {}

    def _start_timer(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._stop_timer(name)
        self._handles[name] = asyncio.get_running_loop().call_later(delay, callback)

    def _stop_timer(self, name: str) -> None:
        handle = self._handles.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _stop_all_timers(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()


class ClientTransaction(_Timed):
    """Sends one request and collects its responses for the TU (`await receive()`)."""

    def __init__(self, layer: TransactionLayer, request: Request, target: Target) -> None:
        super().__init__()
        self.layer = layer
        self.request = request
        self.target = target
        self.is_invite = request.method == "INVITE"
        self.reliable = target.transport != "udp"
        self.state: State = "calling" if self.is_invite else "trying"
        self.final: Response | None = None
        self.key = (request.top_via.branch or "", request.cseq.method)
        self._queue: asyncio.Queue[Response] = asyncio.Queue()
        self._interval = layer.timers.t1
        self._ack: Request | None = None

    async def start(self) -> None:
        """Send the request and start the timers; a transport error gives a local 503."""
        timers = self.layer.timers
        self.layer.clients[self.key] = self
        try:
            await self.layer.sender.send(self.request, self.target)
        except TransportError as exc:
            log.debug("sip.transport_error", error=str(exc), target=str(self.target))
            self._deliver_final(response_to(self.request, 503, "Service Unavailable (transport)"))
            self._terminate()
            return
        if not self.reliable:
            self._start_timer("retransmit", self._interval, self._retransmit)
        self._start_timer("timeout", timers.transaction_timeout, self._timeout)

    async def receive(self) -> Response:
        """The next response for the TU: provisional ones, then the final one."""
        return await self._queue.get()

    async def final_response(
        self, on_provisional: Callable[[Response], None] | None = None
    ) -> Response:
        """Wait for the final response, passing each provisional one to `on_provisional`."""
        while True:
            response = await self.receive()
            if response.status >= 200:
                return response
            if on_provisional is not None:
                on_provisional(response)

    def on_response(self, response: Response) -> None:
        """A response whose branch and method match this transaction."""
        if response.status < 200:
            if self.state in ("calling", "trying", "proceeding"):
                self._to_proceeding()
                self._queue.put_nowait(response)
            return
        if self.state in ("calling", "trying", "proceeding"):
            self._stop_timer("retransmit")
            self._stop_timer("timeout")
            self._deliver_final(response)
            if self.is_invite and response.is_success:
                self.state = "accepted"
                self._start_timer("M", self.layer.timers.transaction_timeout, self._terminate)
            elif self.is_invite:
                self.state = "completed"
                self._send_ack(response)
                self._start_timer("D", 0 if self.reliable else self.layer.timers.d, self._terminate)
            else:
                self.state = "completed"
                timer_k = 0 if self.reliable else self.layer.timers.t4
                self._start_timer("K", timer_k, self._terminate)
        elif self.state == "accepted" and response.is_success:
            self.layer.tu.stray_response(response)
        elif self.state == "completed" and self.is_invite and self._ack is not None:
            self.layer.sender.send_now(self._ack, self.target)  # the final came again

    def _to_proceeding(self) -> None:
        if self.state == "proceeding":
            return
        self.state = "proceeding"
        if self.is_invite:
            self._stop_timer("retransmit")  # a provisional response stops timer A
        elif not self.reliable:
            self._interval = self.layer.timers.t2
            self._start_timer("retransmit", self._interval, self._retransmit)

    def _retransmit(self) -> None:
        if self.state not in ("calling", "trying", "proceeding"):
            return
        self.layer.sender.send_now(self.request, self.target)
        self.layer.sender.counters.retransmissions_sent += 1
        self._interval *= 2
        if not self.is_invite:
            self._interval = min(self._interval, self.layer.timers.t2)
        self._start_timer("retransmit", self._interval, self._retransmit)

    def _timeout(self) -> None:
        log.debug("sip.transaction_timeout", method=self.request.method, branch=self.key[0])
        self._deliver_final(response_to(self.request, 408, "Request Timeout (no response)"))
        self._terminate()

    def _send_ack(self, response: Response) -> None:
        """The ACK for a non-2xx final response (17.1.1.3)."""
        headers = Headers([("Route", route) for route in self.request.headers.get_all("Route")])
        self._ack = Request(
            method="ACK",
            uri=self.request.uri,
            via=[self.request.top_via],
            from_=self.request.from_,
            to=response.to,
            call_id=self.request.call_id,
            cseq=CSeq(self.request.cseq.seq, "ACK"),
            headers=headers,
        )
        self.layer.sender.send_now(self._ack, self.target)

    def _deliver_final(self, response: Response) -> None:
        self.final = response
        self._queue.put_nowait(response)

    def _terminate(self) -> None:
        self.state = "terminated"
        self._stop_all_timers()
        if self.layer.clients.get(self.key) is self:
            del self.layer.clients[self.key]


class ServerTransaction(_Timed):
    """One received request and the responses the TU gives it."""

    def __init__(self, layer: TransactionLayer, request: Request, source: Target) -> None:
        super().__init__()
        self.layer = layer
        self.request = request
        self.source = source
        self.is_invite = request.method == "INVITE"
        self.reliable = source.transport != "udp"
        self.state: State = "proceeding" if self.is_invite else "trying"
        self.last_response: Response | None = None
        self.key = server_key(request)
        self.cancelled = False
        self.to_tag = request.to.tag or new_tag()
        self._interval = layer.timers.t1

    @property
    def final_sent(self) -> bool:
        """True once a final response went out."""
        return self.last_response is not None and self.last_response.status >= 200

    def response(
        self,
        status: int,
        reason: str | None = None,
        *,
        headers: Headers | None = None,
        body: bytes = b"",
    ) -> Response:
        """A response to this request, with this transaction's To tag (none on 100)."""
        tag = self.to_tag if status > 100 else None
        return response_to(self.request, status, reason, to_tag=tag, headers=headers, body=body)

    async def respond(self, response: Response) -> None:
        """Send `response`; after a final one, only 2xx retransmissions to an INVITE pass."""
        if self.state in ("completed", "confirmed", "terminated") or (
            self.state == "accepted" and not response.is_success
        ):
            log.debug("sip.late_response_ignored", status=response.status, state=self.state)
            return
        self._advance(response)
        try:
            await self.layer.sender.send_response(response, self.source)
        except TransportError as exc:
            log.debug("sip.transport_error", error=str(exc), source=str(self.source))
            self._terminate()

    async def reply(
        self, status: int, reason: str | None = None, *, headers: Headers | None = None
    ) -> None:
        """Shorthand for `respond(response(status, reason, headers=headers))`."""
        await self.respond(self.response(status, reason, headers=headers))

    def _advance(self, response: Response) -> None:
        self._stop_timer("trying")
        self.last_response = response
        timers = self.layer.timers
        if response.status < 200:
            self.state = "proceeding"
        elif self.is_invite and response.is_success:
            if self.state != "accepted":
                self.state = "accepted"
                self._start_timer("L", timers.transaction_timeout, self._terminate)
        elif self.is_invite:
            self.state = "completed"
            if not self.reliable:
                self._start_timer("G", self._interval, self._retransmit_final)
            self._start_timer("H", timers.transaction_timeout, self._terminate)
        else:
            self.state = "completed"
            timer_j = 0 if self.reliable else timers.transaction_timeout
            self._start_timer("J", timer_j, self._terminate)

    def begin(self) -> None:
        """Start life: an INVITE gets 100 Trying if the TU is slow to answer."""
        if self.is_invite:
            self._start_timer("trying", self.layer.timers.trying, self._send_trying)

    def _send_trying(self) -> None:
        if self.last_response is None:
            self.last_response = self.response(100)
            self._resend()

    def on_retransmission(self) -> None:
        """The same request again: resend the last response, if any."""
        if self.last_response is not None and self.state in ("proceeding", "completed", "accepted"):
            self._resend()

    def on_ack(self, ack: Request) -> None:
        """An ACK matching this INVITE transaction."""
        if self.state == "completed":
            self.state = "confirmed"
            self._stop_timer("G")
            self._stop_timer("H")
            self._start_timer("I", 0 if self.reliable else self.layer.timers.t4, self._terminate)
        elif self.state == "accepted":
            self.layer.tu.ack_received(ack, self.source)

    def _retransmit_final(self) -> None:
        if self.state != "completed":
            return
        self._resend()
        self.layer.sender.counters.retransmissions_sent += 1
        self._interval = min(2 * self._interval, self.layer.timers.t2)
        self._start_timer("G", self._interval, self._retransmit_final)

    def _resend(self) -> None:
        assert self.last_response is not None
        if self.source.transport == "udp":
            self.layer.sender.send_now(self.last_response, via_target(self.request.top_via, "udp"))
        else:
            self.layer.sender.send_now(self.last_response, self.source)

    def _terminate(self) -> None:
        self.state = "terminated"
        self._stop_all_timers()
        if self.layer.servers.get(self.key) is self:
            del self.layer.servers[self.key]


def _finished(tasks: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sip.task_failed", exc_info=task.exception())

    return done


def server_key(request: Request) -> ServerKey:
    """The server transaction a request belongs to (17.2.3); ACK belongs to its INVITE."""
    via = request.top_via
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch or ""
    if branch.startswith(MAGIC_COOKIE):
        return branch, via.host.lower(), via.port, method
    # RFC 2543 peers: no unique branch, so fall back on the fields that identify the request.
    legacy = f"2543|{request.call_id}|{request.from_.tag}|{request.cseq.seq}|{via.host}"
    return legacy, via.host.lower(), via.port, method


class TransactionLayer:
    """Routes messages between the transport and the TU through transactions."""

    def __init__(self, sender: Sender, tu: TransactionUser, timers: Timers) -> None:
        self.sender = sender
        self.tu = tu
        self.timers = timers
        self.clients: dict[tuple[str, str], ClientTransaction] = {}
        self.servers: dict[ServerKey, ServerTransaction] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start_client(self, request: Request, target: Target) -> ClientTransaction:
        """Create a client transaction for `request` and send it."""
        transaction = ClientTransaction(self, request, target)
        await transaction.start()
        return transaction

    def message_received(self, message: Message, source: Target) -> None:
        """Entry point from the transport."""
        if isinstance(message, Response):
            client = self.clients.get((message.top_via.branch or "", message.cseq.method))
            if client is not None:
                client.on_response(message)
            else:
                self.tu.stray_response(message)
            return
        key = server_key(message)
        server = self.servers.get(key)
        if message.method == "ACK":
            if server is not None:
                server.on_ack(message)
            else:
                self.tu.ack_received(message, source)
            return
        if server is not None:
            server.on_retransmission()
            return
        server = ServerTransaction(self, message, source)
        self.servers[key] = server
        server.begin()
        if message.method == "CANCEL":
            self._cancel(server)
        else:
            self.tu.request_received(server)

    def _cancel(self, cancel: ServerTransaction) -> None:
        invite = self.servers.get((*cancel.key[:3], "INVITE"))
        if invite is None:
            self.spawn(cancel.reply(481))
            return
        self.spawn(cancel.reply(200))
        if not invite.final_sent and not invite.cancelled:
            invite.cancelled = True
            self.tu.cancel_received(invite)

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine owned by this layer (cancelled by `close`)."""
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(_finished(self._tasks))

    async def close(self) -> None:
        """Stop every timer and task."""
        for transaction in [*self.clients.values(), *self.servers.values()]:
            transaction._stop_all_timers()
        self.clients.clear()
        self.servers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
