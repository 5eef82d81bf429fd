"""Dialogs (RFC 3261 section 12): one per established call, on either side.

A `Dialog` holds the dialog state (Call-ID, tags, CSeq numbers, remote target, route set),
builds in-dialog requests with the right Route headers, and does the UA-core duties that
outlive a transaction: as UAS it retransmits a 2xx to INVITE until the ACK arrives (13.3.1.4:
T1 doubling to T2, giving up after 64*T1 with a BYE); as UAC it ACKs every 2xx, the
retransmissions included (13.2.2.4).

The call layer uses `bye()`, `reinvite()`, `info()` and `wait_ended()`, and may set
`on_reinvite`, `on_bye` and `on_info` to hear about requests from the other side. Without an
`on_reinvite`, a re-INVITE is answered from our last SDP with the direction mirrored (so the
peer can put us on hold and resume).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

import structlog

from callbridge.adapters.telephony.sip.counters import SipCounters
from callbridge.adapters.telephony.sip.digest import Credentials, authorized_retry
from callbridge.adapters.telephony.sip.errors import SipError, SipParseError
from callbridge.adapters.telephony.sip.headers import CSeq, Headers, NameAddr, Via
from callbridge.adapters.telephony.sip.message import Request, Response
from callbridge.adapters.telephony.sip.sdp import (
    NoCommonCodec,
    SdpError,
    SessionDescription,
    answer,
    parse_sdp,
)
from callbridge.adapters.telephony.sip.timers import Timers
from callbridge.adapters.telephony.sip.transaction import ClientTransaction, ServerTransaction
from callbridge.adapters.telephony.sip.transport import Target, TransportName
from callbridge.adapters.telephony.sip.uri import SipUri

log = structlog.get_logger(__name__)

SDP = "application/sdp"
DialogState = Literal["early", "confirmed", "terminated"]
EndReason = Literal["local-bye", "remote-bye", "ack-timeout", "endpoint-stopped"]


@dataclass(frozen=True)
class DialogId:
    """What identifies a dialog on our side (12)."""

    call_id: str
    local_tag: str
    remote_tag: str


class DialogCore(Protocol):
    """What a dialog needs from the UA core (`SipEndpoint`)."""

    timers: Timers
    counters: SipCounters

    def clock(self) -> float: ...

    def via(self, transport: TransportName) -> Via: ...

    def contact(self, transport: TransportName) -> NameAddr: ...

    async def start_transaction(self, request: Request, target: Target) -> ClientTransaction: ...

    async def send_stateless(self, message: Request | Response, target: Target) -> None: ...

    async def send_response(self, response: Response, source: Target) -> None: ...

    def forget_dialog(self, dialog: Dialog) -> None: ...

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None: ...


def uri_target(uri: SipUri, default: TransportName) -> Target:
    """Where a request for `uri` goes: its transport parameter (else `default`), host, port."""
    transport = uri.params.get("transport")
    name: TransportName = "tcp" if (transport or default).lower() == "tcp" else "udp"
    host = uri.params.get("maddr") or uri.host
    return Target(name, host.strip("[]"), uri.port or 5060)


@dataclass
class ReInvite:
    """A re-INVITE from the other side, for `Dialog.on_reinvite` to `accept` or `reject`."""

    dialog: Dialog
    transaction: ServerTransaction
    offer: SessionDescription | None

    @property
    def request(self) -> Request:
        """The re-INVITE."""
        return self.transaction.request

    @property
    def is_hold(self) -> bool:
        """True when the offer puts us on hold (sendonly, inactive or c=0.0.0.0)."""
        return self.offer is not None and self.offer.is_hold

    async def accept(self, sdp: SessionDescription) -> bool:
        """Answer 200 with `sdp`; True once the ACK arrived."""
        return await self.dialog._accept_invite(self.transaction, sdp)

    async def reject(self, status: int = 488, reason: str | None = None) -> None:
        """Refuse the change (the session stays as it was)."""
        await self.transaction.reply(status, reason)


ReInviteHandler = Callable[[ReInvite], Awaitable[None]]
RequestCallback = Callable[[Request], Awaitable[None]]


class Dialog:
    """One dialog; build it with `Dialog.as_uas` or `Dialog.as_uac`."""

    def __init__(
        self,
        core: DialogCore,
        *,
        id: DialogId,
        local: NameAddr,
        remote: NameAddr,
        local_seq: int,
        remote_seq: int | None,
        remote_target: SipUri,
        route_set: list[NameAddr],
        transport: TransportName,
        is_caller: bool,
    ) -> None:
        self._core = core
        self.id = id
        self.local = local
        self.remote = remote
        self.local_seq = local_seq
        self.remote_seq = remote_seq
        self.remote_target = remote_target
        self.route_set = route_set
        self.transport: TransportName = transport
        self.is_caller = is_caller
        self.state: DialogState = "early"
        self.created_at = core.clock()
        self.ended_at: float | None = None
        self.end_reason: EndReason | None = None
        self.local_sdp: SessionDescription | None = None
        self.remote_sdp: SessionDescription | None = None
        self.credentials: Credentials | None = None
        self.outbound_proxy: Target | None = None
        self.on_reinvite: ReInviteHandler | None = None
        self.on_bye: RequestCallback | None = None
        self.on_info: RequestCallback | None = None
        self._ended = asyncio.Event()
        self._acks: dict[int, tuple[Request, Target]] = {}
        self._ack_waiters: dict[int, asyncio.Event] = {}
        self._acked: set[int] = set()
        self._invite_lock = asyncio.Lock()

    @classmethod
    def as_uas(
        cls, core: DialogCore, request: Request, local_tag: str, transport: TransportName
    ) -> Dialog:
        """The dialog our 2xx (To tag `local_tag`) to the INVITE `request` creates (12.1.1)."""
        contacts = request.contacts()
        if not contacts or request.from_.tag is None:
            raise SipParseError("an INVITE needs a Contact and a From tag")
        return cls(
            core,
            id=DialogId(request.call_id, local_tag, request.from_.tag),
            local=request.to.with_tag(local_tag),
            remote=request.from_,
            local_seq=secrets.randbelow(2**16) + 1,
            remote_seq=request.cseq.seq,
            remote_target=contacts[0].uri,
            route_set=request.record_routes(),
            transport=transport,
            is_caller=False,
        )

    @classmethod
    def as_uac(
        cls, core: DialogCore, request: Request, response: Response, transport: TransportName
    ) -> Dialog:
        """The dialog a 2xx to our INVITE creates (12.1.2)."""
        contacts = response.contacts()
        if not contacts or response.to.tag is None or request.from_.tag is None:
            raise SipParseError("a 2xx to INVITE needs a Contact and a To tag")
        return cls(
            core,
            id=DialogId(request.call_id, request.from_.tag, response.to.tag),
            local=request.from_,
            remote=response.to,
            local_seq=request.cseq.seq,
            remote_seq=None,
            remote_target=contacts[0].uri,
            route_set=list(reversed(response.record_routes())),
            transport=transport,
            is_caller=True,
        )

    # -- requests we send -------------------------------------------------------------------

    def create_request(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Headers | None = None,
        seq: int | None = None,
    ) -> Request:
        """An in-dialog request (12.2.1.1); CSeq is the next number unless `seq` is given."""
        if seq is None:
            self.local_seq += 1
            seq = self.local_seq
        extra = headers.copy() if headers is not None else Headers()
        uri = self.remote_target
        routes = list(self.route_set)
        if routes and not routes[0].uri.is_loose_router:
            # Strict router (RFC 2543): it goes in the Request-URI, the target last in Route.
            uri = routes.pop(0).uri
            routes.append(NameAddr(self.remote_target))
        for route in reversed(routes):
            extra.prepend("Route", str(route))
        if method in ("INVITE", "UPDATE", "SUBSCRIBE", "REFER"):
            extra.set("Contact", str(self._core.contact(self.transport)))
        if content_type is not None:
            extra.set("Content-Type", content_type)
        return Request(
            method=method,
            uri=uri,
            via=[self._core.via(self.next_hop().transport)],
            from_=self.local,
            to=self.remote,
            call_id=self.id.call_id,
            cseq=CSeq(seq, method),
            headers=extra,
            body=body,
        )

    def next_hop(self) -> Target:
        """Where in-dialog requests go: the first route, else the outbound proxy or target."""
        if self.route_set:
            return uri_target(self.route_set[0].uri, self.transport)
        if self.outbound_proxy is not None:
            return self.outbound_proxy
        return uri_target(self.remote_target, self.transport)

    async def bye(self, headers: Headers | None = None) -> Response | None:
        """Hang up: send BYE and end the dialog; None when it had already ended."""
        if self.state == "terminated":
            return None
        request = self.create_request("BYE", headers=headers)
        self._terminate("local-bye")
        return await self._transact(request)

    async def reinvite(self, sdp: SessionDescription, headers: Headers | None = None) -> Response:
        """Offer a new session (hold: `sdp.offer(..., direction="sendonly")`) and return the
        final response, the ACK for a 2xx already sent. The offer keeps our session id and
        gets the next `o=` version when it differs from the last one (RFC 3264 8). Waits while
        an INVITE transaction of ours is in progress; 491 means the other side re-INVITEd at
        the same time: try again after a short random wait (14.1)."""
        async with self._invite_lock:  # 14.1: one INVITE transaction at a time, either way
            if self.state == "terminated":
                raise SipError("the dialog has ended")
            sdp = _versioned(self.local_sdp, sdp)
            request = self.create_request(
                "INVITE", body=bytes(sdp), content_type=SDP, headers=headers
            )
            response = await self._transact(request)
            if response.is_success:
                self._refresh_target(response)
                await self.acknowledge(response)
                self.local_sdp = sdp
                if response.body:
                    self.remote_sdp = _sdp_or_none(response.body)
        return response

    def _refresh_target(self, message: Request | Response) -> None:
        """A re-INVITE and its 2xx may move the remote target (12.2.1.2, 12.2.2)."""
        try:
            contacts = message.contacts()
        except SipParseError:
            return  # a malformed Contact leaves the target where it was
        if contacts:
            self.remote_target = contacts[0].uri

    async def info(self, body: bytes, content_type: str) -> Response:
        """Send INFO (e.g. `application/dtmf-relay`) and return its final response."""
        if self.state == "terminated":
            raise SipError("the dialog has ended")
        return await self._transact(
            self.create_request("INFO", body=body, content_type=content_type)
        )

    async def wait_ended(self) -> EndReason:
        """Wait until the dialog ends (a BYE either way, or no ACK); return why."""
        await self._ended.wait()
        assert self.end_reason is not None
        return self.end_reason

    async def acknowledge(self, response: Response) -> None:
        """ACK a 2xx to INVITE (13.2.2.4): same CSeq number, new branch, no transaction."""
        ack = self.create_request("ACK", seq=response.cseq.seq)
        target = self.next_hop()
        self._acks = {response.cseq.seq: (ack, target)}
        self.state = "confirmed" if self.state == "early" else self.state
        await self._core.send_stateless(ack, target)

    async def _transact(self, request: Request) -> Response:
        target = self.next_hop()
        transaction = await self._core.start_transaction(request, target)
        response = await transaction.final_response()
        if response.status in (401, 407) and self.credentials is not None:
            self.local_seq += 1
            retry = authorized_retry(
                request,
                response,
                self.credentials,
                seq=self.local_seq,
                via=self._core.via(target.transport),
            )
            if retry is not None:
                transaction = await self._core.start_transaction(retry, target)
                response = await transaction.final_response()
        return response

    # -- what the other side sends -----------------------------------------------------------

    async def handle_request(self, transaction: ServerTransaction) -> None:
        """An in-dialog request from the other side (the core matched the dialog)."""
        request = transaction.request
        if self.remote_seq is not None and request.cseq.seq < self.remote_seq:
            await transaction.reply(500, "CSeq Out of Order")
            return
        self.remote_seq = request.cseq.seq
        if request.method == "BYE":
            await transaction.reply(200)
            self._terminate("remote-bye")
            if self.on_bye is not None:
                await self.on_bye(request)
        elif request.method == "INVITE":
            await self._reinvited(transaction)
        elif request.method == "INFO" and self.on_info is not None:
            await self.on_info(request)
            await transaction.reply(200)
        elif request.method in ("INFO", "OPTIONS"):
            await transaction.reply(200)
        else:
            await transaction.reply(501)

    async def _reinvited(self, transaction: ServerTransaction) -> None:
        if self._invite_lock.locked() or self._ack_waiters:
            await transaction.reply(491)  # 14.2: glare, or our own 2xx is still unacknowledged
            return
        async with self._invite_lock:
            await self._handle_reinvite(transaction)

    async def _handle_reinvite(self, transaction: ServerTransaction) -> None:
        request = transaction.request
        offer: SessionDescription | None = None
        if request.body:
            try:
                offer = parse_sdp(request.body)
            except SdpError as exc:
                await transaction.reply(400, f"Bad SDP ({exc})")
                return
        self._refresh_target(request)
        reinvite = ReInvite(self, transaction, offer)
        if self.on_reinvite is not None:
            await self.on_reinvite(reinvite)
        else:
            await self._default_reinvite(reinvite)
        if not transaction.final_sent:
            await transaction.reply(500, "Re-INVITE Not Handled")

    async def _default_reinvite(self, reinvite: ReInvite) -> None:
        """Keep our media where it is and mirror the offered direction."""
        local = self.local_sdp
        audio = local.audio if local is not None else None
        if local is None or audio is None:
            await reinvite.reject(488)
            return
        if reinvite.offer is None:
            await reinvite.accept(local)  # the offer goes in our 200, the answer in the ACK
            return
        try:
            sdp = answer(
                reinvite.offer,
                local.address,
                audio.port,
                tuple(audio.offered_codecs()),
                previous=local,
            )
        except NoCommonCodec:
            await reinvite.reject(488)
            return
        await reinvite.accept(sdp)

    async def _accept_invite(self, transaction: ServerTransaction, sdp: SessionDescription) -> bool:
        headers = Headers([("Contact", str(self._core.contact(self.transport)))])
        headers.add("Content-Type", SDP)
        response = transaction.response(200, headers=headers, body=bytes(sdp))
        self.local_sdp = sdp
        if transaction.request.body:
            self.remote_sdp = _sdp_or_none(transaction.request.body)
        return await self.send_2xx_until_ack(transaction, response)

    async def send_2xx_until_ack(self, transaction: ServerTransaction, response: Response) -> bool:
        """Send a 2xx to INVITE and repeat it until the ACK comes (13.3.1.4); without an ACK
        after 64*T1, send BYE and end the dialog. True when acknowledged."""
        timers = self._core.timers
        seq = transaction.request.cseq.seq
        acked = self._ack_waiters[seq] = asyncio.Event()
        await transaction.respond(response)
        interval, waited = timers.t1, 0.0
        while not acked.is_set() and self.state != "terminated":
            if waited >= timers.transaction_timeout:
                break
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for loses a cancellation that
                # arrives together with the ACK, and the call's task then never ends
                async with asyncio.timeout(interval):
                    await acked.wait()
            except TimeoutError:
                waited += interval
                interval = min(2 * interval, timers.t2)
                if transaction.source.transport == "udp":
                    self._core.counters.retransmissions_sent += 1
                    await self._core.send_response(response, transaction.source)
        self._ack_waiters.pop(seq, None)
        if seq in self._acked:
            return True
        if self.state != "terminated":
            log.debug("sip.ack_timeout", call_id=self.id.call_id)
            request = self.create_request("BYE")
            self._terminate("ack-timeout")
            await self._transact(request)
        return False

    def handle_ack(self, ack: Request) -> None:
        """An ACK for one of our 2xx responses."""
        waiter = self._ack_waiters.get(ack.cseq.seq)
        if waiter is None:
            return  # a retransmitted ACK
        if ack.body:
            self.remote_sdp = _sdp_or_none(ack.body)
        if self.state == "early":
            self.state = "confirmed"
        self._acked.add(ack.cseq.seq)
        waiter.set()

    def handle_2xx_retransmission(self, response: Response) -> None:
        """A 2xx to one of our INVITEs came again: the ACK was lost, so send it again."""
        sent = self._acks.get(response.cseq.seq)
        if sent is not None:
            self._core.counters.retransmissions_sent += 1
            self._core.spawn(self._core.send_stateless(*sent))

    def _terminate(self, reason: EndReason) -> None:
        if self.state == "terminated":
            return
        self.state = "terminated"
        self.end_reason = reason
        self.ended_at = self._core.clock()
        self._ended.set()
        for waiter in self._ack_waiters.values():
            waiter.set()  # wake `send_2xx_until_ack`; it sees the dialog ended
        self._core.forget_dialog(self)
        log.debug("sip.dialog_ended", call_id=self.id.call_id, reason=reason)

    def end(self, reason: EndReason) -> None:
        """End the dialog without signalling (the endpoint is stopping)."""
        self._terminate(reason)


def _versioned(
    previous: SessionDescription | None, offer: SessionDescription
) -> SessionDescription:
    """`offer` under the session id and version RFC 3264 8 asks for, given our last SDP."""
    if previous is None:
        return offer
    same = replace(offer, session_id=previous.session_id, version=previous.version)
    if same == previous:
        return same
    return replace(same, version=previous.version + 1)


def _sdp_or_none(body: bytes) -> SessionDescription | None:
    try:
        return parse_sdp(body)
    except SdpError:
        return None
