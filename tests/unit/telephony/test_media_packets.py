"""RTP and RTCP packets: build, parse, and the awkward parts (padding, CSRC, extensions)."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callbridge.adapters.telephony.media.rtcp import (
    Goodbye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SenderReport,
    SourceDescription,
    build_compound,
    ntp_from_unix,
    ntp_middle,
    parse_compound,
)
from callbridge.adapters.telephony.media.rtp import (
    HeaderExtension,
    MalformedPacket,
    RtpPacket,
    is_rtcp,
    parse_rtp,
    payload_bounds,
)


def test_plain_packet_layout() -> None:
    packet = RtpPacket(
        0, sequence=0x1234, timestamp=0xDEADBEEF, ssrc=0x01020304, payload=b"\xff" * 4
    )
    wire = packet.to_bytes()
    assert wire == bytes.fromhex("80001234deadbeef01020304ffffffff")
    assert parse_rtp(wire) == packet


def test_marker_csrc_extension_and_padding_round_trip() -> None:
    packet = RtpPacket(
        payload_type=101,
        sequence=65535,
        timestamp=160,
        ssrc=7,
        payload=b"\x01\x0a\x00\xa0",
        marker=True,
        csrcs=(11, 22),
        extension=HeaderExtension(0xBEDE, b"\x10\xaa\x00\x00"),
        padding=4,
    )
    wire = packet.to_bytes()
    assert wire[0] == 0x80 | 0x20 | 0x10 | 2  # version, padding, extension, two CSRCs
    assert wire[1] == 0x80 | 101
    assert wire[-1] == 4
    assert parse_rtp(wire) == packet
    assert payload_bounds(wire) == (12 + 8 + 8, len(wire) - 4)


def test_hand_built_packet_with_everything_parses() -> None:
    header = struct.pack("!BBHII", 0xB1, 0x08, 9, 1000, 42)  # V=2 P=1 X=1 CC=1, PT 8
    csrc = struct.pack("!I", 99)
    extension = struct.pack("!HH", 0x1000, 1) + b"abcd"
    wire = header + csrc + extension + b"AUDIO" + b"\x00\x00\x03"
    packet = parse_rtp(wire)
    assert packet.payload_type == 8 and packet.sequence == 9 and packet.timestamp == 1000
    assert packet.csrcs == (99,)
    assert packet.extension == HeaderExtension(0x1000, b"abcd")
    assert packet.payload == b"AUDIO"
    assert packet.padding == 3


@pytest.mark.parametrize(
    "wire",
    [
        b"\x80\x00\x00",  # too short
        bytes.fromhex("400000000000000000000000"),  # version 1
        bytes.fromhex("820000000000000000000000") + b"\x00" * 4,  # CSRC count past the end
        bytes.fromhex("900000000000000000000000") + b"\x00\x00\x00\x05",  # extension past end
        bytes.fromhex("a00000000000000000000000") + b"\x00\x00\x09",  # padding past the header
    ],
)
def test_malformed_packets_are_refused(wire: bytes) -> None:
    with pytest.raises(MalformedPacket):
        parse_rtp(wire)


@given(
    payload_type=st.integers(0, 127),
    sequence=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=200),
    marker=st.booleans(),
    csrcs=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15).map(tuple),
    extension=st.none()
    | st.builds(
        HeaderExtension,
        st.integers(0, 0xFFFF),
        st.binary(max_size=12).map(lambda b: b + bytes(-len(b) % 4)),
    ),
    padding=st.integers(0, 255),
)
def test_any_packet_round_trips(
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool,
    csrcs: tuple[int, ...],
    extension: HeaderExtension | None,
    padding: int,
) -> None:
    packet = RtpPacket(
        payload_type, sequence, timestamp, ssrc, payload, marker, csrcs, extension, padding
    )
    wire = packet.to_bytes()
    assert parse_rtp(wire) == packet
    bounds = payload_bounds(wire)
    assert bounds is not None and wire[bounds[0] : bounds[1]] == payload


def test_rtcp_is_told_apart_from_rtp_on_a_muxed_port() -> None:
    rtcp = build_compound([ReceiverReport(1)])
    assert is_rtcp(rtcp)
    assert not is_rtcp(RtpPacket(0, 1, 1, 1, b"x").to_bytes())
    assert not is_rtcp(RtpPacket(101, 1, 1, 1, b"x", marker=True).to_bytes())


def test_sender_report_with_block_sdes_and_bye_round_trip() -> None:
    block = ReportBlock(
        ssrc=0xCAFE,
        fraction_lost=64,
        cumulative_lost=-3,
        highest_sequence=(2 << 16) | 17,
        jitter=40,
        last_sr=0x12345678,
        delay_since_last_sr=65536,
    )
    packets: list[RtcpPacket] = [
        SenderReport(0xBEEF, ntp_from_unix(1_700_000_000.5), 123456, 50, 8000, (block,)),
        SourceDescription(((0xBEEF, "callbridge@127.0.0.1"),)),
        Goodbye((0xBEEF,), "bye now"),
    ]
    wire = build_compound(packets)
    assert len(wire) % 4 == 0
    assert wire[1] == 200 and wire[0] & 0x1F == 1
    assert parse_compound(wire) == packets


def test_receiver_report_layout() -> None:
    block = ReportBlock(ssrc=5, fraction_lost=1, cumulative_lost=2, highest_sequence=3, jitter=4)
    wire = build_compound([ReceiverReport(9, (block,))])
    assert wire == struct.pack("!BBHI", 0x81, 201, 7, 9) + struct.pack(
        "!IIIIII", 5, 1 << 24 | 2, 3, 4, 0, 0
    )


def test_unknown_rtcp_packets_are_skipped() -> None:
    app = struct.pack("!BBH", 0x80, 204, 2) + b"name" + b"data"
    wire = app + build_compound([ReceiverReport(3)])
    assert parse_compound(wire) == [ReceiverReport(3)]


def test_truncated_rtcp_is_refused() -> None:
    wire = build_compound([ReceiverReport(3, (ReportBlock(1, 0, 0, 0, 0),))])
    with pytest.raises(MalformedPacket):
        parse_compound(wire[:-4])


def test_ntp_conversion() -> None:
    ntp = ntp_from_unix(0.25)
    assert ntp >> 32 == 2_208_988_800
    assert ntp & 0xFFFFFFFF == 1 << 30
    assert ntp_middle(ntp) == ((2_208_988_800 & 0xFFFF) << 16) | (1 << 14)


def outcome(parse: Callable[[bytes], object], data: bytes) -> object:
    """What parsing gives: the result, or the MalformedPacket (any other error fails the test)."""
    try:
        return parse(data)
    except MalformedPacket as refused:
        return refused


@given(st.binary(max_size=120))
def test_garbage_is_refused_with_one_error_type_and_nothing_else(data: bytes) -> None:
    packet = outcome(parse_rtp, data)
    bounds = payload_bounds(data)
    if isinstance(packet, RtpPacket):  # what parses, the relay's cheap bounds agree with
        assert bounds is not None and data[bounds[0] : bounds[1]] == packet.payload
    else:
        assert isinstance(packet, MalformedPacket)
    parsed = outcome(parse_compound, data)
    assert isinstance(parsed, MalformedPacket | list)


@given(st.lists(st.integers(0, 255), min_size=4, max_size=80).map(bytes))
def test_rtcp_shaped_garbage_is_refused_cleanly(tail: bytes) -> None:
    # Version 2 and a known packet type, with lengths and counts that lie.
    for packet_type in (200, 201, 202, 203):
        data = bytes([0x80 | (tail[0] & 0x3F), packet_type]) + tail[1:]
        parsed = outcome(parse_compound, data)
        if isinstance(parsed, list):
            assert all(
                isinstance(p, SenderReport | ReceiverReport | SourceDescription | Goodbye)
                for p in parsed
            )
        else:
            assert isinstance(parsed, MalformedPacket)
