"""Mixing: N-1 sums with saturation, and who hears whom for listen, whisper and barge."""

from __future__ import annotations

import numpy as np

from callbridge.adapters.telephony.media.mixer import EVERYONE, hearing_matrix, mix, mix_frames


def frames(*levels: int) -> np.ndarray:
    return np.array([[level] * 160 for level in levels], dtype=np.int16)


def test_everyone_hears_the_sum_of_the_others() -> None:
    hears = hearing_matrix(["a", "b", "c"], [EVERYONE, EVERYONE, EVERYONE])
    out = mix(frames(100, 20, 3), hears)
    assert out[:, 0].tolist() == [23, 103, 120]


def test_sums_saturate_instead_of_wrapping() -> None:
    hears = hearing_matrix(["a", "b", "c"], [EVERYONE] * 3)
    out = mix(frames(30000, 30000, -30000), hears)
    assert out[:, 0].tolist() == [0, 0, 32767]
    out = mix(frames(-30000, -30000, 0), hears)
    assert out[:, 0].tolist() == [-30000, -30000, -32768]


def test_supervisor_listen_whisper_and_barge() -> None:
    people = ["customer", "agent", "supervisor"]
    voices = frames(1, 10, 100)
    listen = hearing_matrix(people, [EVERYONE, EVERYONE, frozenset()])
    assert mix(voices, listen)[:, 0].tolist() == [10, 1, 11]  # nobody hears the supervisor
    whisper = hearing_matrix(people, [EVERYONE, EVERYONE, frozenset({"agent"})])
    assert mix(voices, whisper)[:, 0].tolist() == [10, 101, 11]  # only the agent does
    barge = hearing_matrix(people, [EVERYONE, EVERYONE, EVERYONE])
    assert mix(voices, barge)[:, 0].tolist() == [110, 101, 11]


def test_nobody_hears_themselves_even_if_listed() -> None:
    hears = hearing_matrix(["a", "b"], [frozenset({"a", "b"}), EVERYONE])
    assert not hears[0, 0] and hears[1, 0]


def test_missing_frames_are_silence() -> None:
    hears = hearing_matrix(["a", "b"], [EVERYONE, EVERYONE])
    out = mix_frames([None, np.full(160, 7, dtype=np.int16)], hears)
    assert out[:, 0].tolist() == [7, 0]


def test_mixing_is_per_sample() -> None:
    rng = np.random.default_rng(1)
    voices = rng.integers(-8000, 8000, size=(4, 160), dtype=np.int16)
    out = mix(voices, hearing_matrix(list(range(4)), [EVERYONE] * 4))
    total = voices.astype(np.int32).sum(axis=0)
    assert np.array_equal(out, (total - voices.astype(np.int32)).astype(np.int16))
