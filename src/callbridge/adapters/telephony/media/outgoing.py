"""Our outgoing RTP stream: one SSRC, one sequence, one timeline, whatever feeds it.

A session's packets come from two places: frames generated on the media clock (prompts, DTMF,
mixes) and packets relayed from a bridged peer the moment they arrive. `OutgoingStream` numbers
both so the far end sees a single continuous stream. Relayed packets keep their own spacing and
order: their sequence number and timestamp are shifted by offsets fixed when the relay (re)starts
("anchoring"), chosen to continue right after the last packet we sent, with the marker bit set.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from callbridge.adapters.telephony.media.rtp import payload_bounds

_HEADER = struct.Struct("!BBHII")
_REWRITE = struct.Struct("!HII")


class OutgoingStream:
    """Sequence numbers, timestamps and counters of what one session sends."""

    def __init__(self, ssrc: int, first_seq: int, samples_per_frame: int = 160) -> None:
        self.ssrc = ssrc
        self.seq = first_seq & 0xFFFF  # the last sequence number sent
        self.last_ts: int | None = None
        self.marker = True  # set the marker bit on the next packet
        self.packets = self.octets = self.relayed = 0
        self._frame = samples_per_frame
        self._anchor: tuple[int, int, int] | None = None  # source epoch, seq and ts offsets

    def restart(self) -> None:
        """What we send changes nature: re-anchor the relay, mark the next packet."""
        self._anchor = None
        self.marker = True

    def generated(self, payload_type: int, payload: bytes, ts: int, marker: bool) -> bytes:
        """The next packet of audio or events we made, stamped `ts`."""
        self.seq = (self.seq + 1) & 0xFFFF
        self.last_ts = ts
        second = payload_type | (0x80 if marker else 0)
        self.packets += 1
        self.octets += len(payload)
        return _HEADER.pack(0x80, second, self.seq, ts, self.ssrc) + payload

    def take_marker(self) -> bool:
        marker, self.marker = self.marker, False
        return marker

    def relayed_packet(
        self,
        data: bytes,
        payload_type: int,
        translate: bytes | None,
        epoch: int,
        media_clock: Callable[[], int],
    ) -> bytearray:
        """`data` (a packet from source `epoch`) renumbered into this stream.

        `payload_type` is what the far end expects, `translate` a `bytes.translate` table for
        the payload (PCMU <-> PCMA) or None; `media_clock()` reads our RTP clock, needed only
        when the relay (re)anchors.
        """
        seq, ts = struct.unpack_from("!HI", data, 2)
        anchor = self._anchor
        if anchor is None or anchor[0] != epoch:
            anchor = self._anchor_at(epoch, seq, ts, media_clock())
        out = bytearray(data)
        out_seq = (seq + anchor[1]) & 0xFFFF
        out_ts = (ts + anchor[2]) & 0xFFFFFFFF
        _REWRITE.pack_into(out, 2, out_seq, out_ts, self.ssrc)
        marker = 0x80 if self.take_marker() else out[1] & 0x80
        out[1] = marker | payload_type
        if translate is not None:
            bounds = payload_bounds(out)
            if bounds is not None:
                out[bounds[0] : bounds[1]] = out[bounds[0] : bounds[1]].translate(translate)
        if (out_seq - self.seq) & 0xFFFF < 0x8000:  # not an older, reordered packet
            self.seq = out_seq
            self.last_ts = out_ts
        self.packets += 1
        self.relayed += 1
        self.octets += len(out) - 12
        return out

    def _anchor_at(self, epoch: int, seq: int, ts: int, now_ts: int) -> tuple[int, int, int]:
        if self.last_ts is not None:
            ahead = ((now_ts - self.last_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            if ahead < self._frame:  # never overlap the last frame we sent
                now_ts = (self.last_ts + self._frame) & 0xFFFFFFFF
        self._anchor = (epoch, (self.seq + 1 - seq) & 0xFFFF, (now_ts - ts) & 0xFFFFFFFF)
        self.marker = True
        return self._anchor
