"""RFC 4733 events: the payload, reporting each press once, and the sender's packet plan."""

from __future__ import annotations

import asyncio

import pytest

from callbridge.adapters.telephony.media.dtmf import (
    DtmfDetector,
    DtmfSender,
    EventPayload,
    digit_for_event,
    event_for_digit,
)
from callbridge.domain.errors import InvalidInput


def test_payload_layout() -> None:
    assert EventPayload(5, True, 10, 800).to_bytes() == bytes.fromhex("058a0320")
    assert EventPayload.parse(bytes.fromhex("0b0a0140")) == EventPayload(11, False, 10, 320)
    assert EventPayload.parse(b"\x01") is None


def test_digit_codes() -> None:
    assert [event_for_digit(d) for d in "09*#AD"] == [0, 9, 10, 11, 12, 15]
    assert digit_for_event(11) == "#"
    assert digit_for_event(16) is None  # flash is an event, not a digit
    with pytest.raises(InvalidInput):
        event_for_digit("x")


def press(event: int, ts: int, seq0: int, ends: int = 3) -> list[tuple[int, int, bool, bytes]]:
    """(seq, timestamp, marker, payload) of one press as sipp's captures send it."""
    packets = [
        (seq0 + i, ts, i == 0, EventPayload(event, False, 10, 160 * i).to_bytes()) for i in range(7)
    ]
    end = EventPayload(event, True, 10, 1120).to_bytes()
    packets += [(seq0 + 7, ts, False, end)] * ends  # the end packet, repeated
    return packets


def detect(
    detector: DtmfDetector, packets: list[tuple[int, int, bool, bytes]], now: float
) -> list[str]:
    digits = []
    for i, (_seq, ts, marker, payload) in enumerate(packets):
        found = detector.feed(0xAB, ts, marker, payload, now + 0.02 * i)
        if found is not None:
            digits.append(found.digit)
    return digits


def test_one_press_with_repeated_end_packets_is_one_digit() -> None:
    assert detect(DtmfDetector(), press(1, 13280, 7984), 0.0) == ["1"]


def test_presses_with_their_own_timestamps_are_each_reported() -> None:
    packets = press(1, 1000, 1) + press(2, 3000, 20) + press(11, 5000, 40)
    assert detect(DtmfDetector(), packets, 0.0) == ["1", "2", "#"]


def test_once_per_timestamp_even_when_the_start_is_retransmitted_or_reordered() -> None:
    detector = DtmfDetector()
    first = press(5, 8000, 100)
    assert detect(detector, first[:3], 0.0) == ["5"]
    # The first packet again (a retransmission), then the rest, then a straggler of the press
    # after the next one started: nothing new.
    assert detect(detector, [first[0], *first[3:]], 0.1) == []
    assert detect(detector, press(6, 9600, 120)[:2], 0.5) == ["6"]
    assert detect(detector, [first[-1]], 0.6) == []


def test_a_replayed_capture_of_the_same_digit_counts_again() -> None:
    # sipp replays the same capture for each press of a digit: same SSRC and timestamp. After
    # the end packets, a new start (marker bit) at least replay_gap_s later is a new press.
    detector = DtmfDetector(replay_gap_s=0.1)
    assert detect(detector, press(1, 13280, 7984), 0.0) == ["1"]
    assert detect(detector, press(1, 13280, 7984), 0.5) == ["1"]
    # but a start packet 60 ms after the end packets (at 0.64 s) is a straggler, not a press
    assert detect(detector, press(1, 13280, 7984)[:1], 0.7) == []


def sent_frames(
    sender: DtmfSender, ticks: range
) -> list[tuple[int, EventPayload, bool, int] | None]:
    frames: list[tuple[int, EventPayload, bool, int] | None] = []
    for tick in ticks:
        frame = sender.next_frame(tick)
        if frame is None:
            frames.append(None)
        else:
            parsed = EventPayload.parse(frame.payload)
            assert parsed is not None
            frames.append((tick, parsed, frame.marker, frame.start_tick))
    return frames


def test_sender_plan_for_one_digit() -> None:
    async def scenario() -> None:
        sender = DtmfSender()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sender.enqueue("7", duration_ms=100, gap_ms=40, done=done)
        frames = sent_frames(sender, range(100, 112))
        tones = frames[:5]
        ends = frames[5:8]
        assert all(f is not None for f in tones + ends)
        assert [f[1].duration for f in tones if f] == [160, 320, 480, 640, 800]
        assert [f[2] for f in tones if f] == [True, False, False, False, False]  # marker first
        assert all(f[1].event == 7 and not f[1].end for f in tones if f)
        assert all(f[1].end and f[1].duration == 800 and not f[2] for f in ends if f)
        assert {f[3] for f in tones + ends if f} == {100}  # one timestamp: the event's start
        assert done.done()
        assert frames[8:10] == [None, None]  # the gap
        assert not sender.active()

    asyncio.run(scenario())


def test_sender_plays_digits_one_after_the_other() -> None:
    sender = DtmfSender()
    sender.enqueue("12", duration_ms=60, gap_ms=40, done=None)
    frames = sent_frames(sender, range(20))
    events = [(f[1].event, f[3]) for f in frames if f is not None]
    assert events[:6] == [(1, 0)] * 6  # 3 tone packets, 3 end packets
    assert events[6:] == [(2, 8)] * 6  # then 2 gap ticks, then the next digit at tick 8
    with pytest.raises(InvalidInput):
        sender.enqueue("1", duration_ms=10, gap_ms=40, done=None)
