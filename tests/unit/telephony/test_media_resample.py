"""Resampling quality: tones keep frequency and level; nothing above 4 kHz folds into the band."""

from __future__ import annotations

import numpy as np
import pytest

from callbridge.adapters.telephony.media.resample import resample, to_telephone


def tone(
    frequency: float, rate: int, seconds: float = 1.0, amplitude: float = 10000.0
) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * frequency * t)


def level_db(signal: np.ndarray, reference: float = 10000.0) -> float:
    core = signal[len(signal) // 10 : -len(signal) // 10]  # away from the edges
    rms = np.sqrt(np.mean(core**2))
    return float(20 * np.log10(max(rms, 1e-12) / (reference / np.sqrt(2))))


def peak_frequency(signal: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.argmax(spectrum) * rate / len(signal))


def test_a_1khz_tone_from_44100_keeps_its_frequency_and_level() -> None:
    out = resample(tone(1000, 44100), 44100, 8000)
    assert len(out) == 8000
    assert peak_frequency(out, 8000) == pytest.approx(1000, abs=1.0)
    assert abs(level_db(out)) < 1.0
    assert abs(level_db(out)) < 0.05  # in fact much closer than the 1 dB asked for


def test_a_tone_that_would_alias_to_3800hz_is_suppressed() -> None:
    # 4.2 kHz sampled at 8 kHz would fold to 3.8 kHz; the low-pass must remove it first.
    out = resample(tone(4200, 44100), 44100, 8000)
    assert level_db(out) < -60.0
    spectrum = np.abs(np.fft.rfft(out)) / len(out)
    assert spectrum[3800] < 1e-3 * 10000 / 2


@pytest.mark.parametrize("frequency", [4100, 5000, 7000, 12000, 20000])
def test_everything_above_the_new_nyquist_is_at_least_60db_down(frequency: int) -> None:
    assert level_db(resample(tone(frequency, 44100), 44100, 8000)) < -60.0


@pytest.mark.parametrize("frequency", [300, 1000, 2000, 3000, 3400])
def test_the_telephone_band_is_flat(frequency: int) -> None:
    assert abs(level_db(resample(tone(frequency, 44100), 44100, 8000))) < 0.1


@pytest.mark.parametrize("rate", [48000, 22050, 16000, 11025, 6000])
def test_other_rates_down_and_up(rate: int) -> None:
    out = resample(tone(1000, rate), rate, 8000)
    assert len(out) == 8000
    assert peak_frequency(out, 8000) == pytest.approx(1000, abs=1.0)
    assert abs(level_db(out)) < 0.1


def test_linear_interpolation_would_not_pass() -> None:
    # What the brief ruled out, measured on the same alias test: it folds 4.2 kHz right back in.
    x = tone(4200, 44100)
    positions = np.arange(8000) * 44100 / 8000
    linear = np.interp(positions, np.arange(len(x)), x)
    assert level_db(linear) > -10.0
    assert level_db(resample(x, 44100, 8000)) < -60.0


def test_stereo_to_mono_int16() -> None:
    left = tone(500, 16000, amplitude=8000)
    frames = np.stack([left, -left], axis=1).astype(np.int16)  # cancels out when averaged
    assert np.all(np.abs(to_telephone(frames, 16000)) <= 1)
    frames = np.stack([left, left], axis=1).astype(np.int16)
    mono = to_telephone(frames, 16000)
    assert mono.dtype == np.int16 and len(mono) == 8000
    assert abs(level_db(mono.astype(float), 8000)) < 0.1


def test_same_rate_and_empty_input() -> None:
    x = tone(1000, 8000)
    assert np.array_equal(resample(x, 8000, 8000), x)
    assert resample(np.zeros(0), 44100, 8000).size == 0
