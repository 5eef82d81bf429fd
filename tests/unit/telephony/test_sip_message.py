"""Parsing and serialising whole SIP messages, with torture cases in the style of RFC 4475
(written for this suite, not copied from the RFC)."""

from __future__ import annotations

import pytest

from callbridge.adapters.telephony.sip.errors import SipParseError
from callbridge.adapters.telephony.sip.headers import CSeq, Headers, NameAddr, Via
from callbridge.adapters.telephony.sip.message import Request, Response, parse, response_to
from callbridge.adapters.telephony.sip.uri import SipUri


def msg(*lines: str, body: str = "") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


INVITE = msg(
    "INVITE sip:bob@biloxi.example.com SIP/2.0",
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds",
    "Max-Forwards: 70",
    "To: Bob <sip:bob@biloxi.example.com>",
    'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774',
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com",
    "CSeq: 314159 INVITE",
    "Contact: <sip:alice@pc33.atlanta.example.com>",
    "Content-Type: application/sdp",
    "Content-Length: 4",
    body="v=0\n",
)


def test_a_plain_invite() -> None:
    request = parse(INVITE)
    assert isinstance(request, Request)
    assert request.method == "INVITE"
    assert request.uri == SipUri(host="biloxi.example.com", user="bob")
    assert request.top_via.branch == "z9hG4bK776asdhds"
    assert request.from_.tag == "1928301774" and request.from_.display == "Alice"
    assert request.to.tag is None
    assert request.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert request.cseq == CSeq(314159, "INVITE")
    assert request.max_forwards == 70
    assert request.content_type == "application/sdp"
    assert request.contacts()[0].uri.user == "alice"
    assert request.body == b"v=0\n"
    assert parse(bytes(request)) == request


def test_a_response() -> None:
    response = parse(
        msg(
            "SIP/2.0 180 Ringing",
            "Via: SIP/2.0/UDP h;branch=z9hG4bKa;received=192.0.2.1",
            "To: <sip:b@h>;tag=x",
            "From: <sip:a@h>;tag=y",
            "Call-ID: c",
            "CSeq: 1 INVITE",
            "Content-Length: 0",
        )
    )
    assert isinstance(response, Response)
    assert (response.status, response.reason) == (180, "Ringing")
    assert response.is_provisional and not response.is_success
    bare = parse(b"SIP/2.0 200\r\n" + bytes(response).split(b"\r\n", 1)[1])
    assert isinstance(bare, Response) and bare.reason == ""


def test_torture_compact_forms_folding_and_whitespace() -> None:
    # compact names, odd case, line folding (a continuation line starts with white space),
    # space before the colon, several Vias in one header and in two, unknown headers kept
    data = msg(
        "OPTIONS sip:user@example.com SIP/2.0",
        "v:  SIP/2.0/UDP  192.0.2.1:5060;branch=z9hG4bK-1 ,",
        "   SIP/2.0/TCP 192.0.2.2;branch=z9hG4bK-2",
        "VIA : SIP/2.0/UDP 192.0.2.3;branch=z9hG4bK-3",
        "mAX-fORWARDS: 69",
        "t: <sip:user@example.com>",
        "f: Caller",
        " <sip:caller@example.com>;tag=a",
        "i: torture-1@192.0.2.1",
        "CSEQ:\t7 OPTIONS",
        "k: timer, 100rel",
        "s: ",
        "m: *",
        "NewFangledHeader:   newfangled value",
        " continued newfangled value",
        "l: 0",
    )
    request = parse(data)
    assert isinstance(request, Request)
    assert [v.host for v in request.via] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert request.via[1].transport == "TCP"
    assert request.max_forwards == 69
    assert request.from_ == NameAddr(
        SipUri(host="example.com", user="caller"), "Caller", {"tag": "a"}
    )
    assert request.cseq == CSeq(7, "OPTIONS")
    assert request.headers.get_all("Supported") == ["timer", "100rel"]
    assert request.headers.get("Subject") == ""
    assert request.contacts() == []  # "*" is not an address
    assert request.headers.get("newfangledheader") == "newfangled value continued newfangled value"
    again = parse(bytes(request))
    assert again == request
    assert bytes(again) == bytes(request)


def test_torture_escaped_uri_and_display_names() -> None:
    request = parse(
        msg(
            "INVITE sip:sips%3Auser%40example.com@example.net;custom=%20x SIP/2.0",
            "Via: SIP/2.0/UDP h;branch=z9hG4bKesc",
            "Max-Forwards: 70",
            'To: "\\"quoted\\" \\\\ name" <sip:%61lice@example.com>',
            "From: <sip:b@h>;tag=1",
            "Call-ID: esc",
            "CSeq: 1 INVITE",
            "Content-Length: 0",
        )
    )
    assert isinstance(request, Request)
    assert request.uri.user == "sips%3Auser%40example.com"
    assert request.uri.params == {"custom": "%20x"}
    assert request.to.display == '"quoted" \\ name'
    assert parse(bytes(request)) == request


def test_leading_crlfs_and_extra_datagram_bytes() -> None:
    padded = b"\r\n\r\n" + INVITE + b"trailing bytes beyond Content-Length"
    request = parse(padded)
    assert request.body == b"v=0\n"  # RFC 3261 18.3: the rest of a datagram is discarded


def test_serialisation_recomputes_content_length_and_orders_headers() -> None:
    request = Request(
        method="MESSAGE",
        uri=SipUri(host="h", user="u"),
        via=[Via("UDP", "10.0.0.1", 5060, {"branch": "z9hG4bKm"})],
        from_=NameAddr(SipUri(host="h", user="a"), params={"tag": "t"}),
        to=NameAddr(SipUri(host="h", user="u")),
        call_id="m1",
        cseq=CSeq(1, "MESSAGE"),
        headers=Headers([("Content-Type", "text/plain")]),
        body="héllo".encode(),
    )
    data = bytes(request)
    assert data.startswith(b"MESSAGE sip:u@h SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=")
    assert b"\r\nContent-Length: 6\r\n\r\nh\xc3\xa9llo" in data
    assert parse(data) == request


def test_response_to_copies_the_identifying_headers() -> None:
    request = parse(INVITE)
    assert isinstance(request, Request)
    request.headers.add("Record-Route", "<sip:p1;lr>, <sip:p2;lr>")
    ringing = response_to(request, 180, to_tag="totag")
    assert (ringing.status, ringing.reason) == (180, "Ringing")
    assert ringing.via == request.via and ringing.call_id == request.call_id
    assert ringing.to.tag == "totag" and ringing.cseq == request.cseq
    assert ringing.headers.get_all("Record-Route") == ["<sip:p1;lr>", "<sip:p2;lr>"]
    assert response_to(request, 486).headers.get("Record-Route") is None
    assert response_to(request, 499).reason == "Unknown"


BASE = [
    "BYE sip:u@h SIP/2.0",
    "Via: SIP/2.0/UDP h;branch=z9hG4bKb",
    "Max-Forwards: 70",
    "From: <sip:a@h>;tag=1",
    "To: <sip:u@h>;tag=2",
    "Call-ID: bad",
    "CSeq: 2 BYE",
    "Content-Length: 0",
]


def without(name: str) -> bytes:
    return msg(*(line for line in BASE if not line.startswith(name)))


def replaced(old: str, new: str) -> bytes:
    return msg(*(new if line.startswith(old) else line for line in BASE))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no empty line"),
        (b"garbage", "no empty line"),
        (msg("BYE sip:u@h"), "bad request line"),
        (msg("BYE  sip:u@h SIP/2.0"), "bad request line"),  # two spaces
        (msg("B(E sip:u@h SIP/2.0"), "bad request line"),
        (replaced("BYE", "BYE sip:u@h SIP/7.0"), "unsupported SIP version"),
        (replaced("BYE", "BYE tel:+1 SIP/2.0"), "unsupported URI scheme"),
        (msg("SIP/2.0 99 Low", *BASE[1:]), "bad status line"),
        (msg("SIP/2.0 2000 OK", *BASE[1:]), "bad status line"),
        (without("Via"), "missing Via"),
        (without("From"), "missing From"),
        (without("To"), "missing To"),
        (without("Call-ID"), "missing Call-ID"),
        (without("CSeq"), "missing CSeq"),
        (without("Max-Forwards"), "missing Max-Forwards"),
        (replaced("Max-Forwards", "Max-Forwards: 300"), "bad Max-Forwards"),
        (replaced("Max-Forwards", "Max-Forwards: ٣"), "bad Max-Forwards"),  # a non-ASCII digit
        (replaced("CSeq", "CSeq: 2 INVITE"), "CSeq method does not match"),
        (replaced("Call-ID", "Call-ID: a b"), "bad Call-ID"),
        (replaced("Content-Length", "Content-Length: 10"), "Content-Length larger"),
        (replaced("Content-Length", "Content-Length: -1"), "bad Content-Length"),
        (replaced("Content-Length", "Content-Length: 1e3"), "bad Content-Length"),
        (replaced("From", "From: <sip:a@h>;tag=1\r\nFrom: <sip:b@h>"), "more than one From"),
        (msg(BASE[0], " " + BASE[1], *BASE[2:]), "continuation line before any header"),
        (replaced("To", "To <sip:u@h>"), "bad header line"),
        (replaced("To", "To: <sip:u@h>;tag=2\x00"), "control character"),
        (msg(*BASE).replace(b"Call-ID: bad", b"Call-ID: b\xffd"), "not UTF-8"),
        (msg(*BASE) + b"x" * 70_000, "larger than 64 KiB"),
    ],
)
def test_malformed_messages(data: bytes, reason: str) -> None:
    with pytest.raises(SipParseError) as error:
        parse(data)
    assert reason in error.value.reason


def test_a_malformed_request_keeps_what_a_400_needs() -> None:
    with pytest.raises(SipParseError) as error:
        parse(without("Max-Forwards"))
    assert error.value.method == "BYE"
    assert ("Call-ID", "bad") in error.value.raw_headers
    with pytest.raises(SipParseError) as error:
        parse(msg("SIP/2.0 200 OK", *BASE[1:3]))
    assert error.value.method is None  # a response is never answered
