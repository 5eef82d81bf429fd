"""Admission control, and the transport's pure rules: Via stamping, response routing and the
400 built for a malformed request."""

from __future__ import annotations

import pytest

from callbridge.adapters.telephony.sip.errors import SipParseError
from callbridge.adapters.telephony.sip.headers import Via, parse_via
from callbridge.adapters.telephony.sip.message import Response, parse
from callbridge.adapters.telephony.sip.overload import Admission, AdmissionLimits
from callbridge.adapters.telephony.sip.transport import Target, bad_request, stamp_via, via_target


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_concurrent_call_limit() -> None:
    admission = Admission(AdmissionLimits(max_calls=2), Clock())
    assert [admission.admit(active) for active in (0, 1, 2, 3, 1)] == [
        True,
        True,
        False,
        False,
        True,
    ]


def test_call_rate_is_a_token_bucket_of_one_second() -> None:
    clock = Clock()
    admission = Admission(AdmissionLimits(max_call_rate=5), clock)
    assert sum(admission.admit(0) for _ in range(10)) == 5  # a burst: one second's worth
    clock.now += 0.2
    assert [admission.admit(0) for _ in range(2)] == [True, False]  # 0.2 s refills one
    clock.now += 10
    assert sum(admission.admit(0) for _ in range(10)) == 5  # the bucket does not overfill


def test_refused_calls_do_not_use_up_the_rate() -> None:
    clock = Clock()
    admission = Admission(AdmissionLimits(max_calls=1, max_call_rate=1), clock)
    assert not admission.admit(5)
    assert admission.admit(0)


def test_no_limits() -> None:
    admission = Admission(AdmissionLimits(), Clock())
    assert all(admission.admit(n) for n in range(10_000))


@pytest.mark.parametrize(
    ("via", "source", "stamped"),
    [
        (
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1",
            "10.0.0.1",
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1",
        ),
        (
            "SIP/2.0/UDP phone.example:5060;branch=z9hG4bK1",
            "10.0.0.1",
            "SIP/2.0/UDP phone.example:5060;branch=z9hG4bK1;received=10.0.0.1",
        ),
        (
            "SIP/2.0/UDP 10.0.0.1:5060;rport;branch=z9hG4bK1",
            "10.0.0.1",
            "SIP/2.0/UDP 10.0.0.1:5060;rport=40001;branch=z9hG4bK1;received=10.0.0.1",
        ),
    ],
)
def test_stamp_via(via: str, source: str, stamped: str) -> None:
    assert str(stamp_via(parse_via(via), Target("udp", source, 40001))) == stamped


def test_responses_follow_received_and_rport() -> None:
    def target(text: str) -> Target:
        return via_target(parse_via(text), "udp")

    assert target("SIP/2.0/UDP h") == Target("udp", "h", 5060)
    assert target("SIP/2.0/UDP h:5070;received=192.0.2.1") == Target("udp", "192.0.2.1", 5070)
    assert target("SIP/2.0/UDP h:5070;received=192.0.2.1;rport=4000") == Target(
        "udp", "192.0.2.1", 4000
    )
    assert target("SIP/2.0/UDP [::1]:5070") == Target("udp", "::1", 5070)


def malformed(data: bytes) -> SipParseError:
    with pytest.raises(SipParseError) as error:
        parse(data)
    return error.value


REQUEST = (
    b"INVITE sip:u@h SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKx\r\n"
    b"From: <sip:a@h>;tag=1\r\nTo: <sip:u@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n"
)


def test_bad_request_for_an_answerable_request() -> None:
    reply = bad_request(malformed(REQUEST), Target("udp", "10.0.0.9", 6000))
    assert reply is not None
    data, target = reply
    response = parse(data)
    assert isinstance(response, Response)
    assert response.call_id == "c" and response.to.tag == "malformed"
    assert (response.status, response.reason) == (400, "Bad Request (missing Max-Forwards header)")
    assert target == Target("udp", "10.0.0.9", 5070)  # received added; no rport: sent-by port
    assert response.top_via == Via(
        "UDP", "10.0.0.1", 5070, {"branch": "z9hG4bKx", "received": "10.0.0.9"}
    )


@pytest.mark.parametrize(
    "data",
    [
        b"not sip at all\r\n\r\n",
        REQUEST.replace(b"INVITE sip", b"ACK sip").replace(b"1 INVITE", b"1 ACK"),  # never answered
        REQUEST.replace(b"Call-ID: c\r\n", b""),
        REQUEST.replace(b"SIP/2.0/UDP 10.0.0.1:5070", b"garbage"),
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n",
    ],
)
def test_unanswerable_messages_are_dropped(data: bytes) -> None:
    assert bad_request(malformed(data), Target("udp", "10.0.0.9", 6000)) is None
