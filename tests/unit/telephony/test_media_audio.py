"""Clips from WAV files of any rate and channel count, players, and the hold tune."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from callbridge.adapters.telephony.media.audio import Clip, ClipPlayer
from callbridge.adapters.telephony.media.g711 import Codec
from callbridge.adapters.telephony.media.hold import HOLD_MUSIC_FILE, hold_music, hold_tune
from callbridge.adapters.telephony.media.wav import UnsupportedAudio, write_wav


def test_a_stereo_44k_wav_becomes_an_8k_mono_clip(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    left = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    write_wav(tmp_path / "prompt.wav", 44100, np.stack([left, left], axis=1))
    clip = Clip.from_wav(tmp_path / "prompt.wav")
    assert clip.duration_s == 1.0
    assert clip.frames == 50
    spectrum = np.abs(np.fft.rfft(clip.samples))
    assert np.argmax(spectrum) == 440


def test_only_16_bit_pcm_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "8bit.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(800))
    with pytest.raises(UnsupportedAudio):
        Clip.from_wav(path)
    (tmp_path / "junk.wav").write_bytes(b"not a wav")
    with pytest.raises(UnsupportedAudio):
        Clip.from_wav(tmp_path / "junk.wav")


def test_clips_pad_to_whole_frames_and_players_end_or_loop() -> None:
    clip = Clip(np.arange(200, dtype=np.int16))
    assert clip.frames == 2 and len(clip.samples) == 320
    once = ClipPlayer(clip)
    first = once.read(Codec.PCMU)
    assert first is not None and first.payload == Codec.PCMU.encode(first.samples)
    assert once.read(Codec.PCMU) is not None
    assert once.read(Codec.PCMU) is None
    looping = ClipPlayer(clip, Clip.silence(0.02), loop=True)
    read = [looping.read(Codec.PCMA) for _ in range(7)]
    assert all(frame is not None for frame in read)
    assert [int(f.samples.any()) for f in read if f is not None] == [1, 1, 0, 1, 1, 0, 1]


def test_the_hold_tune_is_generated_once_and_gentle(tmp_path: Path) -> None:
    clip = hold_music(tmp_path)
    path = tmp_path / HOLD_MUSIC_FILE
    written = path.stat().st_mtime_ns
    assert hold_music(tmp_path).duration_s == clip.duration_s == 8.0
    assert path.stat().st_mtime_ns == written  # the second call read the cached file
    assert np.array_equal(clip.samples, hold_tune())
    peak = np.max(np.abs(clip.samples.astype(np.int32)))
    assert 0.2 * 32767 < peak <= 0.3 * 32767 + 1
    spectrum = np.abs(np.fft.rfft(clip.samples.astype(float))) ** 2
    frequencies = np.fft.rfftfreq(len(clip.samples), 1 / 8000)
    assert spectrum[frequencies < 1000].sum() > 0.95 * spectrum.sum()  # soft, low, no hiss
