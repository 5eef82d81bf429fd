"""The agent desktop and the wallboard, end to end, in real Chromium against a served app.

An agent signs in with a password and a TOTP code, goes Ready, is offered a call (created
through the REST API), sees the right contact pop, accepts (by keyboard), holds, refreshes the
page mid-call and finds the same state, ends, is told the disposition is required, dispositions,
and the activity reaches the CRM. A supervisor, who sets up TOTP on first sign-in, watches the
wallboard: each change shows within a second.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from browser_support import VIEWPORT, chromium, screenshot, served
from campaign_fakes import MemoryCampaignStore, fresh_registry, midday_zone, running, uk_campaign
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr
from sms_provider import SmsProvider, sms_provider

from callbridge.app import App, build
from callbridge.domain.dialer.calls import CallResult, DialProgress, PlacedCall
from callbridge.domain.dialer.ids import ListId, RecordId
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.domain.ids import AgentId
from callbridge.services.dialer import Dialer
from callbridge.services.security.accounts import Actor
from callbridge.services.security.crypto import Keyring
from callbridge.services.webhooks import HEADER, sign
from callbridge.settings import Settings

TOKEN = "e2e-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "a long enough passphrase"
ACTOR = Actor("test", "test")
CALLER = "+14155550142"
SECOND = 1000  # ms: how soon the wallboard must show a change
INBOUND_SECRET, OUTBOUND_SECRET = "e2e-inbound-secret", "e2e-outbound-secret"
OUR_NUMBER = "+14155550199"
NONE = "\N{EN DASH}"  # an empty cell on the wallboard
SCRIPT = (
    "Hello {{record.FirstName}}, this is {{ agent.name }}.\n"
    "You called about {{ivr.reason}} on account {{ivr.account_number}}; plan {{record.Plan__c}}."
)


@dataclass
class Center:
    app: App
    base: str
    api: httpx.Client
    alice_secret: str
    contact_id: str
    sms: SmsProvider


@pytest.fixture
def sms() -> Iterator[SmsProvider]:
    with sms_provider(OUTBOUND_SECRET, time.time()) as provider:
        yield provider


@pytest.fixture
def center(tmp_path: Path, sms: SmsProvider) -> Iterator[Center]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cb.db'}",
        admin_token=SecretStr(TOKEN),
        keys=SecretStr(Keyring.generate().to_json()),
        crm_outbox_interval_s=0.2,
        tick_interval_s=0.05,
        webchat_queues=("support",),
        inbound_webhook_secret=SecretStr(INBOUND_SECRET),
        sms_outbound_url=sms.url,
        sms_outbound_secret=SecretStr(OUTBOUND_SECRET),
    )
    app = build(settings)
    try:
        with served(app) as base, httpx.Client(base_url=base, headers=ADMIN) as api:
            _call(api, "POST", "/dispositions", {"code": "resolved", "label": "Resolved"})
            _call(api, "POST", "/dispositions", {"code": "sale", "label": "Sale"})
            queue = {
                "id": "support",
                "name": "Support",
                "requirements": [{"skill": "support"}],
                "offer_timeout_s": 120,
                "wrap_up": {"duration_s": 120, "disposition_required": True},
                "script": SCRIPT,
            }
            _call(api, "POST", "/queues", queue)
            agent = {"id": "a1", "name": "Alice Agent", "skills": {"support": 5}}
            _call(api, "POST", "/agents", agent)
            _call(api, "POST", "/agents", {"id": "a2", "name": "Bob Agent", "skills": {}})
            app.accounts.create_user(
                ACTOR, "alice", PASSWORD, ["agent"], agent_id="a1", mfa_required=True
            )
            app.accounts.create_user(ACTOR, "sam", PASSWORD, ["supervisor"], agent_id="a2")
            contact = _call(
                api,
                "POST",
                "/crm/contacts",
                {"FirstName": "Dana", "LastName": "Customer", "Phone": "(415) 555-0142"},
            )
            yield Center(app, base, api, _enrol(base, "alice"), contact["id"], sms)
    finally:
        app.close()


def _call(api: httpx.Client, method: str, path: str, body: Any = None) -> Any:
    response = api.request(method, path, json=body)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def _enrol(base: str, username: str) -> str:
    """Set up TOTP for a user through the API (as the user would, once); its secret."""
    with httpx.Client(base_url=base) as client:
        login = client.post("/auth/login", json={"username": username, "password": PASSWORD})
        headers = {"X-CSRF-Token": login.json()["csrf_token"]}
        secret: str = client.post("/auth/mfa/enrol", headers=headers).json()["secret"]
        code = pyotp.TOTP(secret).now()
        confirmed = client.post("/auth/mfa/confirm", headers=headers, json={"code": code})
        assert confirmed.status_code == 200, confirmed.text
        return secret


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _unnamed_controls(page: Page) -> list[str]:
    """Visible controls without an accessible name (label, aria-label or text)."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('button, a[href], input, select, textarea')]
            .filter((el) => el.offsetParent !== null && el.type !== 'hidden')
            .filter((el) => {
                const label = el.getAttribute('aria-label')
                    || [...(el.labels ?? [])].map((l) => l.textContent).join(' ')
                    || el.textContent || el.title || el.alt || '';
                return label.trim() === '';
            })
            .map((el) => el.outerHTML.slice(0, 120))"""
    )
    return found


def _fits(page: Page) -> bool:
    width: int = page.evaluate("() => document.documentElement.scrollWidth")
    return width <= VIEWPORT["width"]


def _sign_in_alice(agent: Page, center: Center, tmp_path: Path) -> None:
    """By keyboard: password, then the authenticator's code."""
    agent.goto(f"{center.base}/agent")
    expect(agent).to_have_url(f"{center.base}/login?next=/agent")
    expect(agent.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(agent, tmp_path, "login")
    agent.keyboard.type("alice")
    agent.keyboard.press("Tab")
    agent.keyboard.type(PASSWORD)
    agent.keyboard.press("Enter")
    code = agent.get_by_label("Verification code")
    expect(code).to_be_focused()
    code.fill(pyotp.TOTP(center.alice_secret).now())
    code.press("Enter")
    expect(agent).to_have_url(f"{center.base}/agent")
    expect(agent.get_by_role("status").first).to_have_text("Live")


def test_an_agent_chats_with_a_customer_on_the_web(
    center: Center, browser: Browser, tmp_path: Path
) -> None:
    agent = browser.new_context(viewport=VIEWPORT).new_page()  # type: ignore[arg-type]
    _sign_in_alice(agent, center, tmp_path)
    agent.get_by_role("button", name="Ready", exact=True).click()
    expect(agent.locator("#my-state")).to_have_text("Ready")

    # the customer opens the web chat page and starts with a first message
    customer = browser.new_context(viewport=VIEWPORT).new_page()  # type: ignore[arg-type]
    customer.goto(f"{center.base}/webchat")
    customer.get_by_label("Your email or phone").fill("dana@example.com")
    customer.get_by_label("How can we help?").fill("Hi, charged twice?")
    customer.get_by_role("button", name="Start chat").click()
    status = customer.get_by_role("status")
    expect(status).to_have_text("Waiting for an agent…")
    theirs = customer.get_by_role("log", name="Conversation")
    expect(theirs).to_contain_text("Hi, charged twice?")

    log = agent.get_by_role("log", name="Conversation with dana@example.com")
    expect(log).to_contain_text("Hi, charged twice?")
    composer = agent.get_by_label("Message to dana@example.com")
    expect(composer).to_be_disabled()  # offered, not yet accepted
    agent.get_by_role("button", name="Accept").click()
    expect(composer).to_be_enabled()
    expect(status).to_have_text("You are chatting with Alice Agent.", timeout=SECOND)

    # each sees the other typing (a notice of a few seconds, polled: within two seconds)
    message = customer.get_by_label("Your message")
    message.press_sequentially("Th")
    expect(agent.get_by_text("dana@example.com is typing…")).to_be_visible(timeout=3000)
    typing = customer.get_by_text("Alice Agent is typing…")

    # the agent answers by keyboard: Enter sends, Shift+Enter is a new line
    composer.fill("Let me look")
    expect(typing).to_be_visible(timeout=3000)
    composer.press("Shift+Enter")
    composer.press_sequentially("into it.")
    composer.press("Enter")
    expect(composer).to_have_value("")
    expect(log.locator("li")).to_have_count(2)
    expect(theirs.locator("li").last).to_contain_text("Let me look\ninto it.", timeout=SECOND)
    expect(typing).to_be_hidden()

    # the customer's answer reaches the agent within a second, once
    message.fill("Thanks!")
    message.press("Enter")
    expect(log.locator("li").last).to_contain_text("Thanks!", timeout=SECOND)
    expect(log.locator("li")).to_have_count(3)
    screenshot(agent, tmp_path, "agent-chat")
    screenshot(customer, tmp_path, "webchat")
    for page in (agent, customer):
        assert _unnamed_controls(page) == []
        assert _fits(page)
    iid = customer.evaluate(
        "() => JSON.parse(sessionStorage.getItem('callbridge.webchat.support')).id"
    )
    transcript = _call(center.api, "GET", f"/interactions/{iid}/messages")
    assert [(m["sender"], m["body"]) for m in transcript] == [
        ("customer", "Hi, charged twice?"),
        ("agent", "Let me look\ninto it."),
        ("customer", "Thanks!"),
    ]

    # a refresh keeps the whole conversation, on both sides
    agent.reload()
    customer.reload()
    expect(log.locator("li")).to_have_count(3)
    expect(log.locator("li").nth(1)).to_contain_text("Let me look")
    expect(theirs.locator("li")).to_have_count(3)

    # the customer leaves: the agent wraps up and can no longer write
    customer.get_by_role("button", name="Leave the chat").click()
    expect(status).to_have_text("The chat has ended. Thank you!")
    expect(message).to_be_disabled()
    expect(agent.get_by_role("button", name="Finish wrap-up")).to_be_visible()
    expect(composer).to_be_disabled()


def _text_in(center: Center, text: str) -> Any:
    body = json.dumps({"from": CALLER, "to": OUR_NUMBER, "queue_id": "support", "text": text})
    raw = body.encode()
    headers = {HEADER: sign(INBOUND_SECRET, time.time(), raw), "content-type": "application/json"}
    response = httpx.post(f"{center.base}/webhooks/inbound/sms", content=raw, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_agent_answers_a_text(center: Center, browser: Browser, tmp_path: Path) -> None:
    agent = browser.new_context(viewport=VIEWPORT).new_page()  # type: ignore[arg-type]
    _sign_in_alice(agent, center, tmp_path)
    agent.get_by_role("button", name="Ready", exact=True).click()
    iid = _text_in(center, "Was I charged twice?")["interaction_id"]

    log = agent.get_by_role("log", name=f"Conversation with {CALLER}")
    expect(log).to_contain_text("Was I charged twice?")
    expect(agent.get_by_role("heading", name="Dana Customer")).to_be_visible()  # the screen pop
    composer = agent.get_by_label(f"Text to {CALLER}")
    agent.get_by_role("button", name="Accept").click()
    expect(composer).to_be_enabled()
    composer.fill("Let me check your account.")
    composer.press("Enter")
    expect(log.locator("li")).to_have_count(2)
    deadline = time.monotonic() + 10
    while not center.sms.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(t["to"], t["from"], t["text"]) for t in center.sms.sent] == [
        (CALLER, OUR_NUMBER, "Let me check your account.")
    ]
    # the customer's next text joins the conversation on screen, within a second
    assert _text_in(center, "Thank you") == {"interaction_id": iid, "threaded": True}
    expect(log.locator("li").last).to_contain_text("Thank you", timeout=SECOND)
    screenshot(agent, tmp_path, "agent-text")
    assert _unnamed_controls(agent) == []


def test_an_agent_handles_a_call_and_the_wallboard_follows(
    center: Center, browser: Browser, tmp_path: Path
) -> None:
    agent_ctx = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    boss_ctx = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    agent = agent_ctx.new_page()
    boss = boss_ctx.new_page()

    _sign_in_alice(agent, center, tmp_path)

    # the supervisor's role needs a second factor: set up on first sign-in
    boss.goto(f"{center.base}/wallboard")
    boss.get_by_label("Username").fill("sam")
    boss.get_by_label("Password").fill(PASSWORD)
    boss.get_by_role("button", name="Sign in").click()
    secret = boss.locator("#enrol-secret")
    expect(secret).not_to_be_empty()
    boss.get_by_label("Code from the app").fill(pyotp.TOTP(secret.inner_text()).now())
    boss.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(boss.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    boss.get_by_role("button", name="I have saved them").click()
    expect(boss).to_have_url(f"{center.base}/wallboard")
    expect(boss.locator("#connection")).to_have_text("Live")
    alice_row = boss.locator("#agents tbody tr", has_text="Alice Agent")
    expect(alice_row).to_contain_text("Logged out")

    agent.get_by_role("button", name="Ready", exact=True).click()
    expect(agent.locator("#my-state")).to_have_text("Ready")
    expect(alice_row).to_contain_text("Ready", timeout=SECOND)

    # a call arrives, with what the IVR collected
    created = _call(
        center.api,
        "POST",
        "/interactions",
        {
            "channel": "voice",
            "from": CALLER,
            "queue_id": "support",
            "attached": {"reason": "billing", "account_number": "10001"},
        },
    )
    iid = created["interaction"]["id"]
    expect(alice_row).to_contain_text("Offered", timeout=SECOND)
    expect(agent.get_by_role("button", name="Accept")).to_be_visible()
    customer = agent.locator("#customer")
    expect(customer).to_contain_text("Dana Customer (Contact)")
    expect(customer).to_contain_text("billing")
    # the queue's call script, merged with the CRM record, the IVR's data and the agent; a
    # field with no value is a visible blank
    expect(agent.get_by_role("region", name="Call script")).to_have_text(
        "Hello Dana, this is Alice Agent.\nYou called about billing on account 10001; plan ____."
    )
    expect(agent.locator("#work")).to_contain_text("answer within")
    screenshot(agent, tmp_path, "agent-offered")

    agent.keyboard.press("Alt+Shift+A")  # accept, by keyboard
    expect(agent.get_by_role("button", name="Hold")).to_be_visible()
    expect(alice_row).to_contain_text("Busy", timeout=SECOND)
    expect(boss.locator("#agents")).to_contain_text(f"Call · {CALLER} · connected")

    # listen, whisper and barge: enabled for Alice's call only, and they ask the API; with no
    # telephony running here the API's refusal shows in place
    listen = boss.get_by_role("button", name="Listen to Alice Agent's call")
    expect(listen).to_be_enabled()
    expect(boss.get_by_role("button", name="Whisper to Alice Agent's call")).to_be_enabled()
    expect(boss.get_by_role("button", name="Barge into Alice Agent's call")).to_be_enabled()
    expect(boss.get_by_role("button", name="Listen to Bob Agent's call")).to_be_disabled()
    with boss.expect_response(f"**/interactions/{iid}/monitor") as asked:
        listen.click()
    assert asked.value.request.method == "POST"
    assert asked.value.request.post_data_json == {"agent_id": "a2", "mode": "listen"}
    assert asked.value.status == 409, asked.value.text()
    expect(alice_row.get_by_role("status")).to_contain_text("Listen failed: voice is off")
    screenshot(boss, tmp_path, "wallboard-monitor")
    assert _unnamed_controls(boss) == []
    assert _fits(boss)

    # a refresh mid-call restores the same state, and the timers go on from the same start
    agent.get_by_role("button", name="Hold").click()
    expect(agent.get_by_role("button", name="Resume")).to_be_visible()
    agent.reload()
    expect(agent.get_by_role("button", name="Resume")).to_be_visible()
    expect(agent.locator("#my-state")).to_have_text("Busy")
    expect(customer).to_contain_text("Dana Customer (Contact)")
    expect(agent.locator("#connection")).to_have_text("Live")
    agent.get_by_role("button", name="Resume").click()
    expect(agent.get_by_role("button", name="Hold")).to_be_visible()
    screenshot(agent, tmp_path, "agent-connected")
    assert _unnamed_controls(agent) == []
    assert _fits(agent)

    agent.get_by_role("button", name="End").click()
    expect(alice_row).to_contain_text("Wrap-up", timeout=SECOND)
    finish = agent.get_by_role("button", name="Finish wrap-up")
    expect(agent.locator("#work")).to_contain_text("Wrap-up ends in")
    finish.click()
    expect(agent.locator("#work")).to_contain_text("this queue requires a disposition")
    agent.get_by_label("Disposition (required)").select_option(label="Resolved")
    agent.get_by_label("Notes").fill("Explained the bill")
    screenshot(agent, tmp_path, "agent-wrap-up")
    finish.click()
    expect(agent.get_by_text("Nothing in hand")).to_be_visible()
    expect(agent.locator("#handled")).to_have_text("1")
    expect(alice_row).to_contain_text("Ready", timeout=SECOND)
    expect(alice_row.locator("td").nth(3)).to_have_text("1")

    # the activity reaches the CRM, and the desktop shows it on the customer's record
    deadline = time.monotonic() + 10
    subjects: list[str] = []
    while time.monotonic() < deadline and not subjects:
        found = _call(center.api, "GET", f"/crm/activities?who_id={center.contact_id}")
        subjects = [a["name"] for a in found]
        time.sleep(0.2)
    assert subjects, "no activity logged in the CRM"
    expect(agent.locator("#crm-activities")).to_contain_text(subjects[0], timeout=5000)
    stored = _call(center.api, "GET", f"/interactions/{iid}")
    assert (stored["disposition"], stored["notes"]) == ("resolved", "Explained the bill")

    expect(boss.locator("#queues tbody tr", has_text="Support")).to_contain_text("100%")
    expect(boss.locator("#volume-chart svg")).to_have_attribute(
        "aria-label", "Today: 1 offered, 1 answered, 0 abandoned"
    )
    screenshot(boss, tmp_path, "wallboard")
    assert _unnamed_controls(boss) == []
    assert _fits(boss)

    # the supervisor gives Bob the support skill from the board: he now serves Support
    bob_row = boss.locator("#agents tbody tr", has_text="Bob Agent")
    expect(bob_row.locator("td").nth(4)).to_have_text(NONE)
    bob_row.get_by_label("Edit Bob Agent's skills").click()
    bob_row.get_by_label("Skill for Bob Agent").fill("support")
    bob_row.get_by_label("Proficiency", exact=False).fill("7")
    bob_row.get_by_role("button", name="Set skill").click()
    expect(bob_row.locator("td").nth(4)).to_have_text("support 7", timeout=SECOND)
    assert _call(center.api, "GET", "/agents/a2")["skills"] == {"support": 7}
    screenshot(boss, tmp_path, "wallboard-skills")
    assert _unnamed_controls(boss) == []
    bob_row.get_by_role("button", name="Remove support from Bob Agent").click()
    expect(bob_row.locator("td").nth(4)).to_have_text(NONE, timeout=SECOND)
    assert _call(center.api, "GET", "/agents/a2")["skills"] == {}

    # the supervisor changes an agent's state from the board
    boss.get_by_role("button", name="Make Alice Agent Not Ready").click()
    expect(alice_row).to_contain_text("Not Ready · Break", timeout=SECOND)
    expect(agent.locator("#my-state")).to_have_text("Not Ready · Break")
    boss.get_by_role("button", name="Log Alice Agent out").click()
    expect(alice_row).to_contain_text("Logged out", timeout=SECOND)
    expect(agent.locator("#my-state")).to_have_text("Logged out")
    agent_ctx.close()
    boss_ctx.close()


def test_an_agent_previews_a_campaign_record_skips_it_and_dispositions_a_call(
    center: Center, browser: Browser, tmp_path: Path
) -> None:
    """A preview campaign's record shows on the desktop with its CRM match; Skip (by keyboard,
    with a reason) brings the next one; once called, the disposition form sets the outcome.
    The dialer is ticked from the test (no trunk here: the call itself is the loopback
    test's, tests/integration/test_dialer_preview_calls.py)."""
    now = datetime.now(UTC)
    store = MemoryCampaignStore(fresh_registry(now))
    campaign, text = uk_campaign("preview", agents="[a1]")
    store.save_campaign(running(campaign, text, now))
    zone = midday_zone(now)
    store.add_records(
        ListId("calls"),
        [
            DialingRecord(RecordId("r1"), (CALLER,), name="Dana Customer", time_zone=zone),
            DialingRecord(RecordId("r2"), ("+14155550177",), name="Lee Other", time_zone=zone),
        ],
    )
    dialer = Dialer(store, center.app.runtime, NoTrunk(), dnc=store)
    center.app.api.state.dialer = dialer  # as the server wires its dialer

    agent = browser.new_context(viewport=VIEWPORT).new_page()  # type: ignore[arg-type]
    _sign_in_alice(agent, center, tmp_path)
    agent.get_by_role("button", name="Ready", exact=True).click()
    expect(agent.locator("#my-state")).to_have_text("Ready")
    dialer.tick()

    panel = agent.get_by_role("region", name="Next campaign call")
    expect(panel).to_be_visible()
    record = panel.get_by_label("Record to call")
    expect(record).to_contain_text("Spring offers")
    expect(record).to_contain_text("Dana Customer")
    expect(record).to_contain_text(CALLER)
    expect(panel.get_by_role("region", name="CRM record")).to_contain_text(
        "Dana Customer (Contact)"
    )
    expect(panel.get_by_role("button", name="Call Dana Customer")).to_be_visible()
    assert _unnamed_controls(agent) == []
    screenshot(agent, tmp_path, "preview")

    panel.get_by_label("Skip reason (optional)").fill("wrong time")
    agent.keyboard.press("Alt+Shift+K")
    expect(agent.locator("#preview")).to_be_hidden()
    assert "preview: agent a1 skipped record r1 (wrong time)" in [
        d.explanation for d in store.logged[campaign.campaign_id]
    ]
    dialer.tick()
    expect(record).to_contain_text("Lee Other")

    dialer.previews.call(AgentId("a1"))  # what pressing Call does once the dialer runs
    form = panel.get_by_role("form", name="Disposition of the last campaign call")
    expect(form).to_be_visible()
    form.get_by_label("Disposition for Lee Other").select_option(label="Sale")
    form.get_by_role("button", name="Set disposition").click()
    expect(form).to_be_hidden()
    assert dialer.previews.last[AgentId("a1")].code == "SALE"
    assert _fits(agent)


class NoTrunk:
    """A placer that places nothing: the preview panel needs no call."""

    can_place_calls = True

    async def place_campaign_call(
        self, placed: PlacedCall, progress: DialProgress | None = None
    ) -> CallResult:
        raise AssertionError("a preview campaign never dials by itself")

    async def place_preview_call(
        self, placed: PlacedCall, agent_id: AgentId, progress: DialProgress | None = None
    ) -> CallResult:
        raise AssertionError("the dialer's loop does not run here")
