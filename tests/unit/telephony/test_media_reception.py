"""RFC 3550 receiver statistics: sequence tracking (A.1), loss (A.3), interarrival jitter (A.8)."""

from __future__ import annotations

import pytest

from callbridge.adapters.telephony.media.reception import SourceReception


def feed(source: SourceReception, packets: list[tuple[int, int, float]]) -> None:
    for seq, timestamp, arrival in packets:
        source.update(seq, timestamp, arrival)


def test_jitter_of_a_hand_worked_timeline() -> None:
    # 20 ms packets (160 timestamp units). Transit is constant except packet 3, 10 ms late.
    # D per packet: 0, 0, +80, -80 -> J = 0, 0, 80/16 = 5, 5 + (80 - 5)/16 = 9.6875.
    timeline = [(i, 160 * i, 0.020 * i + (0.010 if i == 3 else 0.0)) for i in range(5)]
    source = SourceReception(ssrc=1, first_sequence=0)
    jitters = []
    for packet in timeline:
        feed(source, [packet])
        jitters.append(source.jitter)
    assert jitters == pytest.approx([0.0, 0.0, 0.0, 5.0, 9.6875])


def test_jitter_converges_to_the_mean_deviation() -> None:
    # Transit alternates 0 and 5 ms: |D| is 40 units every time, so J -> 40 as 1 - (15/16)^m.
    source = SourceReception(ssrc=1, first_sequence=100)
    packets = [(100 + i, 160 * i, 0.020 * i + (0.005 if i % 2 else 0.0)) for i in range(200)]
    feed(source, packets[:11])
    assert source.jitter == pytest.approx(40 * (1 - (15 / 16) ** 10))
    feed(source, packets[11:])
    assert source.jitter == pytest.approx(40.0, abs=1e-3)


def test_constant_delay_is_no_jitter_and_events_do_not_count() -> None:
    source = SourceReception(ssrc=1, first_sequence=0)
    feed(source, [(i, 160 * i, 3.0 + 0.020 * i) for i in range(50)])
    # RFC 4733 packets keep one timestamp: the session passes no arrival time for them.
    for i in range(50, 60):
        source.update(i, 160 * 50, None)
    assert source.jitter == pytest.approx(0.0, abs=1e-9)
    assert source.received == 60


def test_loss_and_fraction_lost_per_interval() -> None:
    source = SourceReception(ssrc=9, first_sequence=1)
    for seq in [1, 2, 3, 5, 6, 8, 9, 10]:  # 4 and 7 lost
        source.update(seq, 160 * seq, None)
    block = source.report_block()
    assert (source.expected, source.received, source.cumulative_lost) == (10, 8, 2)
    assert block.fraction_lost == (2 << 8) // 10
    assert block.cumulative_lost == 2
    assert block.highest_sequence == 10
    for seq in range(11, 21):
        source.update(seq, 160 * seq, None)
    assert source.report_block().fraction_lost == 0  # nothing lost in the second interval


def test_sequence_wrap_extends_the_highest_sequence() -> None:
    source = SourceReception(ssrc=2, first_sequence=65534)
    for seq in [65534, 65535, 0, 1]:
        assert source.update(seq, 0, None)
    assert source.extended_max == (1 << 16) + 1
    assert source.cumulative_lost == 0


def test_reordered_and_duplicate_packets() -> None:
    source = SourceReception(ssrc=3, first_sequence=10)
    for seq in [10, 12, 11, 13, 13]:
        source.update(seq, 0, None)
    assert source.max_seq == 13
    assert source.cumulative_lost == -1  # a duplicate makes loss negative (RFC 3550 6.4.1)
    assert source.report_block().fraction_lost == 0


def test_a_restarted_sender_is_accepted_after_two_sequential_packets() -> None:
    source = SourceReception(ssrc=4, first_sequence=100)
    source.update(100, 0, None)
    assert not source.update(40000, 0, None)  # one stray jump is ignored
    assert source.update(40001, 0, None)  # the next in sequence confirms the restart
    assert source.base_seq == 40001 and source.received == 1
