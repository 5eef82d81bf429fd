"""What every part of the voice gateway shares: the calls in progress, their legs, bridging and
mixing, hold, recording and hanging up."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import structlog

from callbridge.adapters.telephony.media.audio import Clip
from callbridge.adapters.telephony.media.engine import MediaEngine
from callbridge.adapters.telephony.media.hold import hold_music
from callbridge.adapters.telephony.media.recorder import RecordingInfo
from callbridge.adapters.telephony.sip import (
    IncomingCall,
    Progress,
    ReInvite,
    SipEndpoint,
    sdp,
)
from callbridge.domain.errors import CallbridgeError, InvalidState
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.interactions import InteractionState
from callbridge.domain.ivr import FlowBook
from callbridge.domain.telephony.registrations import Registrations, ringable_contacts
from callbridge.domain.waiting import HandleTimes
from callbridge.ports import Crm, EventBus
from callbridge.services import interactions as svc
from callbridge.services.runtime import Runtime

if TYPE_CHECKING:
    from callbridge.domain.telephony.registrations import Binding

from callbridge.adapters.telephony.legs import (
    KEEP_RECORDED,
    AgentLeg,
    Monitor,
    Trunk,
    VoiceCall,
    close_monitor_media,
    quietly,
    recording_path,
)

log = structlog.get_logger(__name__)


class Switchboard:
    def __init__(
        self,
        rt: Runtime,
        bus: EventBus,
        endpoint: SipEndpoint,
        media: MediaEngine,
        registrations: Registrations,
        entry_points: dict[str, str],
        cache_dir: Path,
        new_id: Callable[[], str],
        recordings_dir: Path | None = None,
        trunk: Trunk | None = None,
        flows: FlowBook | None = None,
        crm: Crm | None = None,
    ) -> None:
        self.rt, self.bus, self.endpoint, self.media = rt, bus, endpoint, media
        self.registrations = registrations
        self.entry_points = entry_points
        self.cache_dir = cache_dir
        self.new_id = new_id
        self.recordings_dir = recordings_dir
        self.trunk = trunk
        self.flows, self.crm = flows, crm
        self.prompts: dict[str, Clip] = {}  # prompt files, loaded once
        self.handle_times = HandleTimes()  # for the expected waits callers are told
        endpoint.on_invite = self.on_invite
        self.calls: dict[InteractionId, VoiceCall] = {}
        self.dialing: set[InteractionId] = set()  # click-to-dial calls being set up
        # answered campaign calls not yet connected to an agent: their ending is the dialer's
        self.dialler_holds: set[InteractionId] = set()
        # finished recordings of this process's calls, newest last (bounded)
        self.recorded: dict[InteractionId, RecordingInfo] = {}
        self._music: Clip | None = None
        self._tg: anyio.abc.TaskGroup | None = None

    async def on_invite(self, call: IncomingCall) -> None:
        """A new call from outside: the gateway's to take."""
        raise NotImplementedError

    @property
    def music(self) -> Clip:
        if self._music is None:
            self._music = hold_music(self.cache_dir)
        return self._music

    def _spawn(self, coroutine: object) -> None:
        assert self._tg is not None, "the gateway is not running"
        self._tg.start_soon(quietly, coroutine)

    def _contact(self, agent_id: AgentId) -> Binding | None:
        agent = self.rt.center.agents.get(agent_id)
        if agent is None:
            return None
        contacts = ringable_contacts(self.registrations, agent, self.endpoint.clock())
        return contacts[0] if contacts else None

    def _progress(
        self, iid: InteractionId, leg: str, stage: str, status: int | None = None
    ) -> None:
        """Log a leg's progress in the event log, timestamped (the dialer's evidence)."""
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.is_open:
            with contextlib.suppress(CallbridgeError):
                svc.do_call_progress(self.rt, iid, leg, stage, status)

    def _on_ringing(self, iid: InteractionId, leg: str) -> Callable[[Progress], None]:
        told = False

        def on_provisional(progress: Progress) -> None:
            nonlocal told
            if progress.status in (180, 183) and not told:
                told = True
                self._progress(iid, leg, "ringing", progress.status)

        return on_provisional

    def _reject(self, call: VoiceCall, agent_id: AgentId) -> None:
        ix = self.rt.center.interactions.get(call.interaction_id)
        if ix is not None and ix.state is InteractionState.OFFERED and ix.agent_id == agent_id:
            with contextlib.suppress(CallbridgeError):
                svc.do_reject(self.rt, call.interaction_id, agent_id)

    def _replace_leg(self, call: VoiceCall, leg: AgentLeg | None) -> AgentLeg | None:
        """Make `leg` the call's agent leg (None: no agent); returns the one it replaces, whose
        media is cut off from the caller at once (its SIP ending is the caller's to await)."""
        watch = self._unmix(call) if call.leg is not None else None
        if watch is not None:  # the agent they supervised left
            self._spawn(self._end_monitor(call, watch))
        old, call.leg = call.leg, leg
        if old is not None:
            call.caller_media.disconnect()
            old.media.close()
        return old

    async def _close_leg(self, leg: AgentLeg) -> None:
        """Hang up a leg that is no longer the call's: cancel its ringing or BYE its dialog."""
        if not leg.media.closed:
            leg.media.close()
        with contextlib.suppress(Exception):
            if leg.ringing is not None:
                await leg.ringing.cancel()
        with contextlib.suppress(Exception):
            if leg.dialog is not None and leg.dialog.end_reason is None:
                await leg.dialog.bye()

    async def _stop_ringing(self, call: VoiceCall) -> None:
        """A missed offer: stop the phone that still rings."""
        leg = call.leg
        if leg is not None and leg.dialog is None:
            self._replace_leg(call, None)
            await self._close_leg(leg)

    async def _drop_agent(self, call: VoiceCall, *, play_music: bool) -> None:
        """The agent's part is over (transfer): hang up the agent's leg, music for the caller."""
        old = self._replace_leg(call, None)
        if play_music and not call.closed:
            call.caller_media.play(self.music, loop=True)
        if old is not None:
            await self._close_leg(old)

    def _bridge(self, call: VoiceCall) -> None:
        if call.leg is None or call.leg.dialog is None or call.monitor is not None:
            return
        call.held = False
        call.caller_media.stop_playing()
        consult = call.consult
        if consult is not None and consult.leg.dialog is not None:
            # back from hold with a consulted party on the line: all three together
            call.leg.media.disconnect()
            mix = call.mix = call.mix or self.media.conference()
            for media in (call.caller_media, call.leg.media, consult.leg.media):
                mix.add(media)
        else:
            call.caller_media.connect(call.leg.media)
        if self.recordings_dir is not None and call.recording is None:
            # the caller's leg: left what the caller said, right what they heard
            call.recording = recording_path(self.recordings_dir, call.interaction_id)
            call.caller_media.record(call.recording)

    def _unmix(self, call: VoiceCall) -> Monitor | None:
        """Out of the conference, back to a direct bridge (when there is an agent to bridge)."""
        watch, call.monitor = call.monitor, None
        if watch is None:
            return None
        close_monitor_media(watch)
        if not call.closed and not call.held:
            self._bridge(call)
        return watch

    async def _end_monitor(self, call: VoiceCall, watch: Monitor) -> None:
        if call.monitor is watch:
            self._unmix(call)
        else:
            close_monitor_media(watch)
        with contextlib.suppress(Exception):
            if watch.dialog is not None and watch.dialog.end_reason is None:
                await watch.dialog.bye()

    def _close_mix(self, call: VoiceCall) -> None:
        mix, call.mix = call.mix, None
        if mix is not None and not mix.closed:
            mix.close()

    def _phone_hold_handler(
        self, call: VoiceCall, leg: AgentLeg
    ) -> Callable[[ReInvite], Awaitable[None]]:
        """Hold and resume pressed on the agent's phone (a re-INVITE with sendonly, inactive
        or c=0.0.0.0, then sendrecv) are the same hold and resume as from the API."""

        async def on_reinvite(reinvite: ReInvite) -> None:
            dialog, local = leg.dialog, leg.dialog.local_sdp if leg.dialog else None
            if dialog is None or local is None or local.audio is None or reinvite.offer is None:
                await reinvite.reject(488)
                return
            try:
                answer = sdp.answer(reinvite.offer, local.address, local.audio.port, previous=local)
            except sdp.NoCommonCodec:
                await reinvite.reject(488)
                return
            ix = self.rt.center.interactions.get(call.interaction_id)
            if call.leg is leg and ix is not None:
                try:
                    if reinvite.is_hold and ix.state is InteractionState.CONNECTED:
                        svc.do_hold(self.rt, call.interaction_id, leg.agent_id)
                    elif not reinvite.is_hold and ix.state is InteractionState.ON_HOLD:
                        svc.do_resume(self.rt, call.interaction_id, leg.agent_id)
                except CallbridgeError as exc:
                    log.info("voice.phone_hold_refused", error=exc.message)
            await reinvite.accept(answer)

        return on_reinvite

    def pause_recording(self, interaction_id: InteractionId) -> Path:
        """Silence in the recording from now (a card number is being read), until resumed."""
        return self._set_recording(interaction_id, paused=True)

    def resume_recording(self, interaction_id: InteractionId) -> Path:
        return self._set_recording(interaction_id, paused=False)

    def _set_recording(self, interaction_id: InteractionId, *, paused: bool) -> Path:
        call = self.calls.get(interaction_id)
        if call is None or call.closed or call.recording is None:
            raise InvalidState(
                f"interaction {interaction_id} is not a call being recorded",
                interaction_id=interaction_id,
            )
        if paused:
            call.caller_media.pause_recording()
        else:
            call.caller_media.resume_recording()
        log.info("voice.recording", interaction_id=interaction_id, paused=paused)
        return call.recording

    def _hold(self, call: VoiceCall) -> None:
        call.held = True
        watch = self._unmix(call)  # nobody to supervise on hold
        if watch is not None:
            self._spawn(self._end_monitor(call, watch))
        self._close_mix(call)
        call.caller_media.disconnect()
        call.caller_media.play(self.music, loop=True)

    def _end(self, call: VoiceCall, by: str, agent_id: AgentId | None = None) -> None:
        """A leg hung up: end the interaction (its event hangs up the other leg)."""
        ix = self.rt.center.interactions.get(call.interaction_id)
        if ix is not None and ix.state is not InteractionState.ENDED:
            try:
                svc.do_end(self.rt, call.interaction_id, by, agent_id)
            except CallbridgeError as exc:
                log.info("voice.end_refused", error=exc.message)
                svc.do_end(self.rt, call.interaction_id, "customer")
        else:
            self._spawn(self._hang_up(call, "gone"))

    async def _hang_up(self, call: VoiceCall, why: str) -> None:
        """Both legs down: media first (the recording is complete at once), then the BYEs,
        which may wait on a slow peer without holding anything up."""
        if call.closed:
            return
        call.closed = True
        consult, call.consult = call.consult, None
        self._close_mix(call)
        if consult is not None:
            self._spawn(self._close_leg(consult.leg))
        watch = self._unmix(call)
        leg = self._replace_leg(call, None)
        recorded = call.caller_media.close()
        self.calls.pop(call.interaction_id, None)
        if recorded is not None:
            self.recorded[call.interaction_id] = recorded
            if len(self.recorded) > KEEP_RECORDED:
                del self.recorded[next(iter(self.recorded))]
        log.info(
            "voice.call_over",
            interaction_id=call.interaction_id,
            why=why,
            recorded_s=None if recorded is None else round(recorded.duration_s, 2),
        )
        if leg is not None:
            await self._close_leg(leg)
        if watch is not None:
            await self._end_monitor(call, watch)
        with contextlib.suppress(Exception):
            if call.caller.end_reason is None:
                await call.caller.bye()
