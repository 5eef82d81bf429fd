"""Calls end to end, all real SIP and RTP on loopback: a caller dials the entry point, waits with
music, the ACD offers the call, the agent's baresip phone (registered with its SIP password)
rings and answers by itself, audio flows both ways, and hanging up ends both legs and the
interaction; the event log tells exactly that."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from media_support import (
    RawPeer,
    align,
    build_sdp,
    code_distance,
    frames_of,
    rtp_packets,
    sip_caller,
    speech_like,
)
from sipp_support import SippResult, sipp_uas
from voice_support import (
    AGENT,
    QUEUE,
    SIP_PASSWORD,
    USERNAME,
    add_phone_user,
    agent_phone,
    until,
    voice_center,
)

from callbridge.adapters.telephony.gateway import VoiceCall, VoiceGateway
from callbridge.adapters.telephony.media.engine import MediaEngine
from callbridge.adapters.telephony.media.g711 import ULAW_DECODE, Codec
from callbridge.adapters.telephony.media.rtp import is_rtcp, parse_rtp
from callbridge.adapters.telephony.media.wav import read_wav, write_wav
from callbridge.adapters.telephony.sip import (
    Credentials,
    Dialog,
    IncomingCall,
    SipEndpoint,
    Target,
    sdp,
)
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.services import agents as agent_svc
from callbridge.services import interactions as svc

pytestmark = pytest.mark.skipif(
    shutil.which("baresip") is None and os.environ.get("CI") != "true",
    reason="baresip is not installed (make setup installs it; under CI=true this fails instead)",
)


@dataclass(frozen=True)
class CallRecord:
    kinds: list[str]
    interaction: dict[str, object]
    caller_sent: np.ndarray
    caller_heard: np.ndarray
    phone_sent: np.ndarray
    phone_heard: np.ndarray
    before_answer: int  # packets the caller received before the agent answered (music)
    recording: np.ndarray  # the call's recording: left the caller, right what they heard


@pytest.fixture(scope="module")
def inbound_call(tmp_path_factory: pytest.TempPathFactory) -> CallRecord:
    work = tmp_path_factory.mktemp("voice")
    phone_wav = work / "phone.wav"
    write_wav(phone_wav, 8000, speech_like(20.0, seed=5))  # baresip hangs up at the file's end
    caller_voice = Codec.PCMU.encode(speech_like(3.0, seed=8))

    async def call() -> CallRecord:
        async with (
            voice_center(work) as center,
            agent_phone(work / "phone", center.sip_port, phone_wav),
        ):
            voice, rt = center.voice, center.app.runtime
            await until(
                lambda: voice.registrations.contacts(USERNAME, voice.endpoint.clock()),
                what="the phone's registration",
            )
            agent_svc.do_login(rt, AgentId(AGENT))
            caller = await RawPeer.open()
            try:
                sdp = build_sdp("127.0.0.1", caller.port, 0, 101)
                async with sip_caller(("127.0.0.1", center.sip_port), sdp, user=QUEUE) as placed:
                    await until(lambda: len(voice.gateway.calls) == 1, what="the interaction")
                    (iid,) = voice.gateway.calls
                    await asyncio.sleep(1.0)  # waiting in line: music
                    before = len(caller.received)
                    agent_svc.do_set_ready(rt, AgentId(AGENT))
                    await until(
                        lambda: rt.center.interactions[iid].state.value == "connected",
                        what="the agent's answer",
                    )
                    await caller.stream(rtp_packets(frames_of(caller_voice)), placed.answer.port)
                    await asyncio.sleep(0.5)
                # the caller hung up: both legs and the interaction end
                await until(lambda: iid not in rt.center.interactions, what="the wrap-up")
                await until(lambda: not voice.gateway.calls, what="the legs to close")
            finally:
                caller.close()
            stored = rt.store.get_interaction(iid)
            assert stored is not None
            kinds = [e.kind for e in rt.store.events(interaction_id=iid)]
            _, recording = read_wav(voice.gateway.recorded[iid].path)
        packets = [parse_rtp(d) for d, _ in caller.received if not is_rtcp(d)]
        heard = ULAW_DECODE[
            np.frombuffer(b"".join(p.payload for p in packets if p.payload_type == 0), np.uint8)
        ]
        _, phone_heard = read_wav(sorted((work / "phone").glob("dump-*-dec.wav"))[-1])
        _, phone_sent = read_wav(sorted((work / "phone").glob("dump-*-enc.wav"))[-1])
        return CallRecord(
            kinds,
            {
                "state": stored.state.value,
                "end_reason": stored.end_reason.value if stored.end_reason else None,
                "agent": stored.last_agent_id,
            },
            ULAW_DECODE[np.frombuffer(caller_voice, np.uint8)],
            heard,
            phone_sent[:, 0],
            phone_heard[:, 0],
            before,
            recording,
        )

    return asyncio.run(call())


def test_the_event_log_tells_the_call(inbound_call: CallRecord) -> None:
    kinds = inbound_call.kinds
    expected = [
        "interaction_created",
        "interaction_queued",
        "interaction_offered",
        "interaction_connected",
        "interaction_ended",
    ]
    assert [k for k in kinds if k in expected] == expected, kinds
    assert inbound_call.interaction == {
        "state": "wrapped_up",
        "end_reason": "completed",
        "agent": AGENT,
    }


def test_the_caller_hears_music_while_waiting(inbound_call: CallRecord) -> None:
    assert inbound_call.before_answer > 30  # about 50 packets a second of music on hold


def test_the_agent_hears_the_caller(inbound_call: CallRecord) -> None:
    heard = inbound_call.phone_heard
    sent = inbound_call.caller_sent
    offset = align(heard, sent[:8000])
    assert code_distance(ULAW_DECODE, heard[offset : offset + 8000], sent[:8000]) <= 1


def test_the_recording_holds_both_voices_one_channel_each(inbound_call: CallRecord) -> None:
    left, right = inbound_call.recording[:, 0], inbound_call.recording[:, 1]
    caller = inbound_call.caller_sent[:8000]
    offset = align(left, caller)
    assert code_distance(ULAW_DECODE, left[offset : offset + 8000], caller) <= 1
    agent = right[np.flatnonzero(right)[0] :][:8000]
    offset = align(inbound_call.phone_sent, agent)
    sent = inbound_call.phone_sent[offset : offset + len(agent)]
    assert len(sent) == len(agent) == 8000
    assert code_distance(ULAW_DECODE, agent, sent) <= 1


def test_the_caller_hears_the_agent(inbound_call: CallRecord) -> None:
    heard = inbound_call.caller_heard[-8000:]
    offset = align(inbound_call.phone_sent, heard)
    sent = inbound_call.phone_sent[offset : offset + len(heard)]
    assert len(sent) == len(heard) == 8000
    assert code_distance(ULAW_DECODE, heard, sent) <= 1


def _quiet_caller_sdp(port: int) -> str:
    return build_sdp("127.0.0.1", port, 0, 101)


def test_a_phone_that_is_not_registered_sends_the_call_back_to_its_place(
    tmp_path: Path,
) -> None:
    async def call() -> tuple[str, str | None, str, list[str]]:
        async with voice_center(tmp_path) as center:
            voice, rt = center.voice, center.app.runtime
            agent_svc.do_login(rt, AgentId(AGENT))
            agent_svc.do_set_ready(rt, AgentId(AGENT))
            caller = await RawPeer.open()
            try:
                sdp = _quiet_caller_sdp(caller.port)
                async with sip_caller(("127.0.0.1", center.sip_port), sdp, user=QUEUE):
                    await until(lambda: len(voice.gateway.calls) == 1, what="the interaction")
                    (iid,) = voice.gateway.calls
                    agent = rt.center.agents[AgentId(AGENT)]
                    await until(lambda: agent.reason == "missed", what="the missed offer")
                    state = rt.center.interactions[iid].state.value
                await until(lambda: iid not in rt.center.interactions, what="the end")
            finally:
                caller.close()
            stored = rt.store.get_interaction(iid)
            assert stored is not None and stored.end_reason is not None
            kinds = [e.kind for e in rt.store.events(interaction_id=iid)]
            return state, agent.reason, stored.end_reason.value, kinds

    state, reason, end, kinds = asyncio.run(call())
    assert state == "queued" and reason == "missed"
    assert end == "abandoned"  # the caller gave up, still in line
    assert "offer_missed" in kinds and "interaction_connected" not in kinds


def _bridged(vc: VoiceCall) -> bool:
    return vc.leg is not None and vc.caller_media.peer is vc.leg.media


def test_hold_plays_music_resume_bridges_and_the_agents_hang_up_ends_both_legs(
    tmp_path: Path,
) -> None:
    phone_wav = tmp_path / "phone.wav"
    write_wav(phone_wav, 8000, speech_like(6.0, seed=6))  # baresip hangs up after 6 s

    async def call() -> dict[str, object]:
        seen: dict[str, object] = {}
        async with (
            voice_center(tmp_path) as center,
            agent_phone(tmp_path / "phone", center.sip_port, phone_wav),
        ):
            voice, rt = center.voice, center.app.runtime
            await until(
                lambda: voice.registrations.contacts(USERNAME, voice.endpoint.clock()),
                what="the phone's registration",
            )
            agent_svc.do_login(rt, AgentId(AGENT))
            agent_svc.do_set_ready(rt, AgentId(AGENT))
            caller = await RawPeer.open()
            try:
                sdp = _quiet_caller_sdp(caller.port)
                async with sip_caller(("127.0.0.1", center.sip_port), sdp, user=QUEUE):
                    await until(lambda: len(voice.gateway.calls) == 1, what="the interaction")
                    (iid,) = voice.gateway.calls
                    vc = voice.gateway.calls[iid]
                    await until(
                        lambda: rt.center.interactions[iid].state.value == "connected",
                        what="the agent's answer",
                    )
                    seen["bridged"] = _bridged(vc)
                    seen["music_while_talking"] = vc.caller_media.playback is not None
                    svc.do_hold(rt, iid, AgentId(AGENT))
                    await until(lambda: vc.caller_media.playback is not None, what="music")
                    seen["bridged_on_hold"] = vc.caller_media.peer is not None
                    svc.do_resume(rt, iid, AgentId(AGENT))
                    await until(lambda: vc.caller_media.playback is None, what="resume")
                    seen["bridged_again"] = (
                        vc.leg is not None and vc.caller_media.peer is vc.leg.media
                    )
                    voice.gateway.pause_recording(iid)  # a card number is read
                    await asyncio.sleep(0.5)
                    voice.gateway.resume_recording(iid)
                    # baresip reaches the end of its file and hangs up
                    await until(lambda: iid not in voice.gateway.calls, 15, "the agent's BYE")
                    seen["caller_leg"] = vc.caller.end_reason
            finally:
                caller.close()
            ended = [
                e for e in rt.store.events(interaction_id=iid) if e.kind == "interaction_ended"
            ]
            seen["ended_by"] = ended[0].payload["by"] if ended else None
            paused = voice.gateway.recorded[iid].paused_s
            seen["paused_about_half_a_second"] = 0.4 <= paused <= 0.8
        return seen

    seen = asyncio.run(call())
    assert seen == {
        "bridged": True,
        "music_while_talking": False,
        "bridged_on_hold": False,
        "bridged_again": True,
        "caller_leg": "local-bye",
        "ended_by": "agent",
        "paused_about_half_a_second": True,
    }


def test_a_taken_sip_port_leaves_the_center_running_without_voice(tmp_path: Path) -> None:
    async def run() -> bool:
        # a second center on the first one's SIP port: its voice gives up, nothing crashes
        async with (
            voice_center(tmp_path / "first") as first,
            voice_center(tmp_path / "second", sip_port=first.sip_port) as second,
        ):
            return second.voice.started.is_set()

    assert asyncio.run(run()) is False


def test_a_transfer_to_a_queue_hangs_up_the_agents_phone_and_rings_the_next_agent(
    tmp_path: Path,
) -> None:
    phone_wav = tmp_path / "phone.wav"
    write_wav(phone_wav, 8000, speech_like(20.0, seed=4))

    async def call() -> tuple[list[str], bool, int]:
        async with (
            voice_center(tmp_path) as center,
            agent_phone(tmp_path / "phone", center.sip_port, phone_wav),
        ):
            voice, rt = center.voice, center.app.runtime
            await until(
                lambda: voice.registrations.contacts(USERNAME, voice.endpoint.clock()),
                what="the phone's registration",
            )
            agent_svc.do_login(rt, AgentId(AGENT))
            agent_svc.do_set_ready(rt, AgentId(AGENT))
            caller = await RawPeer.open()
            try:
                sdp = _quiet_caller_sdp(caller.port)
                async with sip_caller(("127.0.0.1", center.sip_port), sdp, user=QUEUE):
                    await until(lambda: len(voice.gateway.calls) == 1, what="the interaction")
                    (iid,) = voice.gateway.calls
                    vc = voice.gateway.calls[iid]
                    await until(lambda: _bridged(vc), what="the first answer")
                    first = vc.leg
                    assert first is not None and first.dialog is not None
                    # back to the queue: the same agent is free and Ready, so it rings again
                    svc.do_transfer(rt, iid, AgentId(AGENT), to_queue=QueueId(QUEUE))
                    await until(lambda: first.dialog.end_reason is not None, what="the BYE")
                    await until(
                        lambda: _bridged(vc) and vc.leg is not first, what="the second answer"
                    )
                    rebridged = _bridged(vc)
            finally:
                caller.close()
            kinds = [e.kind for e in rt.store.events(interaction_id=iid)]
            dialogs = len({d for d in voice.endpoint.dialogs})
        return kinds, rebridged, dialogs

    kinds, rebridged, _ = asyncio.run(call())
    assert rebridged
    assert kinds.count("interaction_connected") == 2, kinds
    assert kinds.index("interaction_transferred") < len(kinds) - kinds[::-1].index(
        "interaction_offered"
    )


def test_click_to_dial_rings_the_agent_then_calls_the_customer_through_the_trunk(
    tmp_path: Path,
) -> None:
    phone_wav = tmp_path / "phone.wav"
    write_wav(phone_wav, 8000, speech_like(20.0, seed=2))
    number = "+15551230000"

    async def call() -> tuple[SippResult, list[tuple[str, object, object]], list[str]]:
        async with (
            sipp_uas("uas.xml", tmp_path, sipp_timeout=30) as carrier,
            voice_center(
                tmp_path, sip_trunk_host="127.0.0.1", sip_trunk_port=carrier.port
            ) as center,
            agent_phone(tmp_path / "phone", center.sip_port, phone_wav),
        ):
            voice, rt = center.voice, center.app.runtime
            await until(
                lambda: voice.registrations.contacts(USERNAME, voice.endpoint.clock()),
                what="the phone's registration",
            )
            agent_svc.do_login(rt, AgentId(AGENT))
            dialled = svc.do_dial(rt, AgentId(AGENT), number, "+18005550100", {})
            iid = InteractionId(str(dialled[0].interaction_id))
            await until(
                lambda: iid in voice.gateway.calls and _bridged(voice.gateway.calls[iid]),
                what="both legs up",
            )
            await asyncio.sleep(0.5)
            svc.do_end(rt, iid, "agent", AgentId(AGENT))  # the agent hangs up (the API)
            result = await carrier.wait()
            events = rt.store.events(interaction_id=iid)
        progress: list[tuple[str, object, object]] = [
            (str(e.payload["leg"]), e.payload["stage"], e.payload["status"])
            for e in events
            if e.kind == "call_progress"
        ]
        return result, progress, [e.kind for e in events]

    result, progress, kinds = asyncio.run(call())
    assert result.ok, result.describe()
    assert result.received(f"INVITE sip:{number}@127.0.0.1") == 1, result.messages[-2000:]
    assert result.received("BYE") == 1  # the carrier's leg was hung up with the agent's
    assert ("agent", "answered", 200) in progress
    assert progress[-2:] == [("customer", "ringing", 180), ("customer", "answered", 200)]
    assert kinds[-1] in ("interaction_wrapped_up", "interaction_ended")


def test_a_phone_with_a_wrong_password_is_refused(tmp_path: Path) -> None:
    phone_wav = tmp_path / "phone.wav"
    write_wav(phone_wav, 8000, speech_like(2.0, seed=1))

    async def register() -> tuple[int, str]:
        async with (
            voice_center(tmp_path) as center,
            agent_phone(
                tmp_path / "phone", center.sip_port, phone_wav, password="not-the-password-1"
            ) as phone,
        ):
            voice = center.voice
            await until(
                lambda: "403" in phone.log() or "Forbidden" in phone.log(),
                what="the refusal",
            )
            bindings = len(voice.registrations.contacts(USERNAME, voice.endpoint.clock()))
            return bindings, phone.log()

    bindings, log = asyncio.run(register())
    assert bindings == 0
    assert "403 Forbidden" in log


def test_a_supervisor_listens_whispers_and_leaves_on_their_own_phone(tmp_path: Path) -> None:
    agent_wav, supervisor_wav = tmp_path / "agent.wav", tmp_path / "supervisor.wav"
    write_wav(agent_wav, 8000, speech_like(20.0, seed=3))
    write_wav(supervisor_wav, 8000, speech_like(20.0, seed=9))
    caller_voice = Codec.PCMU.encode(speech_like(1.5, seed=8))

    async def call() -> dict[str, object]:
        seen: dict[str, object] = {}
        async with (
            voice_center(tmp_path) as center,
            agent_phone(tmp_path / "agent", center.sip_port, agent_wav),
        ):
            add_phone_user(center, "bob", "s1", "phone-secret-of-robert")
            voice, rt = center.voice, center.app.runtime
            async with agent_phone(
                tmp_path / "bob",
                center.sip_port,
                supervisor_wav,
                username="bob",
                password="phone-secret-of-robert",
            ):
                now = voice.endpoint.clock
                await until(
                    lambda: (
                        voice.registrations.contacts(USERNAME, now())
                        and voice.registrations.contacts("bob", now())
                    ),
                    what="both phones' registrations",
                )
                agent_svc.do_login(rt, AgentId(AGENT))
                agent_svc.do_login(rt, AgentId("s1"))
                agent_svc.do_set_ready(rt, AgentId(AGENT))
                caller = await RawPeer.open()
                try:
                    sdp = _quiet_caller_sdp(caller.port)
                    async with sip_caller(
                        ("127.0.0.1", center.sip_port), sdp, user=QUEUE
                    ) as placed:
                        await until(lambda: len(voice.gateway.calls) == 1, what="the call")
                        (iid,) = voice.gateway.calls
                        vc = voice.gateway.calls[iid]
                        await until(lambda: _bridged(vc), what="the agent's answer")
                        await voice.gateway.monitor(iid, AgentId("s1"), "listen")
                        await until(
                            lambda: vc.monitor is not None and vc.monitor.dialog is not None,
                            what="the supervisor's answer",
                        )
                        watch = vc.monitor
                        assert watch is not None
                        await until(lambda: len(watch.conference.participants) == 3, 5, "mix")
                        seen["mixed"] = vc.caller_media.peer is None
                        seen["heard_by_nobody"] = watch.conference.audience(watch.media)
                        await caller.stream(
                            rtp_packets(frames_of(caller_voice)), placed.answer.port
                        )
                        await voice.gateway.monitor(iid, AgentId("s1"), "whisper")
                        agent_media = vc.leg.media if vc.leg else None
                        seen["whisper_to_agent"] = watch.conference.audience(
                            watch.media
                        ) == frozenset({agent_media})
                        await voice.gateway.stop_monitor(iid)
                        await until(lambda: _bridged(vc), what="the direct bridge again")
                        seen["supervisor_hung_up"] = watch.dialog is not None and (
                            watch.dialog.end_reason == "local-bye"
                        )
                finally:
                    caller.close()
        _, bob_heard = read_wav(sorted((tmp_path / "bob").glob("dump-*-dec.wav"))[-1])
        seen["supervisor_heard_audio"] = int(np.abs(bob_heard[:, 0]).max()) > 1000
        return seen

    seen = asyncio.run(call())
    assert seen == {
        "mixed": True,
        "heard_by_nobody": frozenset(),
        "whisper_to_agent": True,
        "supervisor_hung_up": True,
        "supervisor_heard_audio": True,
    }


def test_hold_pressed_on_the_agents_phone_is_the_same_hold(tmp_path: Path) -> None:
    """The agent's phone here is a SIP user agent of our own stack (registering with its
    password, answering, then sending re-INVITEs): hold from the phone holds the interaction,
    and the caller hears music until the phone resumes."""

    async def call() -> list[tuple[str, bool]]:
        seen: list[tuple[str, bool]] = []
        async with voice_center(tmp_path) as center:
            voice, rt = center.voice, center.app.runtime
            answered: asyncio.Queue[Dialog] = asyncio.Queue()
            async with (
                SipEndpoint("127.0.0.1", 0, transports=("udp",)) as phone,
                MediaEngine("127.0.0.1", (38000, 38099)) as engine,
            ):
                phone_media = await engine.open_session()

                async def on_invite(incoming: IncomingCall) -> None:
                    assert incoming.offer is not None
                    local = sdp.answer(incoming.offer, "127.0.0.1", phone_media.local_port)
                    await answered.put(await incoming.answer(local))

                phone.on_invite = on_invite
                registrar = f"sip:127.0.0.1:{center.sip_port}"
                response = await phone.register(
                    registrar,
                    f"<sip:{USERNAME}@127.0.0.1:{center.sip_port}>",
                    credentials=Credentials(USERNAME, SIP_PASSWORD),
                    next_hop=Target("udp", "127.0.0.1", center.sip_port),
                )
                assert response.status == 200, response
                agent_svc.do_login(rt, AgentId(AGENT))
                agent_svc.do_set_ready(rt, AgentId(AGENT))
                caller = await RawPeer.open()
                try:
                    sdp_text = _quiet_caller_sdp(caller.port)
                    async with sip_caller(("127.0.0.1", center.sip_port), sdp_text, user=QUEUE):
                        dialog = await asyncio.wait_for(answered.get(), 10)
                        (iid,) = voice.gateway.calls
                        vc = voice.gateway.calls[iid]
                        await until(lambda: _bridged(vc), what="the bridge")

                        def state() -> str:
                            return rt.center.interactions[iid].state.value

                        hold = sdp.offer("127.0.0.1", phone_media.local_port, direction="sendonly")
                        assert (await dialog.reinvite(hold)).status == 200
                        await until(lambda: state() == "on_hold", what="the hold")
                        seen.append((state(), vc.caller_media.playback is not None))
                        resume = sdp.offer("127.0.0.1", phone_media.local_port)
                        assert (await dialog.reinvite(resume)).status == 200
                        await until(lambda: state() == "connected", what="the resume")
                        seen.append((state(), _bridged(vc)))
                finally:
                    caller.close()
        return seen

    assert asyncio.run(call()) == [("on_hold", True), ("connected", True)]


def test_a_transfer_to_an_outside_number_puts_the_caller_through_the_trunk(
    tmp_path: Path,
) -> None:
    phone_wav = tmp_path / "phone.wav"
    write_wav(phone_wav, 8000, speech_like(20.0, seed=7))
    number = "+15550001111"

    async def call() -> tuple[SippResult, str | None, bool, dict[str, object]]:
        async with (
            sipp_uas("uas.xml", tmp_path, sipp_timeout=30) as carrier,
            voice_center(
                tmp_path, sip_trunk_host="127.0.0.1", sip_trunk_port=carrier.port
            ) as center,
            agent_phone(tmp_path / "phone", center.sip_port, phone_wav),
        ):
            voice, rt = center.voice, center.app.runtime
            await until(
                lambda: voice.registrations.contacts(USERNAME, voice.endpoint.clock()),
                what="the phone's registration",
            )
            agent_svc.do_login(rt, AgentId(AGENT))
            agent_svc.do_set_ready(rt, AgentId(AGENT))
            caller = await RawPeer.open()
            try:
                sdp_text = _quiet_caller_sdp(caller.port)
                async with sip_caller(("127.0.0.1", center.sip_port), sdp_text, user=QUEUE):
                    await until(lambda: len(voice.gateway.calls) == 1, what="the call")
                    (iid,) = voice.gateway.calls
                    vc = voice.gateway.calls[iid]
                    await until(lambda: _bridged(vc), what="the agent's answer")
                    agent_leg = vc.leg
                    svc.do_transfer(rt, iid, AgentId(AGENT), to_number=number)
                    await until(
                        lambda: _bridged(vc) and vc.leg is not agent_leg,
                        what="the outside party's answer",
                    )
                    through = _bridged(vc)
                # the caller hung up: the outside leg goes too
                result = await carrier.wait()
            finally:
                caller.close()
            stored = rt.store.get_interaction(iid)
            assert stored is not None
            transferred = next(
                e.payload
                for e in rt.store.events(interaction_id=iid)
                if e.kind == "interaction_transferred"
            )
            reason = stored.end_reason.value if stored.end_reason else None
        return result, reason, through, dict(transferred)

    result, reason, through, transferred = asyncio.run(call())
    assert result.ok, result.describe()
    assert result.received(f"INVITE sip:{number}@127.0.0.1") == 1
    assert result.received("BYE") == 1
    assert through
    assert reason == "transferred"
    assert transferred["to_number"] == number and transferred["from_agent_id"] == AGENT


async def _consulting_call(
    tmp_path: Path, steps: Callable[[VoiceGateway, InteractionId, VoiceCall], Awaitable[None]]
) -> tuple[SippResult, list[str], dict[str, object]]:
    """A caller bridged to the agent's baresip phone, with sipp as the trunk's far end; runs
    `steps`, then the caller hangs up."""
    phone_wav = tmp_path / "phone.wav"
    write_wav(phone_wav, 8000, speech_like(20.0, seed=7))
    async with (
        sipp_uas("uas.xml", tmp_path, sipp_timeout=30) as carrier,
        voice_center(tmp_path, sip_trunk_host="127.0.0.1", sip_trunk_port=carrier.port) as center,
        agent_phone(tmp_path / "phone", center.sip_port, phone_wav),
    ):
        voice, rt = center.voice, center.app.runtime
        await until(
            lambda: voice.registrations.contacts(USERNAME, voice.endpoint.clock()),
            what="the phone's registration",
        )
        agent_svc.do_login(rt, AgentId(AGENT))
        agent_svc.do_set_ready(rt, AgentId(AGENT))
        caller = await RawPeer.open()
        try:
            sdp_text = _quiet_caller_sdp(caller.port)
            async with sip_caller(("127.0.0.1", center.sip_port), sdp_text, user=QUEUE):
                await until(lambda: len(voice.gateway.calls) == 1, what="the call")
                (iid,) = voice.gateway.calls
                vc = voice.gateway.calls[iid]
                await until(lambda: _bridged(vc), what="the agent's answer")
                await steps(voice.gateway, iid, vc)
            result = await carrier.wait()
        finally:
            caller.close()
        stored = rt.store.get_interaction(iid)
        assert stored is not None
        kinds = [e.kind for e in rt.store.events(interaction_id=iid)]
        end: dict[str, object] = {
            "end_reason": stored.end_reason.value if stored.end_reason else None
        }
    return result, kinds, end


def test_consult_a_third_party_then_all_three_then_back_to_the_caller(tmp_path: Path) -> None:
    number = "+15557770000"
    seen: dict[str, object] = {}

    async def steps(gateway: VoiceGateway, iid: InteractionId, vc: VoiceCall) -> None:
        await gateway.consult(iid, AgentId(AGENT), number)
        consult = vc.consult
        assert consult is not None
        await until(
            lambda: vc.leg is not None and vc.leg.media.peer is consult.leg.media,
            what="the agent talking to the consulted party",
        )
        seen["caller_on_hold_music"] = vc.caller_media.playback is not None
        await gateway.three_way(iid, AgentId(AGENT))
        await until(lambda: vc.mix is not None and len(vc.mix.participants) == 3, what="mix")
        seen["three_way"] = True
        await gateway.cancel_consult(iid, AgentId(AGENT))
        await until(lambda: _bridged(vc), what="back to the caller")
        seen["back_to_two"] = vc.mix is None and vc.consult is None

    result, kinds, end = asyncio.run(_consulting_call(tmp_path, steps))
    assert result.ok, result.describe()
    assert result.received(f"INVITE sip:{number}@127.0.0.1") == 1
    assert result.received("BYE") == 1  # the consulted party was hung up on cancel
    assert seen == {"caller_on_hold_music": True, "three_way": True, "back_to_two": True}
    assert "interaction_held" in kinds and "interaction_resumed" in kinds
    assert end == {"end_reason": "completed"}  # the caller and the agent finished the call


def test_a_completed_consultation_hands_the_caller_over(tmp_path: Path) -> None:
    number = "+15557770001"
    seen: dict[str, object] = {}

    async def steps(gateway: VoiceGateway, iid: InteractionId, vc: VoiceCall) -> None:
        agent_leg = vc.leg
        await gateway.consult(iid, AgentId(AGENT), number)
        consult = vc.consult
        assert consult is not None
        await until(lambda: consult.leg.dialog is not None, what="the consulted party")
        await gateway.complete_consult(iid, AgentId(AGENT))
        await until(lambda: vc.leg is consult.leg and _bridged(vc), what="the hand-over")
        seen["caller_with_third_party"] = True
        seen["agent_leg_hung_up"] = (
            agent_leg is not None
            and agent_leg.dialog is not None
            and agent_leg.dialog.end_reason is not None
        )

    result, kinds, end = asyncio.run(_consulting_call(tmp_path, steps))
    assert result.ok, result.describe()
    assert result.received(f"INVITE sip:{number}@127.0.0.1") == 1  # dialled once, not again
    assert seen == {"caller_with_third_party": True, "agent_leg_hung_up": True}
    assert end == {"end_reason": "transferred"}
    assert kinds.index("interaction_held") < kinds.index("interaction_transferred")
