"""The recorder: one party per channel, pause writes silence, path and duration reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from callbridge.adapters.telephony.media.recorder import Recorder
from callbridge.adapters.telephony.media.wav import read_wav


def frame(level: int) -> np.ndarray:
    return np.full(160, level, dtype=np.int16)


def test_channels_pause_and_duration(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "calls" / "call.wav", flush_every=3)
    for _ in range(10):
        recorder.write(frame(100), frame(-200))  # 200 ms of both parties
    recorder.pause()
    for _ in range(5):
        recorder.write(frame(555), frame(666))  # a card number: must not reach the disk
    recorder.resume()
    for _ in range(5):
        recorder.write(frame(300), None)  # the right party is silent
    info = recorder.close()
    assert info.path == tmp_path / "calls" / "call.wav"
    assert info.duration_s == 0.4
    assert info.paused_s == 0.1

    rate, samples = read_wav(info.path)
    assert rate == 8000 and samples.shape == (3200, 2)
    left, right = samples[:, 0], samples[:, 1]
    assert np.all(left[:1600] == 100) and np.all(right[:1600] == -200)
    assert not samples[1600:2400].any()  # paused: silence, with the time kept
    assert np.all(left[2400:] == 300) and not right[2400:].any()
    assert recorder.close() == info  # closing twice is harmless


def test_an_empty_recording_is_a_valid_file(tmp_path: Path) -> None:
    info = Recorder(tmp_path / "empty.wav").close()
    assert info.duration_s == 0.0
    rate, samples = read_wav(info.path)
    assert rate == 8000 and samples.shape == (0, 2)
