"""Calls being set up: `IncomingCall` (an INVITE we received) and `OutgoingCall` (one we sent).

Each ends in a `Dialog` once answered and acknowledged, or in an exception saying why not:
`CallFailed` (the callee answered with a final non-2xx), `CallCancelled` (the caller gave
up before we answered), `CallEnded` (our 200 was never acknowledged, or a BYE came first).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import structlog

from callbridge.adapters.telephony.sip.dialog import (
    SDP,
    Dialog,
    DialogCore,
    EndReason,
    uri_target,
)
from callbridge.adapters.telephony.sip.digest import Credentials, authorized_retry
from callbridge.adapters.telephony.sip.errors import SipError
from callbridge.adapters.telephony.sip.headers import CSeq, Headers, NameAddr
from callbridge.adapters.telephony.sip.message import Request, Response
from callbridge.adapters.telephony.sip.sdp import SdpError, SessionDescription, parse_sdp
from callbridge.adapters.telephony.sip.transaction import ClientTransaction, ServerTransaction
from callbridge.adapters.telephony.sip.transport import Target

log = structlog.get_logger(__name__)


class CallFailed(SipError):
    """The INVITE got a final non-2xx response (a local 408 when nobody answered at all)."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"{response.status} {response.reason}")
        self.response = response
        self.status = response.status
        self.reason = response.reason


class CallCancelled(SipError):
    """The caller cancelled the INVITE before it was answered."""


class CallEnded(SipError):
    """The call ended while being answered: no ACK for our 200 (we sent BYE), or a BYE."""

    def __init__(self, reason: EndReason) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Progress:
    """A provisional response to an outgoing INVITE, and when it arrived (clock seconds)."""

    response: Response
    at: float

    @property
    def status(self) -> int:
        """180 ringing, 183 session progress (early media when it has SDP), ..."""
        return self.response.status

    @property
    def early_media(self) -> SessionDescription | None:
        """The SDP of a 183 (or 180) that carries one."""
        return _sdp_or_none(self.response)


class CallCore(DialogCore, Protocol):
    """What calls need from the UA core beyond what dialogs need."""

    def register_dialog(self, dialog: Dialog) -> None: ...

    def call_settled(self, call: IncomingCall, *, answered: bool) -> None: ...


class IncomingCall:
    """An INVITE outside any dialog, admitted and waiting for the call layer to decide."""

    def __init__(
        self,
        core: CallCore,
        transaction: ServerTransaction,
        offer: SessionDescription | None,
    ) -> None:
        self._core = core
        self.transaction = transaction
        self.offer = offer
        self.received_at = core.clock()
        self.dialog: Dialog | None = None
        self._cancelled = asyncio.Event()
        self._settled = False

    @property
    def request(self) -> Request:
        """The INVITE."""
        return self.transaction.request

    @property
    def caller(self) -> NameAddr:
        """Who calls (From)."""
        return self.request.from_

    @property
    def callee(self) -> NameAddr:
        """Who is called (To)."""
        return self.request.to

    @property
    def call_id(self) -> str:
        """The Call-ID."""
        return self.request.call_id

    @property
    def source(self) -> Target:
        """Where the INVITE came from."""
        return self.transaction.source

    @property
    def cancelled(self) -> bool:
        """True once the caller sent CANCEL (we answered it and the INVITE, 487)."""
        return self._cancelled.is_set()

    async def wait_cancelled(self) -> None:
        """Return when the caller cancels (never, once the call is answered)."""
        await self._cancelled.wait()

    async def ring(self, sdp: SessionDescription | None = None) -> None:
        """Send 180 Ringing, or 183 Session Progress with `sdp` for early media."""
        self._check_open()
        headers = Headers([("Contact", str(self._core.contact(self.source.transport)))])
        if sdp is None:
            await self.transaction.respond(self.transaction.response(180, headers=headers))
            return
        headers.add("Content-Type", SDP)
        await self.transaction.respond(
            self.transaction.response(183, headers=headers, body=bytes(sdp))
        )

    async def answer(self, sdp: SessionDescription, headers: Headers | None = None) -> Dialog:
        """Send 200 with our SDP answer, repeat it until the ACK comes, return the dialog.

        Raise `CallCancelled` if the caller cancelled first, `CallEnded` if no ACK came
        within 64*T1 (a BYE was sent) or the caller hung up first.
        """
        self._check_open()
        transaction = self.transaction
        dialog = Dialog.as_uas(
            self._core, transaction.request, transaction.to_tag, transaction.source.transport
        )
        dialog.local_sdp = sdp
        dialog.remote_sdp = self.offer
        self.dialog = dialog
        self._core.register_dialog(dialog)
        self._settle(answered=True)
        extra = headers.copy() if headers is not None else Headers()
        extra.set("Contact", str(self._core.contact(self.source.transport)))
        extra.set("Content-Type", SDP)
        response = self.transaction.response(200, headers=extra, body=bytes(sdp))
        if not await dialog.send_2xx_until_ack(self.transaction, response):
            raise CallEnded(dialog.end_reason or "ack-timeout")
        return dialog

    async def reject(
        self, status: int = 486, reason: str | None = None, headers: Headers | None = None
    ) -> None:
        """Refuse the call with a final non-2xx (486 busy, 480 unavailable, 401 with a
        challenge in `headers`, 603 decline...). Does nothing once the caller cancelled."""
        if not 300 <= status < 700:
            raise ValueError("reject needs a status from 300 to 699")
        if self.cancelled:
            return
        self._check_open()
        self._settle(answered=False)
        await self.transaction.respond(self.transaction.response(status, reason, headers=headers))

    def _check_open(self) -> None:
        if self.cancelled:
            raise CallCancelled(self.call_id)
        if self.transaction.final_sent or self.dialog is not None:
            raise SipError("the INVITE was already answered")

    def peer_cancelled(self) -> None:
        """The core matched a CANCEL to this call (and answers the INVITE 487)."""
        self._cancelled.set()
        self._settle(answered=False)

    def _settle(self, *, answered: bool) -> None:
        if not self._settled:
            self._settled = True
            self._core.call_settled(self, answered=answered)


ProgressCallback = Callable[[Progress], None]


class OutgoingCall:
    """An INVITE we sent: `await wait_answer()` for the dialog, or `await cancel()`."""

    def __init__(
        self,
        core: CallCore,
        request: Request,
        target: Target,
        *,
        credentials: Credentials | None = None,
        on_provisional: ProgressCallback | None = None,
    ) -> None:
        self._core = core
        self.request = request
        self.target = target
        self.credentials = credentials
        self.on_provisional = on_provisional
        self.started_at = core.clock()
        self.progress: list[Progress] = []
        self.answered_at: float | None = None
        self.final_response: Response | None = None
        self._result: asyncio.Future[Dialog] = asyncio.get_running_loop().create_future()
        self._result.add_done_callback(_retrieve)
        self._transaction: ClientTransaction | None = None
        self._cancel_requested = False
        self._cancel_sent = False

    @property
    def ringing_at(self) -> float | None:
        """When the first 180/183 arrived (the dialer's ring start)."""
        return next((p.at for p in self.progress if p.status > 100), None)

    async def start(self) -> None:
        """Send the INVITE; responses are then handled in a task owned by the core."""
        self._transaction = await self._core.start_transaction(self.request, self.target)
        self._core.spawn(self._run())

    async def wait_answer(self) -> Dialog:
        """The dialog once answered (the ACK is sent); raise `CallFailed` otherwise, or
        `SipParseError` for a 2xx that cannot start a dialog (no Contact, no To tag)."""
        return await asyncio.shield(self._result)

    async def cancel(self) -> None:
        """Give up: CANCEL once a provisional response came (9.1). `wait_answer` then raises
        `CallFailed` (487); if a 2xx crosses the CANCEL, the call is ACKed and hung up."""
        if self._result.done() or self._cancel_requested:
            return
        self._cancel_requested = True
        if self.progress:
            await self._send_cancel()

    async def _send_cancel(self) -> None:
        if self._cancel_sent:
            return
        self._cancel_sent = True
        invite = self.request
        cancel = Request(
            method="CANCEL",
            uri=invite.uri,
            via=[invite.top_via],
            from_=invite.from_,
            to=invite.to,
            call_id=invite.call_id,
            cseq=CSeq(invite.cseq.seq, "CANCEL"),
            headers=Headers([("Route", r) for r in invite.headers.get_all("Route")]),
        )
        transaction = await self._core.start_transaction(cancel, self.target)
        response = await transaction.final_response()
        log.debug("sip.cancel_answered", call_id=invite.call_id, status=response.status)

    async def _run(self) -> None:
        try:
            await self._responses()
        except Exception as exc:
            if not self._result.done():
                self._result.set_exception(exc)
            raise

    async def _responses(self) -> None:
        assert self._transaction is not None
        retried = False
        while True:
            response = await self._transaction.receive()
            if response.status < 200:
                self._provisional(response)
                if self._cancel_requested:
                    self._core.spawn(self._send_cancel())
                continue
            if response.status in (401, 407) and not retried and not self._cancel_requested:
                retry = self._authorized(response)
                if retry is not None:
                    retried = True
                    self.request = retry
                    self._transaction = await self._core.start_transaction(retry, self.target)
                    continue
            self.final_response = response
            if response.is_success:
                await self._answered(response)
            else:
                self._result.set_exception(CallFailed(response))
            return

    def _provisional(self, response: Response) -> None:
        progress = Progress(response, self._core.clock())
        self.progress.append(progress)
        if self.on_provisional is not None:
            self.on_provisional(progress)

    def _authorized(self, response: Response) -> Request | None:
        if self.credentials is None:
            return None
        return authorized_retry(
            self.request,
            response,
            self.credentials,
            seq=self.request.cseq.seq + 1,
            via=self._core.via(self.target.transport),
        )

    async def _answered(self, response: Response) -> None:
        dialog = Dialog.as_uac(self._core, self.request, response, self.target.transport)
        dialog.credentials = self.credentials
        direct = uri_target(self.request.uri, self.target.transport)
        if self.target != direct and not self.request.headers.get("Route"):
            dialog.outbound_proxy = self.target  # in-dialog requests take the same proxy
        dialog.local_sdp = _sdp_or_none(self.request)
        dialog.remote_sdp = _sdp_or_none(response)
        self._core.register_dialog(dialog)
        self.answered_at = self._core.clock()
        await dialog.acknowledge(response)
        if self._cancel_requested:
            await dialog.bye()
            cancelled = replace(response, status=487, reason="Cancelled (2xx crossed CANCEL)")
            self._result.set_exception(CallFailed(cancelled))
            return
        self._result.set_result(dialog)


def _sdp_or_none(message: Request | Response) -> SessionDescription | None:
    if not message.body or message.content_type not in (None, SDP):
        return None
    try:
        return parse_sdp(message.body)
    except SdpError:
        return None


def _retrieve(future: asyncio.Future[Dialog]) -> None:
    """Mark a failure as seen: whoever awaits `wait_answer` gets it; nobody must log it."""
    if not future.cancelled():
        future.exception()
