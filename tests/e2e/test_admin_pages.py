"""The admin pages in real Chromium: mistakes explained next to their field, changes listed,
the CRM connection test, the audit log; and who may open which page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser_support import VIEWPORT, chromium, screenshot, served
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr

from callbridge.app import App, build
from callbridge.services.security.accounts import Actor
from callbridge.services.security.crypto import Keyring
from callbridge.settings import Settings

TOKEN = "e2e-admin-token"
PASSWORD = "a long enough passphrase"
ACTOR = Actor("test", "test")
FLOWS = Path(__file__).resolve().parents[2] / "examples" / "flows"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[App, str]]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cb.db'}",
        admin_token=SecretStr(TOKEN),
        keys=SecretStr(Keyring.generate().to_json()),
        ivr_flows_dir=FLOWS,
    )
    app = build(settings)
    try:
        app.accounts.create_user(ACTOR, "ada", PASSWORD, ["admin"], mfa_required=False)
        app.accounts.create_user(ACTOR, "al", PASSWORD, ["agent"])
        with served(app) as base:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            agent = {"id": "a1", "name": "Alice Agent", "skills": {"support": 5}}
            assert httpx.post(f"{base}/agents", json=agent, headers=headers).status_code == 201
            yield app, base
    finally:
        app.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _sign_in(page: Page, base: str, username: str, then: str) -> None:
    page.goto(f"{base}{then}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}{then}")


def test_admin_pages_explain_mistakes_in_place(
    site: tuple[App, str], browser: Browser, tmp_path: Path
) -> None:
    _, base = site
    page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
    _sign_in(page, base, "ada", "/admin")
    expect(page.get_by_role("heading", name="Users and roles", level=1)).to_be_visible()

    form = page.get_by_role("region", name="Add a user")
    form.get_by_label("Username").fill("al")  # taken
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Add user").click()
    username = form.get_by_label("Username")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(form).to_contain_text("user al exists")
    expect(username).to_be_focused()

    username.fill("bea")
    form.get_by_label("Works as agent").select_option(label="Alice Agent (a1)")
    form.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("row", name="bea")).to_contain_text("a1")
    screenshot(page, tmp_path, "admin-users")

    page.get_by_role("link", name="Dispositions").click()
    form = page.get_by_role("region", name="Add or rename a disposition")
    form.get_by_label("Code").fill("has space")
    form.get_by_label("Label").fill("Resolved")
    form.get_by_role("button", name="Save disposition").click()
    expect(form.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Code").fill("resolved")
    form.get_by_role("button", name="Save disposition").click()
    expect(page.get_by_role("row", name="resolved")).to_contain_text("Resolved")

    page.get_by_role("link", name="Queues").click()
    form = page.get_by_role("region", name="Add a queue")
    form.get_by_label("Id").fill("support")
    form.get_by_label("Name").fill("Support")
    form.get_by_label("Skill needed (optional)").fill("support")
    form.get_by_label("Wrap-up time (seconds)").fill("-5")
    form.get_by_role("button", name="Add queue").click()
    expect(form.get_by_label("Wrap-up time (seconds)")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Wrap-up time (seconds)").fill("30")
    form.get_by_label("Disposition required").check()
    form.get_by_role("button", name="Add queue").click()
    row = page.get_by_role("row", name="Support (support)")
    expect(row).to_contain_text("support ≥ 1")
    expect(row).to_contain_text("disposition required")
    screenshot(page, tmp_path, "admin-queues")

    # routing settings: a mistake is marked in place; a change keeps what it does not name
    headers = {"Authorization": f"Bearer {TOKEN}"}
    page.get_by_text("Edit Support").click()
    edit = page.locator("form[data-method=PATCH]")
    edit.get_by_label("Agent selection").select_option(label="Most skilled agent")
    edit.get_by_label("Longest wait before overflow", exact=False).fill("60")
    edit.get_by_label("When the longest wait is reached").select_option(
        label="move to another queue"
    )
    edit.get_by_role("button", name="Save Support").click()
    target = edit.get_by_label("Overflow queue", exact=False)
    expect(target).to_have_attribute("aria-invalid", "true")
    expect(edit).to_contain_text("overflow to a queue needs target_queue")
    edit.get_by_label("When the longest wait is reached").select_option(label="offer voicemail")
    with page.expect_response(f"{base}/queues/support") as answered:
        edit.get_by_role("button", name="Save Support").click()
    assert answered.value.status == 200, answered.value.text()
    page.wait_for_load_state()
    saved = httpx.get(f"{base}/queues/support", headers=headers).json()
    assert (saved["strategy"], saved["max_wait_s"]) == ("most_skilled", 60.0)
    assert saved["overflow"] == {"action": "voicemail", "target_queue": None, "message": None}
    assert saved["requirements"] == [{"skill": "support", "min_proficiency": 1}]
    assert saved["wrap_up"]["disposition_required"] is True
    page.get_by_text("Edit Support").click()
    edit.get_by_label("Longest wait before overflow", exact=False).fill("")
    edit.get_by_label("When the longest wait is reached").select_option(
        label="nothing (no overflow)"
    )
    with page.expect_response(f"{base}/queues/support") as answered:
        edit.get_by_role("button", name="Save Support").click()
    assert answered.value.status == 200, answered.value.text()
    page.wait_for_load_state()
    saved = httpx.get(f"{base}/queues/support", headers=headers).json()
    assert (saved["overflow"], saved["max_wait_s"], saved["strategy"]) == (
        None,
        None,
        "most_skilled",
    )

    script = page.get_by_label("Script for Support")
    script.fill("Hello {{record.FirstName}},\nthis is {{agent}}.")
    page.get_by_role("button", name="Save the script for Support").click()
    expect(script).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("region", name="Call scripts")).to_contain_text(
        "{{agent}} at line 2, column 9 is not a merge field"
    )
    script.fill("Hello {{record.FirstName}},\nthis is {{agent.name}}.")
    page.get_by_role("button", name="Save the script for Support").click()
    expect(page.get_by_label("Script for Support")).to_have_value(
        "Hello {{record.FirstName}},\nthis is {{agent.name}}."
    )
    saved = httpx.get(f"{base}/queues/support", headers={"Authorization": f"Bearer {TOKEN}"})
    assert saved.json()["script"] == "Hello {{record.FirstName}},\nthis is {{agent.name}}."

    page.get_by_role("link", name="Skills").click()
    expect(page.get_by_role("row", name="support")).to_contain_text("Alice Agent (5)")

    # the IVR flows with their hours now, and a flow checked before it is deployed
    page.get_by_role("link", name="IVR and hours").click()
    main = page.get_by_role("article", name="main")
    expect(main).to_contain_text("Answers 1000.")
    expect(main.get_by_role("table")).to_contain_text("08:00-20:00")
    expect(main.get_by_role("table")).to_contain_text(" now")
    flow = page.get_by_label("Flow (YAML)")
    flow.fill("flow: promo\nnodes:\n  hello:\n    say: Hi.\n    next: gone\n")
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("region", name="Check a flow")).to_contain_text(
        "the flow:5: node 'hello':"
    )
    flow.fill(
        "flow: promo\nnodes:\n  hello:\n    say: Hi.\n    next: out\n"
        "  out:\n    transfer: {flow: main}\n"
    )
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#check-result")).to_contain_text('"name": "promo"')
    screenshot(page, tmp_path, "admin-flows")

    page.get_by_role("link", name="CRM connection").click()
    page.get_by_role("button", name="Test the connection").click()
    expect(page.locator("#crm-result")).to_contain_text("builtin: connected")

    # a field mapping tried on a sample call: a mistake names its line, a good one shows fields
    mapping = page.get_by_label("Mapping (YAML)")
    mapping.fill("object: Task\nfields:\n  Subject:\n    from: nowhere\n")
    page.get_by_role("button", name="Dry run").click()
    mapping_form = page.get_by_role("region", name="Field mapping")
    expect(mapping_form).to_contain_text("line 3, field Subject: unknown activity field")
    mapping.fill("object: Task\nfields:\n  Subject:\n    template: '{channel} call'\n")
    page.get_by_role("button", name="Dry run").click()
    result = page.locator("#dry-run-result")
    expect(result).to_contain_text('"Subject": "voice call"')
    expect(result).to_contain_text('"activity": "sample"')
    screenshot(page, tmp_path, "admin-crm-mapping")

    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("table")).to_contain_text("queue.create")
    page.get_by_label("Action").fill("user.create")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("table")).to_contain_text("bea")
    expect(page.get_by_role("table")).not_to_contain_text("queue.create")
    screenshot(page, tmp_path, "admin-audit")


def test_a_page_sends_strangers_to_sign_in_and_refuses_other_roles(
    site: tuple[App, str], browser: Browser
) -> None:
    _, base = site
    page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
    page.goto(f"{base}/wallboard")
    expect(page).to_have_url(f"{base}/login?next=/wallboard")
    _sign_in(page, base, "al", "/admin")  # an agent, without a linked agent
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("al may not users.read")).to_be_visible()
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav.get_by_role("link")).to_have_text(["Agent desktop"])
    response = page.goto(f"{base}/agent")
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", name="No agent")).to_be_visible()


def test_business_hours_are_edited_in_the_browser(
    site: tuple[App, str], browser: Browser, tmp_path: Path
) -> None:
    app, base = site
    page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
    page.on("dialog", lambda dialog: dialog.accept())
    _sign_in(page, base, "ada", "/admin/flows")
    expect(page.get_by_role("region", name="Business hours", exact=True)).to_contain_text(
        "No business hours yet"
    )
    add = page.get_by_role("form", name="Add business hours")
    add.get_by_role("button", name="Add business hours").click()
    expect(add.get_by_text("name: required")).to_be_visible()  # named before anything is sent
    add.get_by_label("Name", exact=True).fill("desk")
    add.get_by_label("Time zone").fill("Europe/London")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        add.get_by_label(day, exact=True).fill("09:00-17:00")
    saturday = add.get_by_label("Sat", exact=True)
    saturday.fill("10:00-25:00")
    add.get_by_label("Closed on public holidays of").fill("GB")
    add.get_by_label("Own closed days").fill("2026-12-24 Christmas Eve\n2026-12-31")
    add.get_by_role("button", name="Add business hours").click()
    # the mistake is shown at its field, and nothing was saved
    expect(saturday).to_have_attribute("aria-invalid", "true")
    expect(add).to_contain_text("'10:00-25:00' is not a time of day")
    assert app.api.state.business_hours.definitions == {}
    saturday.fill("10:00-12:00")
    add.get_by_role("button", name="Add business hours").click()

    desk = page.get_by_role("article", name="desk")
    expect(desk.get_by_role("table")).to_contain_text("09:00-17:00")
    expect(desk.get_by_role("table")).to_contain_text("10:00-12:00")
    expect(desk).to_contain_text("Closed on public holidays (GB)")
    expect(desk).to_contain_text("2026-12-24 Christmas Eve")
    expect(desk).to_contain_text("No flow uses it.")
    desk.scroll_into_view_if_needed()
    screenshot(page, tmp_path, "admin-business-hours")

    # edited in place: the form holds what is saved; Saturday emptied is closed
    desk.get_by_text("Edit desk").click()
    edit = page.get_by_role("form", name="Edit business hours desk")
    expect(edit.get_by_label("Sat", exact=True)).to_have_value("10:00-12:00")
    edit.get_by_label("Sat", exact=True).fill("")
    edit.get_by_role("button", name="Save desk").click()
    expect(page.get_by_role("article", name="desk").get_by_role("table")).not_to_contain_text(
        "10:00-12:00"
    )
    saved = app.api.state.business_hours.definitions["desk"]
    assert "sat" not in saved["weekly"] and saved["closed"]["2026-12-31"] == "2026-12-31"
    assert saved["holidays"] == {"country": "GB"}

    page.get_by_role("article", name="desk").get_by_text("Edit desk").click()
    page.get_by_role("button", name="Remove desk").click()
    expect(page.get_by_role("region", name="Business hours", exact=True)).to_contain_text(
        "No business hours yet"
    )
    assert app.api.state.business_hours.definitions == {}
