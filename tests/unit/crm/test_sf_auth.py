"""The JWT bearer assertion and the token request's answers, over a canned requests transport."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import BaseAdapter

from callbridge.adapters.crm.salesforce.auth import (
    JWT_GRANT,
    ClientCredentials,
    JwtBearer,
    jwt_assertion,
)
from callbridge.adapters.crm.salesforce.errors import SalesforceAuthError, SalesforceUnavailable
from callbridge.domain.clock import ManualClock

TOKEN_URL = "https://login.example.test/services/oauth2/token"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_the_assertion_is_rs256_with_the_four_claims(key: rsa.RSAPrivateKey) -> None:
    token = jwt_assertion(
        client_id="3MVG9-key", username="cc@acme.example", audience="https://test.salesforce.com",
        private_key_pem=pem(key), now=1_700_000_000.5,
    )  # fmt: skip
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(
        token,
        key.public_key(),
        algorithms=["RS256"],
        audience="https://test.salesforce.com",
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": "3MVG9-key",
        "sub": "cc@acme.example",
        "aud": "https://test.salesforce.com",
        "exp": 1_700_000_180,
    }


class Canned(BaseAdapter):
    """A requests transport answering from a list, and keeping what was sent."""

    def __init__(self, answers: list[tuple[int, Mapping[str, Any] | str]]) -> None:
        super().__init__()
        self.answers = answers
        self.sent: list[requests.PreparedRequest] = []

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        self.sent.append(request)
        status, body = self.answers.pop(0)
        response = requests.Response()
        response.status_code = status
        response._content = (body if isinstance(body, str) else json.dumps(body)).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def mount(session: requests.Session, *answers: tuple[int, Mapping[str, Any] | str]) -> Canned:
    adapter = Canned(list(answers))
    session.mount("https://", adapter)
    return adapter


def test_jwt_bearer_posts_the_grant_and_reads_the_token(
    session: requests.Session, key: rsa.RSAPrivateKey
) -> None:
    adapter = mount(session, (200, {"access_token": "00D!tok", "instance_url": "https://org.test/",
                                    "token_type": "Bearer"}))  # fmt: skip
    source = JwtBearer(TOKEN_URL, "key", "user@x", "https://login.salesforce.com", pem(key),
                       ManualClock(1_700_000_000))  # fmt: skip
    token = source.fetch(session)
    assert (token.access_token, token.instance_url) == ("00D!tok", "https://org.test")
    form = parse_qs(str(adapter.sent[0].body))
    assert form["grant_type"] == [JWT_GRANT]
    assert jwt.decode(form["assertion"][0], options={"verify_signature": False})["sub"] == "user@x"
    assert "Authorization" not in adapter.sent[0].headers


def test_client_credentials_use_basic_auth(session: requests.Session) -> None:
    adapter = mount(session, (200, {"access_token": "t", "instance_url": "https://org.test"}))
    ClientCredentials(TOKEN_URL, "key", "secret").fetch(session)
    sent = adapter.sent[0]
    assert sent.body == "grant_type=client_credentials"
    assert sent.headers["Authorization"] == requests.auth._basic_auth_str("key", "secret")


def test_a_refusal_names_the_oauth_error(session: requests.Session) -> None:
    mount(
        session,
        (400, {"error": "invalid_grant", "error_description": "Audience validation failed"}),
    )
    with pytest.raises(SalesforceAuthError, match="invalid_grant: Audience validation failed"):
        ClientCredentials(TOKEN_URL, "key", "secret").fetch(session)


def test_an_outage_of_the_token_endpoint_is_retryable(session: requests.Session) -> None:
    mount(session, (503, "<html>maintenance</html>"))
    with pytest.raises(SalesforceUnavailable) as caught:
        ClientCredentials(TOKEN_URL, "key", "secret").fetch(session)
    assert caught.value.retryable


def test_the_configured_instance_url_when_the_answer_has_none(session: requests.Session) -> None:
    mount(session, (200, {"access_token": "t"}), (200, {"access_token": "t"}))
    token = ClientCredentials(TOKEN_URL, "k", "s", "https://mine.test").fetch(session)
    assert token.instance_url == "https://mine.test"
    with pytest.raises(SalesforceAuthError, match="salesforce_instance_url"):
        ClientCredentials(TOKEN_URL, "k", "s").fetch(session)
