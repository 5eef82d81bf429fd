"""`SipEndpoint`: the UA core the call layer uses (RFC 3261 section 8 and 12-15).

It owns the transport and the transaction layer, dispatches what arrives (new INVITEs to
`on_invite` after admission control, REGISTER to `on_register`, in-dialog requests to their
`Dialog`, OPTIONS answered here), and places calls and out-of-dialog requests
(`invite`, `request`, `register`). See the package docstring for a walk-through.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from types import TracebackType
from typing import Any

import structlog

from callbridge.adapters.telephony.sip.call import (
    CallCancelled,
    CallEnded,
    IncomingCall,
    OutgoingCall,
    ProgressCallback,
)
from callbridge.adapters.telephony.sip.counters import SipCounters
from callbridge.adapters.telephony.sip.dialog import SDP, Dialog, DialogId, uri_target
from callbridge.adapters.telephony.sip.digest import Credentials, authorized_retry
from callbridge.adapters.telephony.sip.headers import CSeq, Headers, NameAddr, Via, parse_name_addr
from callbridge.adapters.telephony.sip.message import Request, Response
from callbridge.adapters.telephony.sip.overload import Admission, AdmissionLimits
from callbridge.adapters.telephony.sip.sdp import SdpError, SessionDescription, parse_sdp
from callbridge.adapters.telephony.sip.timers import Clock, Timers
from callbridge.adapters.telephony.sip.transaction import (
    ClientTransaction,
    ServerKey,
    ServerTransaction,
    TransactionLayer,
    new_branch,
    new_tag,
)
from callbridge.adapters.telephony.sip.transport import Target, Transport, TransportName
from callbridge.adapters.telephony.sip.uri import SipUri, parse_uri

log = structlog.get_logger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER, MESSAGE"
InviteHandler = Callable[[IncomingCall], Awaitable[None]]
RequestHandler = Callable[[ServerTransaction, Request], Awaitable[Response]]
HeaderItems = Headers | Iterable[tuple[str, str]]


class SipEndpoint:
    """A SIP user agent listening on `host:port` over UDP and/or TCP.

    Handlers (plain attributes, set before `start` or at any time):
    - `on_invite(call)`: a new, admitted INVITE; ring, answer or reject `call`. Without it,
      calls get 480. An exception in it gives 500.
    - `on_register(transaction, request) -> Response`: REGISTER (405 without it).
    - `on_request(transaction, request) -> Response`: other methods outside a dialog
      (MESSAGE, ...; 405 without it).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5060,
        *,
        transports: tuple[TransportName, ...] = ("udp", "tcp"),
        timers: Timers | None = None,
        limits: AdmissionLimits | None = None,
        clock: Clock | None = None,
        user_agent: str = "Callbridge",
    ) -> None:
        self.host = host
        self.timers = timers or Timers()
        self.limits = limits or AdmissionLimits()
        self.user_agent = user_agent
        self.counters = SipCounters()
        self.on_invite: InviteHandler | None = None
        self.on_register: RequestHandler | None = None
        self.on_request: RequestHandler | None = None
        self._clock = clock
        self._transport = Transport(host, port, transports=transports, counters=self.counters)
        self._transactions = TransactionLayer(self._transport, self, self.timers)
        self._admission = Admission(self.limits, self.clock)
        self._dialogs: dict[DialogId, Dialog] = {}
        self._incoming: dict[ServerKey, IncomingCall] = {}
        self._inbound_calls = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the listeners (port 0: a free port, then read `port`)."""
        await self._transport.start(self._transactions)

    async def stop(self) -> None:
        """Stop listening; handler tasks are cancelled, dialogs end without signalling."""
        await self._transport.stop()
        for _ in range(3):  # a handler may swallow one cancellation; never wait forever
            tasks = list(self._tasks)
            if not tasks:
                break
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=1.0)
        if self._tasks:
            log.error("sip.tasks_survived_stop", count=len(self._tasks))
        for dialog in list(self._dialogs.values()):
            dialog.end("endpoint-stopped")
        await self._transactions.close()

    async def __aenter__(self) -> SipEndpoint:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The port both transports listen on."""
        return self._transport.port

    @property
    def dialogs(self) -> list[Dialog]:
        """The dialogs in progress."""
        return list(self._dialogs.values())

    def clock(self) -> float:
        """Now, in seconds: the injected clock, else the running loop's."""
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def uri(self, user: str | None = None, transport: TransportName = "udp") -> SipUri:
        """A SIP URI at this endpoint."""
        params: dict[str, str | None] = {"transport": "tcp"} if transport == "tcp" else {}
        return SipUri(host=self.host, port=self.port, user=user, params=params)

    # -- outgoing -----------------------------------------------------------------------------

    async def invite(
        self,
        uri: SipUri | str,
        sdp: SessionDescription | None,
        *,
        from_: NameAddr | str | None = None,
        to: NameAddr | str | None = None,
        headers: HeaderItems = (),
        next_hop: Target | None = None,
        transport: TransportName = "udp",
        credentials: Credentials | None = None,
        on_provisional: ProgressCallback | None = None,
    ) -> OutgoingCall:
        """Send an INVITE to `uri` (through `next_hop` when given: an outbound proxy or trunk
        address) and return once it is sent; `await call.wait_answer()` for the dialog."""
        request_uri = parse_uri(uri) if isinstance(uri, str) else uri
        target = next_hop or uri_target(request_uri, transport)
        extra = Headers(headers)
        extra.set("Contact", str(self.contact(target.transport)))
        body = b""
        if sdp is not None:
            extra.set("Content-Type", SDP)
            body = bytes(sdp)
        request = self._new_request(
            "INVITE", request_uri, target, from_=from_, to=to, headers=extra, body=body
        )
        call = OutgoingCall(
            self, request, target, credentials=credentials, on_provisional=on_provisional
        )
        await call.start()
        return call

    async def request(
        self,
        method: str,
        uri: SipUri | str,
        *,
        from_: NameAddr | str | None = None,
        to: NameAddr | str | None = None,
        headers: HeaderItems = (),
        body: bytes = b"",
        next_hop: Target | None = None,
        transport: TransportName = "udp",
        credentials: Credentials | None = None,
    ) -> Response:
        """Send a request outside any dialog (OPTIONS, MESSAGE, REGISTER...) and return its
        final response, answering one 401/407 with `credentials`."""
        if method in ("INVITE", "ACK", "CANCEL"):
            raise ValueError(f"use invite() / OutgoingCall.cancel() for {method}")
        request_uri = parse_uri(uri) if isinstance(uri, str) else uri
        target = next_hop or uri_target(request_uri, transport)
        request = self._new_request(
            method, request_uri, target, from_=from_, to=to, headers=Headers(headers), body=body
        )
        response = await (await self.start_transaction(request, target)).final_response()
        if response.status in (401, 407) and credentials is not None:
            retry = authorized_retry(
                request,
                response,
                credentials,
                seq=request.cseq.seq + 1,
                via=self.via(target.transport),
            )
            if retry is not None:
                response = await (await self.start_transaction(retry, target)).final_response()
        return response

    async def register(
        self,
        registrar: SipUri | str,
        aor: NameAddr | str,
        *,
        credentials: Credentials | None = None,
        expires: int = 3600,
        next_hop: Target | None = None,
        transport: TransportName = "udp",
    ) -> Response:
        """Register our contact for `aor` (a trunk registration); `expires=0` unregisters."""
        headers = Headers([("Contact", str(self.contact(transport))), ("Expires", str(expires))])
        return await self.request(
            "REGISTER",
            registrar,
            from_=aor,
            to=aor,
            headers=headers,
            next_hop=next_hop,
            transport=transport,
            credentials=credentials,
        )

    def _new_request(
        self,
        method: str,
        uri: SipUri,
        target: Target,
        *,
        from_: NameAddr | str | None,
        to: NameAddr | str | None,
        headers: Headers,
        body: bytes,
    ) -> Request:
        local = _name_addr(from_) if from_ is not None else NameAddr(self.uri("callbridge"))
        remote = _name_addr(to) if to is not None else NameAddr(uri)
        headers.set("User-Agent", self.user_agent)
        return Request(
            method=method,
            uri=uri,
            via=[self.via(target.transport)],
            from_=local.with_tag(new_tag()),
            to=remote,
            call_id=f"{secrets.token_hex(12)}@{self.host}",
            cseq=CSeq(1, method),
            headers=headers,
            body=body,
        )

    # -- what dialogs and calls use (CallCore) -----------------------------------------------

    def via(self, transport: TransportName) -> Via:
        """A Via with a fresh branch for a request we send over `transport`."""
        return self._transport.via(transport, new_branch())

    def contact(self, transport: TransportName) -> NameAddr:
        """Our Contact for dialogs over `transport`."""
        return NameAddr(self.uri(None, transport))

    async def start_transaction(self, request: Request, target: Target) -> ClientTransaction:
        """Send `request` in a new client transaction."""
        return await self._transactions.start_client(request, target)

    async def send_stateless(self, message: Request | Response, target: Target) -> None:
        """Send outside any transaction (the ACK for a 2xx)."""
        await self._transport.send(message, target)

    async def send_response(self, response: Response, source: Target) -> None:
        """Send a response back towards `source` (2xx retransmissions)."""
        await self._transport.send_response(response, source)

    def register_dialog(self, dialog: Dialog) -> None:
        """Start matching requests to `dialog`."""
        self._dialogs[dialog.id] = dialog
        self.counters.active_dialogs = len(self._dialogs)

    def forget_dialog(self, dialog: Dialog) -> None:
        """`dialog` ended."""
        if self._dialogs.pop(dialog.id, None) is not None and not dialog.is_caller:
            self._inbound_calls -= 1
        self.counters.active_dialogs = len(self._dialogs)

    def call_settled(self, call: IncomingCall, *, answered: bool) -> None:
        """`call` got its final answer: an answered one now counts through its dialog."""
        self._incoming.pop(call.transaction.key, None)
        if not answered:
            self._inbound_calls -= 1

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run `coroutine` as a task the endpoint owns (cancelled by `stop`)."""
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sip.task_failed", exc_info=task.exception())

    # -- what arrives (TransactionUser) -------------------------------------------------------

    def request_received(self, transaction: ServerTransaction) -> None:
        """Dispatch a new request."""
        request = transaction.request
        if request.uri.scheme != "sip":
            self.spawn(transaction.reply(416))
            return
        required = request.headers.get_all("Require")
        if required:
            headers = Headers([("Unsupported", ", ".join(required))])
            self.spawn(transaction.reply(420, headers=headers))
            return
        if request.to.tag is not None:
            dialog = self._dialogs.get(
                DialogId(request.call_id, request.to.tag, request.from_.tag or "")
            )
            if dialog is None:
                self.spawn(transaction.reply(481))
            else:
                self.spawn(dialog.handle_request(transaction))
            return
        if request.method == "INVITE":
            self._new_call(transaction)
        elif request.method == "OPTIONS":
            headers = Headers([("Allow", ALLOW), ("Accept", SDP), ("Server", self.user_agent)])
            self.spawn(transaction.reply(200, headers=headers))
        elif request.method == "REGISTER" and self.on_register is not None:
            self.spawn(self._handle(self.on_register, transaction))
        elif request.method in ("BYE", "INFO", "PRACK", "UPDATE"):
            self.spawn(transaction.reply(481))
        elif request.method != "REGISTER" and self.on_request is not None:
            self.spawn(self._handle(self.on_request, transaction))
        else:
            self.spawn(transaction.reply(405, headers=Headers([("Allow", ALLOW)])))

    def _new_call(self, transaction: ServerTransaction) -> None:
        request = transaction.request
        if not self._admission.admit(self._inbound_calls):
            self.counters.refused_503 += 1
            retry = Headers([("Retry-After", str(self.limits.retry_after))])
            self.spawn(transaction.reply(503, headers=retry))
            return
        offer: SessionDescription | None = None
        try:
            if not request.contacts() or request.from_.tag is None:
                raise SdpError("an INVITE needs a Contact and a From tag")
            if request.body and request.content_type in (None, SDP):
                offer = parse_sdp(request.body)
        except (SdpError, ValueError) as exc:
            self.spawn(transaction.reply(400, f"Bad Request ({exc})"))
            return
        self.counters.admitted += 1
        self._inbound_calls += 1
        call = IncomingCall(self, transaction, offer)
        self._incoming[transaction.key] = call
        self.spawn(self._run_invite_handler(call))

    async def _run_invite_handler(self, call: IncomingCall) -> None:
        if self.on_invite is None:
            await call.reject(480)
            return
        try:
            await self.on_invite(call)
        except (CallCancelled, CallEnded) as gone:
            log.debug("sip.call_gone", call_id=call.call_id, reason=str(gone))
        except Exception:
            log.exception("sip.invite_handler_failed", call_id=call.call_id)
            if not call.transaction.final_sent and not call.cancelled:
                await call.reject(500)

    async def _handle(self, handler: RequestHandler, transaction: ServerTransaction) -> None:
        try:
            response = await handler(transaction, transaction.request)
        except Exception:
            log.exception("sip.request_handler_failed", method=transaction.request.method)
            response = transaction.response(500)
        await transaction.respond(response)

    def ack_received(self, ack: Request, source: Target) -> None:
        """An ACK for a 2xx: hand it to its dialog."""
        dialog = self._dialogs.get(DialogId(ack.call_id, ack.to.tag or "", ack.from_.tag or ""))
        if dialog is not None:
            dialog.handle_ack(ack)

    def cancel_received(self, invite: ServerTransaction) -> None:
        """CANCEL for a pending INVITE: 487 to it, and the call layer is told."""
        call = self._incoming.get(invite.key)
        if call is not None:
            call.peer_cancelled()
        self.spawn(invite.reply(487))

    def stray_response(self, response: Response) -> None:
        """A 2xx to INVITE again (its ACK was lost): the dialog ACKs it again."""
        if not response.is_success or response.cseq.method != "INVITE":
            return
        key = DialogId(response.call_id, response.from_.tag or "", response.to.tag or "")
        dialog = self._dialogs.get(key)
        if dialog is not None:
            dialog.handle_2xx_retransmission(response)


def _name_addr(value: NameAddr | str) -> NameAddr:
    return parse_name_addr(value) if isinstance(value, str) else value
