"""A supervisor limited to one queue, on the wallboard in real Chromium: their queue, the agents
who serve it, its callers; another queue's caller never reaches the page, though the agent who
serves both shows as busy with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_support import VIEWPORT, chromium, screenshot, served
from playwright.sync_api import Browser, expect
from pydantic import SecretStr

from callbridge.app import build
from callbridge.services.security.accounts import Actor
from callbridge.services.security.crypto import Keyring
from callbridge.settings import Settings

TOKEN = "e2e-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "a long enough passphrase"
SECOND = 1000  # ms: how soon the wallboard must show a change
OURS, THEIRS = "+14155550111", "+14155550777"


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _call(api: httpx.Client, method: str, path: str, body: Any = None) -> Any:
    response = api.request(method, path, json=body)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def test_a_queue_limited_wallboard(browser: Browser, tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cb.db'}",
        admin_token=SecretStr(TOKEN),
        keys=SecretStr(Keyring.generate().to_json()),
        tick_interval_s=0.05,
    )
    app = build(settings)
    try:
        with served(app) as base, httpx.Client(base_url=base, headers=ADMIN) as api:
            for queue_id, name, skill in (("q1", "Support", "support"), ("q2", "Sales", "sales")):
                queue = {"id": queue_id, "name": name, "requirements": [{"skill": skill}]}
                _call(api, "POST", "/queues", queue)
            for agent_id, name, skills in (
                ("a1", "Alice Agent", {"support": 5, "sales": 5}),
                ("a3", "Carol Agent", {"sales": 5}),
            ):
                _call(api, "POST", "/agents", {"id": agent_id, "name": name, "skills": skills})
            app.accounts.create_user(
                Actor("test", "test"),
                "sue",
                PASSWORD,
                ["supervisor"],
                queues=["q1"],
                mfa_required=False,
            )
            page = browser.new_context(viewport=VIEWPORT).new_page()  # type: ignore[arg-type]
            page.goto(f"{base}/wallboard")
            page.get_by_label("Username").fill("sue")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(f"{base}/wallboard")
            expect(page.locator("#connection")).to_have_text("Live")
            expect(page.locator("#queues tbody tr")).to_have_count(1)
            expect(page.locator("#queues tbody tr")).to_contain_text("Support")
            alice = page.locator("#agents tbody tr", has_text="Alice Agent")
            expect(alice).to_contain_text("Logged out")
            expect(page.locator("#agents tbody tr", has_text="Carol Agent")).to_have_count(0)

            # Alice takes a Sales call: busy on the board, the call not shown
            _call(api, "POST", "/agents/a1/login")
            _call(api, "PUT", "/agents/a1/state", {"state": "ready"})
            body = {"channel": "voice", "from": THEIRS, "queue_id": "q2"}
            theirs = _call(api, "POST", "/interactions", body)["interaction"]["id"]
            _call(api, "POST", f"/interactions/{theirs}/accept", {"agent_id": "a1"})
            expect(alice).to_contain_text("Busy", timeout=SECOND)
            expect(alice).to_contain_text("not in your queues")

            # a Support caller waits: counted, and shown once Alice takes the call
            body = {"channel": "voice", "from": OURS, "queue_id": "q1"}
            ours = _call(api, "POST", "/interactions", body)["interaction"]["id"]
            queue_row = page.locator("#queues tbody tr")
            expect(queue_row.locator("td").first).to_have_text("1", timeout=SECOND)
            _call(api, "POST", f"/interactions/{theirs}/end", {"by": "customer"})
            _call(api, "POST", f"/interactions/{theirs}/wrap-up", {"agent_id": "a1"})
            _call(api, "POST", f"/interactions/{ours}/accept", {"agent_id": "a1"})
            expect(alice).to_contain_text(OURS, timeout=SECOND)
            expect(queue_row.locator("td").first).to_have_text("0")
            screenshot(page, tmp_path, "wallboard-limited")
            assert THEIRS not in page.content()
    finally:
        app.close()
