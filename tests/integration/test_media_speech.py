"""Prompts from text through espeak-ng: generated once, cached on disk, 8 kHz, never blocking."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from callbridge.adapters.telephony.media.audio import SAMPLE_RATE
from callbridge.adapters.telephony.media.speech import SpeechFailed, SpeechSynthesizer
from callbridge.adapters.telephony.media.wav import read_wav

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None and os.environ.get("CI") != "true",
    reason="espeak-ng is not installed (make setup installs it; under CI=true this fails instead)",
)


def test_text_becomes_an_8khz_prompt_generated_once(tmp_path: Path) -> None:
    speech = SpeechSynthesizer(tmp_path / "tts")
    text = "-Your call is important to us. Please hold."  # a leading dash is text, not a flag

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        ticks = 0
        stop = False

        async def heartbeat() -> None:  # the loop must keep running while espeak-ng works
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0.005)

        beating = asyncio.create_task(heartbeat())
        started = loop.time()
        first, again = await asyncio.gather(speech.clip(text), speech.clip(text))
        elapsed = loop.time() - started
        stop = True
        await beating
        assert ticks >= elapsed / 0.005 * 0.5
        assert first.duration_s > 1.0
        assert np.array_equal(first.samples, again.samples)

    asyncio.run(scenario())
    cached = sorted((tmp_path / "tts").iterdir())
    assert [p.name for p in cached] == [speech.cache_path(text).name]  # one file, no leftovers
    rate, samples = read_wav(cached[0])
    assert rate == SAMPLE_RATE and samples.shape[1] == 1
    written = cached[0].stat().st_mtime_ns
    clip = asyncio.run(speech.clip(text))
    assert cached[0].stat().st_mtime_ns == written  # served from the cache
    assert clip.duration_s > 1.0


def test_voice_and_speed_are_part_of_the_key(tmp_path: Path) -> None:
    slow = SpeechSynthesizer(tmp_path, words_per_minute=120)
    fast = SpeechSynthesizer(tmp_path, words_per_minute=220)
    assert slow.cache_path("hello") != fast.cache_path("hello")
    assert slow.cache_path("hello") != slow.cache_path("hello.")
    durations = [asyncio.run(s.clip("one two three four five")).duration_s for s in (slow, fast)]
    assert durations[0] > durations[1]


def test_failures_are_reported(tmp_path: Path) -> None:
    with pytest.raises(SpeechFailed):
        asyncio.run(SpeechSynthesizer(tmp_path, executable="/nonexistent/espeak").clip("hi"))
    with pytest.raises(SpeechFailed):
        asyncio.run(SpeechSynthesizer(tmp_path).clip("   "))
    assert not list(tmp_path.glob("*.wav"))
