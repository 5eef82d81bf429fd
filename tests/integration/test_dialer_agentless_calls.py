"""Agentless campaigns placing real SIP calls on loopback: sipp is the carrier and the called
parties (tests/support/sipp/dialer_agentless.xml: a number ending in 2 presses 1 during the
message, any other listens), the campaign store is the SQL one in the app's database.

- A message campaign with no agent logged in at all: the call is placed (agentless pacing
  needs no agents), the message is spoken from the answer on and reaches the called party
  (sipp runs with -rtp_echo: what we send comes back; we count both), then we hang up; the
  stored call is live, not abandoned, disposition MSG, with the message as played.
- The opt-out key pressed during an agentless message (sipp's dialer_opt_out.xml): stored
  with the campaign's do-not-call disposition, the number on the internal list.
- A press-1 campaign with baresip as the agent's phone: the called party presses 1 (RFC 4733)
  while the message plays; the call enters the campaign's queue, the ACD offers it to the
  ready agent, the gateway rings the phone and bridges; the agent hangs up; the stored call is
  XFER, connected to that agent.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from campaign_fakes import KeptResults, sql_campaign_store, uk_campaign
from dialer_lines import callees_and_center
from media_support import speech_like
from sipp_support import SippResult, require_sipp
from voice_support import AGENT, QUEUE, USERNAME, agent_phone, until

from callbridge.adapters.telephony.gateway import VoiceGateway
from callbridge.adapters.telephony.media.wav import write_wav
from callbridge.domain.dialer.calls import CallResult
from callbridge.domain.dialer.decisions import PacingReason
from callbridge.domain.dialer.dnc import DncBook
from callbridge.domain.dialer.ids import CampaignId
from callbridge.domain.ids import AgentId, InteractionId
from callbridge.domain.interactions import InteractionState
from callbridge.ports import CampaignCall
from callbridge.services import agents as agent_svc
from callbridge.services import interactions as svc
from callbridge.services.dialer import Dialer

SPRING = CampaignId("spring")
LISTENS, PRESSES = "+442079460011", "+442079460032"
MESSAGE = (
    "This is {seller} with a reminder: your appointment is tomorrow at nine in the morning. "
    "To reach us, call {phone}. {opt_out}"
)


def agentless(action: str) -> str:
    queue = f", transfer_queue: {QUEUE}" if action == "press_1" else ""
    text = MESSAGE + (" Press 1 to speak to us now." if action == "press_1" else "")
    return f'agentless: {{action: {action}, message: "{text}", lines: 2{queue}}}\n'


def test_a_message_campaign_plays_its_message_to_the_called_party_with_no_agent_at_all(
    tmp_path: Path,
) -> None:
    require_sipp()

    async def day() -> dict[str, object]:
        seen: dict[str, object] = {"sent": 0, "echoed": 0}
        async with (
            callees_and_center("dialer_agentless.xml", tmp_path, echo=True) as (carrier, center),
        ):
            gateway = center.voice.gateway
            campaign, text = uk_campaign("agentless", agents="[]", extra=agentless("message"))
            store = sql_campaign_store(center.app, campaign, text, (LISTENS,))
            placer = KeptResults(gateway)
            dialer = Dialer(store, center.app.runtime, placer, tick_s=0.2, dnc=store)
            task = asyncio.create_task(dialer.run())
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 40
                while not store.calls(SPRING):
                    assert loop.time() < deadline, "the call did not end"
                    for call in list(gateway.calls.values()):
                        stats = call.caller_media.stats()
                        seen["sent"] = max(int(str(seen["sent"])), stats.packets_sent)
                        seen["echoed"] = max(int(str(seen["echoed"])), stats.packets_received)
                    await asyncio.sleep(0.05)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            seen["carrier"] = await carrier.wait()
            seen["calls"] = store.calls(SPRING)
            seen["progress"] = store.progress(SPRING)
            seen["decisions"] = store.decisions(SPRING, limit=100)
            seen["result"] = placer.results[LISTENS]
        return seen

    seen = asyncio.run(day())
    calls, result, decisions = seen["calls"], seen["result"], seen["decisions"]
    assert isinstance(calls, list) and isinstance(decisions, list)
    (call,) = calls
    assert isinstance(call, CampaignCall) and isinstance(result, CallResult)
    assert call.live and not call.abandoned and call.disposition == "MSG"
    assert call.agent_id is None and call.connected_at is None
    assert call.message is not None and "Acme Energy" in call.message
    assert "+442071239999" in call.message and "press 9" in call.message
    assert result.agentless and not result.transferred and not result.opted_out
    assert result.message_s > 5.0  # espeak's sentences, spoken to the end
    frames = result.message_s / 0.020
    sent, echoed = seen["sent"], seen["echoed"]
    assert isinstance(sent, int) and isinstance(echoed, int)
    assert sent >= 0.8 * frames, (sent, frames)  # 20 ms packets for the message's length
    assert echoed >= 0.8 * frames, (echoed, frames)  # and sipp got them: they came back
    assert call.answered_at is not None
    held = (call.ended_at - call.answered_at).total_seconds()
    assert held >= result.message_s  # hung up only after the whole message
    progress = seen["progress"]
    assert isinstance(progress, dict) and progress[call.record_id].done  # MSG is final
    dialled = [d for d in decisions if d.dial]
    assert dialled and all(d.reason is PacingReason.LINES_FREE for d in dialled)
    assert all(d.inputs.ready == 0 for d in dialled)  # nobody logged in, and it dialled
    carrier = seen["carrier"]
    assert isinstance(carrier, SippResult)
    assert carrier.ok, carrier.describe()
    assert carrier.received("INVITE") == 1 and carrier.received("BYE") == 1


def test_pressing_1_queues_the_call_and_the_acd_connects_it_to_a_ready_agent(
    tmp_path: Path,
) -> None:
    require_sipp()
    phone_wav = tmp_path / "phone.wav"
    write_wav(phone_wav, 8000, speech_like(60.0, seed=5))

    async def day() -> dict[str, object]:
        seen: dict[str, object] = {}
        async with (
            callees_and_center("dialer_agentless.xml", tmp_path) as (carrier, center),
            agent_phone(tmp_path / "phone", center.sip_port, phone_wav),
        ):
            gateway, rt = center.voice.gateway, center.app.runtime
            await until(
                lambda: center.voice.registrations.contacts(
                    USERNAME, center.voice.endpoint.clock()
                ),
                what="the phone's registration",
            )
            agent_svc.do_login(rt, AgentId(AGENT))
            agent_svc.do_set_ready(rt, AgentId(AGENT))
            campaign, text = uk_campaign("agentless", agents="[]", extra=agentless("press_1"))
            store = sql_campaign_store(center.app, campaign, text, (PRESSES,))
            placer = KeptResults(gateway)
            dialer = Dialer(store, rt, placer, tick_s=0.2, dnc=store)
            task = asyncio.create_task(dialer.run())
            try:
                iid = await connected_call(gateway)
                seen["interaction"] = iid
                seen["bridged"] = gateway.calls[iid].caller_media.peer is not None
                await asyncio.sleep(1.0)  # a word with the agent
                svc.do_end(rt, iid, "agent", AgentId(AGENT))  # the agent hangs up
                await until(lambda: bool(store.calls(SPRING)), within_s=30, what="the stored call")
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            seen["carrier"] = await carrier.wait()
            seen["calls"] = store.calls(SPRING)
            seen["result"] = placer.results[PRESSES]
            seen["events"] = [e.kind for e in rt.store.events(interaction_id=iid)]
            seen["offered_to"] = [
                e.agent_id
                for e in rt.store.events(interaction_id=iid)
                if e.kind == "interaction_offered"
            ]
            seen["queued_in"] = [
                e.payload.get("queue_id")
                for e in rt.store.events(interaction_id=iid)
                if e.kind == "interaction_queued"
            ]
        return seen

    seen = asyncio.run(day())
    calls, result = seen["calls"], seen["result"]
    assert isinstance(calls, list)
    (call,) = calls
    assert isinstance(call, CampaignCall) and isinstance(result, CallResult)
    assert result.agentless and result.transferred and not result.opted_out
    assert call.live and not call.abandoned and call.disposition == "XFER"
    assert call.agent_id == AGENT and call.connected_at is not None
    assert call.interaction_id == seen["interaction"]
    assert seen["queued_in"] == [QUEUE]  # queued to the campaign's queue, like any call
    assert seen["offered_to"] == [AGENT]  # and the ACD offered it to the ready agent
    events = seen["events"]
    assert isinstance(events, list)
    assert events.index("interaction_queued") < events.index("interaction_connected")
    assert seen["bridged"] is True
    carrier = seen["carrier"]
    assert isinstance(carrier, SippResult)
    assert carrier.ok, carrier.describe()
    assert carrier.received("BYE") == 1  # the agent's hang-up ended the called party's leg


async def connected_call(gateway: VoiceGateway) -> InteractionId:
    """The campaign call's interaction once the agent's phone answered and it is connected."""
    rt = gateway.rt
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 40
    while loop.time() < deadline:
        for iid, call in list(gateway.calls.items()):
            ix = rt.center.interactions.get(iid)
            if (
                call.caller_address == PRESSES
                and ix is not None
                and ix.state is InteractionState.CONNECTED
                and call.caller_media.peer is not None
            ):
                return iid
        await asyncio.sleep(0.05)
    raise TimeoutError("the pressed call was never connected to the agent")


def test_the_opt_out_key_during_an_agentless_message_puts_the_number_on_do_not_call(
    tmp_path: Path,
) -> None:
    """sipp's callee presses 9 (RFC 4733) 3.5 s after the answer, while the message plays."""
    require_sipp()

    async def opt_out() -> dict[str, object]:
        seen: dict[str, object] = {}
        async with (
            callees_and_center("dialer_opt_out.xml", tmp_path) as (carrier, center),
        ):
            campaign, text = uk_campaign("agentless", agents="[]", extra=agentless("press_1"))
            store = sql_campaign_store(center.app, campaign, text, (LISTENS,))
            placer = KeptResults(center.voice.gateway)
            dialer = Dialer(store, center.app.runtime, placer, tick_s=0.2, dnc=store)
            task = asyncio.create_task(dialer.run())
            try:
                await until(lambda: bool(store.calls(SPRING)), within_s=40, what="the call")
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            seen["carrier"] = await carrier.wait()
            seen["calls"] = store.calls(SPRING)
            seen["dnc"] = store.dnc_book(SPRING)
            seen["result"] = placer.results[LISTENS]
        return seen

    seen = asyncio.run(opt_out())
    calls, result, dnc = seen["calls"], seen["result"], seen["dnc"]
    assert isinstance(calls, list) and isinstance(result, CallResult)
    (call,) = calls
    assert isinstance(call, CampaignCall)
    assert result.agentless and result.opted_out and not result.transferred
    assert call.live and not call.abandoned and call.disposition == "DNC"
    assert isinstance(dnc, DncBook)
    assert dnc.check(LISTENS, SPRING, datetime.now(UTC), None).blocked
    carrier = seen["carrier"]
    assert isinstance(carrier, SippResult)
    assert carrier.ok, carrier.describe()
    assert carrier.received("BYE") == 1
