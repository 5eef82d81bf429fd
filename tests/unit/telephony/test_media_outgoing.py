"""One outgoing stream from generated frames and relayed packets: numbering and marking."""

from __future__ import annotations

from callbridge.adapters.telephony.media.g711 import ULAW_TO_ALAW
from callbridge.adapters.telephony.media.outgoing import OutgoingStream
from callbridge.adapters.telephony.media.rtp import RtpPacket, parse_rtp


def incoming(seq: int, ts: int, payload: bytes = b"\xff" * 160, ssrc: int = 9) -> bytes:
    return RtpPacket(0, seq, ts, ssrc, payload).to_bytes()


def relay(stream: OutgoingStream, data: bytes, epoch: int, clock: int) -> RtpPacket:
    """`data` relayed as PCMU when our media clock reads `clock`."""
    return parse_rtp(bytes(stream.relayed_packet(data, 0, None, epoch, lambda: clock)))


def test_a_relay_continues_right_after_the_generated_frames() -> None:
    stream = OutgoingStream(ssrc=0xAAAA, first_seq=99)
    sent = [parse_rtp(stream.generated(0, b"\xff" * 160, 1000 + 160 * i, i == 0)) for i in range(3)]
    assert [p.sequence for p in sent] == [100, 101, 102]
    stream.restart()  # the prompt ended, the relay takes over
    # The caller's numbering is its own; ours carries on from 102 and from our clock.
    out = [
        parse_rtp(
            bytes(stream.relayed_packet(incoming(s, t), 0, None, epoch=1, media_clock=lambda: 1330))
        )
        for s, t in ((5000, 70000), (5001, 70160), (5003, 70480), (5002, 70320))
    ]
    assert [p.sequence for p in out] == [103, 104, 106, 105]  # gaps and reordering kept
    assert [p.timestamp for p in out] == [1480, 1640, 1960, 1800]  # after the last frame (1320)
    assert [p.marker for p in out] == [True, False, False, False]
    assert {p.ssrc for p in out} == {0xAAAA}
    assert stream.seq == 106 and stream.relayed == 4 and stream.packets == 7


def test_a_new_source_re_anchors_with_the_marker_bit() -> None:
    stream = OutgoingStream(ssrc=1, first_seq=0)
    first = parse_rtp(
        bytes(stream.relayed_packet(incoming(10, 0), 0, None, 1, media_clock=lambda: 800))
    )
    second = parse_rtp(
        bytes(stream.relayed_packet(incoming(11, 160), 0, None, 1, media_clock=lambda: 960))
    )
    other = parse_rtp(
        bytes(stream.relayed_packet(incoming(7, 5), 0, None, 2, media_clock=lambda: 1200))
    )
    assert (first.sequence, second.sequence, other.sequence) == (1, 2, 3)
    assert (first.timestamp, second.timestamp, other.timestamp) == (800, 960, 1200)
    assert (first.marker, second.marker, other.marker) == (True, False, True)


def test_payload_type_and_codec_are_rewritten_for_the_far_end() -> None:
    stream = OutgoingStream(ssrc=1, first_seq=0)
    payload = bytes(range(160))
    out = parse_rtp(
        bytes(stream.relayed_packet(incoming(1, 0, payload), 8, ULAW_TO_ALAW, 1, lambda: 0))
    )
    assert out.payload_type == 8
    assert out.payload == payload.translate(ULAW_TO_ALAW)
    event = RtpPacket(101, 2, 0, 9, b"\x01\x0a\x00\xa0", marker=True).to_bytes()
    relayed = parse_rtp(bytes(stream.relayed_packet(event, 96, None, 1, lambda: 0)))
    assert relayed.payload_type == 96 and relayed.payload == b"\x01\x0a\x00\xa0"
    assert relayed.marker  # the sender's marker bit is kept
