"""Our endpoint as the callee of real sipp callers on loopback, over UDP and TCP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sipp_support import Collector, answer_for, endpoint, require_sipp, run_sipp

from callbridge.adapters.telephony.sip import (
    AdmissionLimits,
    CallEnded,
    DigestServer,
    Headers,
    IncomingCall,
    ReInvite,
    Timers,
    sdp,
)
from callbridge.adapters.telephony.sip.digest import Algorithm, ha1


@pytest.fixture(autouse=True)
def _sipp() -> None:
    require_sipp()


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_answers_calls_and_sees_the_caller_hang_up(tmp_path: Path, transport: str) -> None:
    async def scenario() -> tuple[list[str], dict[str, int]]:
        ended: Collector[str] = Collector(3)
        async with endpoint() as sip:

            async def on_invite(call: IncomingCall) -> None:
                await call.ring()
                dialog = await call.answer(answer_for(call))
                ended.add(await dialog.wait_ended())

            sip.on_invite = on_invite
            result = await run_sipp(
                "uac", tmp_path, remote=f"127.0.0.1:{sip.port}", calls=3, transport=transport
            )
            assert result.ok, result.describe()
            assert result.received("SIP/2.0 180") == 3
            reasons = await ended.wait()
            return reasons, sip.counters.snapshot()

    reasons, counters = asyncio.run(scenario())
    assert reasons == ["remote-bye"] * 3
    assert counters["admitted"] == 3
    assert counters["active_dialogs"] == 0


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_we_hang_up_an_answered_call(tmp_path: Path, transport: str) -> None:
    async def scenario() -> None:
        async with endpoint() as sip:
            byes: Collector[int | None] = Collector(1)

            async def on_invite(call: IncomingCall) -> None:
                dialog = await call.answer(answer_for(call, rtp_port=41000))
                await asyncio.sleep(0.1)
                response = await dialog.bye()
                byes.add(response.status if response else None)

            sip.on_invite = on_invite
            result = await run_sipp(
                "uac_wait_bye.xml", tmp_path, remote=f"127.0.0.1:{sip.port}", transport=transport
            )
            assert result.ok, result.describe()
            assert await byes.wait() == [200]
            # the offer was PCMU + telephone-event: both are in the answer
            assert "m=audio 41000 RTP/AVP 0 101" in result.messages
            assert "a=fmtp:101 0-16" in result.messages

    asyncio.run(scenario())


def test_cancel_while_ringing_gets_200_and_487(tmp_path: Path) -> None:
    async def scenario() -> None:
        cancelled: Collector[bool] = Collector(1)
        async with endpoint() as sip:

            async def on_invite(call: IncomingCall) -> None:
                await call.ring()
                await call.wait_cancelled()
                cancelled.add(call.cancelled)

            sip.on_invite = on_invite
            result = await run_sipp("uac_cancel.xml", tmp_path, remote=f"127.0.0.1:{sip.port}")
            assert result.ok, result.describe()
            assert result.received("SIP/2.0 487") == 1
            assert await cancelled.wait() == [True]
            assert sip.counters.active_dialogs == 0

    asyncio.run(scenario())


def test_200_is_retransmitted_until_the_late_ack(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with endpoint() as sip:
            answered: Collector[str] = Collector(1)

            async def on_invite(call: IncomingCall) -> None:
                dialog = await call.answer(answer_for(call))
                answered.add(dialog.state)

            sip.on_invite = on_invite
            # T1 = 50 ms: retransmissions at 50, 150 and 350 ms before the ACK at 400 ms
            result = await run_sipp(
                "uac_late_ack.xml", tmp_path, remote=f"127.0.0.1:{sip.port}", extra=["-d", "400"]
            )
            assert result.ok, result.describe()
            assert result.received("SIP/2.0 200") >= 4  # the 200 to INVITE, 3 times again, BYE's
            assert await answered.wait() == ["confirmed"]

    asyncio.run(scenario())


def test_without_ack_the_200_is_retransmitted_then_we_send_bye(tmp_path: Path) -> None:
    timers = Timers.fast(0.02)  # 64*T1 = 1.28 s

    async def scenario() -> None:
        outcomes: Collector[str] = Collector(1)
        async with endpoint(timers=timers) as sip:

            async def on_invite(call: IncomingCall) -> None:
                try:
                    await call.answer(answer_for(call))
                except CallEnded as ended:
                    outcomes.add(ended.reason)

            sip.on_invite = on_invite
            result = await run_sipp("uac_no_ack.xml", tmp_path, remote=f"127.0.0.1:{sip.port}")
            assert result.ok, result.describe()
            # T1 doubling to T2 = 160 ms within 64*T1 = 1.28 s: 11 retransmissions
            assert result.received("SIP/2.0 200") >= 8
            assert result.received("BYE") == 1
            assert await outcomes.wait() == ["ack-timeout"]
            assert sip.counters.active_dialogs == 0

    asyncio.run(scenario())


def test_hold_and_resume_by_the_caller(tmp_path: Path) -> None:
    async def scenario() -> list[bool]:
        holds: Collector[bool] = Collector(2)
        async with endpoint() as sip:

            async def on_reinvite(reinvite: ReInvite) -> None:
                holds.add(reinvite.is_hold)
                assert reinvite.offer is not None
                previous = reinvite.dialog.local_sdp
                await reinvite.accept(
                    sdp.answer(reinvite.offer, "127.0.0.1", 40000, previous=previous)
                )

            async def on_invite(call: IncomingCall) -> None:
                dialog = await call.answer(answer_for(call))
                dialog.on_reinvite = on_reinvite
                await dialog.wait_ended()

            sip.on_invite = on_invite
            result = await run_sipp("uac_reinvite.xml", tmp_path, remote=f"127.0.0.1:{sip.port}")
            assert result.ok, result.describe()
            return await holds.wait()

    assert asyncio.run(scenario()) == [True, False]


def test_hold_and_resume_answered_by_default(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with endpoint() as sip:

            async def on_invite(call: IncomingCall) -> None:
                await (await call.answer(answer_for(call))).wait_ended()

            sip.on_invite = on_invite
            result = await run_sipp("uac_reinvite.xml", tmp_path, remote=f"127.0.0.1:{sip.port}")
            assert result.ok, result.describe()

    asyncio.run(scenario())


@pytest.mark.parametrize(("password", "answered"), [("s3cret", True), ("wrong", False)])
def test_digest_challenge_of_the_caller(tmp_path: Path, password: str, answered: bool) -> None:
    stored = {"alice": ha1("alice", "callbridge.test", "s3cret", "MD5")}

    async def lookup(username: str, realm: str, algorithm: Algorithm) -> str | None:
        return stored.get(username) if algorithm == "MD5" else None

    async def scenario() -> list[str]:
        outcomes: Collector[str] = Collector(2)
        async with endpoint() as sip:
            auth = DigestServer(
                "callbridge.test", b"k" * 32, lookup, clock=sip.clock, algorithms=("MD5",)
            )

            async def on_invite(call: IncomingCall) -> None:
                verdict = await auth.verify(call.request)
                if not verdict.ok:
                    outcomes.add(f"challenged: {verdict.reason}")
                    challenge = Headers(
                        [("WWW-Authenticate", v) for v in auth.challenges(stale=verdict.stale)]
                    )
                    await call.reject(401, headers=challenge)
                    return
                outcomes.add(f"answered {verdict.username}")
                await (await call.answer(answer_for(call))).wait_ended()

            sip.on_invite = on_invite
            result = await run_sipp(
                "uac_auth.xml",
                tmp_path,
                remote=f"127.0.0.1:{sip.port}",
                extra=[
                    "-au",
                    "alice",
                    "-ap",
                    password,
                    "-auth_uri",
                    f"service@127.0.0.1:{sip.port}",
                ],
            )
            assert result.ok, result.describe()
            assert result.received("SIP/2.0 200") == (2 if answered else 0)
            return await outcomes.wait()

    outcomes = asyncio.run(scenario())
    assert outcomes[0] == "challenged: no credentials"
    assert outcomes[1] == ("answered alice" if answered else "challenged: wrong password")


def test_calls_above_the_admission_limit_get_503(tmp_path: Path) -> None:
    async def scenario() -> None:
        ended: Collector[str] = Collector(2)
        limits = AdmissionLimits(max_calls=2, retry_after=7)
        async with endpoint(limits=limits) as sip:

            async def on_invite(call: IncomingCall) -> None:
                ended.add(await (await call.answer(answer_for(call))).wait_ended())

            sip.on_invite = on_invite
            result = await run_sipp(
                "uac_overload.xml",
                tmp_path,
                remote=f"127.0.0.1:{sip.port}",
                calls=5,
                extra=["-l", "5", "-r", "100", "-d", "800"],
            )
            assert result.ok, result.describe()
            assert await ended.wait() == ["remote-bye", "remote-bye"]
            assert result.received("SIP/2.0 503") == 3
            assert "Retry-After: 7" in result.messages
            counters = sip.counters.snapshot()
            assert (counters["admitted"], counters["refused_503"]) == (2, 3)

    asyncio.run(scenario())


def test_calls_complete_when_sipp_loses_one_message_in_ten(tmp_path: Path) -> None:
    # RFC timers here (T1 = 500 ms, like sipp's): our 2xx retransmission and transaction
    # lifetimes must outlast sipp's own retransmissions of INVITE and BYE.
    async def scenario() -> None:
        async with endpoint(timers=Timers()) as sip:

            async def on_invite(call: IncomingCall) -> None:
                await (await call.answer(answer_for(call))).wait_ended()

            sip.on_invite = on_invite
            result = await run_sipp(
                "uac",
                tmp_path,
                remote=f"127.0.0.1:{sip.port}",
                calls=10,
                extra=["-lost", "10", "-l", "10", "-r", "50"],
                sipp_timeout=40,
            )
            assert result.ok, result.describe()
            assert sip.counters.admitted == 10  # retransmitted INVITEs are absorbed

    asyncio.run(scenario())
