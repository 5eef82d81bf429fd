"""The voice gateway: Callbridge as a back-to-back user agent between callers and agents' phones.

Every voice call has two legs, each a SIP dialog with its own RTP session in our media engine:
the caller's (from a trunk or any SIP client) and the agent's (the phone registered for the
agent). The ACD never sees SIP: the gateway turns what happens on the wire into the same use
cases the REST API runs, and turns the ACD's events into SIP.

- An INVITE to an entry point (settings `voice_entry_points`: the called user or number ->
  queue) is answered at once, so the caller hears music on hold, and becomes a voice
  interaction in that queue.
- When the ACD offers the interaction, the agent's phone rings with the caller as From and
  the interaction id in `X-Callbridge-Interaction`. Answering it accepts the offer and
  bridges the two RTP sessions (relayed, not decoded, when the codecs match). A phone that
  fails (busy, declined, unreachable, not registered) rejects the offer: the call goes back
  to its place in line and the agent to Not Ready. An offer that times out in the ACD
  cancels the ringing.
- Either side hanging up ends the interaction and the other leg. An interaction ended
  through the API (or by the system) hangs up both legs.
- Hold (from the API) plays music to the caller, and the agent hears silence; resume bridges
  again. A transfer hangs up the agent's leg and the caller waits with music for the next
  offer.
- With a recordings directory, a call is recorded from the moment an agent has it to the end,
  both voices (one channel each) in `<interaction id>.wav`; pausing writes silence, so the
  times still line up (`POST /interactions/{id}/recording/pause` and `/resume`).

The gateway reacts to the events of the log (the bus), the same ones the event log stores,
so what the ACD and the log say is always what the calls do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import structlog

from callbridge.adapters.telephony.sip import (
    CallCancelled,
    CallEnded,
    CallFailed,
    IncomingCall,
    sdp,
)
from callbridge.adapters.telephony.sip.uri import parse_uri
from callbridge.domain.channels import Channel
from callbridge.domain.errors import CallbridgeError
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.interactions import InteractionState
from callbridge.ports import StoredEvent
from callbridge.services import interactions as svc

if TYPE_CHECKING:
    pass

from callbridge.adapters.telephony.consultation import Consulting
from callbridge.adapters.telephony.legs import (
    INTERACTION_HEADER,
    AgentLeg,
    Trunk,
    VoiceCall,
    aim,
    caller_number,
    is_dial,
    recording_path,
    source_target,
)
from callbridge.adapters.telephony.outbound import Outbound
from callbridge.adapters.telephony.supervision import Supervision

log = structlog.get_logger(__name__)

__all__ = ["Trunk", "VoiceCall", "VoiceGateway", "recording_path"]


class VoiceGateway(Supervision, Consulting, Outbound):
    async def run(self) -> None:
        """Follow the ACD's events until cancelled."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                async for event in self.bus.subscribe():
                    self._on_event(event)
            finally:
                for call in list(self.calls.values()):
                    with anyio.CancelScope(shield=True):
                        await self._hang_up(call, "shutdown")
                tg.cancel_scope.cancel()

    async def on_invite(self, call: IncomingCall) -> None:
        callee = call.callee.uri.user or ""
        queue = self.entry_points.get(callee)
        if queue is None:
            await call.reject(404, "No such entry point")
            return
        if call.offer is None:
            await call.reject(488)
            return
        session = await self.media.open_session()
        try:
            answer = sdp.answer(call.offer, self.media.host, session.local_port)
            if not aim(session, call.offer):
                raise sdp.NoCommonCodec("no G.711 audio")
        except sdp.SdpError:
            session.close()
            await call.reject(488)
            return
        try:
            dialog = await call.answer(answer)
        except (CallCancelled, CallEnded):
            session.close()
            return
        number = caller_number(call)
        try:
            stored = svc.do_create_interaction(
                self.rt,
                svc.NewInteraction(
                    channel=Channel.VOICE,
                    from_address=number,
                    to_address=callee,
                    queue_id=QueueId(queue),
                    attached={"sip_call_id": call.call_id[:200]},
                ),
            )
        except CallbridgeError as exc:
            log.error("voice.create_failed", error=exc.message, queue=queue)
            await dialog.bye()
            session.close()
            return
        iid = InteractionId(str(stored[0].interaction_id))
        voice = VoiceCall(iid, dialog, session, number)
        self.calls[iid] = voice
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.state is InteractionState.QUEUED:
            session.play(self.music, loop=True)
        log.info("voice.call_in", interaction_id=iid, caller=number, queue=queue)
        # the offer may have come already (an agent was free): its event ran before we knew
        # the call; ring now
        if ix is not None and ix.state is InteractionState.OFFERED and ix.agent_id is not None:
            self._spawn(self._ring(voice, ix.agent_id))
        reason = await dialog.wait_ended()
        if reason == "remote-bye" and not voice.closed:
            self._end(voice, "customer")

    def _on_event(self, event: StoredEvent) -> None:
        iid = event.interaction_id
        call = self.calls.get(iid) if iid is not None else None
        if call is None and iid is not None and is_dial(event):
            if event.agent_id is not None:
                self._spawn(self._dial_out(iid, event.agent_id))
            return
        if call is None or call.closed:
            return
        kind = event.kind
        if kind == "interaction_offered" and event.agent_id is not None:
            self._spawn(self._ring(call, event.agent_id))
        elif kind == "offer_missed":
            self._spawn(self._stop_ringing(call))
        elif kind == "interaction_held":
            self._hold(call)
        elif kind == "interaction_resumed":
            self._bridge(call)
        elif kind == "interaction_transferred":
            number = event.payload.get("to_number")
            if isinstance(number, str) and number:
                call.outside = number
                consult = call.consult
                if consult is not None and consult.number == number and consult.leg.dialog:
                    self._complete(call, consult)
                else:
                    self._spawn(self._transfer_out(call, number))
            else:
                self._spawn(self._drop_agent(call, play_music=True))
        elif kind == "interaction_ended" and call.outside is None:
            self._spawn(self._hang_up(call, "ended"))

    async def _ring(self, call: VoiceCall, agent_id: AgentId) -> None:
        if call.leg is not None and call.leg.agent_id == agent_id:
            return  # already ringing (or talking to) this agent
        binding = self._contact(agent_id)
        if binding is None:
            log.info(
                "voice.agent_unreachable", agent_id=agent_id, interaction_id=call.interaction_id
            )
            self._reject(call, agent_id)
            return
        leg = AgentLeg(agent_id, await self.media.open_session())
        self._replace_leg(call, leg)
        offer = sdp.offer(self.media.host, leg.media.local_port)
        try:
            leg.ringing = await self.endpoint.invite(
                parse_uri(binding.uri),
                offer,
                from_=f'"{call.caller_address}" <sip:{call.caller_address}@{self.endpoint.host}>',
                headers=[(INTERACTION_HEADER, call.interaction_id)],
                next_hop=source_target(binding.source),
            )
            dialog = await leg.ringing.wait_answer()
        except (CallFailed, CallCancelled, CallEnded, OSError) as exc:
            log.info("voice.agent_no_answer", agent_id=agent_id, error=str(exc))
            leg.ringing = None
            if call.leg is leg:  # not cancelled or replaced meanwhile
                self._replace_leg(call, None)
                self._reject(call, agent_id)
            return
        leg.ringing, leg.dialog = None, dialog
        dialog.on_reinvite = self._phone_hold_handler(call, leg)
        answer = dialog.remote_sdp
        if call.leg is not leg or answer is None or not aim(leg.media, answer):
            await self._close_leg(leg)
            if call.leg is leg:
                self._replace_leg(call, None)
                self._reject(call, agent_id)
            return
        try:
            svc.do_accept(self.rt, call.interaction_id, agent_id)
        except CallbridgeError as exc:  # the offer timed out as the phone was answered
            log.info("voice.accept_too_late", error=exc.message)
            if call.leg is leg:
                self._replace_leg(call, None)
            await self._close_leg(leg)
            return
        self._bridge(call)
        log.info("voice.bridged", interaction_id=call.interaction_id, agent_id=agent_id)
        reason = await dialog.wait_ended()
        if reason == "remote-bye" and call.leg is leg and not call.closed:
            self._end(call, "agent", agent_id)
