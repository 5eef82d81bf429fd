"""Prompts from text: espeak-ng run as an async subprocess, each result cached on disk.

The cache key is a hash of (voice, speed, text); the cached file is already 8 kHz mono, so a
second request for the same sentence only reads a WAV. Concurrent requests for one sentence run
espeak-ng once. The resampling runs in a worker thread: it is a few tens of milliseconds of
numpy, which would otherwise be a late media tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
from pathlib import Path

from callbridge.adapters.telephony.media.audio import SAMPLE_RATE, Clip
from callbridge.adapters.telephony.media.resample import to_telephone
from callbridge.adapters.telephony.media.wav import read_wav, write_wav
from callbridge.domain.errors import CallbridgeError


class SpeechFailed(CallbridgeError):
    """espeak-ng is missing, failed, or took too long."""

    code = "speech_failed"


class SpeechSynthesizer:
    """Text to `Clip`s with espeak-ng, generated once per (voice, speed, text)."""

    def __init__(
        self,
        cache_dir: Path,
        voice: str = "en-us",
        words_per_minute: int = 160,
        executable: str = "espeak-ng",
        timeout_s: float = 30.0,
    ) -> None:
        self.cache_dir = cache_dir
        self.voice = voice
        self.words_per_minute = words_per_minute
        self._executable = executable
        self._timeout_s = timeout_s
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # per sentence: lock, users

    def cache_path(self, text: str) -> Path:
        """Where the clip for `text` is (or will be) cached."""
        key = f"espeak-ng\0{self.voice}\0{self.words_per_minute}\0{text}".encode()
        return self.cache_dir / f"tts-{hashlib.sha256(key).hexdigest()[:32]}.wav"

    async def clip(self, text: str) -> Clip:
        """The spoken `text` as an 8 kHz clip, from the cache when it is there."""
        if not text.strip():
            raise SpeechFailed("nothing to say")
        path = self.cache_path(text)
        lock, users = self._locks.get(path.name, (asyncio.Lock(), 0))
        self._locks[path.name] = (lock, users + 1)
        try:
            async with lock:
                if not path.exists():
                    await self._generate(text, path)
        finally:
            lock, users = self._locks[path.name]
            if users == 1:
                del self._locks[path.name]
            else:
                self._locks[path.name] = (lock, users - 1)
        return await asyncio.to_thread(Clip.from_wav, path)

    async def _generate(self, text: str, path: Path) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        raw = path.with_suffix(f".{secrets.token_hex(6)}.raw.wav")
        try:
            proc = await asyncio.create_subprocess_exec(
                self._executable,
                *("-v", self.voice, "-s", str(self.words_per_minute), "-w", str(raw), "--stdin"),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise SpeechFailed(f"cannot run {self._executable}: {exc}") from exc
        try:
            _, stderr = await asyncio.wait_for(proc.communicate(text.encode()), self._timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.communicate()
            raise SpeechFailed("espeak-ng timed out", timeout_s=self._timeout_s) from None
        except BaseException:
            if proc.returncode is None:
                proc.kill()
                await proc.communicate()
            raise
        try:
            if proc.returncode != 0:
                message = stderr.decode(errors="replace").strip()
                raise SpeechFailed(f"espeak-ng failed: {message}", returncode=proc.returncode)
            await asyncio.to_thread(_convert, raw, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                raw.unlink()


def _convert(raw: Path, path: Path) -> None:
    rate, frames = read_wav(raw)
    partial = path.with_suffix(f".{secrets.token_hex(6)}.tmp")
    write_wav(partial, SAMPLE_RATE, to_telephone(frames, rate, SAMPLE_RATE))
    os.replace(partial, path)
