"""Audio that a session can play: 8 kHz mono clips, readers over them, and the source Protocol.

A `Clip` is immutable and shared: a prompt loaded once serves every call. It keeps its G.711
encodings once computed, so playing a clip to a thousand callers slices bytes instead of encoding
a thousand times per tick. Each playback has its own `ClipPlayer` (a cursor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from callbridge.adapters.telephony.media.g711 import Codec, Samples
from callbridge.adapters.telephony.media.resample import to_telephone
from callbridge.adapters.telephony.media.wav import read_wav

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160


@dataclass(frozen=True, slots=True)
class MediaFrame:
    """20 ms of outgoing audio: the samples and their encoding for the session's codec."""

    samples: Samples
    payload: bytes


class AudioSource(Protocol):
    """Something that yields 20 ms frames until it ends (a prompt) or forever (music on hold)."""

    def read(self, codec: Codec) -> MediaFrame | None:
        """The next frame, or None when the source has ended."""
        ...


@dataclass(frozen=True, eq=False)
class Clip:
    """Immutable 8 kHz mono audio, padded to whole 20 ms frames."""

    samples: Samples
    name: str = ""
    _encoded: dict[Codec, bytes] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        pad = -len(self.samples) % FRAME_SAMPLES
        data = np.asarray(self.samples, dtype=np.int16)
        if pad:
            data = np.concatenate((data, np.zeros(pad, dtype=np.int16)))
        data.setflags(write=False)
        object.__setattr__(self, "samples", data)

    @classmethod
    def from_wav(cls, path: Path) -> Clip:
        """Any 16-bit PCM WAV (any rate, any channels) converted to 8 kHz mono.

        Blocking (file I/O and resampling): from the event loop, call it through
        `asyncio.to_thread`, or load prompts before calls start.
        """
        rate, frames = read_wav(path)
        return cls(to_telephone(frames, rate, SAMPLE_RATE), name=path.name)

    @classmethod
    def silence(cls, seconds: float) -> Clip:
        return cls(np.zeros(int(seconds * SAMPLE_RATE), dtype=np.int16), name="silence")

    @classmethod
    def tone(cls, frequencies: tuple[float, ...], seconds: float, level: float = 0.25) -> Clip:
        """A sum of sines, `level` of full scale in total (a ring-back, a beep, a DTMF tone)."""
        t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        wave = sum(np.sin(2 * np.pi * f * t) for f in frequencies) / max(1, len(frequencies))
        return cls(np.asarray(wave * level * 32767).astype(np.int16), name="tone")

    @property
    def frames(self) -> int:
        return len(self.samples) // FRAME_SAMPLES

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def encoded(self, codec: Codec) -> bytes:
        """The whole clip in `codec`, computed on first use."""
        data = self._encoded.get(codec)
        if data is None:
            data = codec.encode(self.samples)
            self._encoded[codec] = data
        return data


class ClipPlayer:
    """Plays clips in order, once or looping (music on hold); an `AudioSource`."""

    def __init__(self, *clips: Clip, loop: bool = False) -> None:
        playable = [clip for clip in clips if clip.frames]
        if loop and not playable:
            raise ValueError("cannot loop over nothing")
        self._clips = playable
        self._loop = loop
        self._index = 0
        self._frame = 0

    def read(self, codec: Codec) -> MediaFrame | None:
        if self._index >= len(self._clips):
            if not self._loop:
                return None
            self._index = 0
        clip = self._clips[self._index]
        start = self._frame * FRAME_SAMPLES
        frame = MediaFrame(
            clip.samples[start : start + FRAME_SAMPLES],
            clip.encoded(codec)[start : start + FRAME_SAMPLES],
        )
        self._frame += 1
        if self._frame >= clip.frames:
            self._frame = 0
            self._index += 1
        return frame
