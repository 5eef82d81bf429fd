"""Messages and the queue's own actions on a live call: a flow's voicemail node, a queue's
voicemail overflow after its max wait, and its no-agent action. Real SIP and RTP on loopback;
the caller is our raw RTP peer, which streams speech into the message."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from media_support import RawPeer, build_sdp, frames_of, rtp_packets, sip_caller, speech_like
from numpy.typing import NDArray
from sipp_support import SippResult, require_sipp, sipp_uas
from voice_support import QUEUE, Center, until, voice_center

from callbridge.adapters.telephony.media.dtmf import EventPayload, event_for_digit
from callbridge.adapters.telephony.media.g711 import ULAW_ENCODE
from callbridge.adapters.telephony.media.rtp import RtpPacket
from callbridge.adapters.telephony.media.wav import read_wav
from callbridge.domain.channels import Channel
from callbridge.domain.ids import InteractionId, QueueId, SkillId
from callbridge.domain.interactions import Interaction
from callbridge.domain.queues import OverflowAction, OverflowKind, Queue, SkillRequirement
from callbridge.services import queues as queue_svc

FLOW = """\
flow: messages
numbers: ["vm"]
nodes:
  leave:
    voicemail: support
    prompt: Leave a message.
    max_seconds: 10
"""


@dataclass
class Message:
    call: Interaction
    message: Interaction
    kinds: list[str]
    left: NDArray[np.int16]


def _voice() -> bytes:
    samples = speech_like(2.0, seed=11)
    return bytes(ULAW_ENCODE[samples.astype(np.int32) & 0xFFFF].tobytes())


def _messages(center: Center) -> Iterator[Interaction]:
    return (
        ix
        for ix in center.app.runtime.center.interactions.values()
        if ix.channel is Channel.VOICEMAIL
    )


async def _leave_message(center: Center, dialled: str) -> Message:
    """Call `dialled`, wait for the beep (the recording starting), speak, hang up."""
    voice, rt = center.voice, center.app.runtime
    caller = await RawPeer.open()
    try:
        async with sip_caller(
            ("127.0.0.1", center.sip_port),
            build_sdp("127.0.0.1", caller.port, 0, 101),
            user=dialled,
        ) as placed:
            await until(lambda: len(voice.gateway.calls) == 1, what="the call")
            (iid,) = voice.gateway.calls
            call = voice.gateway.calls[iid]
            await until(lambda: call.caller_media.recording is not None, within_s=20, what="beep")
            await caller.stream(rtp_packets(frames_of(_voice())), placed.answer.port)
        await until(lambda: any(_messages(center)), within_s=10, what="the message")
    finally:
        caller.close()
    (message,) = _messages(center)
    stored = rt.store.get_interaction(InteractionId(iid))
    assert stored is not None
    _, recording = read_wav(Path(message.attached["recording"]))
    kinds = [e.kind for e in rt.store.events(interaction_id=InteractionId(iid))]
    return Message(stored, message, kinds, recording[:, 0])


def test_a_flow_takes_a_message_that_becomes_an_interaction_of_its_own(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "messages.yaml").write_text(FLOW)

    async def run() -> Message:
        async with voice_center(tmp_path, ivr_flows_dir=flows) as center:
            return await _leave_message(center, "vm")

    left = asyncio.run(run())
    assert left.call.end_reason is not None and left.call.end_reason.value == "voicemail"
    assert left.kinds[:2] == ["interaction_created", "ivr_entered"]
    assert "ivr_finished" in left.kinds
    message = left.message
    assert message.queue_id == QUEUE and message.state.value == "queued"
    assert message.attached["voicemail_of"] == left.call.id
    assert float(message.attached["duration_s"]) >= 1.5
    assert np.sqrt(np.mean(left.left.astype(np.float64) ** 2)) > 300  # the caller's voice


def test_a_queue_that_waited_too_long_takes_a_message(tmp_path: Path) -> None:
    async def run() -> Message:
        async with voice_center(tmp_path) as center:
            queue_svc.do_save_queue(
                center.app.runtime,
                Queue(
                    QueueId(QUEUE),
                    "Support",
                    (SkillRequirement(SkillId("support"), 1),),
                    max_wait_s=1.0,
                    overflow=OverflowAction(OverflowKind.VOICEMAIL),
                ),
            )
            return await _leave_message(center, QUEUE)

    left = asyncio.run(run())
    assert left.call.end_reason is not None and left.call.end_reason.value == "voicemail"
    assert "interaction_overflowed" in left.kinds
    assert left.message.attached["voicemail_of"] == left.call.id
    assert left.message.queue_id == QUEUE


def test_a_queue_nobody_is_logged_in_to_says_so_and_hangs_up(tmp_path: Path) -> None:
    async def run() -> tuple[str | None, int]:
        async with voice_center(tmp_path) as center:
            rt, voice = center.app.runtime, center.voice
            queue_svc.do_save_queue(
                rt,
                Queue(
                    QueueId(QUEUE),
                    "Support",
                    no_agent=OverflowAction(OverflowKind.DISCONNECT, message="We are closed."),
                ),
            )
            caller = await RawPeer.open()
            try:
                sdp = build_sdp("127.0.0.1", caller.port, 0, 101)
                async with sip_caller(("127.0.0.1", center.sip_port), sdp, user=QUEUE):
                    await until(lambda: any(voice.gateway.calls), what="the call")
                    (iid,) = voice.gateway.calls
                    await until(lambda: not voice.gateway.calls, within_s=15, what="hang-up")
                    heard = len(caller.received)
            finally:
                caller.close()
            stored = rt.store.get_interaction(InteractionId(iid))
            assert stored is not None and stored.end_reason is not None
            return stored.end_reason.value, heard

    reason, heard = asyncio.run(run())
    assert reason == "disconnected"
    assert heard > 25  # the message played (half a second of RTP at least) before the BYE


def test_a_flow_puts_the_caller_through_to_an_outside_number(tmp_path: Path) -> None:
    require_sipp()
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "out.yaml").write_text(
        'flow: out\nnumbers: ["out"]\nnodes:\n  away:\n    transfer: "+15557770000"\n'
    )

    async def run() -> tuple[SippResult, str | None, list[str]]:
        async with (
            sipp_uas("uas.xml", tmp_path, sipp_timeout=30) as carrier,
            voice_center(
                tmp_path,
                ivr_flows_dir=flows,
                sip_trunk_host="127.0.0.1",
                sip_trunk_port=carrier.port,
            ) as center,
        ):
            voice, rt = center.voice, center.app.runtime
            caller = await RawPeer.open()
            try:
                sdp = build_sdp("127.0.0.1", caller.port, 0, 101)
                async with sip_caller(("127.0.0.1", center.sip_port), sdp, user="out"):
                    await until(lambda: any(voice.gateway.calls), what="the call")
                    (iid,) = voice.gateway.calls
                    call = voice.gateway.calls[iid]
                    await until(
                        lambda: call.leg is not None and call.caller_media.peer is call.leg.media,
                        what="the caller put through",
                    )
                result = await carrier.wait()
            finally:
                caller.close()
            stored = rt.store.get_interaction(InteractionId(iid))
            assert stored is not None
            reason = stored.end_reason.value if stored.end_reason else None
            kinds = [e.kind for e in rt.store.events(interaction_id=InteractionId(iid))]
            return result, reason, kinds

    result, reason, kinds = asyncio.run(run())
    assert result.ok, result.describe()
    assert result.received("INVITE sip:+15557770000@127.0.0.1") == 1
    assert result.received("BYE") == 1  # the caller hung up: the outside leg goes too
    assert reason == "transferred"
    assert kinds == ["interaction_created", "ivr_entered", "ivr_finished", "interaction_ended"]


def _keys(keys: str, ssrc: int = 0x4B455953, seq: int = 5000, ts: int = 80_000) -> list[bytes]:
    """RFC 4733 presses (payload type 101): per key three updates and three end packets, each
    key its own timestamp, as a phone sends them."""
    packets: list[bytes] = []
    for n, key in enumerate(keys):
        start = ts + n * 1600
        for i in range(6):
            event = EventPayload(event_for_digit(key), i >= 3, 10, 160 * (i + 1))
            packets.append(
                RtpPacket(
                    101, (seq + len(packets)) & 0xFFFF, start, ssrc, event.to_bytes(), i == 0
                ).to_bytes()
            )
    return packets


def test_a_caller_without_a_number_keys_one_in_for_the_callback(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "cb.yaml").write_text(
        'flow: cb\nnumbers: ["cb"]\nnodes:\n'
        '  line:\n    queue: support\n    wait: {callback_after: 0, callback_key: "*"}\n'
    )

    async def run() -> tuple[str | None, str]:
        async with voice_center(
            tmp_path, ivr_flows_dir=flows, sip_trunk_host="127.0.0.1", sip_trunk_port=5099
        ) as center:
            voice, rt = center.voice, center.app.runtime
            caller = await RawPeer.open()
            try:
                sdp = build_sdp("127.0.0.1", caller.port, 0, 101)
                async with sip_caller(("127.0.0.1", center.sip_port), sdp, user="cb") as placed:
                    port = placed.answer.port
                    await until(lambda: any(voice.gateway.calls), what="the call")
                    (iid,) = voice.gateway.calls
                    await until(
                        lambda: rt.center.interactions[iid].state.value == "queued",
                        what="in line",
                    )
                    # the offer, then the question: "enter the number, then hash"
                    await caller.stream(_keys("*"), port)
                    await asyncio.sleep(8.0)
                    await caller.stream(_keys("5551234#", seq=6000, ts=200_000), port)
                    await asyncio.sleep(5.0)  # "we will call you back at 5 5 5 ... press 1"
                    await caller.stream(_keys("1", seq=7000, ts=400_000), port)
                    await until(lambda: not voice.gateway.calls, within_s=20, what="hang-up")
            finally:
                caller.close()
            ix = rt.center.interactions[iid]
            return ix.callback_number, ix.state.value

    number, state = asyncio.run(run())
    assert (number, state) == ("5551234", "queued")
