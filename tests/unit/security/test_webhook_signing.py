"""Signing and verifying webhook bodies: what passes, and each way a request is refused."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from callbridge.services.webhooks import (
    HEADER,
    SignatureError,
    new_secret,
    sign,
    signature,
    verify,
)

SECRET = "whsec_test-secret"
NOW = 1_800_000_000.0
BODY = b'{"kind":"interaction_created","id":7}'


def test_a_signed_body_verifies_and_the_header_has_the_documented_shape() -> None:
    header = sign(SECRET, NOW, BODY)
    expected = hmac.new(SECRET.encode(), b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1800000000,v1={expected}"
    assert verify(SECRET, header, BODY, NOW + 10) == 1_800_000_000


def test_a_tampered_body_is_refused() -> None:
    header = sign(SECRET, NOW, BODY)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, header, BODY.replace(b"7", b"8"), NOW)


def test_a_wrong_secret_is_refused() -> None:
    header = sign("whsec_other", NOW, BODY)
    with pytest.raises(SignatureError, match="does not match") as caught:
        verify(SECRET, header, BODY, NOW)
    assert caught.value.code == "bad_signature"


@pytest.mark.parametrize("skew", [-301.0, 301.0, 86_400.0])
def test_a_stale_or_future_timestamp_is_refused(skew: float) -> None:
    header = sign(SECRET, NOW, BODY)
    with pytest.raises(SignatureError, match="replay"):
        verify(SECRET, header, BODY, NOW + skew)
    assert verify(SECRET, header, BODY, NOW + skew, tolerance_s=abs(skew)) == int(NOW)


def test_a_missing_header_is_refused() -> None:
    for header in (None, ""):
        with pytest.raises(SignatureError, match="missing"):
            verify(SECRET, header, BODY, NOW)


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "t=abc,v1=00",
        "t=1800000000",
        "v1=00",
        "t=1800000000,t=1800000000,v1=00",
        "t=-5,v1=00",
        "t=1800000000,v1=",
        "t=1800000000,v1=é",
    ],
)
def test_a_malformed_header_is_refused_by_name(header: str) -> None:
    with pytest.raises(SignatureError, match=f"{HEADER} header is malformed"):
        verify(SECRET, header, BODY, NOW)


def test_any_one_of_several_signatures_may_match_during_a_secret_roll() -> None:
    good = signature(SECRET, int(NOW), BODY)
    header = f"t={int(NOW)},v1={signature('whsec_old', int(NOW), BODY)},v1={good},v0=ignored"
    assert verify(SECRET, header, BODY, NOW) == int(NOW)


def test_new_secrets_are_random_and_recognisable() -> None:
    a, b = new_secret(), new_secret()
    assert a != b
    assert a.startswith("whsec_") and len(a) > 40
