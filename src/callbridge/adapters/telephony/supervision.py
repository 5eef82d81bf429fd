"""A supervisor on a call through their own phone: listen, whisper to the agent, or barge in."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from callbridge.adapters.telephony.sip import (
    CallCancelled,
    CallEnded,
    CallFailed,
    sdp,
)
from callbridge.adapters.telephony.sip.uri import parse_uri
from callbridge.domain.errors import AgentUnavailable, InvalidInput, InvalidState
from callbridge.domain.ids import AgentId, InteractionId

if TYPE_CHECKING:
    from callbridge.domain.telephony.registrations import Binding

from callbridge.adapters.telephony.legs import (
    INTERACTION_HEADER,
    MONITOR_MODES,
    AgentLeg,
    Monitor,
    VoiceCall,
    aim,
    close_monitor_media,
    source_target,
)
from callbridge.adapters.telephony.switchboard import Switchboard

log = structlog.get_logger(__name__)


class Supervision(Switchboard):
    async def monitor(self, interaction_id: InteractionId, supervisor: AgentId, mode: str) -> None:
        """Ring the supervisor's phone and, once answered, let them listen to the call (both
        sides), whisper to the agent (the customer does not hear), or barge in (all hear all).
        A supervisor already on the call just changes mode."""
        if mode not in MONITOR_MODES:
            raise InvalidInput(f"mode must be one of {', '.join(MONITOR_MODES)}", field="mode")
        call = self.calls.get(interaction_id)
        leg = call.leg if call is not None else None
        if call is None or call.closed or leg is None or leg.dialog is None or call.held:
            raise InvalidState(
                f"interaction {interaction_id} is not a call with an agent on it",
                interaction_id=interaction_id,
            )
        if call.monitor is not None:
            if call.monitor.supervisor_id != supervisor:
                raise InvalidState("another supervisor is on this call", field="agent_id")
            call.monitor.mode = mode
            if call.monitor.dialog is not None:
                self._set_mode(call.monitor, leg)
            return
        binding = self._contact(supervisor)
        if binding is None:
            raise AgentUnavailable(
                f"agent {supervisor} has no phone registered (or is logged out)",
                agent_id=supervisor,
            )
        media = await self.media.open_session()
        watch = Monitor(supervisor, mode, media, self.media.conference())
        call.monitor = watch
        self._spawn(self._ring_supervisor(call, watch, binding))

    async def _ring_supervisor(self, call: VoiceCall, watch: Monitor, binding: Binding) -> None:
        try:
            outgoing = await self.endpoint.invite(
                parse_uri(binding.uri),
                sdp.offer(self.media.host, watch.media.local_port),
                from_=f'"Monitor {call.caller_address}" <sip:monitor@{self.endpoint.host}>',
                headers=[
                    (INTERACTION_HEADER, call.interaction_id),
                    ("X-Callbridge-Monitor", watch.mode),
                ],
                next_hop=source_target(binding.source),
            )
            watch.dialog = await outgoing.wait_answer()
        except (CallFailed, CallCancelled, CallEnded, OSError) as exc:
            log.info("voice.monitor_failed", interaction_id=call.interaction_id, error=str(exc))
            if call.monitor is watch:
                call.monitor = None
            close_monitor_media(watch)
            return
        leg = call.leg
        answer = watch.dialog.remote_sdp
        if (
            call.monitor is not watch
            or call.closed
            or leg is None
            or answer is None
            or not aim(watch.media, answer)
        ):
            await self._end_monitor(call, watch)
            return
        conference = watch.conference
        conference.add(call.caller_media)
        conference.add(leg.media)
        conference.add(watch.media)
        self._set_mode(watch, leg)
        log.info("voice.monitoring", interaction_id=call.interaction_id, mode=watch.mode)
        await watch.dialog.wait_ended()
        await self._end_monitor(call, watch)

    def _set_mode(self, watch: Monitor, leg: AgentLeg) -> None:
        if watch.mode == "listen":
            watch.conference.listen(watch.media)
        elif watch.mode == "whisper":
            watch.conference.whisper(watch.media, to=leg.media)
        else:
            watch.conference.barge(watch.media)

    async def stop_monitor(self, interaction_id: InteractionId) -> None:
        """The supervisor leaves the call (their phone is hung up); the two talk directly."""
        call = self.calls.get(interaction_id)
        if call is not None and call.monitor is not None:
            await self._end_monitor(call, call.monitor)
