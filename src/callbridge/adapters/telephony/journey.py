"""The caller's journey on the wire: an IVR flow walked on a live call, the wait in queue (music,
place-in-line announcements, the callback offer), messages left, and callbacks made.

The flow itself is pure domain code (`domain/ivr`): this module only does what a step asks
(speak, play, collect digits, look a caller up in the CRM) and feeds back what happened.
"""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime
from pathlib import Path

import anyio
import structlog

from callbridge.adapters.telephony.legs import VoiceCall, recording_path
from callbridge.adapters.telephony.media.audio import Clip, ClipPlayer
from callbridge.adapters.telephony.media.handles import Playback
from callbridge.adapters.telephony.media.speech import SpeechFailed, SpeechSynthesizer
from callbridge.adapters.telephony.outbound import Outbound
from callbridge.domain.crm.records import LookupKey
from callbridge.domain.errors import CallbridgeError
from callbridge.domain.ids import InteractionId, QueueId, SkillId
from callbridge.domain.interactions import InteractionState
from callbridge.domain.ivr import (
    Action,
    CallerHungUp,
    Digits,
    Found,
    Gather,
    HangUp,
    Lookup,
    NoInput,
    NotFound,
    Played,
    PlayFile,
    Prompt,
    Result,
    Route,
    Say,
    Speech,
    Terminal,
    TransferOut,
    Voicemail,
    WaitPolicy,
    Walk,
)
from callbridge.domain.ivr.interpreter import Caller
from callbridge.services import interactions as svc
from callbridge.services import ivr

log = structlog.get_logger(__name__)

BEEP = Clip.tone((1000.0,), 0.4)
LOOKUP_TIMEOUT_S = 5.0
VOICEMAIL_PROMPT = "Please leave a message after the tone. Press hash when you are done."
VOICEMAIL_MAX_S = 120.0
SHORTEST_MESSAGE_S = 1.0  # a caller gone before this left no message
WAIT_TICK_S = 0.25
CONFIRM_TIMEOUT_S = 6.0


def spoken_digits(number: str) -> str:
    return " ".join(c for c in number if c.isdigit() or c in "*#")


def wait_sentences(position: int, expected_wait_s: float | None) -> tuple[str, str]:
    """What a waiting caller hears: their place in line, and the expected wait."""
    place = f"You are number {position} in line."
    if expected_wait_s is None:
        return place, "Nobody who can take your call is available at the moment."
    minutes = math.ceil(expected_wait_s / 60.0)
    if minutes <= 1:
        return place, "Your expected wait is less than a minute."
    return place, f"Your expected wait is about {minutes} minutes."


class Journey(Outbound):
    _speech: SpeechSynthesizer | None = None

    # --- speaking and listening ----------------------------------------------------------

    @property
    def speech(self) -> SpeechSynthesizer:
        if self._speech is None:
            self._speech = SpeechSynthesizer(self.cache_dir)
        return self._speech

    async def _clip(self, part: Speech) -> Clip:
        if isinstance(part, Say):
            return await self.speech.clip(part.text)
        clip = self.prompts.get(part.path)
        if clip is None:
            clip = await anyio.to_thread.run_sync(Clip.from_wav, Path(part.path))
            self.prompts[part.path] = clip
        return clip

    async def _say(self, call: VoiceCall, *parts: Speech | Clip) -> bool:
        """Play to the caller and wait until it ends; False when something cut it off."""
        clips = [p if isinstance(p, Clip) else await self._clip(p) for p in parts]
        if call.closed or not clips:
            return not call.closed
        return await call.caller_media.play(ClipPlayer(*clips)).wait()

    async def _prompt(self, call: VoiceCall, prompt: Prompt) -> Result:
        clips = [await self._clip(part) for part in prompt.parts]
        gather = prompt.gather
        playback = call.caller_media.play(ClipPlayer(*clips)) if clips and not call.closed else None
        if playback is not None:
            if prompt.barge_in:
                await self._play_until_digit(call, playback)
            else:
                await playback.wait()
        if gather is None:
            return Played()
        return await self._collect(call, gather)

    async def _play_until_digit(self, call: VoiceCall, playback: Playback) -> None:
        """Barge-in: the first digit stops the prompt (and stays to be read)."""
        async with anyio.create_task_group() as tg:

            async def stop_on_digit() -> None:
                await call.keypad.wait_pending()
                playback.stop()

            tg.start_soon(stop_on_digit)
            await playback.wait()
            tg.cancel_scope.cancel()

    async def _collect(self, call: VoiceCall, gather: Gather) -> Result:
        entered = ""
        timeout = gather.timeout_s
        while len(entered) < gather.max_digits:
            digit = await call.keypad.next(timeout)
            if digit is None:
                break
            if gather.terminator is not None and digit == gather.terminator:
                return Digits(entered)
            entered += digit
            timeout = gather.inter_digit_s
        return Digits(entered) if entered else NoInput()

    async def _lookup(self, action: Lookup) -> Result:
        crm = self.crm
        if crm is None or not action.value:
            return NotFound()
        try:
            key = LookupKey(action.by)

            def dip() -> Result:
                matches = crm.lookup(key, action.value, limit=2)
                if not matches:
                    return NotFound()
                record = crm.get_record(matches[0].ref)
                if record is None:
                    return NotFound()
                fields = {k: str(v) for k, v in record.fields.items() if v is not None}
                return Found(record.name, record.ref.type.value, fields)

            with anyio.fail_after(LOOKUP_TIMEOUT_S):
                return await anyio.to_thread.run_sync(dip, abandon_on_cancel=True)
        except (TimeoutError, CallbridgeError, ValueError) as exc:
            log.info("voice.lookup_failed", by=action.by, error=str(exc))
            return NotFound()

    # --- the flow ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.rt.clock.now(), tz=UTC)

    async def _journey(self, call: VoiceCall, flow: str) -> None:
        """Walk the flow, then wait in line, until the call ends one way or the other."""
        assert self.flows is not None
        call.walk = Walk(self.flows, flow, Caller(ani=call.caller_address, dnis=call.called))
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._walk, call)
            reason = await call.caller.wait_ended()
            tg.cancel_scope.cancel()
        walk = call.walk
        if not walk.finished:  # the caller hung up inside the flow
            walk.resume(CallerHungUp(), self._now())
            with contextlib.suppress(CallbridgeError):
                ivr.do_end_in_ivr(self.rt, call.interaction_id, self._outcome(walk), by_caller=True)
            await self._hang_up(call, "the caller left the flow")
        elif reason == "remote-bye" and not call.closed and not call.callback:
            self._end(call, "customer")

    def _outcome(self, walk: Walk) -> ivr.FlowOutcome:
        kinds = {Route: "queue", Voicemail: "voicemail", TransferOut: "transfer", HangUp: "hangup"}
        outcome = walk.outcome
        return ivr.FlowOutcome(
            flow=walk.path[0].flow if walk.path else "",
            outcome=kinds.get(type(outcome), "hangup"),
            path=tuple(f"{s.flow}:{s.node}" for s in walk.path),
            variables=dict(walk.variables),
        )

    async def _walk(self, call: VoiceCall) -> None:
        walk = call.walk
        assert walk is not None
        action: Action = walk.start(self._now())
        while not isinstance(action, Route | Voicemail | TransferOut | HangUp):
            result = await self._step(call, action)
            action = walk.resume(result, self._now())
        log.info(
            "voice.flow_done",
            interaction_id=call.interaction_id,
            path=[f"{s.node}: {s.note}" for s in walk.path],
            outcome=type(action).__name__,
        )
        await self._finish(call, walk, action)

    async def _step(self, call: VoiceCall, action: Action) -> Result:
        if isinstance(action, Prompt):
            return await self._prompt(call, action)
        if isinstance(action, Lookup):
            return await self._lookup(action)
        raise AssertionError(f"not a step: {action!r}")

    async def _finish(self, call: VoiceCall, walk: Walk, action: Terminal) -> None:
        iid, done = call.interaction_id, self._outcome(walk)
        if isinstance(action, Route):
            skills = {SkillId(k): v for k, v in action.skills.items()}
            try:
                ivr.do_route_from_ivr(
                    self.rt, iid, done, QueueId(action.queue), action.priority, skills
                )
            except CallbridgeError as exc:
                log.error("voice.route_failed", interaction_id=iid, error=exc.message)
                with contextlib.suppress(CallbridgeError):
                    ivr.do_end_in_ivr(self.rt, iid, done, by_caller=False)
                return
            call.wait = action.wait
            await self._wait_in_queue(call, action.wait)
        elif isinstance(action, Voicemail):
            await self._take_message(call, QueueId(action.queue), action.prompt, action.max_s, done)
        elif isinstance(action, TransferOut):
            call.outside = action.number
            ivr.do_end_in_ivr(self.rt, iid, done, by_caller=False)
            await self._transfer_out(call, action.number)
        else:
            try:
                if action.prompt:
                    await self._say(call, *action.prompt)
            finally:
                with contextlib.suppress(CallbridgeError):
                    ivr.do_end_in_ivr(self.rt, iid, done, by_caller=False)

    # --- messages ------------------------------------------------------------------------------

    async def _take_message(
        self,
        call: VoiceCall,
        queue_id: QueueId,
        prompt: tuple[Speech, ...],
        max_s: float,
        done: ivr.FlowOutcome | None,
    ) -> None:
        """Prompt, beep, record until hash, silence of the line or `max_s`; the message becomes
        an interaction of its own. A caller who hangs up ends the message, not loses it."""
        iid = call.interaction_id
        directory = self.recordings_dir or self.cache_dir / "voicemail"
        path = recording_path(directory, f"voicemail-{iid}")
        recording = False
        try:
            await self._say(call, *(prompt or (Say(VOICEMAIL_PROMPT),)))
            await self._say(call, BEEP)
            if call.closed:
                return
            directory.mkdir(parents=True, exist_ok=True)
            call.keypad.clear()
            call.caller_media.record(path)
            recording = True
            with anyio.move_on_after(max_s):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._until_hash, call, tg.cancel_scope)
                    await call.caller.wait_ended()  # a caller hanging up ends the message
                    tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._file_message(call, queue_id, path if recording else None, done)

    @staticmethod
    async def _until_hash(call: VoiceCall, done: anyio.CancelScope) -> None:
        while await call.keypad.next() != "#":
            pass
        done.cancel()

    async def _file_message(
        self,
        call: VoiceCall,
        queue_id: QueueId,
        path: Path | None,
        done: ivr.FlowOutcome | None,
    ) -> None:
        iid = call.interaction_id
        info = None
        if path is not None:  # hung up already: the hang-up kept what was recorded
            media = call.caller_media
            info = self.recorded.get(iid) if media.closed else media.stop_recording()
        try:
            if info is None or info.duration_s < SHORTEST_MESSAGE_S:
                if done is not None:
                    ivr.do_end_in_ivr(self.rt, iid, done, by_caller=True)
                log.info("voice.no_message", interaction_id=iid)
            else:
                message = ivr.Message(
                    from_address=call.caller_address,
                    to_address=call.called,
                    recording=str(info.path),
                    duration_s=info.duration_s,
                )
                ivr.do_leave_voicemail(self.rt, iid, queue_id, message, done)
                log.info("voice.message_left", interaction_id=iid, seconds=info.duration_s)
        except CallbridgeError as exc:
            log.error("voice.message_not_filed", interaction_id=iid, error=exc.message)
        await self._hang_up(call, "message taken")

    # --- the wait in queue ---------------------------------------------------------------

    def _waiting(self, call: VoiceCall) -> bool:
        ix = self.rt.center.interactions.get(call.interaction_id)
        return (
            ix is not None
            and ix.state is InteractionState.QUEUED
            and call.leg is None
            and not (call.closed or call.callback or call.voicemail_queue or call.farewell)
        )

    async def _play_waiting_music(self, call: VoiceCall, policy: WaitPolicy) -> None:
        if self._waiting(call) or self._ringing(call):
            music = self.music if policy.music is None else await self._clip(PlayFile(policy.music))
            call.caller_media.play(music, loop=True)

    def _ringing(self, call: VoiceCall) -> bool:
        return call.leg is not None and call.leg.dialog is None and not call.closed

    async def _wait_in_queue(self, call: VoiceCall, policy: WaitPolicy) -> None:
        """Music, announcements every `announce_every_s`, and the callback offer, for as long
        as the call waits in line (an offer ringing an agent pauses nothing but the talk)."""
        await self._play_waiting_music(call, policy)
        clock = self.rt.clock
        entered = clock.now()
        next_announcement = entered if policy.announce_every_s else math.inf
        offered = False
        while self._waiting(call) or self._ringing(call):
            now = clock.now()
            if not self._waiting(call):
                await anyio.sleep(WAIT_TICK_S)
                continue
            told = None
            if now >= next_announcement:
                told = await self._announce(call, policy)
                next_announcement = now + (policy.announce_every_s or math.inf)
            if not offered and self._waiting(call) and self._callback_due(call, policy, now):
                offered = True
                text = (
                    "To be called back instead, without losing your place in line, "
                    f"press {spoken_digits(policy.callback_key) or policy.callback_key}."
                )
                await self._say(call, Say(text))
                await self._play_waiting_music(call, policy)
            if told is not None:
                await self._play_waiting_music(call, policy)
            digit = await call.keypad.next(WAIT_TICK_S)
            if offered and digit == policy.callback_key and self._waiting(call):
                await self._offer_callback(call, policy)

    def _callback_due(self, call: VoiceCall, policy: WaitPolicy, now: float) -> bool:
        ix = self.rt.center.interactions.get(call.interaction_id)
        if ix is None or ix.queue_entered_at is None or self.trunk is None:
            return False  # no way to call anyone back
        if (
            policy.callback_after_s is not None
            and now - ix.queue_entered_at >= policy.callback_after_s
        ):
            return True
        if policy.callback_when_wait_over_s is not None and ix.queue_id is not None:
            told = ivr.wait_estimate(
                self.rt, call.interaction_id, self.handle_times.of(ix.queue_id)
            )
            wait = told.expected_wait_s
            return wait is None or wait > policy.callback_when_wait_over_s
        return False

    async def _announce(self, call: VoiceCall, policy: WaitPolicy) -> object:
        ix = self.rt.center.interactions.get(call.interaction_id)
        if ix is None or ix.queue_id is None:
            return None
        told = ivr.wait_estimate(self.rt, call.interaction_id, self.handle_times.of(ix.queue_id))
        place, wait = wait_sentences(told.position, told.expected_wait_s)
        parts = [place] if policy.announce_position else []
        if policy.announce_wait:
            parts.append(wait)
        if not parts:
            return None
        with contextlib.suppress(CallbridgeError):
            ivr.do_announce_wait(self.rt, call.interaction_id, told)
        await self._say(call, Say(" ".join(parts)))
        return told

    async def _offer_callback(self, call: VoiceCall, policy: WaitPolicy) -> None:
        """Confirm (or enter) the number, then the caller hangs up keeping their place."""
        number = call.caller_address if call.caller_address.lstrip("+").isdigit() else ""
        for _ in range(3):
            if not number:
                call.keypad.clear()
                await self._say(call, Say("Please enter the number to call, then press hash."))
                entered = await self._collect(
                    call, Gather(max_digits=15, terminator="#", timeout_s=CONFIRM_TIMEOUT_S)
                )
                number = entered.text if isinstance(entered, Digits) else ""
                if not number:
                    break
            if not self._waiting(call):
                return
            call.keypad.clear()
            await self._say(
                call,
                Say(
                    f"We will call you back at {spoken_digits(number)}. To confirm, press 1."
                    " To enter another number, press 2."
                ),
            )
            choice = await self._collect(call, Gather(max_digits=1, timeout_s=CONFIRM_TIMEOUT_S))
            if isinstance(choice, Digits) and choice.text == "1" and self._waiting(call):
                await self._become_callback(call, number)
                return
            if not (isinstance(choice, Digits) and choice.text == "2"):
                break
            number = ""
        await self._play_waiting_music(call, policy)

    async def _become_callback(self, call: VoiceCall, number: str | None) -> None:
        """The interaction keeps its place; the caller is told and the line hung up."""
        iid = call.interaction_id
        if number is not None:
            try:
                svc.do_request_callback(self.rt, iid, number)
            except CallbridgeError as exc:
                log.info("voice.callback_refused", interaction_id=iid, error=exc.message)
                return
        call.callback = True
        call.keypad.clear()
        with contextlib.suppress(Exception):
            await self._say(
                call, Say("Thank you. We will call you back when it is your turn. Goodbye.")
            )
        await self._hang_up(call, "to be called back")

    async def _say_then_hang_up(self, call: VoiceCall, text: str) -> None:
        with contextlib.suppress(SpeechFailed):
            await self._say(call, Say(text))
        await self._hang_up(call, "disconnected by the queue")

    async def _call_back(self, iid: InteractionId) -> None:
        """The callback reached the front and an agent has it: their phone rings first, then
        the customer's number through the trunk."""
        ix = self.rt.center.interactions.get(iid)
        if ix is None or ix.callback_number is None or ix.agent_id is None:
            return
        await self._dial_out(iid, ix.agent_id, callback=ix.callback_number)
