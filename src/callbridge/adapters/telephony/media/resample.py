"""Sample-rate conversion with a polyphase windowed-sinc filter (numpy only).

Converting rate_in to rate_out = rate_in * L / M evaluates, for each output sample, a Kaiser-
windowed sinc low-pass centred on the output instant: one of L precomputed phases of the filter
dotted with the input samples around it. The low-pass sits below the lower of the two Nyquist
frequencies: flat to 85 % of it, at least 80 dB down from 100 % on. For 8 kHz output that is flat
to 3.4 kHz (the telephone band) and nothing above 4 kHz folds back into the band.
"""

from __future__ import annotations

from math import gcd

import numpy as np
from numpy.typing import NDArray

PASSBAND = 0.85  # of the lower Nyquist frequency
STOPBAND_DB = 80.0


def _kernel_table(rate_in: int, rate_out: int) -> tuple[NDArray[np.float64], int, int, int]:
    """Filter phases (L rows), the half-width in input samples, and L and M."""
    divisor = gcd(rate_in, rate_out)
    up, down = rate_out // divisor, rate_in // divisor
    nyquist = min(rate_in, rate_out) / 2.0
    transition_hz = (1.0 - PASSBAND) * nyquist
    cutoff = (1.0 + PASSBAND) / 2.0 * nyquist / rate_in  # cycles per input sample
    width = transition_hz / rate_in
    taps = int(np.ceil((STOPBAND_DB - 7.95) / (2.285 * 2 * np.pi * width))) + 1
    half = taps // 2 + 1
    beta = 0.1102 * (STOPBAND_DB - 8.7)
    offsets = np.arange(-half + 1, half + 1)  # input samples around the output instant
    phases = np.arange(up)[:, None] / up
    tau = phases - offsets[None, :]  # distance from each input sample to the output instant
    window = np.i0(beta * np.sqrt(np.clip(1.0 - (tau / half) ** 2, 0.0, None))) / np.i0(beta)
    table = 2.0 * cutoff * np.sinc(2.0 * cutoff * tau) * window
    table /= table.sum(axis=1, keepdims=True)  # unity gain at DC for every phase
    return table, half, up, down


def resample(
    samples: NDArray[np.float64], rate_in: int, rate_out: int, chunk: int = 4096
) -> NDArray[np.float64]:
    """One channel from `rate_in` to `rate_out` Hz; the output has len * out / in samples."""
    if rate_in <= 0 or rate_out <= 0:
        raise ValueError("sample rates must be positive")
    x = np.asarray(samples, dtype=np.float64)
    if rate_in == rate_out or x.size == 0:
        return x.copy()
    table, half, up, down = _kernel_table(rate_in, rate_out)
    padded = np.concatenate((np.zeros(half), x, np.zeros(half + 1)))
    count = x.size * up // down
    out = np.empty(count, dtype=np.float64)
    span = np.arange(table.shape[1]) + 1  # index of offset -half+1 in `padded` is base + 1
    for start in range(0, count, chunk):
        n = np.arange(start, min(count, start + chunk))
        position = n * down
        base = position // up
        phase = position % up
        windows = padded[base[:, None] + span[None, :]]
        out[start : start + n.size] = np.einsum("ij,ij->i", windows, table[phase])
    return out


def to_telephone(samples: NDArray[np.int16], rate: int, rate_out: int = 8000) -> NDArray[np.int16]:
    """Interleaved-frame PCM of shape (frames, channels) to mono at `rate_out`, as int16."""
    data = np.asarray(samples)
    mono = data.astype(np.float64).mean(axis=1) if data.ndim == 2 else data.astype(np.float64)
    converted = resample(mono, rate, rate_out)
    return np.clip(np.rint(converted), -32768, 32767).astype(np.int16)
