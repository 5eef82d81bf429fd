"""Texts as conversations, on SQLite and PostgreSQL: an inbound SMS starts one, the agent's
answer goes out through the SMS provider (a stand-in server on loopback), the customer's next
text joins the same conversation, a provider outage delays replies without losing any, and a
restart neither loses nor repeats one."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from security_support import TOKEN, make_app
from sms_provider import SmsProvider, sms_provider

from callbridge.app import App
from callbridge.domain.clock import ManualClock
from callbridge.services.security.crypto import Keyring
from callbridge.services.webhooks import HEADER, sign
from callbridge.settings import SettingsError

AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = 1_800_000_000.0
INBOUND = "whsec-inbound-test"
OUTBOUND = "whsec-outbound-test"
CUSTOMER, OURS = "+15551230001", "+15550009999"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def text_in(client: TestClient, body: str) -> Any:
    raw = json.dumps({"from": CUSTOMER, "to": OURS, "queue_id": "texts", "text": body}).encode()
    headers = {HEADER: sign(INBOUND, NOW, raw), "content-type": "application/json"}
    return ok(client.post("/webhooks/inbound/sms", content=raw, headers=headers), 201)


def reply(client: TestClient, iid: str, body: str) -> Any:
    sent = client.post(f"/interactions/{iid}/messages", json={"agent_id": "ann", "body": body})
    return ok(sent, 201)


def eventually(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)


def open_app(database_url: str, keys: SecretStr, provider: SmsProvider | None) -> App:
    extra: dict[str, Any] = {}
    if provider is not None:
        extra = {"sms_outbound_url": provider.url, "sms_outbound_secret": SecretStr(OUTBOUND)}
    return make_app(
        database_url,
        ManualClock(NOW),
        keys=keys,
        inbound_webhook_secret=SecretStr(INBOUND),
        **extra,
    )


def test_a_text_conversation_goes_out_by_sms_and_survives_outages(database_url: str) -> None:
    keys = SecretStr(Keyring.generate().to_json())
    with sms_provider(OUTBOUND, NOW) as provider:
        app = open_app(database_url, keys, provider)
        try:
            with TestClient(app.api, headers=AUTH) as client:
                ok(client.post("/queues", json={"id": "texts", "name": "Texts"}), 201)
                ok(client.post("/agents", json={"id": "ann", "name": "Ann"}), 201)
                ok(client.post("/agents/ann/login"))
                ok(client.put("/agents/ann/state", json={"state": "ready"}))
                iid = text_in(client, "Has my order shipped?")["interaction_id"]
                ok(client.post(f"/interactions/{iid}/accept", json={"agent_id": "ann"}))

                provider.failing = 1  # the provider is busy once: the reply waits and goes
                first = reply(client, iid, "Yes, it left today.")
                eventually(lambda: len(provider.sent) == 1)
                assert provider.attempts == 2
                assert provider.sent == [
                    {
                        "id": str(first["id"]),
                        "interaction_id": iid,
                        "from": OURS,
                        "to": CUSTOMER,
                        "text": "Yes, it left today.",
                    }
                ]
                assert provider.deliveries == [str(first["id"])]

                again = text_in(client, "Thanks! When will it arrive?")
                assert again == {"interaction_id": iid, "threaded": True}
                said = ok(client.get(f"/interactions/{iid}/messages"))
                assert [(m["sender"], m["body"]) for m in said] == [
                    ("customer", "Has my order shipped?"),
                    ("agent", "Yes, it left today."),
                    ("customer", "Thanks! When will it arrive?"),
                ]
                # the provider goes down; the answer written now must not be lost
                provider.failing = 1_000
                reply(client, iid, "Tomorrow before noon.")
                eventually(lambda: provider.attempts >= 3)
        finally:
            app.close()
        assert len(provider.sent) == 1

        provider.failing = 0  # back up, and Callbridge restarts
        app = open_app(database_url, keys, provider)
        try:
            with TestClient(app.api, headers=AUTH):
                eventually(lambda: len(provider.sent) == 2)
                time.sleep(1.5)  # a second look at the log sends nothing more
        finally:
            app.close()
        assert [t["text"] for t in provider.sent] == [
            "Yes, it left today.",
            "Tomorrow before noon.",
        ]
        assert len(set(provider.deliveries)) == 2


def test_without_a_provider_texts_cannot_be_answered(database_url: str) -> None:
    app = open_app(database_url, SecretStr(Keyring.generate().to_json()), None)
    try:
        with TestClient(app.api, headers=AUTH) as client:
            ok(client.post("/queues", json={"id": "texts", "name": "Texts"}), 201)
            ok(client.post("/agents", json={"id": "ann", "name": "Ann"}), 201)
            ok(client.post("/agents/ann/login"))
            ok(client.put("/agents/ann/state", json={"state": "ready"}))
            iid = text_in(client, "Hello?")["interaction_id"]
            ok(client.post(f"/interactions/{iid}/accept", json={"agent_id": "ann"}))
            refused = client.post(
                f"/interactions/{iid}/messages", json={"agent_id": "ann", "body": "Hi!"}
            )
            assert refused.status_code == 409
            assert refused.json()["error"]["details"]["field"] == "sms_outbound_url"
            said = ok(client.get(f"/interactions/{iid}/messages"))
            assert [m["body"] for m in said] == ["Hello?"]  # the text is its first message
    finally:
        app.close()


def test_a_provider_url_without_its_secret_stops_the_start(database_url: str) -> None:
    with pytest.raises(SettingsError, match="sms_outbound_secret: required"):
        make_app(database_url, ManualClock(NOW), sms_outbound_url="http://127.0.0.1:9/x").close()
