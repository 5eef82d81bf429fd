"""Our endpoint as the caller of real sipp callees (and carriers) on loopback."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from sipp_support import Collector, endpoint, require_sipp, sipp_uas
from tests_support import free_port

from callbridge.adapters.telephony.sip import (
    CallFailed,
    Credentials,
    Progress,
    Timers,
    sdp,
)
from callbridge.adapters.telephony.sip.message import Request, parse, response_to

OFFER = sdp.offer("127.0.0.1", 42000)


@pytest.fixture(autouse=True)
def _sipp() -> None:
    require_sipp()


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_call_rings_is_answered_and_we_hang_up(tmp_path: Path, transport: str) -> None:
    async def scenario() -> None:
        async with endpoint() as sip, sipp_uas("uas.xml", tmp_path, transport=transport) as uas:
            progress: list[Progress] = []
            call = await sip.invite(
                f"sip:agent@127.0.0.1:{uas.port}",
                OFFER,
                transport="tcp" if transport == "t1" else "udp",
                on_provisional=progress.append,
            )
            dialog = await call.wait_answer()
            assert [p.status for p in progress] == [180]
            assert call.ringing_at is not None and call.answered_at is not None
            assert call.started_at <= call.ringing_at <= call.answered_at
            assert dialog.remote_sdp is not None and dialog.remote_sdp.audio is not None
            assert dialog.remote_sdp.audio.port == 6000  # sipp's media port
            response = await dialog.bye()
            assert response is not None and response.status == 200
            result = await uas.wait()
            assert result.ok, result.describe()
            assert sip.counters.active_dialogs == 0

    asyncio.run(scenario())


def test_call_to_sipps_built_in_uas(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with endpoint() as sip, sipp_uas("uas", tmp_path) as uas:
            call = await sip.invite(f"sip:service@127.0.0.1:{uas.port}", OFFER)
            dialog = await call.wait_answer()
            assert [p.status for p in call.progress] == [180]
            response = await dialog.bye()
            assert response is not None and response.status == 200
            # sipp's uas lingers 4 s after the call ("timewait"): it is killed on the way out

    asyncio.run(scenario())


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_the_callee_hangs_up(tmp_path: Path, transport: str) -> None:
    async def scenario() -> None:
        async with (
            endpoint() as sip,
            sipp_uas("uas_hangup.xml", tmp_path, transport=transport, extra=["-d", "100"]) as uas,
        ):
            call = await sip.invite(
                f"sip:agent@127.0.0.1:{uas.port}",
                OFFER,
                transport="tcp" if transport == "t1" else "udp",
            )
            dialog = await call.wait_answer()
            assert await asyncio.wait_for(dialog.wait_ended(), 5) == "remote-bye"
            assert await dialog.bye() is None  # already over: nothing to send
            result = await uas.wait()
            assert result.ok, result.describe()

    asyncio.run(scenario())


def test_hold_by_reinvite(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with endpoint() as sip, sipp_uas("uas_reinvite.xml", tmp_path) as uas:
            call = await sip.invite(f"sip:agent@127.0.0.1:{uas.port}", OFFER)
            dialog = await call.wait_answer()
            hold = sdp.offer("127.0.0.1", 42000, direction="sendonly", version=1)
            response = await dialog.reinvite(hold)
            assert response.status == 200
            assert dialog.remote_sdp is not None and dialog.remote_sdp.audio is not None
            assert dialog.remote_sdp.audio.direction == "recvonly"
            assert dialog.local_sdp == hold
            await dialog.bye()
            result = await uas.wait()
            assert result.ok, result.describe()

    asyncio.run(scenario())


@pytest.mark.parametrize(("password", "status"), [("s3cret", 200), ("wrong", 403)])
def test_digest_answer_to_a_carrier_challenge(tmp_path: Path, password: str, status: int) -> None:
    async def scenario() -> int:
        async with endpoint() as sip, sipp_uas("uas_auth.xml", tmp_path) as uas:
            call = await sip.invite(
                f"sip:+4420@127.0.0.1:{uas.port}",
                OFFER,
                credentials=Credentials("trunk", password),
            )
            try:
                dialog = await call.wait_answer()
            except CallFailed as failure:
                outcome = failure.status
            else:
                outcome = 200
                await dialog.bye()
            result = await uas.wait()
            assert result.ok, result.describe()
            assert call.request.headers.get("Authorization") is not None
            assert call.request.cseq.seq == 2
            return outcome

    assert asyncio.run(scenario()) == status


def test_invite_is_retransmitted_until_the_callee_responds(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with (
            endpoint() as sip,
            sipp_uas("uas_slow.xml", tmp_path, extra=["-d", "300"]) as uas,
        ):
            call = await sip.invite(f"sip:agent@127.0.0.1:{uas.port}", OFFER)
            dialog = await call.wait_answer()
            await dialog.bye()
            result = await uas.wait()
            assert result.ok, result.describe()
            # T1 = 50 ms: sent at 0, then 50, 150 ms (and 350 ms if the 180 is late)
            assert result.received("INVITE") >= 3
            assert sip.counters.retransmissions_sent >= 2

    asyncio.run(scenario())


@pytest.mark.parametrize("when", ["after the 180", "before any response"])
def test_cancel(tmp_path: Path, when: str) -> None:
    async def scenario() -> None:
        async with endpoint() as sip, sipp_uas("uas_ring.xml", tmp_path) as uas:
            ringing: Collector[int] = Collector(1)
            call = await sip.invite(
                f"sip:agent@127.0.0.1:{uas.port}",
                OFFER,
                on_provisional=lambda p: ringing.add(p.status),
            )
            if when == "after the 180":
                await ringing.wait()
            await call.cancel()  # before any response: sent when the 180 arrives (RFC 3261 9.1)
            with pytest.raises(CallFailed) as failure:
                await call.wait_answer()
            assert failure.value.status == 487
            result = await uas.wait()
            assert result.ok, result.describe()
            assert result.received("CANCEL") == 1
            assert result.received("ACK") == 1

    asyncio.run(scenario())


def test_no_answer_at_all_times_out_with_408() -> None:
    async def scenario() -> None:
        async with endpoint(timers=Timers.fast(0.01)) as sip:  # timer B = 64*T1 = 0.64 s
            call = await sip.invite(f"sip:agent@127.0.0.1:{free_port()}", OFFER)
            with pytest.raises(CallFailed) as failure:
                await call.wait_answer()
            assert failure.value.status == 408
            assert sip.counters.retransmissions_sent >= 5

    asyncio.run(scenario())


def test_tcp_connection_refused_fails_at_once() -> None:
    async def scenario() -> None:
        async with endpoint() as sip:
            call = await sip.invite(f"sip:agent@127.0.0.1:{free_port()}", OFFER, transport="tcp")
            with pytest.raises(CallFailed) as failure:
                await asyncio.wait_for(call.wait_answer(), 1)
            assert failure.value.status == 503

    asyncio.run(scenario())


def raw_callee(sock: socket.socket) -> list[bytes]:
    """A callee on a bare UDP socket that sends its 200 a second time after the first ACK, as
    if that ACK had been lost; returns the ACKs it received."""
    sock.settimeout(3)
    invite, caller = sock.recvfrom(65535)
    request = parse(invite)
    assert isinstance(request, Request)
    ok = response_to(request, 200, to_tag="raw")
    ok.headers.add("Contact", f"<sip:127.0.0.1:{sock.getsockname()[1]}>")
    acks = []
    for _ in range(2):
        sock.sendto(bytes(ok), caller)
        acks.append(sock.recv(65535))
    return acks


def test_every_2xx_retransmission_is_acked() -> None:
    async def scenario() -> list[bytes]:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            async with endpoint() as sip:
                callee = asyncio.create_task(asyncio.to_thread(raw_callee, sock))
                call = await sip.invite(f"sip:agent@127.0.0.1:{sock.getsockname()[1]}", None)
                await call.wait_answer()
                acks = await callee
                assert sip.counters.retransmissions_sent == 1
                return acks

    first, second = asyncio.run(scenario())
    assert first.startswith(b"ACK sip:127.0.0.1:") and b"CSeq: 1 ACK" in first
    assert second == first  # 13.2.2.4: the same ACK again
