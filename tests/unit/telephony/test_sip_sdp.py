"""SDP parsing, building and the offer/answer rules for G.711 audio."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callbridge.adapters.telephony.sip import sdp
from callbridge.adapters.telephony.sip.sdp import (
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    Codec,
    NoCommonCodec,
    SdpError,
    answer,
    offer,
    parse_sdp,
)

PHONE_OFFER = (
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
    b"s=call\r\n"
    b"c=IN IP4 192.0.2.10\r\n"
    b"b=AS:64\r\n"
    b"t=0 0\r\n"
    b"m=audio 49170 RTP/AVP 9 8 0 101\r\n"
    b"a=rtpmap:9 G722/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=ptime:20\r\n"
    b"a=sendrecv\r\n"
    b"m=video 51372 RTP/AVP 31\r\n"
    b"a=rtpmap:31 H261/90000\r\n"
)


def test_parse_a_phone_offer() -> None:
    session = parse_sdp(PHONE_OFFER)
    assert session.address == "192.0.2.10"
    assert (session.session_id, session.version, session.username) == (
        2890844526,
        2890844526,
        "alice",
    )
    audio = session.audio
    assert audio is not None
    assert audio.port == 49170 and audio.formats == ("9", "8", "0", "101")
    assert [c.name for c in audio.offered_codecs()] == ["G722", "PCMA", "PCMU", "telephone-event"]
    assert audio.codec(0) == PCMU  # static payload type without an rtpmap
    assert dict(audio.fmtp) == {101: "0-15"}
    assert audio.ptime == 20 and audio.direction == "sendrecv"
    assert session.extra == ("b=AS:64",)
    assert len(session.media) == 2
    assert parse_sdp(bytes(session)) == session


def test_answer_picks_the_first_offered_codec_we_support_and_echoes_dtmf() -> None:
    local = answer(parse_sdp(PHONE_OFFER), "127.0.0.1", 40000)
    audio, video = local.media
    assert audio.port == 40000 and audio.formats == ("8", "101")
    assert audio.codecs == (PCMA, Codec(101, "telephone-event"))
    assert audio.fmtp == ((101, "0-15"),)
    assert audio.direction == "sendrecv"
    assert (video.kind, video.port) == ("video", 0)  # rejected, but still answered (RFC 3264 6)
    text = str(local)
    assert "m=audio 40000 RTP/AVP 8 101\r\n" in text and "c=IN IP4 127.0.0.1\r\n" in text
    only_pcmu = answer(parse_sdp(PHONE_OFFER), "127.0.0.1", 40000, supported=(PCMU,))
    assert only_pcmu.media[0].formats == ("0", "101")


def test_answer_without_a_common_codec() -> None:
    offer_text = PHONE_OFFER.replace(b"RTP/AVP 9 8 0 101", b"RTP/AVP 9")
    with pytest.raises(NoCommonCodec):
        answer(parse_sdp(offer_text), "127.0.0.1", 40000)


@pytest.mark.parametrize(
    ("offered", "answered", "hold"),
    [
        ("sendrecv", "sendrecv", False),
        ("sendonly", "recvonly", True),
        ("recvonly", "sendonly", False),
        ("inactive", "inactive", True),
    ],
)
def test_answer_mirrors_the_direction(offered: sdp.Direction, answered: str, hold: bool) -> None:
    remote = offer("192.0.2.1", 5000, direction=offered)
    assert remote.is_hold is hold
    audio = answer(remote, "127.0.0.1", 40000).audio
    assert audio is not None and audio.direction == answered


def test_old_style_hold_with_a_zero_address() -> None:
    remote = parse_sdp(
        b"v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
        b"m=audio 5000 RTP/AVP 0\r\n"
    )
    assert remote.is_hold
    audio = answer(remote, "127.0.0.1", 40000).audio
    assert audio is not None and audio.direction == "recvonly"


def test_version_increments_only_when_the_answer_changes() -> None:
    first = answer(offer("192.0.2.1", 5000), "127.0.0.1", 40000, session_id=77)
    assert (first.session_id, first.version) == (77, 0)
    same = answer(offer("192.0.2.1", 5002), "127.0.0.1", 40000, previous=first)
    assert (same.session_id, same.version) == (77, 0)
    held = answer(offer("192.0.2.1", 5000, direction="sendonly"), "127.0.0.1", 40000, previous=same)
    assert (held.session_id, held.version) == (77, 1)


def test_offer() -> None:
    ours = offer("127.0.0.1", 42000, session_id=5, version=2)
    assert str(ours) == (
        "v=0\r\no=- 5 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 42000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )
    assert offer("127.0.0.1", 1, telephone_event=False).media[0].codecs == (PCMU, PCMA)
    assert TELEPHONE_EVENT.same_format(Codec(96, "TELEPHONE-EVENT"))


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe",
        b"v=1\r\no=- 1 1 IN IP4 h\r\n",
        b"v=0\r\n",
        b"v=0\r\no=- x 1 IN IP4 h\r\nc=IN IP4 h\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 1 RTP/AVP 0\r\n",  # no c= anywhere
        b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio x RTP/AVP 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio 70000 RTP/AVP 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio 1 RTP/AVP 0\r\na=rtpmap:x y\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN XX h\r\n",
        b"v=0\r\no=- 1 1 IN IP4 h\r\ngarbage\r\n",
    ],
)
def test_bad_sdp(body: bytes) -> None:
    with pytest.raises(SdpError):
        parse_sdp(body)


def test_media_level_connection_is_enough() -> None:
    session = parse_sdp(
        b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n"
        b"m=audio 1234 RTP/AVP 0\r\nc=IN IP4 10.1.1.1\r\n"
    )
    audio = session.audio
    assert audio is not None
    assert session.address == "10.1.1.1" and session.connection_address(audio) == "10.1.1.1"


LINES = PHONE_OFFER.split(b"\r\n")


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """The phone offer with some lines dropped, duplicated or replaced by junk."""
    lines = []
    for line in LINES:
        action = draw(st.sampled_from(["keep"] * 6 + ["drop", "twice", "junk"]))
        if action == "twice":
            lines += [line, line]
        elif action == "junk":
            lines.append(draw(st.binary(max_size=20) | st.sampled_from(LINES).map(lambda x: x[:5])))
        elif action == "keep":
            lines.append(line)
    return b"\r\n".join(lines)


@settings(max_examples=300, deadline=None)
@given(bodies())
def test_any_body_parses_or_raises_sdp_error(body: bytes) -> None:
    try:
        session = parse_sdp(body)
    except SdpError:
        return
    assert bytes(parse_sdp(bytes(session))) == bytes(session)
    try:
        local = answer(session, "127.0.0.1", 40000)
    except NoCommonCodec:
        return
    audio = local.audio
    assert audio is not None
    assert any(audio.codecs[0].same_format(codec) for codec in (PCMU, PCMA))
    assert bytes(parse_sdp(bytes(local))) == bytes(local)
