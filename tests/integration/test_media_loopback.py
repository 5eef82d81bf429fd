"""The media engine over real UDP on loopback, against bare sockets and against itself."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import numpy as np
import pytest
from media_support import (
    RawPeer,
    RawPeers,
    code_distance,
    find_run,
    frames_of,
    rtp_packets,
    speech_like,
)

from callbridge.adapters.telephony.media.audio import Clip
from callbridge.adapters.telephony.media.conference import NOBODY
from callbridge.adapters.telephony.media.dtmf import DtmfDetector, DtmfDigit
from callbridge.adapters.telephony.media.engine import MediaEngine, MediaPortsExhausted
from callbridge.adapters.telephony.media.g711 import ALAW_DECODE, ULAW_DECODE, Codec
from callbridge.adapters.telephony.media.rtcp import ReceiverReport, SenderReport, parse_compound
from callbridge.adapters.telephony.media.rtp import RtpPacket, is_rtcp, parse_rtp
from callbridge.adapters.telephony.media.wav import read_wav
from callbridge.domain.errors import InvalidInput, InvalidState

PORTS = (33000, 33999)


def run(
    scenario: Callable[[MediaEngine, RawPeers], Awaitable[None]], rtcp_interval_s: float = 5.0
) -> None:
    async def main() -> None:
        async with (
            MediaEngine("127.0.0.1", PORTS, rtcp_interval_s=rtcp_interval_s) as engine,
            RawPeers() as peers,
        ):
            await scenario(engine, peers)

    asyncio.run(main())


def rtp_from(peer: RawPeer) -> list[RtpPacket]:
    return [parse_rtp(data) for data, _ in peer.received if not is_rtcp(data)]


def continuous(packets: list[RtpPacket], ssrc: int) -> None:
    """One SSRC, consecutive sequence numbers, 20 ms timestamp steps, marker on the first."""
    assert {p.ssrc for p in packets} == {ssrc}
    assert all((b.sequence - a.sequence) & 0xFFFF == 1 for a, b in itertools.pairwise(packets))
    assert all(
        (b.timestamp - a.timestamp) & 0xFFFFFFFF == 160 for a, b in itertools.pairwise(packets)
    )
    assert packets[0].marker


def test_digits_sent_by_one_session_are_received_once_each_by_another() -> None:
    async def scenario(engine: MediaEngine, peers: RawPeers) -> None:
        a, b = await engine.open_session(), await engine.open_session()
        a.set_remote("127.0.0.1", b.local_port)
        b.set_remote("127.0.0.1", a.local_port)
        digits: list[DtmfDigit] = []
        b.on_dtmf(digits.append)
        await a.send_dtmf("0123456789*#", duration_ms=60, gap_ms=40)
        await asyncio.sleep(0.1)
        assert "".join(d.digit for d in digits) == "0123456789*#"
        assert len({d.timestamp for d in digits}) == 12  # each press has its own timestamp
        assert b.stats().dtmf_received == 12

    run(scenario)


def test_relay_is_byte_identical_and_one_continuous_stream_each_way() -> None:
    async def scenario(engine: MediaEngine, peers: RawPeers) -> None:
        caller, agent = await peers.open(), await peers.open()
        a, b = await engine.open_session(), await engine.open_session()
        a.set_remote("127.0.0.1", caller.port)
        b.set_remote("127.0.0.1", agent.port)
        a.connect(b)
        up = frames_of(Codec.PCMU.encode(speech_like(1.0, seed=1)))
        down = frames_of(Codec.PCMU.encode(speech_like(1.0, seed=2)))
        # The caller changes SSRC half way (as a carrier does on a re-INVITE); the agent
        # must still see one stream.
        first = rtp_packets(up[:25], ssrc=1, seq=65530, ts=4_294_967_000)
        second = rtp_packets(up[25:], ssrc=2, seq=7, ts=99)
        await asyncio.gather(
            caller.stream(first + second, a.local_port),
            agent.stream(rtp_packets(down, ssrc=3), b.local_port),
        )
        await asyncio.sleep(0.1)
        to_agent, to_caller = rtp_from(agent), rtp_from(caller)
        assert b"".join(p.payload for p in to_agent) == b"".join(up)
        assert b"".join(p.payload for p in to_caller) == b"".join(down)
        continuous(to_caller, a.ssrc)
        assert {p.ssrc for p in to_agent} == {b.ssrc}
        assert all((y.sequence - x.sequence) & 0xFFFF == 1 for x, y in itertools.pairwise(to_agent))
        assert to_agent[25].marker  # the new source starts a new talkspurt
        assert a.stats().packets_received == 50 and b.stats().packets_relayed == 50
        silent_for = a.stats().silent_for_s
        assert silent_for is not None and 0.1 <= silent_for < 1.0  # for an RTP timeout

    run(scenario)


def test_pcmu_to_pcma_relay_is_within_one_code() -> None:
    async def scenario(engine: MediaEngine, peers: RawPeers) -> None:
        caller, agent = await peers.open(), await peers.open()
        a, b = await engine.open_session(), await engine.open_session()
        a.set_remote("127.0.0.1", caller.port, payload_type=0)
        b.set_remote("127.0.0.1", agent.port, payload_type=8)
        a.connect(b)
        speech = speech_like(0.6, seed=4)
        await caller.stream(rtp_packets(frames_of(Codec.PCMU.encode(speech))), a.local_port)
        await asyncio.sleep(0.1)
        packets = rtp_from(agent)
        assert {p.payload_type for p in packets} == {8}
        heard = Codec.PCMA.decode(b"".join(p.payload for p in packets))
        sent = Codec.PCMU.decode(Codec.PCMU.encode(speech))
        assert code_distance(ALAW_DECODE, heard, sent) <= 1
        assert code_distance(ULAW_DECODE, heard, sent) <= 1

    run(scenario)


def test_a_prompt_interrupts_the_relay_and_the_stream_stays_continuous() -> None:
    async def scenario(engine: MediaEngine, peers: RawPeers) -> None:
        caller, agent = await peers.open(), await peers.open()
        a, b = await engine.open_session(), await engine.open_session()
        a.set_remote("127.0.0.1", caller.port)
        b.set_remote("127.0.0.1", agent.port)
        a.connect(b)
        voice = rtp_packets(frames_of(Codec.PCMU.encode(speech_like(1.6, seed=5))))
        streaming = asyncio.create_task(agent.stream(voice, b.local_port))
        await asyncio.sleep(0.4)
        prompt = Clip.tone((1000.0,), 0.4)
        assert await a.play(prompt).wait()
        await streaming
        await asyncio.sleep(0.1)
        packets = rtp_from(caller)
        assert {p.ssrc for p in packets} == {a.ssrc}
        steps = {(y.sequence - x.sequence) & 0xFFFF for x, y in itertools.pairwise(packets)}
        assert steps == {1}
        prompt_bytes = prompt.encoded(Codec.PCMU)
        payload = b"".join(p.payload for p in packets)
        assert prompt_bytes in payload  # the whole prompt, uninterrupted
        assert voice[0][12:] + voice[1][12:] in payload  # relayed before the prompt
        assert voice[-1][12:] in payload  # and after it
        stamps = [p.timestamp for p in packets]
        assert all(0 < (y - x) & 0xFFFFFFFF < 8000 for x, y in itertools.pairwise(stamps))

    run(scenario)


def test_whisper_listen_and_barge_over_the_wire() -> None:
    async def scenario(engine: MediaEngine, peers: RawPeers) -> None:
        people = [await peers.open() for _ in range(3)]
        sessions = [await engine.open_session() for _ in range(3)]
        for peer, session in zip(people, sessions, strict=True):
            session.set_remote("127.0.0.1", peer.port)
        customer, agent, supervisor = sessions
        conference = engine.conference()
        conference.add(customer)
        conference.add(agent)
        conference.add(supervisor, heard_by=NOBODY)
        levels = (1000, 2000, 4000)  # each party talks at its own constant level

        sent = 0

        async def talk(seconds: float) -> None:
            nonlocal sent
            count = int(seconds * 50)
            streams = []
            for peer, session, level in zip(people, sessions, levels, strict=True):
                frame = Codec.PCMU.encode(np.full(160, level, np.int16))
                packets = rtp_packets([frame] * count, ssrc=level, seq=sent, ts=160 * sent)
                streams.append(peer.stream(packets, session.local_port))
            await asyncio.gather(*streams)
            sent += count

        async def heard() -> list[set[int]]:
            for peer in people:
                peer.received.clear()
            await talk(0.5)
            result = []
            for peer in people:
                # the conference keeps sending after the talk: skip the tail, where the
                # jitter buffers ran dry
                frames = [Codec.PCMU.decode(p.payload) for p in rtp_from(peer)[-20:-8]]
                result.append({int(f[0]) for f in frames})
            return result

        def g711(*voices: int) -> set[int]:
            """What a party hears of these voices: each decoded, summed, encoded, decoded."""

            def through(level: int) -> int:
                return int(Codec.PCMU.decode(Codec.PCMU.encode(np.array([level], np.int16)))[0])

            return {through(sum(through(v) for v in voices))}

        await talk(0.2)
        c, a, s = levels
        assert await heard() == [g711(a), g711(c), g711(c, a)]  # listen: heard by none
        conference.whisper(supervisor, to=agent)
        assert await heard() == [g711(a), g711(c, s), g711(c, a)]  # only the agent hears it
        conference.barge(supervisor)
        assert await heard() == [g711(a, s), g711(c, s), g711(c, a)]  # all hear all
        conference.close()

    run(scenario)


def test_recording_a_bridged_call_has_one_party_per_channel_and_pauses(tmp_path: Path) -> None:
    async def scenario(engine: MediaEngine, peers: RawPeers) -> None:
        caller, agent = await peers.open(), await peers.open()
        a, b = await engine.open_session(), await engine.open_session()
        a.set_remote("127.0.0.1", caller.port)
        b.set_remote("127.0.0.1", agent.port)
        a.connect(b)
        recording = a.record(tmp_path / "call.wav")
        caller_voice = Codec.PCMU.encode(speech_like(2.0, seed=6))
        agent_voice = Codec.PCMU.encode(speech_like(2.0, seed=7))
        streams = asyncio.gather(
            caller.stream(rtp_packets(frames_of(caller_voice)), a.local_port),
            agent.stream(rtp_packets(frames_of(agent_voice)), b.local_port),
        )
        await asyncio.sleep(1.0)
        a.pause_recording()  # the caller reads out a card number
        await asyncio.sleep(0.4)
        a.resume_recording()
        await streams
        await asyncio.sleep(0.2)
        info = a.stop_recording()
        assert info is not None and info.path == recording.path
        assert 2.0 <= info.duration_s <= 3.0
        assert 0.36 <= info.paused_s <= 0.5
        rate, samples = read_wav(info.path)
        assert rate == 8000 and samples.shape == (round(info.duration_s * 8000), 2)
        left, right = samples[:, 0], samples[:, 1]
        caller_pcm, agent_pcm = Codec.PCMU.decode(caller_voice), Codec.PCMU.decode(agent_voice)
        # The first second of each voice is in its own channel, exactly, at the same offset.
        start = find_run(left, caller_pcm[:4000])
        assert start >= 0 and find_run(right, agent_pcm[:4000]) == start
        assert find_run(left, agent_pcm[:800]) == -1  # no crosstalk
        silence = np.flatnonzero(~samples.any(axis=1))
        assert len(silence) >= 0.36 * 8000  # the pause, in both channels
        # after the pause, each voice carries on in its channel at the time it was spoken
        tail = caller_pcm[-2000:]
        assert find_run(left, tail) == start + len(caller_pcm) - 2000
        assert find_run(right, agent_pcm[-2000:]) == start + len(agent_pcm) - 2000

    run(scenario)


def test_rtcp_receiver_report_describes_what_arrived() -> None:
    async def scenario(engine: MediaEngine, peers: RawPeers) -> None:
        sender = await peers.open()
        session = await engine.open_session()
        session.set_remote("127.0.0.1", sender.port, rtcp_port=sender.port, rtcp_mux=True)
        packets = rtp_packets([b"\xff" * 160] * 100, ssrc=0xABCD, seq=500)
        kept = [p for i, p in enumerate(packets) if i % 10 != 3]  # 10 % lost
        await sender.stream(kept, session.local_port)
        await asyncio.sleep(0.05)
        session.send_rtcp()
        await asyncio.sleep(0.05)
        reports = [parse_compound(d) for d, _ in sender.received if is_rtcp(d)]
        assert reports, "no RTCP came back"
        last = reports[-1][0]
        assert isinstance(last, ReceiverReport | SenderReport)
        block = last.reports[0]
        assert block.ssrc == 0xABCD
        assert block.cumulative_lost == 10
        assert block.highest_sequence == 599
        assert block.fraction_lost == (10 << 8) // 100
        stats = session.stats()
        assert stats.packets_lost == 10 and stats.rtcp_sent >= 1

    run(scenario, rtcp_interval_s=60.0)  # only the report sent by hand


def test_two_sessions_exchange_sender_reports_with_round_trip_time() -> None:
    async def scenario(engine: MediaEngine, peers: RawPeers) -> None:
        a, b = await engine.open_session(), await engine.open_session()
        a.set_remote("127.0.0.1", b.local_port)
        b.set_remote("127.0.0.1", a.local_port)
        a.play(Clip.tone((440.0,), 10.0))
        b.play(Clip.tone((880.0,), 10.0))
        await asyncio.sleep(1.6)
        for session in (a, b):
            stats = session.stats()
            assert stats.rtcp_sent >= 2 and stats.rtcp_received >= 2
            report = stats.remote_report
            assert report is not None
            assert report.fraction_lost == 0.0 and report.cumulative_lost == 0
            assert report.round_trip_ms is not None and 0.0 <= report.round_trip_ms < 50.0
        a.close()
        await asyncio.sleep(0.05)
        assert b.stats().remote_bye

    run(scenario, rtcp_interval_s=0.5)


def test_symmetric_rtp_latches_onto_where_the_remote_sends_from() -> None:
    async def scenario(engine: MediaEngine, peers: RawPeers) -> None:
        phone = await peers.open()
        session = await engine.open_session()
        session.set_remote("127.0.0.1", 9)  # what the SDP said (behind a NAT, it is wrong)
        phone.send(rtp_packets([b"\xff" * 160])[0], session.local_port)
        await asyncio.sleep(0.05)
        assert session.remote == ("127.0.0.1", phone.port)
        await session.play(Clip.silence(0.1)).wait()
        await asyncio.sleep(0.05)
        assert len(rtp_from(phone)) == 5
        with pytest.raises(InvalidInput):
            session.set_remote("127.0.0.1", phone.port, payload_type=18)  # G.729: not spoken
        session.close()
        with pytest.raises(InvalidState):
            session.play(Clip.silence(0.1))

    run(scenario)


def test_dtmf_is_relayed_with_the_far_side_payload_type() -> None:
    async def scenario(engine: MediaEngine, peers: RawPeers) -> None:
        caller, agent = await peers.open(), await peers.open()
        a, b = await engine.open_session(), await engine.open_session()
        a.set_remote("127.0.0.1", caller.port, telephone_event_pt=101)
        b.set_remote("127.0.0.1", agent.port, telephone_event_pt=96)
        a.connect(b)
        sender = await engine.open_session()
        sender.set_remote("127.0.0.1", a.local_port)
        seen: list[str] = []
        a.on_dtmf(lambda d: seen.append(d.digit))
        await sender.send_dtmf("42")
        await asyncio.sleep(0.1)
        assert seen == ["4", "2"]
        events = [p for p in rtp_from(agent) if p.payload_type == 96]
        detector = DtmfDetector()
        relayed = [
            found.digit
            for p in events
            if (found := detector.feed(p.ssrc, p.timestamp, p.marker, p.payload, 0.0))
        ]
        assert relayed == ["4", "2"]

    run(scenario)


def test_garbage_on_both_ports_never_stops_a_session() -> None:
    async def scenario(engine: MediaEngine, peers: RawPeers) -> None:
        attacker, caller, agent = await peers.open(), await peers.open(), await peers.open()
        a, b = await engine.open_session(), await engine.open_session()
        a.set_remote("127.0.0.1", caller.port)
        b.set_remote("127.0.0.1", agent.port)
        a.connect(b)
        rng = np.random.default_rng(3)
        valid = rtp_packets([b"\x01" * 160])[0]
        for i in range(300):
            junk = rng.integers(0, 256, size=int(rng.integers(0, 200)), dtype=np.uint8).tobytes()
            if i % 3 == 0:
                junk = valid[: int(rng.integers(0, len(valid)))]  # truncated RTP
            elif i % 3 == 1 and len(junk) > 2:
                junk = bytes([0x80 | (junk[0] & 0x3F), 192 + junk[1] % 32]) + junk[2:]  # "RTCP"
            attacker.send(junk, a.local_port + i % 2)
        await asyncio.sleep(0.1)
        voice = frames_of(Codec.PCMU.encode(speech_like(0.4, seed=8)))
        await caller.stream(rtp_packets(voice, ssrc=77), a.local_port)
        await asyncio.sleep(0.1)
        relayed = [p.payload for p in rtp_from(agent) if p.ssrc == b.ssrc]
        assert b"".join(relayed).endswith(b"".join(voice))
        assert a.stats().malformed > 0

    run(scenario)


def test_the_engine_runs_in_a_task_group_and_cancelling_closes_every_session() -> None:
    async def main() -> None:
        engine = MediaEngine("127.0.0.1", PORTS)
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            session = await engine.open_session()
            await anyio.sleep(0.1)
            assert engine.clock.tick >= 3
            tg.cancel_scope.cancel()
        assert session.closed and engine.sessions == ()

    anyio.run(main)


def test_ports_come_in_even_odd_pairs_until_the_range_is_used_up() -> None:
    async def main() -> None:
        async with MediaEngine("127.0.0.1", (34001, 34004)) as engine:
            first = await engine.open_session()
            assert first.local_port == 34002 and first.local_rtcp_port == 34003
            with pytest.raises(MediaPortsExhausted):
                await engine.open_session()  # 34004's partner 34005 is outside the range
            first.close()
            assert (await engine.open_session()).local_port == 34002  # freed and reused

    asyncio.run(main())
