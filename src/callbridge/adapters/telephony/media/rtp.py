"""RTP packets (RFC 3550 §5.1): build and parse, with CSRC lists, header extensions, padding.

`RtpPacket` is the readable form used at the edges and in tests. The relay's hot path reads the
three fields it rewrites with `struct` directly (see `session.py`); both agree on the layout here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from callbridge.domain.errors import InvalidInput

RTP_VERSION = 2
HEADER_SIZE = 12
_FIXED = struct.Struct("!BBHII")


class MalformedPacket(InvalidInput):
    """Bytes that are not a well-formed RTP or RTCP packet."""

    code = "malformed_media_packet"


@dataclass(frozen=True, slots=True)
class HeaderExtension:
    """An RFC 3550 §5.3.1 header extension: a 16-bit profile word and 32-bit-aligned data."""

    profile: int
    data: bytes


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: HeaderExtension | None = None
    padding: int = 0  # bytes of padding after the payload (the last one holds the count)

    def to_bytes(self) -> bytes:
        """The packet on the wire."""
        if not 0 <= self.payload_type < 128:
            raise InvalidInput("payload type out of range", payload_type=self.payload_type)
        if len(self.csrcs) > 15:
            raise InvalidInput("at most 15 CSRCs", csrcs=len(self.csrcs))
        if not 0 <= self.padding < 256:
            raise InvalidInput("padding must be 0..255 bytes", padding=self.padding)
        first = (RTP_VERSION << 6) | len(self.csrcs)
        if self.padding:
            first |= 0x20
        if self.extension is not None:
            first |= 0x10
        second = self.payload_type | (0x80 if self.marker else 0)
        parts = [
            _FIXED.pack(
                first, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc
            )
        ]
        parts.extend(struct.pack("!I", csrc) for csrc in self.csrcs)
        if self.extension is not None:
            data = self.extension.data
            if len(data) % 4:
                raise InvalidInput("extension data must be a multiple of 4 bytes")
            parts.append(struct.pack("!HH", self.extension.profile, len(data) // 4) + data)
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes([self.padding]))
        return b"".join(parts)


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse one RTP packet; raises `MalformedPacket` on anything inconsistent."""
    if len(data) < HEADER_SIZE:
        raise MalformedPacket("shorter than an RTP header", length=len(data))
    first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise MalformedPacket("not RTP version 2", version=first >> 6)
    offset = HEADER_SIZE
    csrc_count = first & 0x0F
    if len(data) < offset + 4 * csrc_count:
        raise MalformedPacket("CSRC list runs past the end")
    csrcs = struct.unpack_from(f"!{csrc_count}I", data, offset)
    offset += 4 * csrc_count
    extension = None
    if first & 0x10:
        if len(data) < offset + 4:
            raise MalformedPacket("extension header runs past the end")
        profile, words = struct.unpack_from("!HH", data, offset)
        offset += 4
        if len(data) < offset + 4 * words:
            raise MalformedPacket("extension data runs past the end")
        extension = HeaderExtension(profile, bytes(data[offset : offset + 4 * words]))
        offset += 4 * words
    end = len(data)
    padding = 0
    if first & 0x20:
        padding = data[-1]
        if padding == 0 or end - padding < offset:
            raise MalformedPacket("bad padding count", padding=padding)
        end -= padding
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
        marker=bool(second & 0x80),
        csrcs=tuple(csrcs),
        extension=extension,
        padding=padding,
    )


def payload_bounds(data: bytes | bytearray) -> tuple[int, int] | None:
    """Where the payload starts and ends in a packet, or None if the header is inconsistent.

    The cheap version of `parse_rtp` for the relay: no objects, just offsets.
    """
    size = len(data)
    if size < HEADER_SIZE:
        return None
    first = data[0]
    offset = HEADER_SIZE + 4 * (first & 0x0F)
    if first & 0x10:
        if size < offset + 4:
            return None
        offset += 4 + 4 * ((data[offset + 2] << 8) | data[offset + 3])
    end = size
    if first & 0x20:
        end -= data[-1]
    if end < offset:
        return None
    return offset, end


def is_rtcp(data: bytes) -> bool:
    """True for RTCP arriving on an RTP port (RFC 5761 §4: packet types 192-223)."""
    return len(data) >= 2 and 192 <= data[1] <= 223
