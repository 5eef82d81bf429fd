"""What `RtpSession.stats()` returns."""

from __future__ import annotations

from dataclasses import dataclass

from callbridge.adapters.telephony.media.g711 import Codec
from callbridge.adapters.telephony.media.jitter import JitterStats
from callbridge.adapters.telephony.media.reports import RemoteReport

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class RtpStats:
    """Counters of one session (`RtpSession.stats()`)."""

    local_port: int
    remote: Address | None
    codec: Codec
    packets_sent: int
    octets_sent: int
    packets_relayed: int  # of packets_sent, forwarded from a bridged peer
    packets_received: int
    octets_received: int
    silent_for_s: float | None  # since the last RTP packet arrived (None: none yet)
    packets_lost: int  # RFC 3550 cumulative loss over every source so far
    jitter_ms: float  # RFC 3550 interarrival jitter of the current source
    sources: int  # how many SSRCs were received (a change is a new source)
    malformed: int
    dtmf_received: int
    jitter_buffer: JitterStats | None  # None when no audio was ever decoded
    rtcp_sent: int
    rtcp_received: int
    remote_report: RemoteReport | None  # what the far end's RTCP said about our stream
    remote_bye: bool
