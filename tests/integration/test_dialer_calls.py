"""A predictive campaign placing real SIP calls on loopback: sipp is the carrier and every
called party (tests/support/sipp/dialer_callees.xml: the number's last digit says whether it
answers, rings out or is busy), baresip is the agent's phone, and the campaign store is the
SQL one in the app's database.

The campaign has seen no calls yet, so its predictive pacer is learning and dials
progressively: one call per ready agent (the decisions logged say so). Four records:
- ...1 answers and is bridged to the agent's phone; the customer hangs up after 4 s;
- ...2 rings out: cancelled at the 15 s no-answer timeout, no answer, to be retried;
- ...3 is busy (486), to be retried;
- ...4 answers after 1.5 s of ringing, but the agent stepped away while it rang: no agent
  within the 2 s grace, so it is abandoned: the message (seller, number, opt-out) is spoken
  and the line hung up.
What is checked of the message: sipp runs with -rtp_echo, so every RTP packet it receives
comes straight back; while the message plays we count the packets we sent and the packets
that came back (the called party really received audio), and that the line is hung up only
after the message's length. The opt-out key is not pressed here (the service test covers its
disposition)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from campaign_fakes import KeptResults, sql_campaign_store, uk_campaign
from dialer_lines import callees_and_center
from media_support import speech_like
from sipp_support import SippResult, require_sipp
from voice_support import AGENT, USERNAME, agent_phone, until

from callbridge.adapters.store.campaigns import SqlCampaignStore
from callbridge.adapters.telephony.media.wav import write_wav
from callbridge.app import App
from callbridge.domain.dialer.calls import CallResult
from callbridge.domain.dialer.decisions import PacingReason
from callbridge.domain.dialer.dnc import DncBook, DncScope
from callbridge.domain.dialer.ids import CampaignId
from callbridge.domain.ids import AgentId
from callbridge.ports import CampaignCall, CampaignStore
from callbridge.services import agents as agent_svc
from callbridge.services.dialer import Dialer

SPRING = CampaignId("spring")
BRIDGED, RINGS_OUT, BUSY, ABANDONED, OPTS_OUT = (f"+44207946000{d}" for d in "12345")


def test_a_campaign_dials_real_calls_bridges_one_and_abandons_one_with_its_message(
    tmp_path: Path,
) -> None:
    require_sipp()
    phone_wav = tmp_path / "phone.wav"
    write_wav(phone_wav, 8000, speech_like(60.0, seed=3))

    async def campaign_day() -> dict[str, object]:
        seen: dict[str, object] = {"sent": 0, "echoed": 0}
        async with (
            callees_and_center(
                "dialer_callees.xml", tmp_path, calls=4, echo=True, sipp_timeout=120
            ) as (carrier, center),
            agent_phone(tmp_path / "phone", center.sip_port, phone_wav),
        ):
            voice, rt = center.voice, center.app.runtime
            await until(
                lambda: voice.registrations.contacts(USERNAME, voice.endpoint.clock()),
                what="the phone's registration",
            )
            store = campaign_store(center.app)
            agent_svc.do_login(rt, AgentId(AGENT))
            agent_svc.do_set_ready(rt, AgentId(AGENT))
            placer = KeptResults(voice.gateway)
            dialer = Dialer(store, rt, placer, tick_s=0.2, dnc=store)
            task = asyncio.create_task(dialer.run())
            try:
                await watch_the_day(center.voice.gateway, dialer, store, seen)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            seen["carrier"] = await carrier.wait()
            seen["results"] = placer.results
            seen["calls"] = store.calls(SPRING)
            seen["progress"] = store.progress(SPRING)
            seen["decisions"] = store.decisions(SPRING, limit=1000)
        return seen

    seen = asyncio.run(campaign_day())
    ended, progresses, decisions = seen["calls"], seen["progress"], seen["decisions"]
    assert isinstance(ended, list) and isinstance(progresses, dict)
    assert isinstance(decisions, list)
    calls: dict[str, CampaignCall] = {c.number: c for c in ended}
    assert set(calls) == {BRIDGED, RINGS_OUT, BUSY, ABANDONED}

    bridged = calls[BRIDGED]
    assert bridged.live and not bridged.abandoned and bridged.agent_id == AGENT
    assert bridged.connected_at is not None and bridged.answered_at is not None
    assert (bridged.connected_at - bridged.answered_at).total_seconds() < 2.0
    assert bridged.disposition == "CONTACT"  # wrapped up with no disposition
    assert seen["bridged"] is True

    for number, code in ((RINGS_OUT, "NA"), (BUSY, "B")):
        call = calls[number]
        assert call.disposition == code and not call.live
        progress = progresses[call.record_id]
        assert not progress.done and progress.due_at is not None  # to be retried
    assert (calls[RINGS_OUT].ended_at - calls[RINGS_OUT].dialled_at).total_seconds() >= 15.0

    dropped = calls[ABANDONED]
    assert dropped.live and dropped.abandoned and dropped.disposition == "DROP"
    assert dropped.connected_at is None and dropped.agent_id is None
    assert dropped.message is not None and "Acme Energy" in dropped.message
    assert "+442071239999" in dropped.message and "press 9" in dropped.message
    results = seen["results"]
    assert isinstance(results, dict)
    played = results[ABANDONED]
    assert isinstance(played, CallResult)
    assert played.message_s > 5.0  # espeak's sentence, spoken to the end
    assert_message_reached_the_callee(seen, played, dropped)

    dialled = [d for d in decisions if d.dial]
    assert len(dialled) >= 4 and all(d.reason is PacingReason.LEARNING for d in dialled)
    assert all(d.inputs.ready >= 1 for d in dialled)

    carrier = seen["carrier"]
    assert isinstance(carrier, SippResult)
    assert carrier.ok, carrier.describe()
    assert carrier.received("INVITE") == 4
    assert carrier.received("CANCEL") == 1
    assert carrier.sent("SIP/2.0 486") == 1
    assert carrier.sent("BYE") == 1  # the bridged customer hung up
    assert carrier.received("BYE") == 1  # we hung up the abandoned call after its message


def assert_message_reached_the_callee(
    seen: dict[str, object], played: CallResult, dropped: CampaignCall
) -> None:
    sent, echoed = seen["sent"], seen["echoed"]
    assert isinstance(sent, int) and isinstance(echoed, int)
    frames = played.message_s / 0.020
    assert sent >= 0.8 * frames, (sent, frames)  # 20 ms packets for the message's length
    assert echoed >= 0.8 * frames, (echoed, frames)  # and sipp got them: they came back
    assert dropped.answered_at is not None
    held = (dropped.ended_at - dropped.answered_at).total_seconds()
    assert held >= 2.0 + played.message_s - 0.5  # the grace, then the whole message


def campaign_store(
    app: App, numbers: tuple[str, ...] = (BRIDGED, RINGS_OUT, BUSY, ABANDONED)
) -> SqlCampaignStore:
    """The app's campaign store with the predictive campaign running and a record per number."""
    campaign, text = uk_campaign("predictive", agents=f"[{AGENT}]")
    return sql_campaign_store(app, campaign, text, numbers)


async def watch_the_day(
    gateway: object, dialer: Dialer, store: CampaignStore, seen: dict[str, object]
) -> None:
    """Step the agent away while the abandon call rings, note what the calls' media did, and
    wait for the four calls to end."""
    from callbridge.adapters.telephony.gateway import VoiceGateway

    assert isinstance(gateway, VoiceGateway)
    rt = dialer.rt
    away = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while len(store.calls(SPRING)) < 4:
        if loop.time() > deadline:
            raise TimeoutError(f"only {len(store.calls(SPRING))} calls ended")
        run = dialer.runs.get(SPRING)
        ringing = [c for c in run.active.values()] if run else []
        if not away and any(c.placed.number == ABANDONED for c in ringing):
            agent_svc.do_set_not_ready(rt, AgentId(AGENT), "break")  # stepped away
            away = True
        for call in list(gateway.calls.values()):
            stats = call.caller_media.stats()
            if call.caller_address == ABANDONED:
                seen["sent"] = max(int(str(seen["sent"])), stats.packets_sent)
                seen["echoed"] = max(int(str(seen["echoed"])), stats.packets_received)
            elif call.caller_address == BRIDGED and call.caller_media.peer is not None:
                seen["bridged"] = True
        await asyncio.sleep(0.05)


def test_the_opt_out_key_pressed_during_the_message_puts_the_number_on_do_not_call(
    tmp_path: Path,
) -> None:
    """The agent is Ready but has no phone registered, so the answered call has nobody to go
    to: abandoned; the called party presses 9 (RFC 4733 from sipp) while the message plays."""
    require_sipp()

    async def opt_out() -> dict[str, object]:
        seen: dict[str, object] = {}
        async with (
            callees_and_center("dialer_opt_out.xml", tmp_path) as (carrier, center),
        ):
            rt = center.app.runtime
            store = campaign_store(center.app, (OPTS_OUT,))
            agent_svc.do_login(rt, AgentId(AGENT))
            agent_svc.do_set_ready(rt, AgentId(AGENT))
            placer = KeptResults(center.voice.gateway)
            dialer = Dialer(store, rt, placer, tick_s=0.2, dnc=store)
            task = asyncio.create_task(dialer.run())
            try:
                await until(lambda: bool(store.calls(SPRING)), within_s=40, what="the call")
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            seen["carrier"] = await carrier.wait()
            seen["calls"] = store.calls(SPRING)
            seen["progress"] = store.progress(SPRING)
            seen["dnc"] = store.dnc_book(SPRING)
            seen["result"] = placer.results[OPTS_OUT]
        return seen

    seen = asyncio.run(opt_out())
    calls = seen["calls"]
    assert isinstance(calls, list)
    (call,) = calls
    assert isinstance(call, CampaignCall)
    assert call.abandoned and call.live and call.disposition == "DNC"
    result = seen["result"]
    assert isinstance(result, CallResult) and result.opted_out
    progress = seen["progress"]
    assert isinstance(progress, dict) and progress[call.record_id].done
    dnc = seen["dnc"]
    assert isinstance(dnc, DncBook)
    verdict = dnc.check(OPTS_OUT, SPRING, datetime.now(UTC), None)
    assert verdict.blocked and verdict.scope is DncScope.INTERNAL
    carrier = seen["carrier"]
    assert isinstance(carrier, SippResult)
    assert carrier.ok, carrier.describe()
    assert carrier.received("BYE") == 1
