"""Agents' SIP passwords, kept with their accounts (SQLite and PostgreSQL): the digest sealed at
rest, what the registrar looks up, the REST routes by role, the CLI, and key rotation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from privacy_support import make_app as make_keyed_app
from pydantic import SecretStr
from security_support import PASSWORD, TEST_ACTOR, TOKEN, make_app, session_for
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from callbridge.adapters.store.tables import audit_log, users
from callbridge.app import App, build
from callbridge.cli.main import app as cli
from callbridge.domain.clock import ManualClock
from callbridge.domain.errors import InvalidInput
from callbridge.domain.security.accounts import SipDigest
from callbridge.settings import Settings

ADMIN = {"Authorization": f"Bearer {TOKEN}"}
REALM = "pbx.example.com"
T0 = 1_800_000_000.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def app(database_url: str, clock: ManualClock) -> Iterator[App]:
    built = make_app(database_url, clock, sip_realm=REALM)
    accounts = built.accounts
    accounts.create_user(TEST_ACTOR, "alice", PASSWORD, ["agent"], agent_id="a1")
    accounts.create_user(TEST_ACTOR, "bob", PASSWORD, ["agent"], agent_id="a2")
    accounts.create_user(TEST_ACTOR, "sam", PASSWORD, ["supervisor"], mfa_required=False)
    yield built
    built.close()


def user_id(app: App, username: str) -> str:
    user = app.accounts.store.get_user_by_username(username)
    assert user is not None
    return user.id


def raw_digest(engine: Engine, username: str) -> str | None:
    with engine.connect() as conn:
        value: str | None = conn.execute(
            select(users.c.sip_digest).where(users.c.username == username)
        ).scalar_one()
    return value


def audit_text(engine: Engine) -> str:
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.before, audit_log.c.after))
        return json.dumps([list(row) for row in rows])


# --- the store and the service -------------------------------------------------------------------


def test_the_digest_round_trips_sealed_and_the_registrar_finds_it(app: App) -> None:
    accounts = app.accounts
    alice = user_id(app, "alice")
    password = accounts.set_sip_password(TEST_ACTOR, alice, REALM)
    assert len(password) >= 20
    expected = SipDigest.of("alice", REALM, password)
    stored = accounts.get_user(alice)
    assert stored.sip_digest == expected
    found = accounts.sip_credentials("alice")
    assert found is not None
    assert (found.user_id, found.username, found.agent_id) == (alice, "alice", "a1")
    assert found.ha1(REALM, "SHA-256") == expected.sha256
    assert found.ha1(REALM, "MD5") == expected.md5
    raw = raw_digest(app.store.engine, "alice")
    assert raw is not None and raw.startswith("enc:1:k1:")
    for secret in (expected.md5, expected.sha256, password):
        assert secret not in raw
        assert secret not in audit_text(app.store.engine)
    assert '"user.sip_password"' in audit_text(app.store.engine)


def test_only_an_enabled_account_with_an_agent_and_a_digest_is_found(app: App) -> None:
    accounts = app.accounts
    alice, bob = user_id(app, "alice"), user_id(app, "bob")
    assert accounts.sip_credentials("alice") is None  # no SIP password yet
    assert accounts.sip_credentials("nobody") is None
    accounts.set_sip_password(TEST_ACTOR, alice, REALM)
    accounts.set_sip_password(TEST_ACTOR, bob, REALM)
    accounts.update_user(TEST_ACTOR, alice, disabled=True)
    assert accounts.sip_credentials("alice") is None
    accounts.update_user(TEST_ACTOR, bob, agent_id=None)
    assert accounts.sip_credentials("bob") is None
    accounts.update_user(TEST_ACTOR, bob, agent_id="a2")
    assert accounts.sip_credentials("bob") is not None
    accounts.clear_sip_password(TEST_ACTOR, bob)
    assert accounts.sip_credentials("bob") is None
    assert raw_digest(app.store.engine, "bob") is None
    accounts.clear_sip_password(TEST_ACTOR, bob)  # nothing left to clear: no error


def test_a_chosen_password_meets_the_policy(app: App) -> None:
    accounts = app.accounts
    alice = user_id(app, "alice")
    for weak, why in [
        ("short", "at least 12"),
        ("alice-phone-2026", "username"),
        ("password1234", "too common"),
        (PASSWORD, "login password"),
    ]:
        with pytest.raises(InvalidInput, match=why):
            accounts.set_sip_password(TEST_ACTOR, alice, REALM, weak)
    chosen = "desk phone at window 4"
    assert accounts.set_sip_password(TEST_ACTOR, alice, REALM, chosen) == chosen
    assert accounts.get_user(alice).sip_digest == SipDigest.of("alice", REALM, chosen)
    with pytest.raises(InvalidInput) as no_agent:
        accounts.set_sip_password(TEST_ACTOR, user_id(app, "sam"), REALM)
    assert no_agent.value.details["field"] == "agent_id"


# --- REST ----------------------------------------------------------------------------------------


def test_an_admin_sets_and_clears_a_users_sip_password(app: App) -> None:
    alice = user_id(app, "alice")
    with TestClient(app.api, headers=ADMIN) as client:
        made = client.post(f"/users/{alice}/sip-password")
        assert made.status_code == 200, made.text
        body = made.json()
        assert set(body) == {"username", "realm", "password"}
        assert (body["username"], body["realm"]) == ("alice", REALM)
        assert app.accounts.get_user(alice).sip_digest == SipDigest.of(
            "alice", REALM, body["password"]
        )
        shown = client.get(f"/users/{alice}").json()
        assert shown["sip_enabled"] is True
        listed = client.get("/users").text
        digest = SipDigest.of("alice", REALM, body["password"])
        assert digest.md5 not in listed and digest.sha256 not in listed
        assert "sip_digest" not in listed and body["password"] not in listed
        chosen = client.post(
            f"/users/{alice}/sip-password", json={"password": "desk phone at window 4"}
        )
        assert chosen.json()["password"] == "desk phone at window 4"
        weak = client.post(f"/users/{alice}/sip-password", json={"password": "short"})
        assert weak.status_code == 422 and weak.json()["error"]["details"]["field"] == "password"
        assert client.delete(f"/users/{alice}/sip-password").status_code == 204
        assert client.get(f"/users/{alice}").json()["sip_enabled"] is False
        sam = user_id(app, "sam")
        refused = client.post(f"/users/{sam}/sip-password")
        assert refused.status_code == 422
        assert refused.json()["error"]["details"]["field"] == "agent_id"
        assert client.post("/users/nobody/sip-password").status_code == 404


def test_an_agent_sets_its_own_and_no_one_elses(app: App, clock: ManualClock) -> None:
    alice, bob = user_id(app, "alice"), user_id(app, "bob")
    agent = session_for(app, clock, "alice")
    with agent.client:
        no_csrf = agent.client.post("/me/sip-password")
        assert no_csrf.status_code == 403
        mine = agent.post("/me/sip-password")
        assert mine.status_code == 200, mine.text
        assert mine.json()["username"] == "alice"
        assert app.accounts.sip_credentials("alice") is not None
        assert agent.client.get("/auth/me").json()["user"]["sip_enabled"] is True
        assert agent.post(f"/users/{bob}/sip-password").status_code == 403
        assert agent.post(f"/users/{alice}/sip-password").status_code == 403
        deleted = agent.client.delete(
            f"/users/{alice}/sip-password", headers={"X-CSRF-Token": agent.csrf}
        )
        assert deleted.status_code == 403
    assert app.accounts.sip_credentials("bob") is None
    supervisor = session_for(app, clock, "sam")
    with supervisor.client:
        assert supervisor.post(f"/users/{alice}/sip-password").status_code == 403
        without_agent = supervisor.post("/me/sip-password", json={})
        assert without_agent.status_code == 422


# --- CLI -----------------------------------------------------------------------------------------


def test_the_cli_prints_a_new_password_once(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--database-url", f"sqlite:///{tmp_path / 'cb.db'}"]
    made = runner.invoke(
        cli,
        ["users", "create", "alice", "--role", "agent", "--agent", "a1", "--password-stdin", *args],
        input=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
    set_ = runner.invoke(cli, ["users", "sip-password", "alice", *args])
    assert set_.exit_code == 0, set_.output
    [line] = [x for x in set_.output.splitlines() if x.startswith("password: ")]
    password = line.removeprefix("password: ")
    assert len(password) >= 20 and set_.output.count(password) == 1
    assert "SIP user alice, realm callbridge" in set_.output
    listed = runner.invoke(cli, ["users", "list", *args])
    assert password not in listed.output
    alice_row = next(row for row in listed.output.splitlines() if "alice" in row)
    assert alice_row.split("│")[-3].strip() == "on"  # the sip column
    built = build(
        Settings(database_url=args[1], admin_token=SecretStr(TOKEN)), run_timer_loop=False
    )
    try:
        found = built.accounts.sip_credentials("alice")
        assert found is not None
        assert found.digest == SipDigest.of("alice", "callbridge", password)
    finally:
        built.close()
    chosen = runner.invoke(
        cli, ["users", "sip-password", "alice", "--password", "desk phone at window 4", *args]
    )
    assert chosen.exit_code == 0 and "desk phone at window 4" not in chosen.output
    weak = runner.invoke(cli, ["users", "sip-password", "alice", "--password", "short", *args])
    assert weak.exit_code == 2 and "at least 12" in weak.output
    cleared = runner.invoke(cli, ["users", "sip-password", "alice", "--clear", *args])
    assert cleared.exit_code == 0 and "removed" in cleared.output
    missing = runner.invoke(cli, ["users", "sip-password", "nobody", *args])
    assert missing.exit_code == 2 and "no user nobody" in missing.output


# --- key rotation --------------------------------------------------------------------------------


def test_key_rotation_reseals_the_digest(database_url: str, tmp_path: Path) -> None:
    app = make_keyed_app(database_url, tmp_path, ManualClock(T0))
    try:
        user = app.accounts.create_user(TEST_ACTOR, "alice", PASSWORD, ["agent"], agent_id="a1")
        password = app.accounts.set_sip_password(TEST_ACTOR, user.id, "callbridge")
        before = raw_digest(app.store.engine, "alice")
        assert before is not None and before.startswith("enc:1:k1:")
        key_file = app.settings.key_file or Path(database_url.removeprefix("sqlite:///") + ".keys")
        args = ["--database-url", database_url, "--key-file", str(key_file)]
        rotated = CliRunner().invoke(cli, ["keys", "rotate", *args])
        assert rotated.exit_code == 0, rotated.output
        after = raw_digest(app.store.engine, "alice")
        assert after is not None and after.startswith("enc:1:k2:")
        retired = CliRunner().invoke(cli, ["keys", "retire", "k1", *args])
        assert retired.exit_code == 0, retired.output  # no value, the digest included, needs k1
        found = app.accounts.sip_credentials("alice")  # the running server follows the key file
        assert found is not None
        assert found.digest == SipDigest.of("alice", "callbridge", password)
    finally:
        app.close()
