"""A session's RTCP side (RFC 3550 §6.4): what to report, and what the far end reported to us.

`RtcpState` is plain bookkeeping: the session hands it incoming compound packets and asks it for
the next report; times are passed in (a steady clock for delays, the wall clock for NTP).
"""

from __future__ import annotations

from dataclasses import dataclass

from callbridge.adapters.telephony.media.reception import SourceReception
from callbridge.adapters.telephony.media.rtcp import (
    Goodbye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SenderReport,
    SourceDescription,
    ntp_from_unix,
    ntp_middle,
)


@dataclass(frozen=True, slots=True)
class RemoteReport:
    """The far end's latest reception report about our stream."""

    fraction_lost: float  # 0..1, over its last reporting interval
    cumulative_lost: int
    jitter_ms: float
    round_trip_ms: float | None  # from LSR/DLSR, once it has seen one of our SRs


@dataclass(frozen=True, slots=True)
class SenderCounts:
    """Our sending so far, for the SR."""

    packets: int
    octets: int
    rtp_timestamp: int  # our RTP clock at the moment the report is built


class RtcpState:
    """Builds our reports and digests the far end's."""

    def __init__(self, ssrc: int, cname: str, clock_rate: int = 8000) -> None:
        self.ssrc = ssrc
        self.cname = cname
        self._rate = clock_rate
        self._last_sr: int = 0  # middle 32 bits of the far end's last SR's NTP time
        self._last_sr_at: float | None = None  # when it arrived, on the steady clock
        self._packets_at_last_report = 0
        self.remote_report: RemoteReport | None = None
        self.remote_bye = False
        self.sent = 0
        self.received = 0

    def build(
        self,
        counts: SenderCounts,
        source: SourceReception | None,
        steady_now: float,
        wall_now: float,
        bye: bool = False,
    ) -> list[RtcpPacket]:
        """The compound report to send now: SR if we sent since the last one, else RR."""
        blocks: tuple[ReportBlock, ...] = ()
        if source is not None and source.received:
            delay = 0
            if self._last_sr_at is not None:
                delay = int((steady_now - self._last_sr_at) * 65536) & 0xFFFFFFFF
            blocks = (source.report_block(self._last_sr, delay),)
        packets: list[RtcpPacket]
        if counts.packets > self._packets_at_last_report:
            packets = [
                SenderReport(
                    self.ssrc,
                    ntp_from_unix(wall_now),
                    counts.rtp_timestamp,
                    counts.packets,
                    counts.octets,
                    blocks,
                )
            ]
        else:
            packets = [ReceiverReport(self.ssrc, blocks)]
        self._packets_at_last_report = counts.packets
        packets.append(SourceDescription(((self.ssrc, self.cname),)))
        if bye:
            packets.append(Goodbye((self.ssrc,), "session closed"))
        self.sent += 1
        return packets

    def receive(
        self, packets: list[RtcpPacket], remote_ssrc: int | None, steady_now: float, wall_now: float
    ) -> None:
        """Digest one compound packet from the far end."""
        self.received += 1
        for packet in packets:
            if isinstance(packet, SenderReport):
                if remote_ssrc is None or packet.ssrc == remote_ssrc:
                    self._last_sr = ntp_middle(packet.ntp_timestamp)
                    self._last_sr_at = steady_now
                self._digest_blocks(packet.reports, wall_now)
            elif isinstance(packet, ReceiverReport):
                self._digest_blocks(packet.reports, wall_now)
            elif isinstance(packet, Goodbye):
                self.remote_bye = self.remote_bye or remote_ssrc in packet.ssrcs

    def _digest_blocks(self, blocks: tuple[ReportBlock, ...], wall_now: float) -> None:
        for block in blocks:
            if block.ssrc != self.ssrc:
                continue
            rtt: float | None = None
            if block.last_sr:
                arrival = ntp_middle(ntp_from_unix(wall_now))
                units = (arrival - block.last_sr - block.delay_since_last_sr) & 0xFFFFFFFF
                if units < 0x80000000:
                    rtt = units / 65536 * 1000.0
            self.remote_report = RemoteReport(
                fraction_lost=block.fraction_lost / 256,
                cumulative_lost=block.cumulative_lost,
                jitter_ms=block.jitter / self._rate * 1000.0,
                round_trip_ms=rtt,
            )
