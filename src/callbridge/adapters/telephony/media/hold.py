"""Music on hold: a short tune of our own, synthesised with numpy and cached as a WAV file.

Eight seconds of a slow I-vi-IV-V progression in C (a soft sustained chord under a bell-like
arpeggio an octave up), written once at 8 kHz and looped by the player. No third-party audio.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from callbridge.adapters.telephony.media.audio import SAMPLE_RATE, Clip
from callbridge.adapters.telephony.media.wav import write_wav

HOLD_MUSIC_FILE = "hold-music.wav"
_CHORDS: tuple[tuple[float, float, float], ...] = (
    (261.63, 329.63, 392.00),  # C
    (220.00, 261.63, 329.63),  # A minor
    (174.61, 220.00, 261.63),  # F
    (196.00, 246.94, 293.66),  # G
)


def _envelope(length: int, attack: int, release: int) -> NDArray[np.float64]:
    env = np.ones(length)
    env[:attack] = np.linspace(0.0, 1.0, attack)
    env[length - release :] = np.linspace(1.0, 0.0, release)
    return env


def hold_tune(seconds_per_chord: float = 2.0, level: float = 0.3) -> NDArray[np.int16]:
    """The tune's samples at 8 kHz; `level` is the peak as a share of full scale."""
    length = int(seconds_per_chord * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    pad_env = _envelope(length, int(0.3 * SAMPLE_RATE), int(0.4 * SAMPLE_RATE))
    note_len = length // 8
    note_t = np.arange(note_len) / SAMPLE_RATE
    bell_env = np.exp(-note_t * 6.0) * _envelope(note_len, 80, 200)
    pieces = []
    for chord in _CHORDS:
        pad = sum(np.sin(2 * np.pi * f * t) + 0.2 * np.sin(4 * np.pi * f * t) for f in chord)
        pad = np.asarray(pad) * pad_env / len(chord)
        arpeggio = np.zeros(length)
        order = (0, 1, 2, 1, 0, 1, 2, 1)
        for i, voice in enumerate(order):
            f = 2 * chord[voice]
            arpeggio[i * note_len : (i + 1) * note_len] = np.sin(2 * np.pi * f * note_t) * bell_env
        pieces.append(0.6 * pad + 0.4 * arpeggio)
    tune = np.concatenate(pieces)
    tune *= level / np.max(np.abs(tune))
    return np.asarray(np.rint(tune * 32767), dtype=np.int16)


def hold_music(cache_dir: Path) -> Clip:
    """The hold tune as a clip, writing `cache_dir/hold-music.wav` the first time."""
    path = cache_dir / HOLD_MUSIC_FILE
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{secrets.token_hex(6)}.tmp")
        write_wav(partial, SAMPLE_RATE, hold_tune())
        os.replace(partial, path)
    return Clip.from_wav(path)
