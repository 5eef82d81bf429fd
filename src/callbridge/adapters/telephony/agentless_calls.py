"""Agentless campaign calls once answered: the campaign's message, spoken with espeak from the
answer on, then either the line is hung up (action `message`, or no key) or, for `press_1`,
the transfer key queues the call to the campaign's queue, where the ACD offers it to an agent
and the gateway rings and bridges them as for any queued call. The opt-out key during the
message (or just after it) is reported, for the dialer to mark the number do-not-call.

The answered call is one outbound voice interaction from the answer on: ended by the system
when the message is over, or enqueued on the key press (its event log shows the whole path).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection
from dataclasses import replace

import anyio
import structlog

from callbridge.adapters.telephony.journey import Journey
from callbridge.adapters.telephony.legs import VoiceCall
from callbridge.adapters.telephony.media.audio import Clip, ClipPlayer
from callbridge.adapters.telephony.media.speech import SpeechFailed
from callbridge.domain.dialer.calls import CallResult, DialProgress, PlacedCall
from callbridge.domain.dialer.modes import AgentlessAction, AgentlessSettings
from callbridge.domain.errors import CallbridgeError
from callbridge.domain.ids import AgentId, QueueId
from callbridge.domain.interactions import InteractionState
from callbridge.services import dialer as dialer_svc
from callbridge.services import interactions as svc

log = structlog.get_logger(__name__)

WATCH_S = 0.05
OPT_OUT_AFTER_S = 1.5  # the opt-out key still counts this long after the message
OPTED_OUT_REPLY = "You will not be called again. Goodbye."
NO_TRANSFER_REPLY = "Sorry, we cannot take your call now. Goodbye."


class AgentlessCalls(Journey):
    async def _play_for_keys(
        self, voice: VoiceCall, clip: Clip, keys: Collection[str], after_s: float
    ) -> str | None:
        """Play `clip` to the called person; the first of `keys` pressed during it, or within
        `after_s` after it, stops it and is returned (None: no such key, or they hung up)."""
        voice.keypad.clear()
        playback = voice.caller_media.play(ClipPlayer(clip))
        if not keys:
            await playback.wait()
            return None
        pressed: str | None = None
        async with anyio.create_task_group() as tg:

            async def listen() -> None:
                nonlocal pressed
                while (key := await voice.keypad.next()) not in keys:
                    pass
                pressed = key
                playback.stop()
                tg.cancel_scope.cancel()

            async def hung_up() -> None:
                await voice.caller.wait_ended()
                playback.stop()
                tg.cancel_scope.cancel()

            tg.start_soon(listen)
            tg.start_soon(hung_up)
            await playback.wait()
            await anyio.sleep(after_s)
            tg.cancel_scope.cancel()
        return pressed

    async def _agentless(
        self,
        voice: VoiceCall,
        placed: PlacedCall,
        settings: AgentlessSettings,
        progress: DialProgress,
        base: CallResult,
    ) -> CallResult:
        """The message from the answer on, then the key's effect; the call's result."""
        iid = voice.interaction_id
        press_1 = settings.action is AgentlessAction.PRESS_1
        keys = {k for k in (placed.opt_out_key, settings.transfer_key if press_1 else None) if k}
        after = settings.wait_s if press_1 else OPT_OUT_AFTER_S
        started = time.monotonic()
        key, failed = None, False
        try:
            if voice.caller.end_reason is None:
                log.info("dialer.agentless_message", interaction_id=iid)
                key = await self._play_for_keys(
                    voice, await self.speech.clip(placed.message), keys, after
                )
        except SpeechFailed as exc:  # nobody heard anything: an abandoned call
            log.error("dialer.message_failed", error=str(exc))
            failed = True
        heard = replace(
            base,
            abandoned=failed,
            message=placed.message,
            message_s=time.monotonic() - started,
            agentless=True,
        )
        queue = settings.transfer_queue
        if press_1 and key == settings.transfer_key and queue is not None:
            if voice.caller.end_reason is None and self._queue(voice, queue):
                agent = await self._follow_transfer(voice, progress)
                return replace(
                    heard,
                    ended_at=self.rt.clock.now(),
                    connected_at=progress.connected_at,
                    agent_id=agent,
                    transferred=True,
                )
            with contextlib.suppress(SpeechFailed):
                await self._say(voice, await self.speech.clip(NO_TRANSFER_REPLY))
        opted_out = key is not None and key == placed.opt_out_key
        try:
            if opted_out and voice.caller.end_reason is None:
                with contextlib.suppress(SpeechFailed):
                    await self._say(voice, await self.speech.clip(OPTED_OUT_REPLY))
        finally:
            with anyio.CancelScope(shield=True):
                self._close_interaction(voice)
                await self._hang_up(voice, "agentless: the message is over")
        return replace(heard, ended_at=self.rt.clock.now(), opted_out=opted_out)

    def _queue(self, voice: VoiceCall, queue: QueueId) -> bool:
        """The call into `queue`, the gateway's from now on; False when the queue took none."""
        iid = voice.interaction_id
        try:
            dialer_svc.do_queue_answered(self.rt, iid, queue)
        except CallbridgeError as exc:
            log.error("dialer.transfer_failed", interaction_id=iid, error=exc.message)
            return False
        self.dialler_holds.discard(iid)
        log.info("dialer.transferred", interaction_id=iid, queue_id=queue)
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.state is InteractionState.QUEUED and voice.leg is None:
            voice.caller_media.play(self.music, loop=True)
        return True

    async def _follow_transfer(self, voice: VoiceCall, progress: DialProgress) -> AgentId | None:
        """Wait for the end of a transferred call (the gateway rings, bridges and hangs up as
        for any queued call); the agent who took it, noted in `progress` when connected."""
        iid = voice.interaction_id
        agent: AgentId | None = None
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                nonlocal agent
                while True:
                    ix = self.rt.center.interactions.get(iid)
                    if ix is None or not ix.is_open:
                        return
                    if ix.state is InteractionState.CONNECTED and ix.agent_id is not None:
                        agent = ix.agent_id
                        progress.connected_at = self.rt.clock.now()
                        return
                    await anyio.sleep(WATCH_S)

            tg.start_soon(watch)
            reason = await voice.caller.wait_ended()
            tg.cancel_scope.cancel()
        if reason == "remote-bye" and not voice.closed:
            self._end(voice, "customer")
        return agent

    def _close_interaction(self, voice: VoiceCall) -> None:
        """End the agentless call's interaction (nobody else will) and let go of it."""
        iid = voice.interaction_id
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.is_open:
            with contextlib.suppress(CallbridgeError):
                svc.do_end(self.rt, iid, "customer" if voice.caller.end_reason else "system")
        self.dialler_holds.discard(iid)
