"""Handles returned by `RtpSession.play()` and `RtpSession.record()`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from callbridge.adapters.telephony.media.audio import AudioSource
from callbridge.adapters.telephony.media.recorder import Recorder, RecordingInfo

if TYPE_CHECKING:
    from callbridge.adapters.telephony.media.session import RtpSession


class Playback:
    """One `play()`: await `wait()` for its end; True if it played to the end."""

    def __init__(
        self, session: RtpSession, source: AudioSource, done: asyncio.Future[bool]
    ) -> None:
        self.session = session
        self.source = source
        self._done = done

    def finish(self, completed: bool) -> None:
        """Resolve the playback (the session calls this)."""
        if not self._done.done():
            self._done.set_result(completed)

    @property
    def done(self) -> bool:
        return self._done.done()

    async def wait(self) -> bool:
        """Until the source ends (True) or the playback is stopped or replaced (False)."""
        return await asyncio.shield(self._done)

    def stop(self) -> None:
        """Stop this playback if it is still the one playing."""
        if self.session.playback is self:
            self.session.stop_playing()


class Recording:
    """One `record()`: pause and resume it, read its path and duration."""

    def __init__(self, session: RtpSession, recorder: Recorder) -> None:
        self.session = session
        self.recorder = recorder

    @property
    def path(self) -> Path:
        return self.recorder.path

    @property
    def paused(self) -> bool:
        return self.recorder.paused

    def pause(self) -> None:
        self.recorder.pause()

    def resume(self) -> None:
        self.recorder.resume()

    def info(self) -> RecordingInfo:
        return self.recorder.info()

    def stop(self) -> RecordingInfo:
        """Finish the recording (same as `RtpSession.stop_recording()`)."""
        if self.session.recording is self:
            info = self.session.stop_recording()
            if info is not None:
                return info
        return self.recorder.close()
