"""Answering-machine detection on a campaign call's customer leg: the called party's audio,
frame by frame from the answer, through the pure detector (`domain/dialer/amd.py`), and what
is done with a machine: hung up on, or left the campaign's message once its greeting and beep
are over.

A frame is speech when its mean absolute sample reaches `SPEECH_LEVEL` (Asterisk's AMD
silence threshold, 256 on the 16-bit scale); a frame that did not come is silence.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace

import anyio
import numpy as np
import structlog

from callbridge.adapters.telephony.agentless_calls import AgentlessCalls
from callbridge.adapters.telephony.legs import VoiceCall
from callbridge.adapters.telephony.media.g711 import Samples
from callbridge.adapters.telephony.media.speech import SpeechFailed
from callbridge.domain.dialer.amd import AmdDetector, AmdResult, AmdSettings, GreetingEnd
from callbridge.domain.dialer.calls import CallResult, PlacedCall
from callbridge.domain.errors import CallbridgeError
from callbridge.services import interactions as svc

log = structlog.get_logger(__name__)

SPEECH_LEVEL = 256.0
GREETING_WAIT_S = 30.0  # the longest a machine's greeting is waited out before the message


def is_speech(samples: Samples | None) -> bool:
    """Whether a 20 ms frame of the called party's audio is speech (loud enough)."""
    if samples is None or len(samples) == 0:
        return False
    return float(np.abs(samples.astype(np.int32)).mean()) >= SPEECH_LEVEL


class MachineDetection(AgentlessCalls):
    async def _until_heard(
        self, voice: VoiceCall, feed: Callable[[bool], bool], limit_s: float
    ) -> None:
        """Feed the called party's frames to `feed` until it returns True, they hang up, or
        `limit_s` passes."""
        done = anyio.Event()

        def heard(samples: Samples | None) -> None:
            if not done.is_set() and feed(is_speech(samples)):
                done.set()

        media = voice.caller_media
        media.on_heard(heard)
        try:
            with anyio.move_on_after(limit_s):
                async with anyio.create_task_group() as tg:

                    async def hung_up() -> None:
                        await voice.caller.wait_ended()
                        tg.cancel_scope.cancel()

                    tg.start_soon(hung_up)
                    await done.wait()
                    tg.cancel_scope.cancel()
        finally:
            if not media.closed:
                media.on_heard(None)

    async def _detect(self, voice: VoiceCall, settings: AmdSettings) -> AmdResult:
        """Listen from the answer until the detector gives its verdict."""
        detector = AmdDetector(settings)
        await self._until_heard(
            voice, lambda v: detector.feed(v) is not None, settings.total_analysis_s + 1.0
        )
        result = detector.ended()
        log.info(
            "dialer.amd",
            interaction_id=voice.interaction_id,
            answerer=result.answerer,
            reason=result.reason,
            decided_s=result.decided_s,
        )
        return result

    async def _machine(self, voice: VoiceCall, placed: PlacedCall, base: CallResult) -> CallResult:
        """A machine answered: hang up, or first leave the message after its greeting."""
        iid = voice.interaction_id
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.is_open:
            with contextlib.suppress(CallbridgeError):
                svc.do_end(self.rt, iid, "system")
        played = 0.0
        try:
            if placed.amd is not None and placed.amd.leave_message:
                greeting = GreetingEnd(max_s=GREETING_WAIT_S)
                await self._until_heard(voice, greeting.feed, GREETING_WAIT_S + 1.0)
                if voice.caller.end_reason is None:
                    started = time.monotonic()
                    with contextlib.suppress(SpeechFailed):
                        await self._say(voice, await self.speech.clip(placed.message))
                    played = time.monotonic() - started
        finally:
            self.dialler_holds.discard(iid)
            with anyio.CancelScope(shield=True):
                await self._hang_up(voice, "answering machine")
        return replace(
            base,
            ended_at=self.rt.clock.now(),
            machine=True,
            message=placed.message if played else None,
            message_s=played,
        )
