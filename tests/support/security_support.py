"""Building an app with users of each role, and logging them in through the real API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from pydantic import SecretStr

from callbridge.app import App, build
from callbridge.domain.clock import ManualClock
from callbridge.services.security.accounts import Actor
from callbridge.services.security.crypto import Keyring
from callbridge.settings import Settings

TOKEN = "test-admin-token"
PASSWORD = "a long enough passphrase"
TEST_ACTOR = Actor("test", "test")


def make_app(database_url: str, clock: ManualClock, **settings: Any) -> App:
    settings.setdefault("keys", SecretStr(Keyring.generate().to_json()))
    config = Settings(database_url=database_url, admin_token=SecretStr(TOKEN), **settings)
    return build(config, clock=clock, run_timer_loop=False)


@dataclass
class LoggedIn:
    client: TestClient
    csrf: str

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.client.post(url, headers={"X-CSRF-Token": self.csrf}, **kwargs)


def login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/auth/login", json={"username": username, "password": password})


def enrol(client: TestClient, csrf: str, clock: ManualClock) -> list[str]:
    """Set up TOTP for a logged-in session; returns the recovery codes."""
    headers = {"X-CSRF-Token": csrf}
    started = client.post("/auth/mfa/enrol", headers=headers)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    code = pyotp.TOTP(secret).at(int(clock.now()))
    confirmed = client.post("/auth/mfa/confirm", headers=headers, json={"code": code})
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    return codes


def session_for(app: App, clock: ManualClock, username: str) -> LoggedIn:
    """A TestClient logged in as `username`, second factor done if the role needs one."""
    client = TestClient(app.api)
    response = login(client, username)
    assert response.status_code == 200, response.text
    body = response.json()
    if body["mfa"] == "enrol":
        enrol(client, body["csrf_token"], clock)
    elif body["mfa"] == "verify":
        raise AssertionError("session_for works for users without TOTP set up yet")
    return LoggedIn(client, body["csrf_token"])
