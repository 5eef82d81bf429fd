"""SIP URIs and the typed header values built on them (name-addr, Via, CSeq, lists)."""

from __future__ import annotations

import pytest

from callbridge.adapters.telephony.sip.errors import SipParseError
from callbridge.adapters.telephony.sip.headers import (
    Headers,
    NameAddr,
    canonical_name,
    parse_cseq,
    parse_name_addr,
    parse_params,
    parse_via,
    split_list,
)
from callbridge.adapters.telephony.sip.uri import SipUri, parse_uri


def test_full_uri() -> None:
    uri = parse_uri("sips:alice:pw@Example.COM:5061;Transport=TCP;lr;maddr=10.0.0.1?subject=hi&x=1")
    assert uri == SipUri(
        host="Example.COM",
        user="alice",
        port=5061,
        scheme="sips",
        password="pw",
        params={"transport": "TCP", "lr": None, "maddr": "10.0.0.1"},
        headers={"subject": "hi", "x": "1"},
    )
    assert uri.transport == "tcp"
    assert uri.is_loose_router
    assert (
        str(uri) == "sips:alice:pw@Example.COM:5061;transport=TCP;lr;maddr=10.0.0.1?subject=hi&x=1"
    )


@pytest.mark.parametrize(
    "text",
    [
        "sip:127.0.0.1",
        "sip:+4420123@gw.example.com;user=phone",
        "sip:alice;day=tuesday@host",  # a user part may hold ';' (RFC 4475 3.1.1.1 style)
        "sip:%61lice@host",  # escaped characters stay escaped
        "sip:[2001:db8::10]:5070",
        "sip:user@host:0",
    ],
)
def test_uris_round_trip(text: str) -> None:
    assert str(parse_uri(text)) == text


def test_escaped_user_is_kept_as_received() -> None:
    assert parse_uri("sip:%61lice@host").user == "%61lice"


@pytest.mark.parametrize(
    "text",
    [
        "tel:+4420123",  # not supported yet: answered 400
        "http://example.com",
        "sip:",
        "sip:user@",
        "sip:user@host:99999",
        "sip:user@host:port",
        "sip:us er@host",
        "sip:user@ho st",
        "sip:%zzuser@host",
        "sip:[::1",
        "sip:host;=x",
        "sip:host?novalue",
    ],
)
def test_bad_uris(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_uri(text)


def test_default_transport_and_params() -> None:
    uri = SipUri(host="h")
    assert uri.transport == "udp"
    assert SipUri(host="h", scheme="sips").transport == "tls"
    assert uri.with_params(transport="tcp").transport == "tcp"
    assert uri.with_params(lr=None).without_params("lr") == uri


def test_name_addr_forms() -> None:
    quoted = parse_name_addr('"Smith, John \\"JS\\"" <sip:js@h;transport=tcp>;tag=abc;x="a;b"')
    assert quoted.display == 'Smith, John "JS"'
    assert quoted.uri.params == {"transport": "tcp"}  # inside <>: the URI's
    assert quoted.params == {"tag": "abc", "x": '"a;b"'}  # outside: the header's
    assert quoted.tag == "abc"
    assert parse_name_addr(str(quoted)) == quoted

    tokens = parse_name_addr("Bob  Smith <sip:bob@h>")
    assert tokens.display == "Bob Smith"

    bare = parse_name_addr("sip:carol@h;tag=9")  # addr-spec: ';' starts header parameters
    assert bare.uri == SipUri(host="h", user="carol")
    assert bare.tag == "9"
    assert bare.with_tag("10").tag == "10"
    assert str(NameAddr(SipUri(host="h"))) == "<sip:h>"


@pytest.mark.parametrize(
    "text",
    ['"unterminated <sip:h>', "<sip:h", "Bad@Name <sip:h>", '"x" sip:h', "<sip:h>junk", "<sip:h>;"],
)
def test_bad_name_addrs(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_name_addr(text)


def test_via() -> None:
    via = parse_via("SIP / 2.0 / udp  10.0.0.1 : 5070 ;branch=z9hG4bK77;rport;received=1.2.3.4")
    assert (via.transport, via.host, via.port) == ("UDP", "10.0.0.1", 5070)
    assert via.branch == "z9hG4bK77"
    assert via.received == "1.2.3.4"
    assert via.rport is None and "rport" in via.params
    assert via.with_params(rport="6000").rport == 6000
    assert str(via) == "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK77;rport;received=1.2.3.4"
    assert parse_via("SIP/2.0/TCP [::1];branch=z9hG4bKx").sent_by == ("[::1]", None)


@pytest.mark.parametrize(
    "text",
    [
        "SIP/3.0/UDP h",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP h:99999",
        "SIP/2.0/UDP h;rport=abc",
        "SIP/2.0/UDP h;rport=²",
        "SIP/2.0/UDP h junk",
    ],
)
def test_bad_vias(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_via(text)


def test_cseq() -> None:
    assert parse_cseq(" 4711   INVITE ").seq == 4711
    for bad in ("INVITE 1", "1", "2147483648 INVITE", "-1 BYE", "1 IN VITE"):
        with pytest.raises(SipParseError):
            parse_cseq(bad)


def test_params() -> None:
    assert parse_params(' ; a = 1 ;B;c="x y"') == {"a": "1", "b": None, "c": '"x y"'}
    for bad in ("a=1", ";", ";a=", ';a="open', ";a=1 b"):
        with pytest.raises(SipParseError):
            parse_params(bad)


def test_list_splitting_respects_quotes_and_angle_brackets() -> None:
    value = '"A, B" <sip:a@h;x=1,2>;q=0.5, <sip:b@h>,sip:c@h , '
    assert split_list(value) == ['"A, B" <sip:a@h;x=1,2>;q=0.5', "<sip:b@h>", "sip:c@h"]
    assert split_list('"esc \\" ,still", x') == ['"esc \\" ,still"', "x"]


def test_headers_are_case_insensitive_with_compact_forms() -> None:
    headers = Headers([("v", "SIP/2.0/UDP a, SIP/2.0/UDP b"), ("X-Custom", "1"), ("m", "<sip:h>")])
    assert headers.get_all("VIA") == ["SIP/2.0/UDP a", "SIP/2.0/UDP b"]
    assert headers.get("contact") == "<sip:h>"
    assert "x-custom" in headers and "Route" not in headers
    headers.set("x-CUSTOM", "2")
    headers.prepend("Route", "<sip:p;lr>")
    assert next(iter(headers)) == ("Route", "<sip:p;lr>")
    assert headers.get("X-Custom") == "2"
    headers.remove("via")
    assert headers.get_all("Via") == []
    copy = headers.copy()
    copy.add("Subject", "s")
    assert copy != headers and len(copy) == len(headers) + 1
    assert canonical_name("www-authenticate") == "WWW-Authenticate"
    assert canonical_name("i") == "Call-ID"
    assert canonical_name("X-Odd-Case") == "X-Odd-Case"
    # the auth headers are not lists: their commas stay
    auth = Headers([("WWW-Authenticate", 'Digest realm="r", nonce="n"')])
    assert auth.get_all("WWW-Authenticate") == ['Digest realm="r", nonce="n"']
