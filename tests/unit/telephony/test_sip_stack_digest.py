"""Digest authentication: known answers from RFC 2617 and RFC 7616, our stateless nonces,
verification outcomes, and the client's retry of a challenged request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from callbridge.adapters.telephony.sip.digest import (
    Algorithm,
    AuthResult,
    Challenge,
    Credentials,
    DigestServer,
    authorization,
    authorized_retry,
    ha1,
    parse_auth_params,
    pick_challenge,
)
from callbridge.adapters.telephony.sip.errors import SipParseError
from callbridge.adapters.telephony.sip.headers import CSeq, Headers, NameAddr, Via
from callbridge.adapters.telephony.sip.message import Request, response_to
from callbridge.adapters.telephony.sip.uri import SipUri

REALM = "pbx.test"


def test_rfc2617_md5_example() -> None:
    challenge = Challenge(
        realm="testrealm@host.com",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        opaque="5ccc069c403ebaf9f0171e9517f40e41",
    )
    value = authorization(
        challenge,
        Credentials("Mufasa", "Circle Of Life"),
        "GET",
        "/dir/index.html",
        cnonce="0a4f113b",
    )
    params = parse_auth_params(value)
    assert params["response"] == "6629fae49393a05397450978507c4ef1"
    assert params["opaque"] == challenge.opaque and params["nc"] == "00000001"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_examples(algorithm: Algorithm, expected: str) -> None:
    challenge = Challenge(
        realm="http-auth@example.org",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        algorithm=algorithm,
    )
    value = authorization(
        challenge,
        Credentials("Mufasa", "Circle of Life"),
        "GET",
        "/dir/index.html",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert parse_auth_params(value)["response"] == expected


def test_challenge_parsing_and_choice() -> None:
    md5 = 'Digest realm="r", nonce="n1", qop="auth,auth-int", opaque="o", stale=TRUE'
    sha = 'Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth"'
    parsed = Challenge.parse(md5)
    assert parsed == Challenge("r", "n1", "MD5", ("auth", "auth-int"), "o", stale=True)
    assert Challenge.parse(str(parsed)) == parsed
    assert pick_challenge([md5, sha]) == Challenge.parse(sha)  # SHA-256 preferred
    assert pick_challenge(['Digest realm="r", nonce="n", algorithm=SHA-512-256']) is None
    assert pick_challenge(['Digest realm="r", nonce="n", qop="auth-int"']) is None
    assert pick_challenge(["Basic realm=x"]) is None
    for bad in ("Basic realm=x", 'Digest realm="unterminated', "Digest =x"):
        with pytest.raises(SipParseError):
            parse_auth_params(bad)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(authorization_value: str | None = None, uri: str = "sip:pbx.test") -> Request:
    headers = Headers([("Authorization", authorization_value)] if authorization_value else [])
    return Request(
        method="REGISTER",
        uri=SipUri(host=uri.removeprefix("sip:")),
        via=[Via("UDP", "10.0.0.2", 5060, {"branch": "z9hG4bKr"})],
        from_=NameAddr(SipUri(host=REALM, user="agent7"), params={"tag": "f"}),
        to=NameAddr(SipUri(host=REALM, user="agent7")),
        call_id="reg-1",
        cseq=CSeq(1, "REGISTER"),
        headers=headers,
    )


async def lookup(username: str, realm: str, algorithm: Algorithm) -> str | None:
    return ha1("agent7", REALM, "pw", algorithm) if username == "agent7" else None


def verify(server: DigestServer, value: str | None, uri: str = "sip:pbx.test") -> AuthResult:
    return asyncio.run(server.verify(request(value, uri)))


def answer(server: DigestServer, guess: str = "pw", *, which: int = 0, user: str = "agent7") -> str:
    challenge = Challenge.parse(server.challenges()[which])
    return authorization(challenge, Credentials(user, guess), "REGISTER", "sip:pbx.test")


def test_server_accepts_a_good_answer_with_either_algorithm() -> None:
    server = DigestServer(REALM, b"secret", lookup, clock=Clock())
    assert [Challenge.parse(c).algorithm for c in server.challenges()] == ["SHA-256", "MD5"]
    for which in (0, 1):
        assert verify(server, answer(server, which=which)) == AuthResult(ok=True, username="agent7")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda s: answer(s, "wrong"), "wrong password"),
        (lambda s: answer(s, user="nobody"), "unknown user"),
        (lambda s: answer(s).replace('realm="pbx.test"', 'realm="other"'), "wrong realm"),
        (lambda s: answer(s).replace(", qop=auth", ""), "qop=auth required"),
        (lambda s: answer(s).replace('nonce="', 'nonce="x'), "nonce not ours"),
        (lambda s: answer(s).replace('username="agent7", ', ""), "missing username"),
        (lambda s: "Basic YWdlbnQ3OnB3", "not a Digest credential"),
        (lambda s: None, "no credentials"),
    ],
)
def test_server_refusals(mutate: Callable[[DigestServer], str | None], reason: str) -> None:
    server = DigestServer(REALM, b"secret", lookup, clock=Clock())
    result = verify(server, mutate(server))
    assert not result.ok and not result.stale
    assert reason in result.reason


def test_digest_uri_must_be_the_request_uri() -> None:
    server = DigestServer(REALM, b"secret", lookup, clock=Clock())
    result = verify(server, answer(server), uri="sip:elsewhere.test")
    assert result.reason == "digest uri mismatch"


def test_a_nonce_from_another_secret_is_refused() -> None:
    issuer = DigestServer(REALM, b"secret-a", lookup, clock=Clock())
    checker = DigestServer(REALM, b"secret-b", lookup, clock=Clock())
    assert verify(checker, answer(issuer)).reason == "nonce not ours"


def test_an_old_nonce_with_a_good_answer_is_stale() -> None:
    clock = Clock()
    server = DigestServer(REALM, b"secret", lookup, clock=clock, nonce_ttl=60)
    value = answer(server)
    clock.now += 61
    assert verify(server, value) == AuthResult(
        ok=False, username="agent7", stale=True, reason="stale nonce"
    )
    assert verify(server, answer(server, "wrong")).stale is False  # a wrong answer is not stale
    assert "stale=true" in server.challenges(stale=True)[0]


def test_client_retry_after_a_challenge() -> None:
    server = DigestServer(REALM, b"secret", lookup, clock=Clock(), algorithms=("MD5",))
    first = request()
    challenge = response_to(
        first, 401, headers=Headers([("WWW-Authenticate", server.challenges()[0])])
    )
    new_via = Via("UDP", "10.0.0.2", 5060, {"branch": "z9hG4bKnew"})
    retry = authorized_retry(first, challenge, Credentials("agent7", "pw"), seq=2, via=new_via)
    assert retry is not None
    assert retry.cseq == CSeq(2, "REGISTER") and retry.via == [new_via]
    assert asyncio.run(server.verify(retry)).ok
    # the same challenge again after an answer: the password is wrong, do not loop
    assert (
        authorized_retry(retry, challenge, Credentials("agent7", "pw"), seq=3, via=new_via) is None
    )
    # credentials for another realm are not offered
    elsewhere = Credentials("agent7", "pw", realm="other.test")
    assert authorized_retry(first, challenge, elsewhere, seq=2, via=new_via) is None


def test_proxy_challenge_gets_proxy_authorization() -> None:
    first = request()
    challenge = response_to(
        first, 407, headers=Headers([("Proxy-Authenticate", 'Digest realm="p", nonce="n"')])
    )
    via = Via("UDP", "h", None, {"branch": "z9hG4bKp"})
    retry = authorized_retry(first, challenge, Credentials("u", "pw"), seq=2, via=via)
    assert retry is not None
    value = retry.headers.get("Proxy-Authorization")
    assert value is not None and "qop" not in value  # the challenge offered no qop: RFC 2069 form
    assert retry.headers.get("Authorization") is None
