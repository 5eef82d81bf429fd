"""Dialog state from the messages that create it, and the in-dialog requests it builds
(RFC 3261 section 12): route sets, strict routers, CSeq numbering, ACK for 2xx."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest

from callbridge.adapters.telephony.sip.counters import SipCounters
from callbridge.adapters.telephony.sip.dialog import Dialog, DialogId, uri_target
from callbridge.adapters.telephony.sip.errors import SipParseError
from callbridge.adapters.telephony.sip.headers import CSeq, Headers, NameAddr, Via
from callbridge.adapters.telephony.sip.message import Request, Response, response_to
from callbridge.adapters.telephony.sip.timers import Timers
from callbridge.adapters.telephony.sip.transaction import ClientTransaction
from callbridge.adapters.telephony.sip.transport import Target, TransportName
from callbridge.adapters.telephony.sip.uri import SipUri, parse_uri


@dataclass
class OfflineCore:
    """The UA-core port for dialogs that only builds messages (these tests send nothing)."""

    timers: Timers = field(default_factory=Timers)
    counters: SipCounters = field(default_factory=SipCounters)
    forgotten: list[Dialog] = field(default_factory=list)
    stateless: list[tuple[Request | Response, Target]] = field(default_factory=list)

    def clock(self) -> float:
        return 12.5

    def via(self, transport: TransportName) -> Via:
        return Via(transport.upper(), "10.0.0.1", 5060, {"branch": "z9hG4bKnext"})

    def contact(self, transport: TransportName) -> NameAddr:
        return NameAddr(SipUri(host="10.0.0.1", port=5060))

    async def start_transaction(self, request: Request, target: Target) -> ClientTransaction:
        raise AssertionError("these tests do not send requests")

    async def send_stateless(self, message: Request | Response, target: Target) -> None:
        self.stateless.append((message, target))

    async def send_response(self, response: Response, source: Target) -> None:
        raise AssertionError("these tests do not send responses")

    def forget_dialog(self, dialog: Dialog) -> None:
        self.forgotten.append(dialog)

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        coroutine.close()


def invite(record_routes: list[str] | None = None) -> Request:
    headers = Headers([("Contact", "<sip:alice@192.0.2.1:5070;transport=tcp>")])
    for route in record_routes or []:
        headers.add("Record-Route", route)
    return Request(
        method="INVITE",
        uri=SipUri(host="10.0.0.1", user="bob"),
        via=[Via("TCP", "192.0.2.1", 5070, {"branch": "z9hG4bKinv"})],
        from_=NameAddr(SipUri(host="a.example", user="alice"), "Alice", {"tag": "ftag"}),
        to=NameAddr(SipUri(host="b.example", user="bob")),
        call_id="dlg-1",
        cseq=CSeq(10, "INVITE"),
        headers=headers,
    )


def uas_dialog(core: OfflineCore, request: Request) -> Dialog:
    async def build() -> Dialog:
        return Dialog.as_uas(core, request, "ttag", "tcp")

    return asyncio.run(build())


def test_uas_dialog_state() -> None:
    core = OfflineCore()
    dialog = uas_dialog(core, invite(["<sip:p1.example;lr>", "<sip:p2.example;lr>"]))
    assert dialog.id == DialogId("dlg-1", "ttag", "ftag")
    assert dialog.local.tag == "ttag" and dialog.remote.tag == "ftag"
    assert dialog.remote_seq == 10
    assert dialog.remote_target == parse_uri("sip:alice@192.0.2.1:5070;transport=tcp")
    assert [str(r.uri) for r in dialog.route_set] == ["sip:p1.example;lr", "sip:p2.example;lr"]
    assert dialog.transport == "tcp" and not dialog.is_caller
    assert dialog.created_at == 12.5

    bye = dialog.create_request("BYE")
    assert bye.uri == dialog.remote_target  # loose routing: the target stays the Request-URI
    assert bye.headers.get_all("Route") == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    assert bye.from_.tag == "ttag" and bye.to.tag == "ftag"
    assert bye.cseq == CSeq(dialog.local_seq, "BYE")
    assert bye.headers.get("Contact") is None
    assert dialog.next_hop() == Target("tcp", "p1.example", 5060)
    again = dialog.create_request("INFO")
    assert again.cseq.seq == bye.cseq.seq + 1
    assert dialog.create_request("INVITE").headers.get("Contact") == "<sip:10.0.0.1:5060>"


def test_uac_dialog_reverses_the_route_set_and_acks_with_the_invite_cseq() -> None:
    core = OfflineCore()
    request = invite()
    ok = response_to(request, 200, to_tag="ttag")
    ok.headers.add("Contact", "<sip:bob@198.51.100.7:5062>")
    ok.headers.add("Record-Route", "<sip:p2.example;lr>, <sip:p1.example;lr>")

    async def scenario() -> Dialog:
        dialog = Dialog.as_uac(core, request, ok, "udp")
        await dialog.acknowledge(ok)
        return dialog

    dialog = asyncio.run(scenario())
    assert dialog.id == DialogId("dlg-1", "ftag", "ttag")
    assert [str(r.uri) for r in dialog.route_set] == ["sip:p1.example;lr", "sip:p2.example;lr"]
    assert dialog.state == "confirmed" and dialog.is_caller
    ((ack, target),) = core.stateless
    assert isinstance(ack, Request) and ack.method == "ACK"
    assert ack.cseq == CSeq(10, "ACK")  # 13.2.2.4: the INVITE's number
    assert ack.uri == parse_uri("sip:bob@198.51.100.7:5062")
    assert target == Target("udp", "p1.example", 5060)
    assert dialog.local_seq == 10


def test_strict_router_goes_in_the_request_uri() -> None:
    core = OfflineCore()
    dialog = uas_dialog(core, invite(["<sip:old-proxy.example>", "<sip:p2.example;lr>"]))
    request = dialog.create_request("BYE")
    assert request.uri == parse_uri("sip:old-proxy.example")
    assert request.headers.get_all("Route") == [
        "<sip:p2.example;lr>",
        "<sip:alice@192.0.2.1:5070;transport=tcp>",
    ]


def test_without_routes_requests_go_to_the_remote_target() -> None:
    core = OfflineCore()
    dialog = uas_dialog(core, invite())
    assert dialog.next_hop() == Target("tcp", "192.0.2.1", 5070)
    dialog.outbound_proxy = Target("udp", "203.0.113.5", 5060)
    assert dialog.next_hop() == Target("udp", "203.0.113.5", 5060)


def test_dialog_ends_once() -> None:
    core = OfflineCore()
    dialog = uas_dialog(core, invite())

    async def scenario() -> str:
        dialog.end("endpoint-stopped")
        dialog.end("remote-bye")
        return await dialog.wait_ended()

    assert asyncio.run(scenario()) == "endpoint-stopped"
    assert core.forgotten == [dialog]
    assert dialog.ended_at == 12.5


def test_a_dialog_needs_a_contact() -> None:
    request = invite()
    request.headers.remove("Contact")
    with pytest.raises(SipParseError):
        uas_dialog(OfflineCore(), request)


@pytest.mark.parametrize(
    ("uri", "target"),
    [
        ("sip:h", Target("udp", "h", 5060)),
        ("sip:h:5080;transport=TCP", Target("tcp", "h", 5080)),
        ("sip:u@[2001:db8::1]:5070", Target("udp", "2001:db8::1", 5070)),
        ("sip:u@h;maddr=192.0.2.77", Target("udp", "192.0.2.77", 5060)),
    ],
)
def test_uri_target(uri: str, target: Target) -> None:
    assert uri_target(parse_uri(uri), "udp") == target
