"""What a receiver knows about one RTP source: RFC 3550 A.1 (sequence), A.3 (loss), A.8 (jitter).

Pure bookkeeping, fed one packet at a time by the session; arrival times are passed in, so tests
build a packet timeline by hand. Unlike A.1 there is no probation: the source was negotiated in
SDP, and its very first packet is audio we must not throw away.
"""

from __future__ import annotations

from dataclasses import dataclass

from callbridge.adapters.telephony.media.rtcp import ReportBlock

SEQ_MOD = 1 << 16
MAX_DROPOUT = 3000
MAX_MISORDER = 100


@dataclass(frozen=True, slots=True)
class ReceptionSnapshot:
    """Counters of one source at a moment, for `RtpSession.stats()`."""

    ssrc: int
    received: int
    expected: int
    cumulative_lost: int
    extended_highest_sequence: int
    jitter: float  # in timestamp units, as in RFC 3550 A.8


class SourceReception:
    """Sequence, loss and interarrival-jitter state of one synchronisation source."""

    def __init__(self, ssrc: int, first_sequence: int, clock_rate: int = 8000) -> None:
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self._bad_seq = SEQ_MOD + 1
        self._expected_prior = 0
        self._received_prior = 0
        self._init_seq(first_sequence)
        self.jitter = 0.0
        self._transit: float | None = None

    def _init_seq(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.cycles = 0
        self.received = 0
        self._expected_prior = 0
        self._received_prior = 0

    def update(self, seq: int, timestamp: int, arrival_s: float | None) -> bool:
        """Account for one packet; returns False for a jump A.1 does not accept (yet).

        `arrival_s` is the arrival time in seconds on any steady clock, or None for packets that
        must not count in jitter (RFC 4733 events keep one timestamp over many packets).
        """
        udelta = (seq - self.max_seq) & 0xFFFF
        if self.received == 0 and seq == self.base_seq:
            pass  # the first packet of the source
        elif udelta < MAX_DROPOUT:
            if seq < self.max_seq:
                self.cycles += SEQ_MOD  # wrapped around
            self.max_seq = seq
        elif udelta <= SEQ_MOD - MAX_MISORDER:
            if seq != self._bad_seq:
                self._bad_seq = (seq + 1) & 0xFFFF
                return False
            # Two sequential packets after a big jump: the sender restarted its numbering.
            self._init_seq(seq)
        # else: a duplicate or a reordered packet, counted but not moving max_seq
        self.received += 1
        if arrival_s is not None:
            self._account_jitter(timestamp, arrival_s)
        return True

    def _account_jitter(self, timestamp: int, arrival_s: float) -> None:
        transit = arrival_s * self.clock_rate - timestamp
        if self._transit is not None:
            d = abs(transit - self._transit)
            if d < 1 << 31:  # a timestamp wrap would otherwise look like huge jitter
                self.jitter += (d - self.jitter) / 16.0
        self._transit = transit

    @property
    def extended_max(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return self.extended_max - self.base_seq + 1

    @property
    def cumulative_lost(self) -> int:
        """Expected minus received: negative when duplicates arrived (RFC 3550 §6.4.1)."""
        return self.expected - self.received

    def snapshot(self) -> ReceptionSnapshot:
        return ReceptionSnapshot(
            ssrc=self.ssrc,
            received=self.received,
            expected=self.expected,
            cumulative_lost=self.cumulative_lost,
            extended_highest_sequence=self.extended_max & 0xFFFFFFFF,
            jitter=self.jitter,
        )

    def report_block(self, last_sr: int = 0, delay_since_last_sr: int = 0) -> ReportBlock:
        """The reception report for this source, closing the current interval (A.3)."""
        expected = self.expected
        expected_interval = expected - self._expected_prior
        self._expected_prior = expected
        received_interval = self.received - self._received_prior
        self._received_prior = self.received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        lost = max(-(1 << 23), min((1 << 23) - 1, self.cumulative_lost))
        return ReportBlock(
            ssrc=self.ssrc,
            fraction_lost=fraction,
            cumulative_lost=lost,
            highest_sequence=self.extended_max & 0xFFFFFFFF,
            jitter=int(self.jitter),
            last_sr=last_sr,
            delay_since_last_sr=delay_since_last_sr,
        )
