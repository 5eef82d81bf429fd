"""Campaign calls: the dialer's calls through the trunk, the customer first.

A call rings the number with the campaign's caller ID for at most its ring timeout (then we
CANCEL: no answer). Busy (486/600), no answer and failures come back as outcomes. When a
person answers, the call becomes an outbound voice interaction and is offered to a ready agent
of the campaign (longest idle, with a phone); the gateway rings that phone as it does for any
offer, and answering it bridges the two. If no agent is connected within the profile's grace
of the answer, the call is abandoned: the interaction ends, the abandon message (seller, their
number, the opt-out) is spoken with espeak, and the line is hung up. The opt-out key pressed
during the message (or just after it) is reported, for the dialer to mark the number
do-not-call. An agentless campaign's answered call goes to `AgentlessCalls` instead: no agent,
its message from the answer on. With answering-machine detection on, the answered call is
listened to first (`MachineDetection`): a machine is hung up on or left the message; a person
(or an unknown) is offered to an agent within the grace, counted from their completed greeting
where the profile says so (US), else from the answer.

A preview call (`place_preview_call`) goes the other way round, as click-to-dial does: it has
its agent before it is dialled. The outbound interaction is offered to that agent and
accepted at once (routing trigger `campaign`), the agent's phone rings first, then the number
with the campaign's caller ID and ring timeout; the two are bridged when the person answers.
Nobody answers to silence, so a preview call is never abandoned.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace

import anyio
import structlog

from callbridge.adapters.telephony.agentless_calls import OPT_OUT_AFTER_S, OPTED_OUT_REPLY
from callbridge.adapters.telephony.legs import VoiceCall, aim
from callbridge.adapters.telephony.machine_detection import MachineDetection
from callbridge.adapters.telephony.media.session import RtpSession
from callbridge.adapters.telephony.media.speech import SpeechFailed
from callbridge.adapters.telephony.outbound import DialPlan
from callbridge.adapters.telephony.sip import (
    CallCancelled,
    CallEnded,
    CallFailed,
    Dialog,
    OutgoingCall,
    sdp,
)
from callbridge.domain.channels import Channel
from callbridge.domain.dialer.amd import Answerer, grace_start_s
from callbridge.domain.dialer.calls import (
    CallResult,
    DialOutcome,
    DialProgress,
    PlacedCall,
    outcome_of_status,
    works_campaign,
)
from callbridge.domain.errors import CallbridgeError
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.interactions import InteractionState
from callbridge.services import interactions as svc

log = structlog.get_logger(__name__)

CAMPAIGN_HEADER = "X-Callbridge-Campaign"
POLL_S = 0.02


class CampaignCalls(MachineDetection):
    @property
    def can_place_calls(self) -> bool:
        """A trunk to call through, and the gateway running to see the calls through."""
        return self.trunk is not None and self._tg is not None

    async def place_campaign_call(
        self, placed: PlacedCall, progress: DialProgress | None = None
    ) -> CallResult:
        """Dial `placed.number` through the trunk and see the call through to its end;
        `progress` learns of the answer and the agent's connection as they happen."""
        progress = progress or DialProgress()
        try:
            return await self._place(placed, progress)
        finally:
            progress.ended = True

    async def place_preview_call(
        self, placed: PlacedCall, agent_id: AgentId, progress: DialProgress | None = None
    ) -> CallResult:
        """The previewing agent's phone first, then `placed.number`, bridged when answered;
        seen through to the end. `agent_unreached` when the customer was never dialled (the
        agent's phone did not answer, or the agent could no longer take the call)."""
        progress = progress or DialProgress()
        try:
            return await self._place_preview(placed, agent_id, progress)
        finally:
            progress.ended = True

    async def _place_preview(
        self, placed: PlacedCall, agent_id: AgentId, progress: DialProgress
    ) -> CallResult:
        clock = self.rt.clock
        dialled = clock.now()
        iid = InteractionId(self.new_id())
        attached = {"campaign_id": placed.campaign_id, "record_id": placed.record_id}
        rule = f"preview of campaign {placed.campaign_id}"
        try:
            svc.do_outbound_answered(self.rt, iid, placed.number, placed.caller_id, attached)
            svc.do_offer_answered(self.rt, iid, agent_id, rule)
            svc.do_accept(self.rt, iid, agent_id)
        except CallbridgeError as exc:
            log.info("dialer.preview_refused", agent_id=agent_id, error=exc.message)
            ix = self.rt.center.interactions.get(iid)
            if ix is not None and ix.is_open:
                with contextlib.suppress(CallbridgeError):
                    svc.do_end(self.rt, iid, "system")
            now = clock.now()
            return CallResult(DialOutcome.FAILED, dialled, now, agent_unreached=True)
        plan = DialPlan(placed.caller_id, placed.ring_timeout_s)
        await self._dial_out(iid, agent_id, plan=plan)
        ended = clock.now()
        if plan.failed_leg != "customer" and plan.answered_at is None:  # never dialled out
            return CallResult(
                DialOutcome.FAILED, dialled, ended, interaction_id=iid, agent_unreached=True
            )
        if plan.failed_leg == "customer":  # busy, no answer, failed (or answered, no audio)
            outcome = DialOutcome.FAILED
            if plan.answered_at is None:
                outcome = outcome_of_status(plan.status)
            return CallResult(
                outcome, dialled, ended, plan.status, plan.answered_at, interaction_id=iid
            )
        progress.answered_at = progress.connected_at = plan.answered_at
        return CallResult(
            DialOutcome.ANSWERED,
            dialled,
            ended,
            answered_at=plan.answered_at,
            connected_at=plan.answered_at,
            agent_id=agent_id,
            interaction_id=iid,
        )

    async def _place(self, placed: PlacedCall, progress: DialProgress) -> CallResult:
        clock = self.rt.clock
        trunk = self.trunk
        dialled = clock.now()
        if trunk is None:
            log.info("dialer.no_trunk", number=placed.number)
            return CallResult(DialOutcome.FAILED, dialled, dialled)
        with contextlib.suppress(SpeechFailed):  # synthesised now, so the grace is not spent on it
            await self.speech.clip(placed.message)
        media = await self.media.open_session()
        outgoing: OutgoingCall | None = None
        try:
            outgoing = await self.endpoint.invite(
                f"sip:{placed.number}@{trunk.target.host}",
                sdp.offer(self.media.host, media.local_port),
                from_=f"<sip:{placed.caller_id}@{self.endpoint.host}>",
                headers=[(CAMPAIGN_HEADER, placed.campaign_id)],
                next_hop=trunk.target,
                credentials=trunk.credentials,
            )
            try:
                with anyio.fail_after(placed.ring_timeout_s):
                    dialog = await outgoing.wait_answer()
            except TimeoutError:
                with contextlib.suppress(Exception):
                    await outgoing.cancel()
                media.close()
                return CallResult(DialOutcome.NO_ANSWER, dialled, clock.now(), 408)
        except (CallFailed, CallCancelled, CallEnded, OSError) as exc:
            media.close()
            status = exc.status if isinstance(exc, CallFailed) else None
            return CallResult(outcome_of_status(status), dialled, clock.now(), status)
        except anyio.get_cancelled_exc_class():  # the dialer stopping: stop the ringing too
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                if outgoing is not None:
                    await outgoing.cancel()
            media.close()
            raise
        answered = clock.now()
        if placed.amd is None:  # with detection on, the dialer learns of a person's answer
            progress.answered_at = answered  # once the detector says it was one
        if dialog.remote_sdp is None or not aim(media, dialog.remote_sdp):
            media.close()
            with contextlib.suppress(Exception):
                await dialog.bye()
            return CallResult(DialOutcome.FAILED, dialled, clock.now(), 488, answered)
        return await self._answered(placed, dialog, media, dialled, answered, progress)

    async def _answered(
        self,
        placed: PlacedCall,
        dialog: Dialog,
        media: RtpSession,
        dialled: float,
        answered: float,
        progress: DialProgress,
    ) -> CallResult:
        answered_mono = time.monotonic()
        iid = InteractionId(self.new_id())
        attached = {"campaign_id": placed.campaign_id, "record_id": placed.record_id}
        self.dialler_holds.add(iid)  # the gateway leaves this call to us until it is connected
        try:
            svc.do_outbound_answered(self.rt, iid, placed.number, placed.caller_id, attached)
        except CallbridgeError as exc:
            self.dialler_holds.discard(iid)
            log.error("dialer.interaction_failed", error=exc.message)
            media.close()
            with contextlib.suppress(Exception):
                await dialog.bye()
            return CallResult(DialOutcome.FAILED, dialled, self.rt.clock.now(), None, answered)
        voice = VoiceCall(iid, dialog, media, placed.number, called=placed.caller_id)
        media.on_dtmf(voice.keypad.press)
        self.calls[iid] = voice
        log.info("dialer.answered", interaction_id=iid, campaign_id=placed.campaign_id)
        base = CallResult(
            DialOutcome.ANSWERED, dialled, answered, answered_at=answered, interaction_id=iid
        )
        if placed.agentless is not None:
            return await self._agentless(voice, placed, placed.agentless, progress, base)
        deadline = answered_mono + placed.grace_s
        if placed.amd is not None:
            verdict = await self._detect(voice, placed.amd.settings)
            base = replace(base, amd=verdict)
            if verdict.answerer is Answerer.MACHINE and voice.caller.end_reason is None:
                return await self._machine(voice, placed, base)
            progress.answered_at = answered
            start = grace_start_s(verdict, placed.amd.grace_from_greeting)
            deadline = answered_mono + start + placed.grace_s
        agent = await self._connect_within_grace(voice, placed, deadline)
        if agent is None:
            return await self._abandon(voice, placed, base)
        self.dialler_holds.discard(iid)
        connected = progress.connected_at = self.rt.clock.now()
        log.info("dialer.connected", interaction_id=iid, agent_id=agent)
        ix = self.rt.center.interactions.get(iid)
        if ix is None or not ix.is_open:  # over already, while the gateway left it to us
            await self._hang_up(voice, "ended as it was connected")
        reason = await dialog.wait_ended()
        if reason == "remote-bye" and not voice.closed:
            self._end(voice, "customer")
        return CallResult(
            DialOutcome.ANSWERED,
            dialled,
            self.rt.clock.now(),
            answered_at=answered,
            connected_at=connected,
            amd=base.amd,
            agent_id=agent,
            interaction_id=iid,
        )

    async def _connect_within_grace(
        self, voice: VoiceCall, placed: PlacedCall, deadline: float
    ) -> AgentId | None:
        """Offer the call to a ready agent (again, if a phone fails) until one is connected
        or the grace is over (`deadline`, on the monotonic clock); the connected agent, or
        None."""
        iid = voice.interaction_id
        while time.monotonic() < deadline and voice.caller.end_reason is None:
            ix = self.rt.center.interactions.get(iid)
            if ix is None or not ix.is_open:
                return None
            if ix.state is InteractionState.CONNECTED and ix.agent_id is not None:
                return ix.agent_id
            if ix.state is InteractionState.NEW and (agent := self._campaign_agent(placed)):
                try:
                    svc.do_offer_answered(self.rt, iid, agent, f"campaign {placed.campaign_id}")
                except CallbridgeError as exc:
                    log.info("dialer.offer_refused", agent_id=agent, error=exc.message)
            await anyio.sleep(POLL_S)
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.state is InteractionState.CONNECTED and ix.agent_id is not None:
            return ix.agent_id
        return None

    def _campaign_agent(self, placed: PlacedCall) -> AgentId | None:
        """The campaign's ready agent who has waited longest, with a phone to ring."""
        ready = [
            a
            for a in self.rt.center.agents.values()
            if a.can_take(Channel.VOICE)
            and works_campaign(a, placed.agents, placed.skills)
            and self._contact(a.id) is not None
        ]
        return min(ready, key=lambda a: (a.idle_since, a.ordinal)).id if ready else None

    async def _abandon(self, voice: VoiceCall, placed: PlacedCall, base: CallResult) -> CallResult:
        """No agent in time: end the interaction, say the message, hang up."""
        iid = voice.interaction_id
        leg = voice.leg
        if leg is not None:  # an agent's phone still ringing: too late now
            self._replace_leg(voice, None)
            self._spawn(self._close_leg(leg))
        ix = self.rt.center.interactions.get(iid)
        if ix is not None and ix.is_open:
            with contextlib.suppress(CallbridgeError):
                svc.do_end(self.rt, iid, "customer" if voice.caller.end_reason else "system")
        started = time.monotonic()
        opted_out = False
        try:
            if voice.caller.end_reason is None:
                log.info("dialer.abandoned", interaction_id=iid, campaign_id=placed.campaign_id)
                opted_out = await self._say_message(voice, placed)
        except SpeechFailed as exc:
            log.error("dialer.message_failed", error=str(exc))
        finally:
            played = time.monotonic() - started
            self.dialler_holds.discard(iid)
            with anyio.CancelScope(shield=True):
                await self._hang_up(voice, "abandoned: no agent within the grace")
        return CallResult(
            DialOutcome.ANSWERED,
            base.dialled_at,
            self.rt.clock.now(),
            answered_at=base.answered_at,
            amd=base.amd,
            interaction_id=iid,
            abandoned=True,
            message=placed.message,
            message_s=played,
            opted_out=opted_out,
        )

    async def _say_message(self, voice: VoiceCall, placed: PlacedCall) -> bool:
        """Play the abandon message; True when the opt-out key was pressed during it (or
        just after)."""
        clip = await self.speech.clip(placed.message)
        key = placed.opt_out_key
        keys = () if key is None else (key,)
        opted_out = await self._play_for_keys(voice, clip, keys, OPT_OUT_AFTER_S) is not None
        if opted_out and voice.caller.end_reason is None:
            with contextlib.suppress(SpeechFailed):
                await self._say(voice, await self.speech.clip(OPTED_OUT_REPLY))
        return opted_out
