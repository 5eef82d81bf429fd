"""The agent consults a third party while the caller waits on hold, then completes the
transfer to them, joins all three, or goes back to the caller."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import anyio
import structlog

from callbridge.adapters.telephony.sip import (
    CallCancelled,
    CallEnded,
    CallFailed,
    sdp,
)
from callbridge.domain.errors import CallbridgeError, InvalidInput, InvalidState
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.interactions import InteractionState
from callbridge.services import interactions as svc

if TYPE_CHECKING:
    pass

from callbridge.adapters.telephony.legs import (
    INTERACTION_HEADER,
    AgentLeg,
    Consultation,
    Trunk,
    VoiceCall,
    aim,
    progress_stage,
)
from callbridge.adapters.telephony.switchboard import Switchboard

log = structlog.get_logger(__name__)


class Consulting(Switchboard):
    async def consult(self, interaction_id: InteractionId, agent_id: AgentId, number: str) -> None:
        """Put the caller on hold and call `number` through the trunk for the agent."""
        call = self._with_agent(interaction_id, agent_id)
        if call.consult is not None or call.monitor is not None:
            raise InvalidState("the agent is already consulting, or a supervisor is on the call")
        trunk = self.trunk
        if trunk is None:
            raise InvalidState("no trunk for outside calls (sip_trunk_host)", field="to_number")
        if not number.strip():
            raise InvalidInput("the number is empty", field="to_number")
        assert call.leg is not None
        svc.do_hold(self.rt, interaction_id, agent_id)  # the caller hears music meanwhile
        consult = Consultation(number.strip(), AgentLeg(agent_id, await self.media.open_session()))
        call.consult = consult
        self._spawn(self._ring_consult(call, consult, trunk))

    async def _ring_consult(self, call: VoiceCall, consult: Consultation, trunk: Trunk) -> None:
        leg, iid = consult.leg, call.interaction_id
        try:
            leg.ringing = await self.endpoint.invite(
                f"sip:{consult.number}@{trunk.target.host}",
                sdp.offer(self.media.host, leg.media.local_port),
                from_=f"<sip:{trunk.caller_id or call.caller_address}@{self.endpoint.host}>",
                headers=[(INTERACTION_HEADER, iid)],
                next_hop=trunk.target,
                credentials=trunk.credentials,
                on_provisional=self._on_ringing(iid, "consult"),
            )
            with anyio.fail_after(trunk.ring_timeout_s):
                leg.dialog = await leg.ringing.wait_answer()
            leg.ringing = None
        except (TimeoutError, CallFailed, CallCancelled, CallEnded, OSError) as exc:
            status = exc.status if isinstance(exc, CallFailed) else None
            self._progress(iid, "consult", progress_stage(status), status)
            await self._end_consult(call, consult, resume=True)
            return
        self._progress(iid, "consult", "answered", 200)
        answer = leg.dialog.remote_sdp
        if call.consult is not consult or answer is None or not aim(leg.media, answer):
            await self._end_consult(call, consult, resume=call.consult is consult)
            return
        if call.leg is not None:
            call.leg.media.connect(leg.media)  # the agent and the consulted party talk
        log.info("voice.consulting", interaction_id=iid, number=consult.number)
        reason = await leg.dialog.wait_ended()
        if reason == "remote-bye" and call.consult is consult:
            await self._end_consult(call, consult, resume=not call.closed)

    def _with_agent(self, interaction_id: InteractionId, agent_id: AgentId) -> VoiceCall:
        call = self.calls.get(interaction_id)
        if (
            call is None
            or call.closed
            or call.leg is None
            or call.leg.dialog is None
            or call.leg.agent_id != agent_id
        ):
            raise InvalidState(
                f"agent {agent_id} is not on a call in {interaction_id}",
                interaction_id=interaction_id,
            )
        return call

    async def cancel_consult(self, interaction_id: InteractionId, agent_id: AgentId) -> None:
        """Hang up the consulted party and go back to the caller."""
        call = self._with_agent(interaction_id, agent_id)
        if call.consult is None:
            raise InvalidState("the agent is not consulting anyone", interaction_id=interaction_id)
        await self._end_consult(call, call.consult, resume=True)

    async def complete_consult(self, interaction_id: InteractionId, agent_id: AgentId) -> None:
        """Hand the caller to the consulted party: a transfer to that number (the interaction
        ends `transferred`), without dialling it again."""
        call = self._with_agent(interaction_id, agent_id)
        consult = call.consult
        if consult is None or consult.leg.dialog is None:
            raise InvalidState("nobody has answered the consultation yet")
        svc.do_transfer(self.rt, interaction_id, agent_id, to_number=consult.number)

    async def three_way(self, interaction_id: InteractionId, agent_id: AgentId) -> None:
        """Caller, agent and the consulted party all together (the caller comes off hold)."""
        call = self._with_agent(interaction_id, agent_id)
        if call.consult is None or call.consult.leg.dialog is None:
            raise InvalidState("nobody has answered the consultation yet")
        svc.do_resume(self.rt, interaction_id, agent_id)  # its event mixes the three

    def _complete(self, call: VoiceCall, consult: Consultation) -> None:
        """The transfer event of a completed consultation: the consulted party's leg becomes
        the caller's other side; the agent's leg goes."""
        call.consult = None
        self._close_mix(call)
        old = self._replace_leg(call, consult.leg)
        self._bridge(call)
        if old is not None:
            self._spawn(self._close_leg(old))
        self._spawn(self._watch_outside(call, consult.leg))

    async def _watch_outside(self, call: VoiceCall, leg: AgentLeg) -> None:
        assert leg.dialog is not None
        reason = await leg.dialog.wait_ended()
        if reason == "remote-bye" and call.leg is leg and not call.closed:
            await self._hang_up(call, "the outside party hung up")

    async def _end_consult(self, call: VoiceCall, consult: Consultation, *, resume: bool) -> None:
        if call.consult is consult:
            call.consult = None
        self._close_mix(call)
        if call.leg is not None:
            call.leg.media.disconnect()
        await self._close_leg(consult.leg)
        ix = self.rt.center.interactions.get(call.interaction_id)
        if not resume or call.closed or ix is None or call.leg is None:
            return
        if ix.state is InteractionState.ON_HOLD:
            with contextlib.suppress(CallbridgeError):
                svc.do_resume(self.rt, call.interaction_id, call.leg.agent_id)
        else:
            self._bridge(call)  # was three-way: back to the two of them
