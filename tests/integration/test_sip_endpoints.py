"""Two of our endpoints talking over loopback: registration with digest, MESSAGE, in-dialog
INFO and re-INVITE in both directions, BYE from the callee, requests for unknown dialogs."""

from __future__ import annotations

import asyncio

import pytest
from sipp_support import Collector, answer_for, endpoint

from callbridge.adapters.telephony.sip import (
    Credentials,
    Dialog,
    DigestServer,
    Headers,
    IncomingCall,
    ReInvite,
    Request,
    Response,
    ServerTransaction,
    SipEndpoint,
    sdp,
)
from callbridge.adapters.telephony.sip.digest import Algorithm, ha1
from callbridge.adapters.telephony.sip.transport import TransportName

REALM = "agents.callbridge.test"
STORE = {
    (algorithm, "agent7"): ha1("agent7", REALM, "correct horse", algorithm)
    for algorithm in ("MD5", "SHA-256")
}


async def lookup(username: str, realm: str, algorithm: Algorithm) -> str | None:
    return STORE.get((algorithm, username))


def registrar(sip: SipEndpoint, seen: list[str]) -> None:
    auth = DigestServer(REALM, b"registrar-secret", lookup, clock=sip.clock)

    async def on_register(transaction: ServerTransaction, request: Request) -> Response:
        verdict = await auth.verify(request)
        if verdict.ok:
            seen.append(f"{verdict.username} {request.headers.get('Contact')}")
            return transaction.response(200, headers=Headers([("Expires", "60")]))
        if request.headers.get("Authorization") and not verdict.stale:
            return transaction.response(403)
        challenges = [("WWW-Authenticate", c) for c in auth.challenges(stale=verdict.stale)]
        return transaction.response(401, headers=Headers(challenges))

    sip.on_register = on_register


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_register_with_sha256_digest(transport: TransportName) -> None:
    async def scenario() -> list[str]:
        seen: list[str] = []
        async with endpoint() as server, endpoint() as phone:
            registrar(server, seen)
            aor = f"<sip:agent7@{REALM}>"
            response = await phone.register(
                server.uri(transport=transport),
                aor,
                credentials=Credentials("agent7", "correct horse"),
                expires=60,
                transport=transport,
            )
            assert response.status == 200
            refused = await phone.register(
                server.uri(transport=transport),
                aor,
                credentials=Credentials("agent7", "wrong"),
                transport=transport,
            )
            assert refused.status == 403
            anonymous = await phone.register(server.uri(), aor)
            assert anonymous.status == 401
            assert "algorithm=SHA-256" in (anonymous.headers.get("WWW-Authenticate") or "")
        return seen

    seen = asyncio.run(scenario())
    assert len(seen) == 1 and seen[0].startswith("agent7 <sip:127.0.0.1:")


def test_message_goes_to_on_request_and_unknown_methods_get_405() -> None:
    async def scenario() -> None:
        async with endpoint() as server, endpoint() as client:
            texts: list[bytes] = []

            async def on_request(transaction: ServerTransaction, request: Request) -> Response:
                texts.append(request.body)
                return transaction.response(202)

            server.on_request = on_request
            response = await client.request(
                "MESSAGE", server.uri("agent"), headers=[("Content-Type", "text/plain")], body=b"hi"
            )
            assert response.status == 202 and texts == [b"hi"]
            assert (await client.request("REGISTER", server.uri())).status == 405
            assert (await client.request("BYE", server.uri())).status == 481

    asyncio.run(scenario())


async def connected(callee: SipEndpoint, caller: SipEndpoint) -> tuple[Dialog, Dialog]:
    dialogs: Collector[Dialog] = Collector(1)

    async def on_invite(call: IncomingCall) -> None:
        dialogs.add(await call.answer(answer_for(call, rtp_port=41000)))

    callee.on_invite = on_invite
    call = await caller.invite(callee.uri("agent"), sdp.offer("127.0.0.1", 42000))
    caller_side = await call.wait_answer()
    (callee_side,) = await dialogs.wait()
    return callee_side, caller_side


def test_info_and_reinvite_both_ways_then_the_callee_hangs_up() -> None:
    async def scenario() -> None:
        async with endpoint() as callee, endpoint() as caller:
            callee_side, caller_side = await connected(callee, caller)
            assert callee_side.id.call_id == caller_side.id.call_id
            assert callee_side.id.local_tag == caller_side.id.remote_tag

            digits: list[bytes] = []

            async def on_info(request: Request) -> None:
                digits.append(request.body)

            callee_side.on_info = on_info
            info = await caller_side.info(b"Signal=5\r\nDuration=160\r\n", "application/dtmf-relay")
            assert info.status == 200 and digits == [b"Signal=5\r\nDuration=160\r\n"]

            # the caller holds; the callee answers by default, mirroring the direction
            held = await caller_side.reinvite(sdp.offer("127.0.0.1", 42000, direction="sendonly"))
            assert held.status == 200
            assert caller_side.local_sdp is not None
            assert caller_side.local_sdp.version == 1  # our o= version moved on by itself
            assert caller_side.remote_sdp is not None and caller_side.remote_sdp.audio is not None
            assert caller_side.remote_sdp.audio.direction == "recvonly"
            assert caller_side.remote_sdp.version == 1  # changed: o= version incremented

            # the callee re-INVITEs the other way (old-style hold, c=0.0.0.0)
            hold = sdp.offer(sdp.HOLD_ADDRESS, 41000, version=1)
            back = await callee_side.reinvite(hold)
            assert back.status == 200
            assert callee_side.remote_sdp is not None and callee_side.remote_sdp.audio is not None
            assert callee_side.remote_sdp.audio.direction == "recvonly"

            bye = await callee_side.bye()
            assert bye is not None and bye.status == 200
            assert await asyncio.wait_for(caller_side.wait_ended(), 2) == "remote-bye"
            assert callee.counters.active_dialogs == caller.counters.active_dialogs == 0
            assert callee_side.remote_seq is not None and callee_side.remote_seq >= 3

    asyncio.run(scenario())


def test_in_dialog_request_after_the_dialog_ended_gets_481() -> None:
    async def scenario() -> None:
        async with endpoint() as callee, endpoint() as caller:
            callee_side, caller_side = await connected(callee, caller)
            await callee_side.bye()
            await asyncio.wait_for(caller_side.wait_ended(), 2)
            # build a BYE as if the caller had missed the callee's: the callee no longer knows it
            late = caller_side.create_request("BYE")
            transaction = await caller.start_transaction(late, caller_side.next_hop())
            assert (await transaction.final_response()).status == 481

    asyncio.run(scenario())


def test_reinvite_rejected_by_the_handler_keeps_the_call() -> None:
    async def scenario() -> None:
        async with endpoint() as callee, endpoint() as caller:
            callee_side, caller_side = await connected(callee, caller)

            async def refuse(reinvite: ReInvite) -> None:
                await reinvite.reject(488)

            callee_side.on_reinvite = refuse
            response = await caller_side.reinvite(sdp.offer("127.0.0.1", 43000, version=1))
            assert response.status == 488
            assert caller_side.state == callee_side.state == "confirmed"
            assert (await caller_side.bye()) is not None

    asyncio.run(scenario())
