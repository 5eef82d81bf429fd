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
from callbridge.services import ivr

if TYPE_CHECKING:
    pass

from callbridge.adapters.telephony.campaign_calls import CampaignCalls
from callbridge.adapters.telephony.consultation import Consulting
from callbridge.adapters.telephony.journey import VOICEMAIL_MAX_S
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
from callbridge.adapters.telephony.supervision import Supervision

log = structlog.get_logger(__name__)

FLOW_PREFIX = "flow:"  # an entry point that starts an IVR flow, not a queue
GOODBYE = "We cannot take your call now. Please call again later. Goodbye."

__all__ = ["Trunk", "VoiceCall", "VoiceGateway", "recording_path"]


class VoiceGateway(Supervision, Consulting, CampaignCalls):
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
        target = self.entry_points.get(callee)
        if target is None and self.flows is not None and (named := self.flows.flow_for(callee)):
            target = FLOW_PREFIX + named
        flow = (
            target.removeprefix(FLOW_PREFIX) if target and target.startswith(FLOW_PREFIX) else None
        )
        if target is None or (flow is not None and (self.flows is None or flow not in self.flows)):
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
        attached = {"sip_call_id": call.call_id[:200]}
        try:
            if flow is not None:
                stored = ivr.do_arrive_in_ivr(self.rt, flow, number, callee, attached)
            else:
                stored = svc.do_create_interaction(
                    self.rt,
                    svc.NewInteraction(
                        channel=Channel.VOICE,
                        from_address=number,
                        to_address=callee,
                        queue_id=QueueId(target),
                        attached=attached,
                    ),
                )
        except CallbridgeError as exc:
            log.error("voice.create_failed", error=exc.message, entry_point=target)
            await dialog.bye()
            session.close()
            return
        iid = InteractionId(str(stored[0].interaction_id))
        voice = VoiceCall(iid, dialog, session, number, called=callee)
        session.on_dtmf(voice.keypad.press)
        self.calls[iid] = voice
        log.info("voice.call_in", interaction_id=iid, caller=number, entry_point=target)
        if flow is not None:
            await self._journey(voice, flow)
            return
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.state is InteractionState.QUEUED:
            session.play(self.music, loop=True)
        # the offer may have come already (an agent was free): its event ran before we knew
        # the call; ring now
        if ix is not None and ix.state is InteractionState.OFFERED and ix.agent_id is not None:
            self._spawn(self._ring(voice, ix.agent_id))
        reason = await dialog.wait_ended()
        if reason == "remote-bye" and not voice.closed:
            self._end(voice, "customer")

    def _on_event(self, event: StoredEvent) -> None:
        iid = event.interaction_id
        kind = event.kind
        if iid is not None:
            self._time_handling(event, iid)
        call = self.calls.get(iid) if iid is not None else None
        if call is None and iid is not None and kind == "interaction_offered":
            ix = self.rt.center.interactions.get(iid)
            if is_dial(event) and event.agent_id is not None:
                self._spawn(self._dial_out(iid, event.agent_id))
            elif ix is not None and ix.channel is Channel.VOICE and ix.callback_number:
                self._spawn(self._call_back(iid))
            return
        if call is None or call.closed:
            return
        if kind == "interaction_ended" and iid in self.dialler_holds:
            return  # an abandoned campaign call: it hears the message first
        if kind == "interaction_overflowed":
            self._overflowed(call, event)
        elif kind == "interaction_offered" and event.agent_id is not None:
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
            if call.voicemail_queue is not None:
                queue, call.voicemail_queue = call.voicemail_queue, None
                self._spawn(self._take_message(call, queue, (), VOICEMAIL_MAX_S, None))
            elif call.farewell is not None:
                self._spawn(self._say_then_hang_up(call, call.farewell))
            elif not call.callback:
                self._spawn(self._hang_up(call, "ended"))

    def _overflowed(self, call: VoiceCall, event: StoredEvent) -> None:
        """The queue gave up on the call: take a message, call back later, or say goodbye
        (to another queue: nothing changes on the line)."""
        action, queue = event.payload.get("action"), event.payload.get("queue_id")
        if action == "voicemail" and isinstance(queue, str):
            call.voicemail_queue = QueueId(queue)
        elif action == "disconnect":
            message = event.payload.get("message")
            call.farewell = message if isinstance(message, str) and message else GOODBYE
        elif action == "callback":
            self._spawn(self._become_callback(call, None))

    def _time_handling(self, event: StoredEvent, iid: InteractionId) -> None:
        """Keep each queue's handle time current, for the expected waits callers hear."""
        if event.kind == "interaction_connected":
            ix = self.rt.center.interactions.get(iid)
            if ix is not None and ix.queue_id is not None:
                self.handle_times.connected(iid, ix.queue_id, event.at)
        elif event.kind == "interaction_wrapped_up":
            self.handle_times.finished(iid, event.at)

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
