"""Answering-machine detection on real calls: sipp answers and streams a recorded greeting
(espeak-ng's voice, 8 kHz mu-law by sox) as RTP, the way a machine or a person would.

A UK predictive campaign with AMD on (leave the message on machines) and one Ready agent with
no phone registered, so a person cannot be connected and hears the abandon message:
- ...1 is a machine: a 9 s greeting and a beep. It is detected as a machine, the message is
  left once the greeting and beep are over, and the call is stored `AM`, not a live answer;
- ...2 is a person: 0.3 s of silence, "Hello?", silence. Detected as a person, offered to the
  campaign's agents, nobody can take it: abandoned within the grace, stored `DROP`, live.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from campaign_fakes import KeptResults, sql_campaign_store, uk_campaign
from dialer_lines import callees_and_center
from sipp_support import SippResult, require_sipp
from voice_support import AGENT

from callbridge.domain.dialer.amd import Answerer
from callbridge.domain.dialer.calls import CallResult
from callbridge.domain.dialer.ids import CampaignId
from callbridge.domain.ids import AgentId
from callbridge.ports import CampaignCall
from callbridge.services import agents as agent_svc
from callbridge.services.dialer import Dialer

SCENARIOS = Path(__file__).parent.parent / "support" / "sipp"
SPRING = CampaignId("spring")
MACHINE, PERSON = "+442079460021", "+442079460022"
GREETING = (
    "Hi, you have reached Sam and Alex. We cannot take your call right now. Please leave your "
    "name and number after the tone, and we will call you back."
)
AMD = "amd: {enabled: true, false_positive_share: 0.03, machine_action: message}\n"


def mu_law(work: Path, name: str, text: str, beep: bool = False) -> Path:
    """`text` spoken by espeak-ng, as 8 kHz mu-law (what sipp streams as PCMU)."""
    spoken = work / f"{name}-22k.wav"
    subprocess.run(["espeak-ng", "-w", str(spoken), text], check=True)
    parts = [str(spoken)]
    if beep:
        tone = work / f"{name}-beep.wav"
        subprocess.run(
            ["sox", "-n", "-r", "22050", "-c", "1", str(tone), "synth", "0.5", "sine", "1000"],
            check=True,
        )
        parts.append(str(tone))
    out = work / f"{name}.wav"
    subprocess.run(
        ["sox", *parts, "-r", "8000", "-c", "1", "-e", "u-law", str(out)],
        check=True,
    )
    return out


def test_a_machine_gets_the_message_after_its_beep_and_a_person_is_not_taken_for_one(
    tmp_path: Path,
) -> None:
    require_sipp()
    missing = [tool for tool in ("sox", "espeak-ng") if shutil.which(tool) is None]
    if missing:  # `make setup` installs both (Debian packages sox and espeak-ng)
        pytest.fail(f"{' and '.join(missing)} not installed: `make setup` installs them")
    machine_wav = mu_law(tmp_path, "machine", GREETING, beep=True)
    person_wav = mu_law(tmp_path, "person", "Hello?")
    scenario = tmp_path / "dialer_amd.xml"
    template = (SCENARIOS / "dialer_amd.xml").read_text()
    scenario.write_text(
        template.replace("MACHINE_WAV", str(machine_wav)).replace("HUMAN_WAV", str(person_wav))
    )

    async def day() -> dict[str, object]:
        seen: dict[str, object] = {"sent": 0}
        async with (
            callees_and_center(str(scenario), tmp_path, calls=2, sipp_timeout=90) as (
                carrier,
                center,
            ),
        ):
            rt, gateway = center.app.runtime, center.voice.gateway
            agent_svc.do_login(rt, AgentId(AGENT))  # Ready, but no phone: nobody to connect
            agent_svc.do_set_ready(rt, AgentId(AGENT))
            campaign, text = uk_campaign("predictive", agents=f"[{AGENT}]", extra=AMD)
            store = sql_campaign_store(center.app, campaign, text, (MACHINE, PERSON))
            placer = KeptResults(gateway)
            dialer = Dialer(store, rt, placer, tick_s=0.2, dnc=store)
            task = asyncio.create_task(dialer.run())
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 80
                while len(store.calls(SPRING)) < 2:
                    assert loop.time() < deadline, f"{len(store.calls(SPRING))} calls ended"
                    for call in list(gateway.calls.values()):
                        if call.caller_address == MACHINE:
                            sent = call.caller_media.stats().packets_sent
                            seen["sent"] = max(int(str(seen["sent"])), sent)
                    await asyncio.sleep(0.05)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            seen["carrier"] = await carrier.wait()
            seen["calls"] = store.calls(SPRING)
            seen["results"] = placer.results
        return seen

    seen = asyncio.run(day())
    ended, results = seen["calls"], seen["results"]
    assert isinstance(ended, list) and isinstance(results, dict)
    calls: dict[str, CampaignCall] = {c.number: c for c in ended}

    machine, heard = calls[MACHINE], results[MACHINE]
    assert isinstance(heard, CallResult) and heard.amd is not None
    assert heard.amd.answerer is Answerer.MACHINE, heard.amd
    assert heard.amd.decided_s < 5.0
    assert machine.disposition == "AM" and not machine.live and not machine.abandoned
    assert machine.message is not None and "Acme Energy" in machine.message
    assert heard.message_s > 5.0  # the message, spoken to its end
    assert machine.answered_at is not None
    held = (machine.ended_at - machine.answered_at).total_seconds()
    assert held >= 9.0 + heard.message_s - 0.5  # after the greeting and its beep
    sent = seen["sent"]
    assert isinstance(sent, int) and sent >= 0.8 * heard.message_s / 0.020  # it was played

    person, answered = calls[PERSON], results[PERSON]
    assert isinstance(answered, CallResult) and answered.amd is not None
    assert answered.amd.answerer is Answerer.HUMAN, answered.amd
    assert person.live and person.abandoned and person.disposition == "DROP"

    carrier = seen["carrier"]
    assert isinstance(carrier, SippResult)
    assert carrier.ok, carrier.describe()
    assert carrier.received("BYE") == 2
