"""The caller's journey end to end, all real SIP on loopback: a sipp caller pressing RFC 4733
digits goes through an IVR flow (menu, account number, CRM dip that recognises them and raises
their priority), hears where they are in line, asks to be called back, hangs up keeping their
place, and is called back through the trunk (sipp as the carrier) once the agent's baresip
phone has answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from media_support import free_udp_port, speech_like
from sipp_support import Sipp, SippResult, require_sipp, sipp_uas
from voice_support import AGENT, QUEUE, USERNAME, Center, agent_phone, until, voice_center

from callbridge.adapters.telephony.media.wav import write_wav
from callbridge.domain.channels import Channel
from callbridge.domain.crm.records import RecordType
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.interactions import InteractionState
from callbridge.services import agents as agent_svc
from callbridge.services import interactions as svc

ACCOUNT = "30548697"  # Luhn-valid, and no key twice (see tests/support/sipp/ivr_caller.xml)
CALLER = "15550001111"  # the sipp caller's From user
FLOW = f"""\
flow: journey
numbers: ["ivr"]
nodes:
  menu:
    menu: For accounts, press 2.
    options: {{"2": account}}
    timeout: 8
    failure: line
  account:
    collect: account
    prompt: Enter your account number, then hash.
    digits: 8
    min_digits: 8
    terminator: "#"
    validate: luhn
    timeout: 8
    next: find
    failure: line
  find:
    lookup: account_number
    value: account
    found: known
    not_found: line
  known:
    set: {{customer: crm.name}}
    priority: 10
    next: line
  line:
    queue: {QUEUE}
    wait: {{announce_every: 120, callback_after: 0, callback_key: "*"}}
"""


@asynccontextmanager
async def ivr_center(work: Path, carrier_port: int) -> AsyncIterator[Center]:
    flows = work / "flows"
    flows.mkdir(parents=True, exist_ok=True)
    (flows / "journey.yaml").write_text(FLOW)
    async with voice_center(
        work,
        ivr_flows_dir=flows,
        sip_trunk_host="127.0.0.1",
        sip_trunk_port=carrier_port,
    ) as center:
        crm = center.app.crm
        assert crm is not None
        crm.upsert_record(RecordType.ACCOUNT, {"Name": "Globex", "AccountNumber": ACCOUNT})
        yield center


def test_a_caller_is_recognised_in_the_ivr_asks_for_a_callback_and_is_called_back(
    tmp_path: Path,
) -> None:
    require_sipp()
    phone_wav = tmp_path / "phone.wav"
    write_wav(phone_wav, 8000, speech_like(30.0, seed=5))

    async def journey() -> dict[str, object]:
        async with (
            sipp_uas("uas.xml", tmp_path, sipp_timeout=180) as carrier,
            ivr_center(tmp_path, carrier.port) as center,
            agent_phone(tmp_path / "phone", center.sip_port, phone_wav),
        ):
            voice, rt = center.voice, center.app.runtime
            await until(
                lambda: voice.registrations.contacts(USERNAME, voice.endpoint.clock()),
                what="the phone's registration",
            )
            agent_svc.do_login(rt, AgentId(AGENT))  # logged in, Not Ready: callers wait
            earlier = svc.do_create_interaction(
                rt,
                svc.NewInteraction(Channel.VOICE, "+15550002222", "ivr", QueueId(QUEUE)),
            )  # already in line, at the queue's priority
            caller = Sipp(
                "ivr_caller.xml",
                tmp_path,
                remote=f"127.0.0.1:{center.sip_port}",
                extra=["-s", "ivr", "-mp", str(free_udp_port(pairs=True))],
                sipp_timeout=90,
            )
            await caller.start()
            try:
                called = await caller.wait()
            finally:
                await caller.kill()
            assert called.ok, called.describe()
            (iid,) = [i for i, ix in rt.center.interactions.items() if ix.from_address == CALLER]
            waiting = rt.center.interactions[iid]
            seen: dict[str, object] = {
                "state": waiting.state,
                "priority": waiting.priority,
                "callback": waiting.callback_number,
                "customer": waiting.attached.get("customer"),
                "account": waiting.attached.get("account"),
                "ahead_of": str(earlier[0].interaction_id),
            }
            agent_svc.do_set_ready(rt, AgentId(AGENT))
            await until(
                lambda: (
                    iid in voice.gateway.calls
                    and rt.center.interactions[iid].state is InteractionState.CONNECTED
                ),
                within_s=20,
                what="the callback bridged",
            )
            seen["bridged"] = voice.gateway.calls[iid].caller_media.peer is not None
            await asyncio.sleep(0.5)
            svc.do_end(rt, iid, "agent", AgentId(AGENT))
            seen["carrier"] = await carrier.wait()
            seen["events"] = rt.store.events(interaction_id=InteractionId(iid))
            return seen

    seen = asyncio.run(journey())
    assert seen["state"] is InteractionState.QUEUED  # the caller hung up, keeping their place
    assert seen["priority"] == 10  # recognised from the CRM
    assert seen["customer"] == "Globex" and seen["account"] == ACCOUNT
    assert seen["callback"] == CALLER
    assert seen["bridged"]
    events = seen["events"]
    assert isinstance(events, list)
    kinds = [e.kind for e in events]
    finished = next(e for e in events if e.kind == "ivr_finished")
    assert finished.payload["outcome"] == "queue"
    assert [p.split(":")[1] for p in finished.payload["path"]] == [
        "menu",
        "account",
        "find",
        "known",
        "line",
    ]
    announced = next(e for e in events if e.kind == "wait_announced")
    assert announced.payload["position"] == 1  # ahead of the earlier caller, by priority
    assert kinds.index("ivr_entered") < kinds.index("interaction_queued")
    assert kinds.index("wait_announced") < kinds.index("callback_requested")
    progress = [(e.payload["leg"], e.payload["stage"]) for e in events if e.kind == "call_progress"]
    assert ("agent", "answered") in progress and ("customer", "answered") in progress
    carrier = seen["carrier"]
    assert isinstance(carrier, SippResult)
    assert carrier.ok, carrier.describe()
    assert carrier.received(f"INVITE sip:{CALLER}@127.0.0.1") == 1
    assert carrier.received("BYE") == 1  # hung up with the agent
    assert kinds[-1] in ("interaction_wrapped_up", "interaction_ended")
