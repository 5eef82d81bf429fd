"""The SIP digest kept for an agent's phone: HA1 for MD5 and SHA-256 (RFC 7616), checked against
a hand computation and against the example answers the RFC publishes."""

from __future__ import annotations

import hashlib

import pytest

from callbridge.domain.ids import AgentId
from callbridge.domain.security.accounts import SipCredentials, SipDigest

# RFC 7616 section 3.9.1
USERNAME, REALM, PASSWORD = "Mufasa", "http-auth@example.org", "Circle of Life"
NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC_RESPONSE = {
    "MD5": "8ca523f5e9506fed4657c9700eebdbec",
    "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
}


def test_ha1_is_the_hash_of_username_realm_and_password() -> None:
    digest = SipDigest.of(USERNAME, REALM, PASSWORD)
    text = b"Mufasa:http-auth@example.org:Circle of Life"
    assert digest.realm == REALM
    assert digest.md5 == hashlib.md5(text, usedforsecurity=False).hexdigest()
    assert digest.sha256 == hashlib.sha256(text).hexdigest()
    assert digest.md5 == "3d78807defe7de2157e2b0b6573a855f"
    assert len(digest.sha256) == 64 and digest.sha256 == digest.sha256.lower()


@pytest.mark.parametrize(
    ("algorithm", "hash_name"), [("MD5", "md5"), ("SHA-256", "sha256"), ("sha-256", "sha256")]
)
def test_the_stored_ha1_answers_the_rfc_example(algorithm: str, hash_name: str) -> None:
    # A server holding only HA1 computes the same response the RFC's client sent.
    ha1 = SipDigest.of(USERNAME, REALM, PASSWORD).ha1(REALM, algorithm)
    assert ha1 is not None

    def h(text: str) -> str:
        return hashlib.new(hash_name, text.encode(), usedforsecurity=False).hexdigest()

    ha2 = h("GET:/dir/index.html")
    response = h(f"{ha1}:{NONCE}:00000001:{CNONCE}:auth:{ha2}")
    assert response == RFC_RESPONSE[algorithm.upper()]


def test_another_realm_or_algorithm_gets_no_ha1() -> None:
    digest = SipDigest.of(USERNAME, REALM, PASSWORD)
    assert digest.ha1("callbridge", "MD5") is None
    assert digest.ha1(REALM, "SHA-512-256") is None
    credentials = SipCredentials("u1", USERNAME, AgentId("a1"), digest)
    assert credentials.ha1(REALM, "SHA-256") == digest.sha256


def test_username_realm_and_password_each_change_the_digest() -> None:
    base = SipDigest.of(USERNAME, REALM, PASSWORD)
    others = [
        SipDigest.of("mufasa", REALM, PASSWORD),
        SipDigest.of(USERNAME, "callbridge", PASSWORD),
        SipDigest.of(USERNAME, REALM, "Circle of life"),
    ]
    assert all(o.md5 != base.md5 and o.sha256 != base.sha256 for o in others)
