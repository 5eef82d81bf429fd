"""RTCP packets (RFC 3550 §6): sender and receiver reports, SDES CNAME, BYE; compound packets.

Only what a G.711 endpoint needs. Unknown packet types in a compound packet are skipped, not
rejected (RFC 3550 §6.1: receivers must ignore them).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from callbridge.adapters.telephony.media.rtp import MalformedPacket

SR, RR, SDES, BYE = 200, 201, 202, 203
_SDES_CNAME = 1
NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One reception report block: what the reporter saw of source `ssrc`."""

    ssrc: int
    fraction_lost: int  # 0..255: lost / expected in the last interval, times 256
    cumulative_lost: int  # signed 24 bits
    highest_sequence: int  # extended: cycles << 16 | max sequence
    jitter: int  # timestamp units
    last_sr: int = 0  # middle 32 bits of the NTP timestamp of the last SR received from ssrc
    delay_since_last_sr: int = 0  # in 1/65536 s

    def to_bytes(self) -> bytes:
        lost = self.cumulative_lost & 0xFFFFFF
        return struct.pack(
            "!IIIIII",
            self.ssrc,
            (self.fraction_lost << 24) | lost,
            self.highest_sequence,
            self.jitter,
            self.last_sr,
            self.delay_since_last_sr,
        )

    @classmethod
    def parse(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, lost_word, highest, jitter, lsr, dlsr = struct.unpack_from("!IIIIII", data, offset)
        lost = lost_word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 1 << 24
        return cls(ssrc, lost_word >> 24, lost, highest, jitter, lsr, dlsr)


@dataclass(frozen=True, slots=True)
class SenderReport:
    ssrc: int
    ntp_timestamp: int  # 64-bit NTP: seconds since 1900 << 32 | fraction
    rtp_timestamp: int  # the same instant on the RTP clock
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    ssrc: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """SDES with the CNAME item of each chunk (other items are skipped when parsing)."""

    chunks: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Goodbye:
    ssrcs: tuple[int, ...]
    reason: str = ""


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Goodbye


def ntp_from_unix(seconds: float) -> int:
    """A Unix time as a 64-bit NTP timestamp."""
    whole = int(seconds)
    fraction = int((seconds - whole) * (1 << 32)) & 0xFFFFFFFF
    return ((whole + NTP_UNIX_OFFSET) & 0xFFFFFFFF) << 32 | fraction


def ntp_middle(ntp: int) -> int:
    """The middle 32 bits of an NTP timestamp (the LSR field, and the unit of RTT maths)."""
    return (ntp >> 16) & 0xFFFFFFFF


def _header(count: int, packet_type: int, body: bytes) -> bytes:
    padded = body + bytes(-len(body) % 4)
    return struct.pack("!BBH", 0x80 | count, packet_type, len(padded) // 4) + padded


def _encode(packet: RtcpPacket) -> bytes:
    if isinstance(packet, SenderReport):
        body = struct.pack(
            "!IQIII",
            packet.ssrc,
            packet.ntp_timestamp,
            packet.rtp_timestamp & 0xFFFFFFFF,
            packet.packet_count & 0xFFFFFFFF,
            packet.octet_count & 0xFFFFFFFF,
        )
        body += b"".join(block.to_bytes() for block in packet.reports)
        return _header(len(packet.reports), SR, body)
    if isinstance(packet, ReceiverReport):
        body = struct.pack("!I", packet.ssrc) + b"".join(b.to_bytes() for b in packet.reports)
        return _header(len(packet.reports), RR, body)
    if isinstance(packet, SourceDescription):
        chunks = []
        for ssrc, cname in packet.chunks:
            text = cname.encode()[:255]
            chunk = struct.pack("!IBB", ssrc, _SDES_CNAME, len(text)) + text + b"\x00"
            chunks.append(chunk + bytes(-len(chunk) % 4))
        return _header(len(packet.chunks), SDES, b"".join(chunks))
    reason = packet.reason.encode()[:255]
    body = b"".join(struct.pack("!I", s) for s in packet.ssrcs)
    if reason:
        body += bytes([len(reason)]) + reason
    return _header(len(packet.ssrcs), BYE, body)


def build_compound(packets: list[RtcpPacket]) -> bytes:
    """The packets back to back, as one compound RTCP datagram."""
    return b"".join(_encode(p) for p in packets)


def _parse_sdes(data: bytes, count: int) -> SourceDescription:
    chunks: list[tuple[int, str]] = []
    offset = 0
    for _ in range(count):
        if offset + 4 > len(data):
            raise MalformedPacket("SDES chunk runs past the end")
        (ssrc,) = struct.unpack_from("!I", data, offset)
        offset += 4
        cname = ""
        while offset < len(data) and data[offset] != 0:
            if offset + 2 > len(data):
                raise MalformedPacket("SDES item runs past the end")
            item, length = data[offset], data[offset + 1]
            value = data[offset + 2 : offset + 2 + length]
            if item == _SDES_CNAME:
                cname = value.decode("utf-8", "replace")
            offset += 2 + length
        offset += 4 - offset % 4  # the terminating null and padding to a word
        chunks.append((ssrc, cname))
    return SourceDescription(tuple(chunks))


def _parse_one(packet_type: int, count: int, body: bytes) -> RtcpPacket | None:
    if packet_type == SR:
        if len(body) < 24 + 24 * count:
            raise MalformedPacket("sender report shorter than its count says")
        ssrc, ntp, rtp_ts, packets, octets = struct.unpack_from("!IQIII", body)
        blocks = tuple(ReportBlock.parse(body, 24 + 24 * i) for i in range(count))
        return SenderReport(ssrc, ntp, rtp_ts, packets, octets, blocks)
    if packet_type == RR:
        if len(body) < 4 + 24 * count:
            raise MalformedPacket("receiver report shorter than its count says")
        (ssrc,) = struct.unpack_from("!I", body)
        return ReceiverReport(
            ssrc, tuple(ReportBlock.parse(body, 4 + 24 * i) for i in range(count))
        )
    if packet_type == SDES:
        return _parse_sdes(body, count)
    if packet_type == BYE:
        if len(body) < 4 * count:
            raise MalformedPacket("BYE shorter than its count says")
        ssrcs = struct.unpack_from(f"!{count}I", body)
        reason = ""
        if len(body) > 4 * count:
            length = body[4 * count]
            reason = body[4 * count + 1 : 4 * count + 1 + length].decode("utf-8", "replace")
        return Goodbye(tuple(ssrcs), reason)
    return None


def parse_compound(data: bytes) -> list[RtcpPacket]:
    """Every known packet of a compound RTCP datagram; raises `MalformedPacket`."""
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < 4:
            raise MalformedPacket("RTCP header runs past the end")
        first, packet_type, words = struct.unpack_from("!BBH", data, offset)
        if first >> 6 != 2:
            raise MalformedPacket("not RTCP version 2")
        end = offset + 4 + 4 * words
        if end > len(data):
            raise MalformedPacket("RTCP length runs past the end")
        body = data[offset + 4 : end]
        if first & 0x20 and body:
            body = body[: len(body) - body[-1]]
        parsed = _parse_one(packet_type, first & 0x1F, body)
        if parsed is not None:
            packets.append(parsed)
        offset = end
    return packets
