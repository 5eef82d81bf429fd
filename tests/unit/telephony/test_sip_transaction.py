"""RFC 3261 section 17 transactions, driven through the TransactionLayer with a recording
transport and transaction user in their place (both implement the layer's ports)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from callbridge.adapters.telephony.sip.counters import SipCounters
from callbridge.adapters.telephony.sip.headers import CSeq, NameAddr, Via
from callbridge.adapters.telephony.sip.message import Message, Request, Response, response_to
from callbridge.adapters.telephony.sip.timers import Timers
from callbridge.adapters.telephony.sip.transaction import (
    ServerTransaction,
    TransactionLayer,
    new_branch,
)
from callbridge.adapters.telephony.sip.transport import Target
from callbridge.adapters.telephony.sip.uri import SipUri

T1 = 0.01
TIMERS = Timers(t1=T1, t2=4 * T1, t4=5 * T1, d=10 * T1, trying=2 * T1)
PEER = Target("udp", "192.0.2.9", 5060)
PEER_TCP = Target("tcp", "192.0.2.9", 5060)


@dataclass
class Sent:
    message: Message
    target: Target
    at: float


@dataclass
class RecordingSender:
    """The transport port: records what would go on the wire, and when."""

    counters: SipCounters = field(default_factory=SipCounters)
    sent: list[Sent] = field(default_factory=list)

    def _record(self, message: Message, target: Target) -> None:
        self.sent.append(Sent(message, target, asyncio.get_running_loop().time()))

    async def send(self, message: Message, target: Target) -> None:
        self._record(message, target)

    def send_now(self, message: Message, target: Target) -> None:
        self._record(message, target)

    async def send_response(self, response: Message, source: Target) -> None:
        self._record(response, source)

    def starts(self) -> list[str]:
        return [
            m.message.method if isinstance(m.message, Request) else str(m.message.status)
            for m in self.sent
        ]


@dataclass
class RecordingTU:
    """The transaction-user port: records what the layer hands up."""

    requests: list[ServerTransaction] = field(default_factory=list)
    acks: list[Request] = field(default_factory=list)
    cancelled: list[ServerTransaction] = field(default_factory=list)
    strays: list[Response] = field(default_factory=list)

    def request_received(self, transaction: ServerTransaction) -> None:
        self.requests.append(transaction)

    def ack_received(self, ack: Request, source: Target) -> None:
        self.acks.append(ack)

    def cancel_received(self, invite: ServerTransaction) -> None:
        self.cancelled.append(invite)

    def stray_response(self, response: Response) -> None:
        self.strays.append(response)


def make_request(method: str, branch: str | None = None, to_tag: str | None = None) -> Request:
    to = NameAddr(SipUri(host="example.com", user="bob"))
    return Request(
        method=method,
        uri=SipUri(host="example.com", user="bob"),
        via=[Via("UDP", "192.0.2.9", 5060, {"branch": branch or new_branch()})],
        from_=NameAddr(SipUri(host="example.com", user="alice"), params={"tag": "a1"}),
        to=to.with_tag(to_tag) if to_tag else to,
        call_id="call-1",
        cseq=CSeq(1, method),
    )


def run(test: Callable[[TransactionLayer, RecordingSender, RecordingTU], Awaitable[None]]) -> None:
    async def main() -> None:
        sender, tu = RecordingSender(), RecordingTU()
        layer = TransactionLayer(sender, tu, TIMERS)
        try:
            await test(layer, sender, tu)
        finally:
            await layer.close()

    asyncio.run(main())


def state(transaction: ServerTransaction) -> str:
    """The state now (a function call, so the type checker does not narrow it for good)."""
    return transaction.state


def intervals(sent: list[Sent]) -> list[float]:
    return [round((b.at - a.at) / T1, 1) for a, b in itertools.pairwise(sent)]


def test_invite_client_retransmits_doubling_then_times_out_with_408() -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        transaction = await layer.start_client(make_request("INVITE"), PEER)
        final = await transaction.final_response()
        assert (final.status, transaction.state) == (408, "terminated")
        gaps = intervals(sender.sent)
        # timer A: T1, 2T1, 4T1, ... (not capped at T2) until timer B = 64*T1
        assert 5 <= len(gaps) <= 6
        assert all(
            gap >= expected * 0.9 for gap, expected in zip(gaps, [1, 2, 4, 8, 16, 32], strict=False)
        )
        assert gaps[3] > 2 * TIMERS.t2 / T1 * 0.9  # beyond T2: INVITE doubling is not capped
        assert layer.clients == {}

    run(test)


def test_non_invite_client_caps_retransmissions_at_t2() -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        transaction = await layer.start_client(make_request("OPTIONS"), PEER)
        assert (await transaction.final_response()).status == 408
        gaps = intervals(sender.sent)
        assert all(gap >= low for gap, low in zip(gaps, [0.9, 1.8, 3.6], strict=False))
        assert max(gaps) < 4 * 1.5  # T2 = 4*T1 caps the interval
        assert len(gaps) >= 12  # 64*T1 / T2

    run(test)


def test_nothing_is_retransmitted_over_tcp() -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        transaction = await layer.start_client(make_request("OPTIONS"), PEER_TCP)
        assert (await transaction.final_response()).status == 408
        assert len(sender.sent) == 1

    run(test)


def test_invite_client_provisional_stops_retransmission_and_failure_is_acked() -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        invite = make_request("INVITE")
        transaction = await layer.start_client(invite, PEER)
        layer.message_received(response_to(invite, 180, to_tag="b1"), PEER)
        assert (await transaction.receive()).status == 180
        await asyncio.sleep(8 * T1)
        assert sender.starts() == ["INVITE"]  # timer A stopped by the 180
        busy = response_to(invite, 486, to_tag="b1")
        layer.message_received(busy, PEER)
        assert (await transaction.receive()).status == 486
        ack = sender.sent[-1].message
        assert isinstance(ack, Request) and ack.method == "ACK"
        assert ack.top_via == invite.top_via and ack.to.tag == "b1"  # 17.1.1.3
        assert ack.cseq == CSeq(1, "ACK")
        layer.message_received(busy, PEER)  # the 486 again: ACKed again, not passed up
        assert sender.starts() == ["INVITE", "ACK", "ACK"]
        assert transaction._queue.empty()
        await asyncio.sleep(TIMERS.d + 2 * T1)
        assert transaction.state == "terminated"

    run(test)


def test_invite_client_2xx_retransmissions_go_to_the_tu() -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        invite = make_request("INVITE")
        transaction = await layer.start_client(invite, PEER)
        ok = response_to(invite, 200, to_tag="b1")
        layer.message_received(ok, PEER)
        assert (await transaction.final_response()).status == 200
        assert transaction.state == "accepted"
        layer.message_received(ok, PEER)
        assert tu.strays == [ok]  # the TU (the dialog) ACKs every 2xx
        assert sender.starts() == ["INVITE"]  # no ACK from the transaction for a 2xx

    run(test)


def test_non_invite_client_after_a_provisional_retransmits_every_t2() -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        request = make_request("BYE", to_tag="b1")
        transaction = await layer.start_client(request, PEER)
        layer.message_received(response_to(request, 100), PEER)
        await asyncio.sleep(10 * T1)
        layer.message_received(response_to(request, 200), PEER)
        assert (await transaction.final_response()).status == 200
        retransmissions = [s for s in sender.sent[1:] if isinstance(s.message, Request)]
        assert 1 <= len(retransmissions) <= 3  # every T2 = 4*T1 during 10*T1
        await asyncio.sleep(TIMERS.t4 + 2 * T1)
        assert transaction.state == "terminated"  # timer K

    run(test)


def test_server_absorbs_retransmissions_and_resends_the_last_response() -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        options = make_request("OPTIONS")
        layer.message_received(options, PEER)
        layer.message_received(options, PEER)  # before any response: absorbed
        assert len(tu.requests) == 1 and sender.sent == []
        await tu.requests[0].reply(200)
        layer.message_received(options, PEER)
        assert sender.starts() == ["200", "200"]
        assert len(tu.requests) == 1

    run(test)


def test_invite_server_sends_100_when_the_tu_is_slow() -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        layer.message_received(make_request("INVITE"), PEER)
        quick = make_request("INVITE")
        layer.message_received(quick, PEER)
        await tu.requests[1].reply(180)
        await asyncio.sleep(TIMERS.trying + 2 * T1)
        assert sender.starts() == ["180", "100"]
        trying = sender.sent[1].message
        assert isinstance(trying, Response) and trying.to.tag is None  # no tag on a 100

    run(test)


def test_invite_server_repeats_a_failure_until_the_ack() -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        invite = make_request("INVITE")
        layer.message_received(invite, PEER)
        transaction = tu.requests[0]
        await transaction.reply(486)
        await asyncio.sleep(8 * T1)
        assert 3 <= sender.starts().count("486") <= 4  # timer G: at T1, 2T1, 4T1 (capped T2)
        ack = make_request("ACK", branch=invite.top_via.branch, to_tag=transaction.to_tag)
        layer.message_received(ack, PEER)
        assert state(transaction) == "confirmed" and tu.acks == []  # absorbed
        count = len(sender.sent)
        await asyncio.sleep(8 * T1)
        assert len(sender.sent) == count
        await asyncio.sleep(TIMERS.t4)
        assert state(transaction) == "terminated" and layer.servers == {}

    run(test)


def test_invite_server_without_ack_gives_up_after_timer_h() -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        layer.message_received(make_request("INVITE"), PEER)
        await tu.requests[0].reply(603)
        await asyncio.sleep(TIMERS.transaction_timeout + 4 * T1)
        assert tu.requests[0].state == "terminated"
        assert 17 <= sender.starts().count("603") <= 19  # 1 + 2 + 15 (every T2 after 4*T1)

    run(test)


def test_acks_for_2xx_go_to_the_tu() -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        invite = make_request("INVITE")
        layer.message_received(invite, PEER)
        transaction = tu.requests[0]
        await transaction.reply(200)
        assert transaction.state == "accepted"
        layer.message_received(invite, PEER)  # the INVITE again: the 200 again
        assert sender.starts() == ["200", "200"]
        ack = make_request("ACK", to_tag=transaction.to_tag)  # its own branch (13.2.2.4)
        layer.message_received(ack, PEER)
        assert tu.acks == [ack]
        await transaction.reply(486)  # no failure after a 2xx
        assert sender.starts() == ["200", "200"]

    run(test)


@pytest.mark.parametrize("answered_first", [False, True])
def test_cancel_matches_its_invite(answered_first: bool) -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        invite = make_request("INVITE")
        layer.message_received(invite, PEER)
        if answered_first:
            await tu.requests[0].reply(200)
        cancel = make_request("CANCEL", branch=invite.top_via.branch)
        layer.message_received(cancel, PEER)
        await asyncio.sleep(0)
        assert tu.cancelled == ([] if answered_first else [tu.requests[0]])
        assert len(tu.requests) == 1  # CANCEL is not handed up as a request
        replies = [s.message for s in sender.sent if s.message.cseq.method == "CANCEL"]
        assert [r.status for r in replies if isinstance(r, Response)] == [200]

    run(test)


def test_cancel_for_nothing_gets_481() -> None:
    async def test(layer: TransactionLayer, sender: RecordingSender, tu: RecordingTU) -> None:
        layer.message_received(make_request("CANCEL"), PEER)
        await asyncio.sleep(0)
        assert sender.starts() == ["481"]
        assert tu.cancelled == []

    run(test)
