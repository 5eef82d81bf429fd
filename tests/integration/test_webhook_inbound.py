"""Inbound channel webhooks: a signed SMS or email becomes an interaction; anything unsigned,
badly signed or stale is refused before it touches anything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from security_support import TOKEN, make_app

from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.services.webhooks import HEADER, sign

AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "inbound-shared-secret"
NOW = 1_800_000_000.0


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    built = make_app(database_url, ManualClock(NOW), inbound_webhook_secret=SecretStr(SECRET))
    yield built
    built.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app.api) as c:
        queue = {"id": "texts", "name": "Texts"}
        assert c.post("/queues", json=queue, headers=AUTH).status_code == 201
        yield c


def message(**extra: Any) -> bytes:
    body = {"from": "+14155550100", "to": "+14155550199", "queue_id": "texts", **extra}
    return json.dumps(body).encode()


def post(client: TestClient, channel: str, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[HEADER] = signature
    return client.post(f"/webhooks/inbound/{channel}", content=body, headers=headers)


def test_a_signed_sms_becomes_an_interaction(client: TestClient) -> None:
    body = message(text="Where is my order?")
    accepted = post(client, "sms", body, sign(SECRET, NOW - 30, body))
    assert accepted.status_code == 201, accepted.text
    iid = accepted.json()["interaction_id"]
    got = client.get(f"/interactions/{iid}", headers=AUTH).json()
    assert (got["channel"], got["queue_id"]) == ("sms", "texts")
    assert got["attached"]["text"] == "Where is my order?"


def test_a_signed_email_keeps_its_subject(client: TestClient) -> None:
    body = message(subject="Refund", text="Please refund me")
    accepted = post(client, "email", body, sign(SECRET, NOW, body))
    assert accepted.status_code == 201, accepted.text
    got = client.get(f"/interactions/{accepted.json()['interaction_id']}", headers=AUTH).json()
    assert got["channel"] == "email" and got["attached"]["subject"] == "Refund"


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "nonsense",
        sign("some-other-secret", NOW, message()),
        sign(SECRET, NOW - 3600, message()),
        sign(SECRET, NOW, message(queue_id="other")),  # signed a different body
    ],
    ids=["missing", "malformed", "wrong-secret", "stale", "tampered"],
)
def test_a_bad_signature_is_refused_with_401(client: TestClient, signature: str | None) -> None:
    refused = post(client, "sms", message(), signature)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == "bad_signature"
    assert client.get("/interactions", headers=AUTH).json() == []


def test_a_signed_but_invalid_message_is_refused_with_422(client: TestClient) -> None:
    body = message(unexpected=True)
    refused = post(client, "sms", body, sign(SECRET, NOW, body))
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "unexpected"
    not_json = b"from=+1415"
    assert post(client, "sms", not_json, sign(SECRET, NOW, not_json)).status_code == 422


def test_only_sms_and_email_are_inbound_channels(client: TestClient) -> None:
    body = message()
    assert post(client, "voice", body, sign(SECRET, NOW, body)).status_code == 422


def test_without_the_setting_the_endpoint_is_off(database_url: str) -> None:
    built = make_app(database_url, ManualClock(NOW))
    try:
        with TestClient(built.api) as client:
            body = message()
            off = post(client, "sms", body, sign(SECRET, NOW, body))
        assert off.status_code == 503
        assert "inbound_webhook_secret" in off.json()["error"]["message"]
    finally:
        built.close()
