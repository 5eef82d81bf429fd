"""Call recording: a 2-channel 8 kHz 16-bit WAV, one party per channel, with pause and resume.

The recorder is fed one 20 ms frame per channel on every media tick, so both channels and the
wall clock stay in step. While paused it writes silence instead of the audio (a card number read
out is never on disk, and everything after it still lines up with the call's timeline).
Frames are buffered and written about once a second; the WAV header is completed on `close()`.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callbridge.adapters.telephony.media.audio import FRAME_SAMPLES, SAMPLE_RATE
from callbridge.adapters.telephony.media.g711 import Samples

_SILENCE = np.zeros(FRAME_SAMPLES, dtype=np.int16)


@dataclass(frozen=True, slots=True)
class RecordingInfo:
    """A finished (or running) recording: where it is and how long it lasts."""

    path: Path
    duration_s: float
    paused_s: float  # how much of the duration is silence written while paused


class Recorder:
    """Writes (left, right) frame pairs to a stereo WAV file."""

    def __init__(self, path: Path, flush_every: int = 50) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._writer = wave.open(str(path), "wb")  # noqa: SIM115 -- closed in close()
        self._writer.setnchannels(2)
        self._writer.setsampwidth(2)
        self._writer.setframerate(SAMPLE_RATE)
        self._flush_every = flush_every
        self._pending: list[bytes] = []
        self._frames = 0
        self._paused_frames = 0
        self.paused = False
        self.closed = False

    def write(self, left: Samples | None, right: Samples | None) -> None:
        """One tick of both channels; None is silence (the party sent nothing)."""
        if self.closed:
            return
        if self.paused:
            left = right = None
            self._paused_frames += 1
        stereo = np.empty((FRAME_SAMPLES, 2), dtype="<i2")
        stereo[:, 0] = _SILENCE if left is None else left
        stereo[:, 1] = _SILENCE if right is None else right
        self._pending.append(stereo.tobytes())
        self._frames += 1
        if len(self._pending) >= self._flush_every:
            self._flush()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def _flush(self) -> None:
        if self._pending:
            self._writer.writeframesraw(b"".join(self._pending))
            self._pending.clear()

    def info(self) -> RecordingInfo:
        return RecordingInfo(
            self.path,
            self._frames * FRAME_SAMPLES / SAMPLE_RATE,
            self._paused_frames * FRAME_SAMPLES / SAMPLE_RATE,
        )

    def close(self) -> RecordingInfo:
        """Write what is buffered, complete the header; idempotent."""
        if not self.closed:
            self._flush()
            self._writer.close()
            self.closed = True
        return self.info()
