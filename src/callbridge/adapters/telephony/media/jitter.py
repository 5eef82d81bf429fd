"""The jitter buffer in front of every place audio is processed (recording, mixing, analysis).

Relayed packets never pass through it: they are forwarded as they arrive and the far end's own
buffer absorbs network jitter, which keeps a bridged call's delay as low as the network allows.

Policy (see docs/design/media.md):
- packets are ordered by extended sequence number and played one 20 ms frame per tick;
- playout starts once `depth` frames are buffered (60 ms by default) and re-buffers after the
  stream stops (an underrun), so a pause or a new source never adds permanent delay;
- a missing packet with later ones already buffered is lost: the last frame is repeated once at
  half amplitude, then silence; a packet older than the playout point is late and dropped;
- adaptive depth between `min_depth` and `max_depth` frames: each late packet deepens the target
  by one frame; 500 ticks (10 s) without one make it one frame shallower; frames beyond the
  target plus two are dropped (oldest first) so the delay follows the target down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from callbridge.adapters.telephony.media.g711 import Codec, Samples, codec_for_payload_type

FRAME_SAMPLES = 160
_SHRINK_AFTER_TICKS = 500


@dataclass(frozen=True, slots=True)
class JitterStats:
    received: int
    played: int
    lost: int  # missing when their turn came (with later packets already there)
    late: int  # arrived after their turn
    duplicates: int
    dropped: int  # dropped to bring the delay down to the target
    underruns: int  # ticks with nothing to play while playing (the stream paused or stopped)
    depth_ms: int  # the current target depth


class JitterBuffer:
    """Reorders packets of one source by sequence number and yields one 160-sample frame a tick."""

    def __init__(self, depth: int = 3, min_depth: int = 2, max_depth: int = 8) -> None:
        if not 1 <= min_depth <= depth <= max_depth:
            raise ValueError("need 1 <= min_depth <= depth <= max_depth")
        self._min = min_depth
        self._max = max_depth
        self.target = depth
        self._packets: dict[int, tuple[int, bytes]] = {}
        self._highest: int | None = None  # highest extended sequence number seen
        self._next: int | None = None  # the extended sequence to play next (older is late)
        self._playing = False  # False while (re)buffering
        self._pending = np.zeros(0, dtype=np.int16)  # decoded samples not yet played
        self._last = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        self._concealed_in_row = 0
        self._ticks_since_late = 0
        self._received = self._played = self._lost = self._late = 0
        self._duplicates = self._dropped = self._underruns = 0

    def _extend(self, seq: int) -> int:
        if self._highest is None:
            return seq
        delta = ((seq - self._highest + 0x8000) & 0xFFFF) - 0x8000
        return self._highest + delta

    def put(self, seq: int, payload_type: int, payload: bytes) -> None:
        """A packet arrived (any order, possibly twice)."""
        ext = self._extend(seq)
        if self._next is not None and ext < self._next:
            self._late += 1
            self._ticks_since_late = 0
            self.target = min(self._max, self.target + 1)
            return
        if ext in self._packets:
            self._duplicates += 1
            return
        self._received += 1
        self._packets[ext] = (payload_type, payload)
        if self._highest is None or ext > self._highest:
            self._highest = ext
        while len(self._packets) > self.target + 2:  # too deep: drop the oldest
            oldest = min(self._packets)
            del self._packets[oldest]
            self._dropped += 1
            if self._next is not None:
                self._next = max(self._next, oldest + 1)

    def reset(self) -> None:
        """Forget the current source (its SSRC changed); statistics are kept."""
        self._packets.clear()
        self._highest = None
        self._next = None
        self._playing = False
        self._pending = np.zeros(0, dtype=np.int16)

    def _pop(self) -> tuple[int, bytes] | None:
        """The next packet in order, or None for a gap (lost, or nothing to play yet)."""
        if not self._playing:
            if not self._packets:
                return None
            first = min(self._packets)
            if self._highest is None or self._highest - first + 1 < self.target:
                return None  # still buffering
            self._playing = True
            self._next = first
        assert self._next is not None
        entry = self._packets.pop(self._next, None)
        if entry is not None:
            self._next += 1
            self._played += 1
            return entry
        if self._packets:
            self._lost += 1
            self._next += 1
        else:
            self._underruns += 1
            self._playing = False  # the stream paused: buffer again before playing on
        return None

    def next_frame(self, default_codec: Codec) -> Samples:
        """The next 20 ms of audio, concealing gaps; call exactly once per tick."""
        self._ticks_since_late += 1
        if self._ticks_since_late >= _SHRINK_AFTER_TICKS:
            self._ticks_since_late = 0
            self.target = max(self._min, self.target - 1)
        while len(self._pending) < FRAME_SAMPLES:
            entry = self._pop()
            if entry is None:
                return self._conceal()
            payload_type, payload = entry
            codec = codec_for_payload_type(payload_type) or default_codec
            decoded = codec.decode(payload)
            self._pending = (
                np.concatenate((self._pending, decoded)) if self._pending.size else decoded
            )
        frame = self._pending[:FRAME_SAMPLES]
        self._pending = self._pending[FRAME_SAMPLES:]
        self._last = frame
        self._concealed_in_row = 0
        return frame

    def _conceal(self) -> Samples:
        self._concealed_in_row += 1
        if self._concealed_in_row == 1 and self._playing:
            return (self._last // 2).astype(np.int16)  # one repeat at half level, then silence
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)

    @property
    def buffered(self) -> int:
        return len(self._packets)

    def stats(self) -> JitterStats:
        return JitterStats(
            received=self._received,
            played=self._played,
            lost=self._lost,
            late=self._late,
            duplicates=self._duplicates,
            dropped=self._dropped,
            underruns=self._underruns,
            depth_ms=self.target * 20,
        )
