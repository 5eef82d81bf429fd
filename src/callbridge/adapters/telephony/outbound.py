"""Calls out through the trunk: click-to-dial (the agent's phone first) and transfers to an
outside number."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
import structlog

from callbridge.adapters.telephony.media.session import RtpSession
from callbridge.adapters.telephony.sip import (
    CallCancelled,
    CallEnded,
    CallFailed,
    sdp,
)
from callbridge.adapters.telephony.sip.uri import parse_uri
from callbridge.domain.channels import Channel
from callbridge.domain.errors import CallbridgeError
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.services import interactions as svc

if TYPE_CHECKING:
    pass

from callbridge.adapters.telephony.legs import (
    INTERACTION_HEADER,
    AgentLeg,
    DialFailed,
    VoiceCall,
    aim,
    progress_stage,
    source_target,
)
from callbridge.adapters.telephony.switchboard import Switchboard

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class DialPlan:
    """How a call out is placed and what came of it: the caller ID and ring timeout (None: the
    trunk's), then, as it happens, which leg failed with what status, and when the customer
    answered (a preview call reads these to store its outcome)."""

    caller_id: str | None = None
    ring_timeout_s: float | None = None
    failed_leg: str | None = None
    status: int | None = None
    answered_at: float | None = None


class Outbound(Switchboard):
    async def _dial_out(
        self,
        iid: InteractionId,
        agent_id: AgentId,
        callback: str | None = None,
        plan: DialPlan | None = None,
    ) -> None:
        """Click-to-dial: the agent's phone rings first; once it answers, the customer is
        called through the trunk; once they answer, the two are bridged.

        A callback (`callback`: the number to call) goes the same way, except that ringing
        the agent's phone is an offer: answering accepts it, and a phone that does not
        answer puts the callback back in its place in line. A campaign's preview call passes
        its `plan` (its caller ID and ring timeout) and reads the outcome from it.
        """
        plan = plan or DialPlan()
        ix = self.rt.center.interactions.get(iid)
        if ix is None or ix.channel is not Channel.VOICE or iid in self.dialing:
            return
        number = ix.to_address if callback is None else callback
        trunk, binding = self.trunk, self._contact(agent_id)
        if trunk is None or binding is None:
            why = "no trunk for outbound calls" if trunk is None else "the agent has no phone"
            log.info("voice.cannot_dial", interaction_id=iid, why=why)
            self._progress(iid, "agent" if trunk else "customer", "failed")
            plan.failed_leg = "customer" if binding is not None else "agent"
            self._give_up(iid, agent_id, callback is not None and binding is None)
            return
        self.dialing.add(iid)
        agent = AgentLeg(agent_id, await self.media.open_session())
        customer_media: RtpSession | None = None
        try:
            agent.ringing = await self.endpoint.invite(
                parse_uri(binding.uri),
                sdp.offer(self.media.host, agent.media.local_port),
                from_=f'"{number}" <sip:{number}@{self.endpoint.host}>',
                headers=[(INTERACTION_HEADER, iid)],
                next_hop=source_target(binding.source),
                on_provisional=self._on_ringing(iid, "agent"),
            )
            agent.dialog = await agent.ringing.wait_answer()
            agent.ringing = None
            self._progress(iid, "agent", "answered", 200)
            if agent.dialog.remote_sdp is None or not aim(agent.media, agent.dialog.remote_sdp):
                raise DialFailed(488, "the agent's phone has no audio we can send")
            if callback is not None:  # answering the phone takes the offered callback
                svc.do_accept(self.rt, iid, agent_id)
            customer_media = await self.media.open_session()
            caller_id = plan.caller_id or trunk.caller_id or ix.from_address
            outgoing = await self.endpoint.invite(
                f"sip:{number}@{trunk.target.host}",
                sdp.offer(self.media.host, customer_media.local_port),
                from_=f"<sip:{caller_id}@{self.endpoint.host}>",
                headers=[(INTERACTION_HEADER, iid)],
                next_hop=trunk.target,
                credentials=trunk.credentials,
                on_provisional=self._on_ringing(iid, "customer"),
            )
            try:
                with anyio.fail_after(plan.ring_timeout_s or trunk.ring_timeout_s):
                    customer = await outgoing.wait_answer()
            except TimeoutError:
                await outgoing.cancel()
                raise DialFailed(408, "no answer") from None
            plan.answered_at = self.rt.clock.now()
            self._progress(iid, "customer", "answered", 200)
            if customer.remote_sdp is None or not aim(customer_media, customer.remote_sdp):
                await customer.bye()
                raise DialFailed(488, "the customer's side has no audio we can send")
        except (CallFailed, DialFailed, CallCancelled, CallEnded, OSError, CallbridgeError) as exc:
            status = exc.status if isinstance(exc, CallFailed | DialFailed) else None
            leg = "customer" if agent.dialog is not None else "agent"
            plan.failed_leg, plan.status = leg, status
            self._progress(iid, leg, progress_stage(status), status)
            log.info("voice.dial_failed", interaction_id=iid, leg=leg, status=status)
            if customer_media is not None:
                customer_media.close()
            self.dialing.discard(iid)
            await self._close_leg(agent)
            self._give_up(iid, agent_id, callback is not None and leg == "agent")
            return
        self.dialing.discard(iid)
        call = VoiceCall(iid, customer, customer_media, number, leg=agent)
        agent.dialog.on_reinvite = self._phone_hold_handler(call, agent)
        self.calls[iid] = call
        if not (self.rt.center.interactions.get(iid) or ix).is_open:
            await self._hang_up(call, "ended while dialling")
            return
        self._bridge(call)
        log.info("voice.dialled", interaction_id=iid, agent_id=agent_id)
        self._spawn(self._watch_agent(call, agent, agent_id))
        reason = await customer.wait_ended()
        if reason == "remote-bye" and not call.closed:
            self._end(call, "customer")

    async def _watch_agent(self, call: VoiceCall, leg: AgentLeg, agent_id: AgentId) -> None:
        assert leg.dialog is not None
        reason = await leg.dialog.wait_ended()
        if reason == "remote-bye" and call.leg is leg and not call.closed:
            self._end(call, "agent", agent_id)

    def _give_up(self, iid: InteractionId, agent_id: AgentId, back_in_line: bool) -> None:
        """A call out that could not be made: a callback whose agent did not answer goes back
        to its place in line (the agent to Not Ready); anything else ends."""
        ix = self.rt.center.interactions.get(iid)
        if back_in_line and ix is not None and ix.agent_id == agent_id:
            with contextlib.suppress(CallbridgeError):
                svc.do_reject(self.rt, iid, agent_id)
                return
        self._end_dial(iid)

    def _end_dial(self, iid: InteractionId) -> None:
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.is_open:
            with contextlib.suppress(CallbridgeError):
                svc.do_end(self.rt, iid, "system")

    async def _transfer_out(self, call: VoiceCall, number: str) -> None:
        """A blind transfer to an outside number: the agent's leg goes, the caller waits with
        music while the number rings through the trunk, then the two are bridged. The call has
        left the center (the interaction ended `transferred`); Callbridge stays in the middle
        until one side hangs up, and the recording goes on."""
        old = self._replace_leg(call, None)
        call.caller_media.play(self.music, loop=True)
        if old is not None:
            await self._close_leg(old)
        trunk = self.trunk
        if trunk is None:
            log.info("voice.transfer_out_without_trunk", interaction_id=call.interaction_id)
            await self._hang_up(call, "no trunk for the transfer")
            return
        leg = AgentLeg(AgentId(""), await self.media.open_session())
        call.leg = leg
        try:
            leg.ringing = await self.endpoint.invite(
                f"sip:{number}@{trunk.target.host}",
                sdp.offer(self.media.host, leg.media.local_port),
                from_=f"<sip:{trunk.caller_id or call.caller_address}@{self.endpoint.host}>",
                headers=[(INTERACTION_HEADER, call.interaction_id)],
                next_hop=trunk.target,
                credentials=trunk.credentials,
            )
            with anyio.fail_after(trunk.ring_timeout_s):
                leg.dialog = await leg.ringing.wait_answer()
            leg.ringing = None
        except (TimeoutError, CallFailed, CallCancelled, CallEnded, OSError) as exc:
            log.info(
                "voice.transfer_out_failed", interaction_id=call.interaction_id, error=str(exc)
            )
            await self._hang_up(call, "the outside number did not answer")
            return
        answer = leg.dialog.remote_sdp
        if call.closed or call.leg is not leg or answer is None or not aim(leg.media, answer):
            await self._hang_up(call, "the transfer went away")
            return
        self._bridge(call)
        log.info("voice.transferred_out", interaction_id=call.interaction_id, number=number)
        reason = await leg.dialog.wait_ended()
        if reason == "remote-bye" and call.leg is leg and not call.closed:
            await self._hang_up(call, "the outside party hung up")
