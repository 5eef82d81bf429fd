"""The jitter buffer: ordering, loss, lateness, concealment."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from callbridge.adapters.telephony.media.g711 import ULAW_DECODE, Codec
from callbridge.adapters.telephony.media.jitter import JitterBuffer

_LEVELS = {int(level) for level in ULAW_DECODE}
# Codes whose level, halved (what concealment repeats), is no level at all: a concealed frame can
# never be mistaken for a packet.
_CODES = [c for c in range(0x80, 0xFF) if int(ULAW_DECODE[c]) // 2 not in _LEVELS]
_PACKET_OF_LEVEL = {int(ULAW_DECODE[code]): i for i, code in enumerate(_CODES)}
MARKS = len(_CODES)


def payload(seq: int) -> bytes:
    """160 bytes that say which packet they are (modulo MARKS)."""
    return bytes([_CODES[seq % MARKS]]) * 160


def which(frame: np.ndarray) -> int | None:
    """The packet a frame came from (modulo MARKS), or None for silence or concealment."""
    if not np.all(frame == frame[0]):
        return None
    return _PACKET_OF_LEVEL.get(int(frame[0]))


def play(arrivals: dict[int, list[int]], ticks: int, buffer: JitterBuffer) -> list[int | None]:
    """Put the packets arriving at each tick (in the listed order), then take one frame."""
    out = []
    for tick in range(ticks):
        for seq in arrivals.get(tick, []):
            buffer.put(seq & 0xFFFF, 0, payload(seq))
        out.append(which(buffer.next_frame(Codec.PCMU)))
    return out


@settings(max_examples=150, deadline=None)
@given(count=st.integers(5, 80), start=st.integers(0, 0xFFFF), data=st.data())
def test_reordering_within_the_depth_plays_everything_in_order(
    count: int, start: int, data: st.DataObject
) -> None:
    # Each packet is up to 40 ms late and packets of one tick come in any order: a 60 ms
    # buffer must still play every one, in sequence (across the 16-bit wrap too).
    delays = data.draw(st.lists(st.integers(0, 2), min_size=count, max_size=count))
    arrivals: dict[int, list[int]] = {}
    for i in range(count):
        arrivals.setdefault(i + delays[i], []).append(start + i)
    for tick, seqs in arrivals.items():
        arrivals[tick] = data.draw(st.permutations(seqs))
    buffer = JitterBuffer(depth=3)
    out = [x for x in play(arrivals, count + 10, buffer) if x is not None]
    assert out == [(start + i) % MARKS for i in range(count)]
    stats = buffer.stats()
    assert (stats.played, stats.late, stats.lost) == (count, 0, 0)


@settings(max_examples=150, deadline=None)
@given(count=st.integers(5, 80), data=st.data())
def test_late_lost_and_duplicate_packets_are_counted_never_played_out_of_order(
    count: int, data: st.DataObject
) -> None:
    delays = data.draw(st.lists(st.integers(0, 7), min_size=count, max_size=count))
    dropped = data.draw(st.sets(st.integers(0, count - 1), max_size=count // 3))
    duplicated = data.draw(st.sets(st.integers(0, count - 1), max_size=3)) - dropped
    arrivals: dict[int, list[int]] = {}
    for i in range(count):
        if i not in dropped:
            arrivals.setdefault(i + delays[i], []).append(i)
    for i in duplicated:
        arrivals.setdefault(i + delays[i] + 1, []).append(i)
    buffer = JitterBuffer(depth=3, min_depth=2, max_depth=8)
    played = [x for x in play(arrivals, count + 20, buffer) if x is not None]
    assert played == sorted(set(played))  # strictly increasing: no reordering, no repeats
    assert set(played) <= set(range(count)) - dropped
    stats = buffer.stats()
    puts = count - len(dropped) + len(duplicated)
    assert stats.received + stats.late + stats.duplicates == puts
    assert stats.played + stats.dropped + buffer.buffered == stats.received
    assert stats.played == len(played)


def test_a_lost_packet_is_concealed_then_silence() -> None:
    buffer = JitterBuffer(depth=3)
    arrivals = {0: [0], 1: [1], 2: [2], 3: [5], 4: [6], 5: [7], 6: [8]}  # 3 and 4 never come
    frames = []
    for tick in range(9):
        for seq in arrivals.get(tick, []):
            buffer.put(seq, 0, payload(seq))
        frames.append(buffer.next_frame(Codec.PCMU))
    # Playout starts at tick 2 with packet 0 (three buffered).
    assert [which(f) for f in frames[2:5]] == [0, 1, 2]
    repeated, silent = frames[5], frames[6]
    assert np.array_equal(repeated, Codec.PCMU.decode(payload(2)) // 2)
    assert not silent.any()
    assert which(frames[7]) == 5
    assert buffer.stats().lost == 2


def test_a_packet_after_its_turn_is_late_and_deepens_the_buffer() -> None:
    buffer = JitterBuffer(depth=3, max_depth=6)
    for seq in (0, 1, 2, 3):
        buffer.put(seq, 0, payload(seq))
    for _ in range(2):
        buffer.next_frame(Codec.PCMU)
    buffer.put(0, 0, payload(0))  # packet 0 again, after it was played
    stats = buffer.stats()
    assert stats.late == 1
    assert stats.depth_ms == 80


def test_a_new_source_rebuffers() -> None:
    buffer = JitterBuffer(depth=2, min_depth=1)
    for seq in (10, 11):
        buffer.put(seq, 0, payload(seq))
    assert which(buffer.next_frame(Codec.PCMU)) == 10
    buffer.reset()
    for seq in (500, 501):
        buffer.put(seq, 8, Codec.PCMA.encode(np.full(160, 1000, dtype=np.int16)))
    frame = buffer.next_frame(Codec.PCMU)  # decoded by the packet's own payload type
    assert np.all(frame == Codec.PCMA.decode(Codec.PCMA.encode(np.full(160, 1000, np.int16))))
