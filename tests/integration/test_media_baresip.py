"""The media engine against baresip, a real softphone, running headless on loopback.

baresip answers by itself, sends a WAV file and dumps the audio it decoded (its sndfile
module), so both directions can be compared with what was sent, sample by sample.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from media_support import (
    RawPeers,
    align,
    baresip_events,
    baresip_phone,
    build_sdp,
    code_distance,
    find_run,
    frames_of,
    rtp_packets,
    sip_caller,
    speech_like,
)

from callbridge.adapters.telephony.media.audio import Clip
from callbridge.adapters.telephony.media.engine import MediaEngine
from callbridge.adapters.telephony.media.g711 import ALAW_DECODE, ULAW_DECODE, Codec
from callbridge.adapters.telephony.media.rtp import RtpPacket, is_rtcp, parse_rtp
from callbridge.adapters.telephony.media.wav import read_wav, write_wav

pytestmark = pytest.mark.skipif(
    shutil.which("baresip") is None and os.environ.get("CI") != "true",
    reason="baresip is not installed (make setup installs it; under CI=true this fails instead)",
)

PORTS = (36000, 36999)


@dataclass(frozen=True)
class PhoneCall:
    phone_sent: np.ndarray  # what baresip encoded (its own dump of its source)
    phone_heard: np.ndarray  # what baresip decoded (its dump)
    log: str
    we_heard: np.ndarray  # our recording's left channel
    prompt_codes: bytes  # what our side sent, as mu-law
    packets_to_caller: list[RtpPacket]
    a_ssrc: int


def phone_source(work: Path) -> Path:
    # baresip hangs up at the end of its file: make it longer than any call here.
    path = work / "phone.wav"
    write_wav(path, 8000, speech_like(8.0, seed=3))
    return path


def dumps(home: Path) -> tuple[np.ndarray, np.ndarray]:
    _, heard = read_wav(sorted(home.glob("dump-*-dec.wav"))[-1])
    _, sent = read_wav(sorted(home.glob("dump-*-enc.wav"))[-1])
    return heard[:, 0], sent[:, 0]


@pytest.fixture(scope="module")
def direct_call(tmp_path_factory: pytest.TempPathFactory) -> PhoneCall:
    """We call baresip (PCMU), play a prompt, press 1 5 9 #, and record the call."""
    work = tmp_path_factory.mktemp("baresip-direct")
    prompt = Clip(speech_like(1.0, seed=12))

    async def call() -> PhoneCall:
        async with (
            MediaEngine("127.0.0.1", PORTS) as engine,
            baresip_phone(work / "home", phone_source(work)) as phone,
        ):
            session = await engine.open_session()
            sdp = build_sdp("127.0.0.1", session.local_port, 0, 101)
            async with sip_caller(("127.0.0.1", phone.sip_port), sdp) as placed:
                answer = placed.answer
                session.set_remote(answer.host, answer.port, 0, answer.telephone_event_pt)
                recording = session.record(work / "call.wav")
                assert await session.play(prompt).wait()
                await session.send_dtmf("159#")
                # a little audio after the last digit: baresip reports an end on the next packet
                await session.play(Clip.silence(0.3)).wait()
            await asyncio.sleep(0.2)
            info = recording.stop()
        heard, sent = dumps(phone.home)
        _, ours = read_wav(info.path)
        return PhoneCall(
            phone_sent=sent,
            phone_heard=heard,
            log=phone.log(),
            we_heard=ours[:, 0],
            prompt_codes=prompt.encoded(Codec.PCMU),
            packets_to_caller=[],
            a_ssrc=session.ssrc,
        )

    return asyncio.run(call())


def as_baresip_decodes(codes: bytes) -> np.ndarray:
    """mu-law as baresip's decoder (librem) expands it: ITU values, except that the two zero
    codewords come out as +2 (0xFF) and -2 (0x7F), which keeps every codeword distinct."""
    table = ULAW_DECODE.copy()
    table[0xFF], table[0x7F] = 2, -2
    return table[np.frombuffer(codes, np.uint8)]


def test_baresip_hears_our_prompt_exactly(direct_call: PhoneCall) -> None:
    # baresip's expansion is one-to-one, so finding every sample means every byte was ours.
    assert find_run(direct_call.phone_heard, as_baresip_decodes(direct_call.prompt_codes)) >= 0


def test_baresip_decodes_our_digits(direct_call: PhoneCall) -> None:
    starts, ends = baresip_events(direct_call.log)
    assert starts == "159#", direct_call.log[-3000:]
    assert ends == "159#"


def test_we_hear_baresip_within_one_code(direct_call: PhoneCall) -> None:
    heard = direct_call.we_heard[np.flatnonzero(direct_call.we_heard)[0] :][:8000]
    offset = align(direct_call.phone_sent, heard)
    sent = direct_call.phone_sent[offset : offset + len(heard)]
    assert len(heard) == 8000 and len(sent) == len(heard)
    assert code_distance(ULAW_DECODE, heard, sent) <= 1


@pytest.fixture(scope="module")
def transcoded_relay(tmp_path_factory: pytest.TempPathFactory) -> PhoneCall:
    """A PCMU caller (a bare socket) bridged to baresip speaking only PCMA."""
    work = tmp_path_factory.mktemp("baresip-relay")
    caller_voice = Codec.PCMU.encode(speech_like(1.5, seed=9))

    async def call() -> PhoneCall:
        async with (
            MediaEngine("127.0.0.1", PORTS) as engine,
            RawPeers() as peers,
            baresip_phone(work / "home", phone_source(work), codec="PCMA") as phone,
        ):
            caller = await peers.open()
            a, b = await engine.open_session(), await engine.open_session()
            a.set_remote("127.0.0.1", caller.port, 0)
            a.connect(b)
            sdp = build_sdp("127.0.0.1", b.local_port, 8, 101)
            async with sip_caller(("127.0.0.1", phone.sip_port), sdp) as placed:
                answer = placed.answer
                assert answer.payload_types[0] == 8
                b.set_remote(answer.host, answer.port, 8, answer.telephone_event_pt)
                await caller.stream(rtp_packets(frames_of(caller_voice)), a.local_port)
                await asyncio.sleep(0.3)
            await asyncio.sleep(0.2)
        heard, sent = dumps(phone.home)
        packets = [parse_rtp(d) for d, _ in caller.received if not is_rtcp(d)]
        return PhoneCall(
            phone_sent=sent,
            phone_heard=heard,
            log=phone.log(),
            we_heard=np.zeros(0, np.int16),
            prompt_codes=caller_voice,
            packets_to_caller=packets,
            a_ssrc=a.ssrc,
        )

    return asyncio.run(call())


def test_pcmu_caller_reaches_the_pcma_phone_within_one_code(transcoded_relay: PhoneCall) -> None:
    call = transcoded_relay
    table = Codec.PCMU.translation_to(Codec.PCMA)
    assert table is not None
    expected = Codec.PCMA.decode(call.prompt_codes.translate(table))
    # baresip's dump starts with our first packet; it ends at hang-up, a frame or a few early.
    heard = call.phone_heard[: len(expected)]
    assert len(heard) >= 8000
    assert np.array_equal(heard, expected[: len(heard)])  # exactly our transcoded bytes
    sent = Codec.PCMU.decode(call.prompt_codes)[: len(heard)]
    assert code_distance(ALAW_DECODE, heard, sent) <= 1


def test_pcma_phone_reaches_the_pcmu_caller_within_one_code(transcoded_relay: PhoneCall) -> None:
    call = transcoded_relay
    packets = call.packets_to_caller
    assert {p.payload_type for p in packets} == {0} and {p.ssrc for p in packets} == {call.a_ssrc}
    heard = Codec.PCMU.decode(b"".join(p.payload for p in packets))
    assert len(heard) >= 8000
    offset = align(call.phone_sent, heard[:4000])
    sent = call.phone_sent[offset : offset + len(heard)]
    assert code_distance(ULAW_DECODE, heard[: len(sent)], sent) <= 1
