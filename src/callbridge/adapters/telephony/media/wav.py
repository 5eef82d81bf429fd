"""Reading and writing 16-bit PCM WAV files (the standard library's `wave`, plus numpy)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from callbridge.domain.errors import InvalidInput


class UnsupportedAudio(InvalidInput):
    """A file that is not a 16-bit PCM WAV."""

    code = "unsupported_audio"


def read_wav(path: Path) -> tuple[int, NDArray[np.int16]]:
    """The sample rate and the samples, shaped (frames, channels)."""
    try:
        with wave.open(str(path), "rb") as reader:
            if reader.getsampwidth() != 2:
                raise UnsupportedAudio(
                    "only 16-bit PCM WAV is supported",
                    path=str(path),
                    bits=8 * reader.getsampwidth(),
                )
            rate = reader.getframerate()
            channels = reader.getnchannels()
            raw = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise UnsupportedAudio(f"not a PCM WAV file: {exc}", path=str(path)) from exc
    samples = np.frombuffer(raw, dtype="<i2").astype(np.int16)
    return rate, samples.reshape(-1, channels)


def write_wav(path: Path, rate: int, samples: NDArray[np.int16]) -> None:
    """Write samples shaped (frames,) or (frames, channels) as a 16-bit PCM WAV."""
    data = np.asarray(samples, dtype=np.int16)
    channels = 1 if data.ndim == 1 else data.shape[1]
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(data.astype("<i2").tobytes())
