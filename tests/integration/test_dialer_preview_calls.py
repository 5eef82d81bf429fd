"""A preview campaign on loopback: sipp is the carrier and the called parties
(tests/support/sipp/dialer_callees.xml: ...1 answers and hangs up after 4 s, ...3 is busy),
baresip is the agent's phone (it answers by itself), the campaign store is the SQL one.

The agent's actions go through the REST routes the desktop uses. The agent is Ready; the
dialer offers them record r1. They press Call: their phone rings
first, then r1's number with the campaign's caller ID; the two are bridged, the agent sets
SALE during the call, the customer hangs up, and the call is stored SALE with that agent.
Back to Ready, they are offered r2 and skip it: it goes back undialled. They are offered r3
and do nothing: at the campaign's 3 s preview timeout the call is placed anyway, the number is
busy, stored B and to be retried."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from campaign_fakes import sql_campaign_store, uk_campaign
from dialer_lines import callees_and_center
from media_support import speech_like
from sipp_support import SippResult, require_sipp
from voice_support import AGENT, USERNAME, agent_phone, until

from callbridge.adapters.store.campaigns import SqlCampaignStore
from callbridge.adapters.telephony.gateway import VoiceGateway
from callbridge.adapters.telephony.media.wav import write_wav
from callbridge.domain.dialer.ids import CampaignId, RecordId
from callbridge.domain.ids import AgentId
from callbridge.ports import CampaignCall
from callbridge.services import agents as agent_svc
from callbridge.services.dialer import Dialer

SPRING = CampaignId("spring")
A1 = AgentId(AGENT)
ANSWERS, SKIPPED, BUSY = "+442079460001", "+442079460006", "+442079460003"
AUTH = {"Authorization": "Bearer " + "t" * 32}
URL = f"/agents/{AGENT}/preview"


def test_a_preview_is_offered_called_and_bridged_skipped_and_dialled_at_its_timeout(
    tmp_path: Path,
) -> None:
    require_sipp()
    phone_wav = tmp_path / "phone.wav"
    write_wav(phone_wav, 8000, speech_like(30.0, seed=5))

    async def preview_day() -> dict[str, object]:
        seen: dict[str, object] = {"bridged": False}
        async with (
            callees_and_center(
                "dialer_callees.xml", tmp_path, calls=2, echo=True, sipp_timeout=90
            ) as (carrier, center),
            agent_phone(tmp_path / "phone", center.sip_port, phone_wav),
        ):
            voice, rt = center.voice, center.app.runtime
            await until(
                lambda: voice.registrations.contacts(USERNAME, voice.endpoint.clock()),
                what="the phone's registration",
            )
            campaign, text = uk_campaign(
                "preview", agents=f"[{AGENT}]", extra="preview: {timeout_s: 3}"
            )
            store = sql_campaign_store(center.app, campaign, text, (ANSWERS, SKIPPED, BUSY))
            agent_svc.do_login(rt, A1)
            agent_svc.do_set_ready(rt, A1)
            dialer = Dialer(store, rt, voice.gateway, tick_s=0.2, dnc=store)
            center.app.api.state.dialer = dialer  # as the server wires its dialer
            task = asyncio.create_task(dialer.run())
            transport = httpx.ASGITransport(app=center.app.api)
            try:
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://center", headers=AUTH
                ) as client:
                    await until(lambda: offered(dialer) == "r1", what="the first preview")
                    shown = (await client.get(f"{URL}")).json()["preview"]
                    assert shown["number"] == ANSWERS and shown["deadline"] is not None
                    called = await client.post(f"{URL}/call")
                    assert called.status_code == 200, called.text
                    sale = await client.post(f"{URL}/disposition", json={"disposition": "SALE"})
                    assert sale.status_code == 200, sale.text
                    await watch_bridged(voice.gateway, store, seen)
                    await until(lambda: offered(dialer) == "r2", within_s=15, what="r2 offered")
                    skipped = await client.post(f"{URL}/skip", json={"reason": "not today"})
                    assert skipped.status_code == 200, skipped.text
                await until(lambda: offered(dialer) == "r3", within_s=5, what="r3 offered")
                await until(lambda: len(store.calls(SPRING)) == 2, within_s=30, what="r3 dialled")
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            seen["carrier"] = await carrier.wait()
            seen["calls"] = store.calls(SPRING)
            seen["progress"] = store.progress(SPRING)
            seen["log"] = [d.explanation for d in reversed(store.decisions(SPRING, limit=1000))]
        return seen

    seen = asyncio.run(preview_day())
    ended, progress, log = seen["calls"], seen["progress"], seen["log"]
    assert isinstance(ended, list) and isinstance(progress, dict) and isinstance(log, list)
    calls: dict[str, CampaignCall] = {c.number: c for c in ended}
    assert set(calls) == {ANSWERS, BUSY}  # the skipped record was never dialled

    sale = calls[ANSWERS]
    assert sale.disposition == "SALE" and sale.live and not sale.abandoned
    assert sale.agent_id == AGENT and sale.connected_at is not None
    assert sale.interaction_id is not None and seen["bridged"] is True
    assert progress[RecordId("r1")].done

    busy = calls[BUSY]
    assert busy.disposition == "B" and not busy.live and busy.agent_id is None
    assert not progress[RecordId("r3")].done and progress[RecordId("r3")].due_at is not None
    assert RecordId("r2") not in progress  # skipped: attempts unchanged

    assert "preview: offered record r1 to agent a1" in log
    assert "preview: agent a1 called record r1" in log
    assert "preview: agent a1 set SALE on record r1" in log
    assert "preview: agent a1 skipped record r2 (not today)" in log
    assert any(line.endswith("s of preview (timeout)") and "r3" in line for line in log)

    carrier = seen["carrier"]
    assert isinstance(carrier, SippResult)
    assert carrier.ok, carrier.describe()
    assert carrier.received("INVITE") == 2
    froms = [
        line
        for line in carrier.messages.splitlines()
        if line.strip().lower().startswith("from:") and "SIPpTag" not in line
    ]
    assert froms and all("<sip:+442071230000@" in line for line in froms)  # the caller ID
    assert carrier.sent("SIP/2.0 486") == 1
    assert carrier.sent("BYE") == 1  # the customer hung up the bridged call


def offered(dialer: Dialer) -> str | None:
    view = dialer.previews.view(A1)
    return view.preview.record_id if view is not None else None


async def watch_bridged(
    gateway: VoiceGateway, store: SqlCampaignStore, seen: dict[str, object]
) -> None:
    """Note that the customer's line was bridged to the agent's, until the call is stored."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 40
    while not store.calls(SPRING):
        if loop.time() > deadline:
            raise TimeoutError("the first preview call was not stored")
        for call in list(gateway.calls.values()):
            if call.caller_address == ANSWERS and call.caller_media.peer is not None:
                seen["bridged"] = True
        await asyncio.sleep(0.05)
