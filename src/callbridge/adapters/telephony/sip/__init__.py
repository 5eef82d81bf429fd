"""Callbridge's SIP stack: RFC 3261 signalling on asyncio, over UDP and TCP.

Layers, bottom up (one module each): `uri`/`headers`/`message` (parse and serialise), `sdp`
(offer/answer), `transport` (UDP and TCP, Via received/rport, 400 or drop for malformed input),
`transaction` (RFC 3261 section 17 state machines and timers), `dialog` (in-dialog requests,
2xx retransmission and ACK), `call` (calls being set up), `digest` (authentication), `overload`
(admission control), and `endpoint`, the UA core the call layer talks to. Design notes:
docs/design/sip.md.

Taking calls::

    endpoint = SipEndpoint("127.0.0.1", 5060, limits=AdmissionLimits(max_calls=400))

    async def on_invite(call: IncomingCall) -> None:
        if call.offer is None:
            await call.reject(488)
            return
        await call.ring()
        try:
            local = sdp.answer(call.offer, "127.0.0.1", rtp_port)
        except sdp.NoCommonCodec:
            await call.reject(488)
            return
        dialog = await call.answer(local)      # CallCancelled / CallEnded if it went away
        reason = await dialog.wait_ended()     # "remote-bye", "local-bye", ...

    endpoint.on_invite = on_invite
    async with endpoint:
        ...

Placing calls::

    call = await endpoint.invite(
        "sip:+4420@trunk.example.com",
        sdp.offer("127.0.0.1", rtp_port),
        from_="<sip:callbridge@pbx.example.com>",
        next_hop=Target("udp", "192.0.2.10", 5060),
        credentials=Credentials("trunkuser", "secret"),
        on_provisional=lambda p: print(p.status, p.at),
    )
    try:
        dialog = await call.wait_answer()      # ACK sent; CallFailed(status) otherwise
    except CallFailed as failure:
        ...
    await dialog.reinvite(sdp.offer("127.0.0.1", rtp_port, direction="sendonly"))  # hold
    await dialog.bye()

Counters for tests, benchmarks and metrics: `endpoint.counters.snapshot()`.
"""

from callbridge.adapters.telephony.sip import sdp
from callbridge.adapters.telephony.sip.call import (
    CallCancelled,
    CallEnded,
    CallFailed,
    IncomingCall,
    OutgoingCall,
    Progress,
)
from callbridge.adapters.telephony.sip.counters import SipCounters
from callbridge.adapters.telephony.sip.dialog import Dialog, DialogId, ReInvite
from callbridge.adapters.telephony.sip.digest import Credentials, DigestServer
from callbridge.adapters.telephony.sip.endpoint import SipEndpoint
from callbridge.adapters.telephony.sip.errors import SipError, SipParseError, TransportError
from callbridge.adapters.telephony.sip.headers import Headers, NameAddr, Via
from callbridge.adapters.telephony.sip.message import Request, Response, parse
from callbridge.adapters.telephony.sip.overload import AdmissionLimits
from callbridge.adapters.telephony.sip.timers import Timers
from callbridge.adapters.telephony.sip.transaction import ServerTransaction
from callbridge.adapters.telephony.sip.transport import Target, TransportName
from callbridge.adapters.telephony.sip.uri import SipUri

__all__ = [
    "AdmissionLimits",
    "CallCancelled",
    "CallEnded",
    "CallFailed",
    "Credentials",
    "Dialog",
    "DialogId",
    "DigestServer",
    "Headers",
    "IncomingCall",
    "NameAddr",
    "OutgoingCall",
    "Progress",
    "ReInvite",
    "Request",
    "Response",
    "ServerTransaction",
    "SipCounters",
    "SipEndpoint",
    "SipError",
    "SipParseError",
    "SipUri",
    "Target",
    "Timers",
    "TransportError",
    "TransportName",
    "Via",
    "parse",
    "sdp",
]
