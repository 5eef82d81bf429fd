"""Property tests for the parser: generated messages round-trip; random and mutated bytes
give a message or a SipParseError, never any other exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callbridge.adapters.telephony.sip.errors import SipParseError
from callbridge.adapters.telephony.sip.headers import CSeq, Headers, NameAddr, Via
from callbridge.adapters.telephony.sip.message import Message, Request, Response, parse
from callbridge.adapters.telephony.sip.uri import SipUri

TOKEN = st.text(st.sampled_from("abcXYZ019-._!%*+`'~"), min_size=1, max_size=12)
HOST = st.one_of(
    st.from_regex(r"[a-z]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]{2,5}){0,2}", fullmatch=True),
    st.builds("{}.{}.{}.{}".format, *[st.integers(0, 255)] * 4),
    st.just("[2001:db8::1]"),
)
USER = st.from_regex(r"([a-zA-Z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-F]{2}){1,12}", fullmatch=True)
URI_WORD = st.text(st.sampled_from("abcXYZ019-._!~*'()"), min_size=1, max_size=12)
PARAMS = st.dictionaries(TOKEN.map(str.lower), st.one_of(st.none(), TOKEN), max_size=3)
URI_PARAMS = st.dictionaries(URI_WORD.map(str.lower), st.one_of(st.none(), URI_WORD), max_size=3)
URI = st.builds(
    SipUri,
    host=HOST,
    user=st.one_of(st.none(), USER),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    scheme=st.sampled_from(["sip", "sips"]),
    params=URI_PARAMS,
)
DISPLAY = st.one_of(
    st.none(),
    st.text(
        st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x7f"), max_size=15
    ),
)
NAME_ADDR = st.builds(NameAddr, uri=URI, display=DISPLAY, params=PARAMS)
VIA = st.builds(
    Via,
    transport=st.sampled_from(["UDP", "TCP"]),
    host=HOST,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    params=st.builds(lambda b, extra: {"branch": "z9hG4bK" + b, **extra}, TOKEN, PARAMS),
)
METHOD = st.sampled_from(["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO", "X-CUSTOM"])
HEADER_VALUE = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x7f"),
    max_size=30,
).map(str.strip)
EXTRA_HEADERS = st.lists(
    st.tuples(st.sampled_from(["Subject", "X-Call-Ref", "User-Agent", "Priority"]), HEADER_VALUE),
    max_size=4,
).map(Headers)
BODY = st.binary(max_size=200)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    method = draw(METHOD)
    return Request(
        method=method,
        uri=draw(URI),
        via=draw(st.lists(VIA, min_size=1, max_size=3)),
        from_=draw(NAME_ADDR),
        to=draw(NAME_ADDR),
        call_id=draw(TOKEN) + "@" + draw(HOST),
        cseq=CSeq(draw(st.integers(0, 2**31 - 1)), method),
        max_forwards=draw(st.integers(0, 255)),
        headers=draw(EXTRA_HEADERS),
        body=draw(BODY),
    )


@st.composite
def responses(draw: st.DrawFn) -> Response:
    return Response(
        status=draw(st.integers(100, 699)),
        reason=draw(HEADER_VALUE),
        via=draw(st.lists(VIA, min_size=1, max_size=2)),
        from_=draw(NAME_ADDR),
        to=draw(NAME_ADDR),
        call_id=draw(TOKEN),
        cseq=CSeq(draw(st.integers(0, 100)), draw(METHOD)),
        headers=draw(EXTRA_HEADERS),
        body=draw(BODY),
    )


MESSAGES = st.one_of(requests(), responses())


def parse_or_reject(data: bytes) -> Message | None:
    """The only two outcomes parse may have; anything else raised fails the test."""
    try:
        return parse(data)
    except SipParseError:
        return None


@settings(max_examples=200, deadline=None)
@given(MESSAGES)
def test_generated_messages_round_trip(message: Message) -> None:
    data = bytes(message)
    parsed = parse(data)
    assert parsed == message
    assert bytes(parsed) == data


SEEDS = [
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b'From: "Alice, A." <sip:alice@atlanta.example.com;transport=tcp>;tag=1928301774\r\n'
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    b"Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 67\r\n\r\n"
    b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4 RTP/AVP 0\r\n",
    b"SIP/2.0 401 Unauthorized\r\n"
    b"v: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK-1;received=10.0.0.1,\r\n"
    b"  SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK-2\r\n"
    b"t: <sip:u@h>;tag=x\r\nf: <sip:a@h>;tag=y\r\ni: c1\r\nCSeq: 1 REGISTER\r\n"
    b'WWW-Authenticate: Digest realm="r", nonce="n", qop="auth"\r\nl: 0\r\n\r\n',
]


@st.composite
def mutated(draw: st.DrawFn, sources: st.SearchStrategy[bytes]) -> bytes:
    data = bytearray(draw(sources))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]))
        if action == "flip":
            data[position] = draw(st.integers(0, 255))
        elif action == "insert":
            data[position:position] = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=4),
                    st.sampled_from(
                        [
                            b"\r\n",
                            b"\r\n ",
                            b":",
                            b";",
                            b",",
                            b"<",
                            b">",
                            b'"',
                            b"\\",
                            b"%",
                            b"\x00",
                        ]
                    ),
                )
            )
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 5))]
        elif action == "truncate":
            del data[position:]
        else:
            line_end = data.find(b"\r\n", position)
            if line_end > 0:
                data[line_end:line_end] = data[position:line_end]
    return bytes(data)


def check_mutated(data: bytes) -> None:
    message = parse_or_reject(data)
    if message is not None:
        # whatever was accepted serialises to something that parses to the same message
        assert parse(bytes(message)) == message


@settings(max_examples=800, deadline=None)
@given(mutated(st.sampled_from(SEEDS)))
def test_mutated_messages_parse_or_are_rejected(data: bytes) -> None:
    check_mutated(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(MESSAGES.map(bytes)))
def test_mutated_generated_messages_parse_or_are_rejected(data: bytes) -> None:
    check_mutated(data)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_parse_or_are_rejected(data: bytes) -> None:
    parse_or_reject(data)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text_after_a_start_line_parses_or_is_rejected(text: str) -> None:
    parse_or_reject(("INVITE sip:a@b SIP/2.0\r\n" + text + "\r\n\r\n").encode())
    parse_or_reject(("SIP/2.0 200 OK\r\n" + text + "\r\n\r\n").encode())
