"""Malformed input on a live endpoint: answered 400 when possible, dropped otherwise, and
never in the way of the calls that follow."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from pathlib import Path

import pytest
from sipp_support import endpoint, require_sipp, run_sipp

from callbridge.adapters.telephony.sip import IncomingCall, SipEndpoint, sdp
from callbridge.adapters.telephony.sip.transport import TransportName

VALID_OPTIONS = (
    b"OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bKprobe1\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: <sip:probe@127.0.0.1>;tag=p1\r\n"
    b"To: <sip:probe@127.0.0.1>\r\n"
    b"Call-ID: probe-1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Content-Length: 0\r\n\r\n"
)
NO_MAX_FORWARDS = VALID_OPTIONS.replace(b"Max-Forwards: 70\r\n", b"").replace(b"probe1", b"bad1")


async def answer_calls(call: IncomingCall) -> None:
    assert call.offer is not None
    await (await call.answer(sdp.answer(call.offer, "127.0.0.1", 40000))).wait_ended()


def udp_exchange(port: int, datagrams: list[bytes], wait: float = 0.3) -> list[bytes]:
    """Send each datagram from one socket, then collect what comes back within `wait` s.
    The sender pauses every 20 datagrams so the endpoint's socket buffer does not overflow."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        for i, datagram in enumerate(datagrams, 1):
            sock.sendto(datagram, ("127.0.0.1", port))
            if i % 20 == 0:
                time.sleep(0.005)
        replies = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                replies.append(sock.recv(65535))
            except TimeoutError:
                break
        return replies


def test_garbage_then_a_bad_request_then_a_call_from_sipp(tmp_path: Path) -> None:
    require_sipp()

    async def scenario() -> None:
        async with endpoint() as sip:
            sip.on_invite = answer_calls
            result = await run_sipp("uac_garbage.xml", tmp_path, remote=f"127.0.0.1:{sip.port}")
            assert result.ok, result.describe()
            assert "SIP/2.0 400 Bad Request (missing Max-Forwards header)" in result.messages
            counters = sip.counters.snapshot()
            assert counters["malformed_dropped"] == 1
            assert counters["400_sent"] == 1
            assert counters["admitted"] == 1

    asyncio.run(scenario())


def test_udp_garbage_is_dropped_or_answered_400_and_calls_go_on(tmp_path: Path) -> None:
    require_sipp()
    rng = random.Random(4475)
    datagrams = [
        b"\x00" * 200,
        bytes(rng.randrange(256) for _ in range(500)),
        b"INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKt\r\n",
        VALID_OPTIONS.replace(b"OPTIONS sip", b"OPTIONS \xff\xfe sip"),
        VALID_OPTIONS.replace(b"SIP/2.0\r\nVia", b"SIP/7.0\r\nVia"),
        b"SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n",
        VALID_OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 999"),
        NO_MAX_FORWARDS,
    ]

    async def scenario() -> None:
        async with endpoint() as sip:
            sip.on_invite = answer_calls
            replies = await asyncio.to_thread(udp_exchange, sip.port, datagrams)
            assert [r.split(b"\r\n")[0] for r in replies] == [
                b"SIP/2.0 400 Bad Request (Content-Length larger than the body)",
                b"SIP/2.0 400 Bad Request (missing Max-Forwards header)",
            ]
            assert b"To: <sip:probe@127.0.0.1>;tag=" in replies[1]
            assert b";rport=" in replies[1] and b";received=127.0.0.1" in replies[1]
            assert sip.counters.malformed_dropped == len(datagrams) - 2
            result = await run_sipp("uac", tmp_path, remote=f"127.0.0.1:{sip.port}", calls=2)
            assert result.ok, result.describe()

    asyncio.run(scenario())


def test_tcp_bad_request_keeps_the_connection_bad_framing_closes_it() -> None:
    async def scenario() -> None:
        async with endpoint() as sip:
            reader, writer = await asyncio.open_connection("127.0.0.1", sip.port)
            tcp = b"SIP/2.0/TCP"
            writer.write(NO_MAX_FORWARDS.replace(b"SIP/2.0/UDP", tcp))
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"SIP/2.0 400 Bad Request")
            writer.write(b"\r\n\r\n")  # a keep-alive ping gets its pong
            assert await reader.readexactly(2) == b"\r\n"
            writer.write(VALID_OPTIONS.replace(b"SIP/2.0/UDP", tcp))
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"SIP/2.0 200 OK")
            writer.write(VALID_OPTIONS.replace(b"Content-Length: 0\r\n", b""))  # unframeable
            assert await reader.read() == b""  # closed by the endpoint
            writer.close()
            await writer.wait_closed()
            reader, writer = await asyncio.open_connection("127.0.0.1", sip.port)
            writer.write(VALID_OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 70000"))
            assert await reader.read() == b""  # larger than 64 KiB: closed too
            writer.close()
            await writer.wait_closed()
            assert sip.counters.malformed_dropped == 2
            assert sip.counters.bad_request_sent == 1

    asyncio.run(scenario())


def mutate(message: bytes, rng: random.Random) -> bytes:
    data = bytearray(message)
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(len(data))
        action = rng.choice(["flip", "insert", "delete", "truncate"])
        if action == "flip":
            data[position] = rng.randrange(256)
        elif action == "insert":
            data[position:position] = bytes([rng.choice(b':;,<>"\r\n =@')])
        elif action == "delete":
            del data[position]
        else:
            del data[position:]
        if not data:
            data = bytearray(b"\r\n")
    return bytes(data)


def test_a_thousand_mutated_datagrams_do_not_stop_the_endpoint(tmp_path: Path) -> None:
    require_sipp()
    rng = random.Random(3261)
    invite = VALID_OPTIONS.replace(b"OPTIONS", b"INVITE").replace(b"probe1", b"m")

    async def scenario() -> None:
        async with endpoint() as sip:
            sip.on_invite = hang_up_at_once
            datagrams = [mutate(rng.choice([VALID_OPTIONS, invite]), rng) for _ in range(1000)]
            await asyncio.to_thread(udp_exchange, sip.port, datagrams, 0.5)
            counters = sip.counters
            handled = counters.requests_received + counters.malformed_dropped
            assert handled + counters.bad_request_sent >= 950  # some are bare CRLFs, ignored
            assert counters.malformed_dropped > 500
            assert counters.bad_request_sent > 10
            result = await run_sipp("uac", tmp_path, remote=f"127.0.0.1:{sip.port}", calls=2)
            assert result.ok, result.describe()

    asyncio.run(scenario())


async def hang_up_at_once(call: IncomingCall) -> None:
    if call.offer is None or call.offer.audio is None:
        await call.reject(488)
        return
    await answer_calls(call)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_options_is_answered_with_allow(transport: TransportName) -> None:
    async def scenario() -> None:
        async with endpoint() as sip, endpoint() as peer:
            response = await peer.request("OPTIONS", sip.uri(transport=transport))
            assert response.status == 200
            assert "INVITE" in (response.headers.get("Allow") or "")
            assert response.headers.get("Accept") == "application/sdp"

    asyncio.run(scenario())


def test_stop_is_clean_with_calls_up() -> None:
    async def scenario() -> SipEndpoint:
        async with endpoint() as callee, endpoint() as caller:
            callee.on_invite = answer_calls
            call = await caller.invite(callee.uri("agent"), sdp.offer("127.0.0.1", 42000))
            await call.wait_answer()
            assert callee.counters.active_dialogs == 1
        return callee

    callee = asyncio.run(scenario())
    assert callee.counters.active_dialogs == 0
