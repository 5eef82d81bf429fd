"""The stand-in's OAuth token endpoint and session handling (contract §2)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
import sfstandin_fixture
from sfstandin import StandIn
from sfstandin_fixture import content_of
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

# fixtures, bound to names here (an import shadowed by a parameter trips ruff's F811)
salesforce = sfstandin_fixture.salesforce


JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def assertion(sf: StandIn, **claims: Any) -> str:
    body = {"iss": sf.client_id, "sub": sf.username, "aud": sf.audience}
    body |= {"exp": int(time.time()) + 180} | claims
    return jwt.encode(body, sf.private_key_pem, algorithm="RS256")


def post_token(sf: StandIn, data: dict[str, str], **kw: Any) -> requests.Response:
    with sf.http_session() as s:
        return s.post(sf.token_url, data=data, timeout=10, **kw)


def test_jwt_bearer_returns_a_token_without_refresh_token_or_expiry(salesforce: StandIn) -> None:
    resp = post_token(salesforce, {"grant_type": JWT_BEARER, "assertion": assertion(salesforce)})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "scope",
    }
    assert body["instance_url"] == salesforce.base_url
    assert body["token_type"] == "Bearer"
    assert body["access_token"].startswith("00D") and "!" in body["access_token"]
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    assert salesforce.api_calls() == 0  # token requests are not API calls


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        ({"aud": "https://test.salesforce.com"}, "invalid_grant", "Audience validation failed"),
        ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
        ({"sub": "nobody@example.com"}, "invalid_grant", "invalid assertion"),
        ({"exp": int(time.time()) - 60}, "invalid_grant", "expired authorization code"),
    ],
)
def test_jwt_bearer_errors_are_oauth_bodies_with_400(
    salesforce: StandIn, claims: dict[str, Any], error: str, description: str
) -> None:
    resp = post_token(
        salesforce, {"grant_type": JWT_BEARER, "assertion": assertion(salesforce, **claims)}
    )
    assert resp.status_code == 400
    assert resp.json() == {"error": error, "error_description": description}


def test_jwt_signed_by_another_key_is_refused(salesforce: StandIn) -> None:
    other = StandIn()  # a different RSA key, never started
    try:
        token = assertion(other, iss=salesforce.client_id, sub=salesforce.username)
    finally:
        other.stop()
    resp = post_token(salesforce, {"grant_type": JWT_BEARER, "assertion": token})
    assert resp.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_client_credentials_with_basic_auth_or_form(salesforce: StandIn) -> None:
    basic = post_token(
        salesforce,
        {"grant_type": "client_credentials"},
        auth=(salesforce.client_id, salesforce.client_secret),
    )
    form = post_token(
        salesforce,
        {
            "grant_type": "client_credentials",
            "client_id": salesforce.client_id,
            "client_secret": salesforce.client_secret,
        },
    )
    assert basic.status_code == form.status_code == 200
    assert basic.json()["api_instance_url"] == salesforce.base_url
    assert "refresh_token" not in basic.json()


@pytest.mark.parametrize(
    ("data", "auth", "expected"),
    [
        (
            {"grant_type": "client_credentials"},
            ("3MVG9wrong", "x"),
            {"error": "invalid_client_id", "error_description": "client identifier invalid"},
        ),
        (
            {"grant_type": "client_credentials"},
            "wrong-secret",
            {"error": "invalid_client", "error_description": "invalid client credentials"},
        ),
        (
            {"grant_type": "authorization_code"},
            None,
            {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
        ),
        ({}, None, {"error": "invalid_request", "error_description": "grant type is missing"}),
    ],
)
def test_token_endpoint_errors(
    salesforce: StandIn, data: dict[str, str], auth: Any, expected: dict[str, str]
) -> None:
    if auth == "wrong-secret":
        auth = (salesforce.client_id, "wrong")
    resp = post_token(salesforce, data, auth=auth)
    assert resp.status_code == 400
    assert resp.json() == expected


def test_password_grant_needs_password_plus_security_token(salesforce: StandIn) -> None:
    form = {
        "grant_type": "password",
        "client_id": salesforce.client_id,
        "client_secret": salesforce.client_secret,
        "username": salesforce.username,
        "password": "stand-in-password",
    }
    refused = post_token(salesforce, form)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    accepted = post_token(salesforce, form | {"password": "stand-in-passwordSTANDINTOKEN"})
    assert accepted.status_code == 200
    assert "scope" not in accepted.json()


def test_data_api_needs_a_live_bearer_token(salesforce: StandIn) -> None:
    url = f"{salesforce.base_url}/services/data/v62.0/limits"
    with salesforce.http_session() as s:
        missing = s.get(url, timeout=10)
        wrong = s.get(url, headers={"Authorization": "Bearer 00Dnope"}, timeout=10)
        basic = s.get(url, headers={"Authorization": "Basic abc"}, timeout=10)
    expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert (missing.status_code, missing.json()) == (401, expired)
    assert (wrong.status_code, wrong.json()) == (401, expired)
    assert basic.json()[0]["errorCode"] == "INVALID_AUTH_HEADER"
    assert salesforce.api_calls() == 0


def test_expire_sessions_makes_simple_salesforce_raise_expired_session(
    salesforce: StandIn,
) -> None:
    token = post_token(
        salesforce, {"grant_type": JWT_BEARER, "assertion": assertion(salesforce)}
    ).json()["access_token"]
    with salesforce.http_session() as session:
        sf = Salesforce(
            instance_url=salesforce.base_url, session_id=token, session=session, version="62.0"
        )
        assert sf.limits()["DailyApiRequests"]["Max"] == 15000
        salesforce.expire_sessions()
        with pytest.raises(SalesforceExpiredSession) as caught:
            sf.limits()
    assert caught.value.status == 401
    assert content_of(caught.value) == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_revoke_ends_a_session(salesforce: StandIn) -> None:
    token = salesforce.issue_token()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{salesforce.base_url}/services/data/v62.0/limits/"
    with salesforce.http_session() as s:
        assert s.get(url, headers=headers, timeout=10).status_code == 200
        revoke = s.post(f"{salesforce.base_url}/services/oauth2/revoke", data={"token": token})
        assert revoke.status_code == 200
        assert s.get(url, headers=headers, timeout=10).status_code == 401
