"""Logging in through the real API: passwords, TOTP, recovery codes, sessions, CSRF, tokens,
throttling and lockout (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pyotp
import pytest
from fastapi.testclient import TestClient
from security_support import (
    PASSWORD,
    TEST_ACTOR,
    TOKEN,
    enrol,
    login,
    make_app,
    session_for,
)

from callbridge.app import App
from callbridge.domain.clock import ManualClock

ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


@pytest.fixture
def app(database_url: str, clock: ManualClock) -> Iterator[App]:
    built = make_app(database_url, clock)
    accounts = built.accounts
    accounts.create_user(TEST_ACTOR, "alice", PASSWORD, ["agent"])
    accounts.create_user(TEST_ACTOR, "sam", PASSWORD, ["supervisor"])
    yield built
    built.close()


def test_first_start_makes_an_admin_and_a_bootstrap_token(app: App) -> None:
    assert app.admin_password is not None
    admin = app.accounts.store.get_user_by_username("admin")
    assert admin is not None and admin.roles == ("admin",)
    with TestClient(app.api) as client:
        assert client.get("/users", headers=ADMIN).status_code == 200
        assert client.get("/users", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/users").status_code == 401


def test_agent_logs_in_with_a_password_and_gets_a_session(app: App) -> None:
    with TestClient(app.api) as client:
        response = login(client, "alice")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["mfa"] == "none"
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert "secure" not in cookie  # served over plain HTTP here
        me = client.get("/auth/me").json()
        assert me["user"]["username"] == "alice"
        assert "interactions.handle" in me["permissions"]
        assert "users.manage" not in me["permissions"]
        assert client.get("/queues").status_code == 200
        assert client.get("/users").status_code == 403


def test_wrong_password_and_unknown_user_look_the_same(app: App) -> None:
    with TestClient(app.api) as client:
        wrong = login(client, "alice", "not the password at all")
        nobody = login(client, "nobody", "not the password at all")
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json()["error"]["message"] == nobody.json()["error"]["message"]


def test_changes_by_cookie_need_the_csrf_token(app: App) -> None:
    with TestClient(app.api) as client:
        csrf = login(client, "alice").json()["csrf_token"]
        without = client.post("/tokens", json={"name": "x", "permissions": ["queues.read"]})
        assert without.status_code == 403
        assert without.json()["error"]["details"]["field"] == "X-CSRF-Token"
        wrong = client.post(
            "/tokens",
            json={"name": "x", "permissions": ["queues.read"]},
            headers={"X-CSRF-Token": "0" * 32},
        )
        assert wrong.status_code == 403
        right = client.post(
            "/tokens",
            json={"name": "x", "permissions": ["queues.read"]},
            headers={"X-CSRF-Token": csrf},
        )
        assert right.status_code == 201, right.text


def test_supervisor_must_enrol_in_totp_before_anything_else(app: App, clock: ManualClock) -> None:
    with TestClient(app.api) as client:
        body = login(client, "sam").json()
        assert body["mfa"] == "enrol"
        blocked = client.get("/agents")
        assert blocked.status_code == 401
        assert blocked.json()["error"]["code"] == "mfa_required"
        assert client.get("/auth/me").json()["mfa_passed"] is False
        enrolment = client.post("/auth/mfa/enrol", headers={"X-CSRF-Token": body["csrf_token"]})
        assert enrolment.json()["qr_svg"].lstrip().startswith("<?xml")
        assert enrolment.json()["otpauth_uri"].startswith("otpauth://totp/Callbridge:sam")
        secret = enrolment.json()["secret"]
        code = pyotp.TOTP(secret).at(int(clock.now()))
        codes = client.post(
            "/auth/mfa/confirm", headers={"X-CSRF-Token": body["csrf_token"]}, json={"code": code}
        ).json()["recovery_codes"]
        assert len(codes) == 10 and len(set(codes)) == 10
        assert client.get("/agents").status_code == 200
    stored = app.accounts.store.get_user_by_username("sam")
    assert stored is not None and stored.mfa_enabled


def test_login_with_code_and_recovery_code_used_once(app: App, clock: ManualClock) -> None:
    first = TestClient(app.api)
    codes = enrol(first, login(first, "sam").json()["csrf_token"], clock)
    user = app.accounts.store.get_user_by_username("sam")
    assert user is not None and user.mfa_secret is not None
    secret = user.mfa_secret

    with TestClient(app.api) as client:
        body = login(client, "sam").json()
        assert body["mfa"] == "verify"
        headers = {"X-CSRF-Token": body["csrf_token"]}
        assert client.get("/agents").status_code == 401
        bad = client.post("/auth/mfa/verify", headers=headers, json={"code": "000000"})
        assert bad.status_code == 401
        good = pyotp.TOTP(secret).at(int(clock.now()))
        ok = client.post("/auth/mfa/verify", headers=headers, json={"code": good})
        assert ok.status_code == 200, ok.text
        assert ok.json()["mfa_passed"] is True
        assert client.get("/agents").status_code == 200

    for attempt in range(2):
        with TestClient(app.api) as client:
            body = login(client, "sam").json()
            headers = {"X-CSRF-Token": body["csrf_token"]}
            used = client.post("/auth/mfa/verify", headers=headers, json={"code": codes[0]})
            if attempt == 0:
                assert used.status_code == 200, used.text
                assert client.get("/agents").status_code == 200
            else:
                assert used.status_code == 401  # a recovery code works once
                assert client.get("/agents").status_code == 401
    assert app.accounts.store.unused_recovery_codes(user.id) == 9


def test_account_locks_after_repeated_failures_and_admin_sees_and_clears_it(
    app: App, clock: ManualClock
) -> None:
    with TestClient(app.api) as client:
        for _ in range(5):
            assert login(client, "alice", "wrong password here").status_code == 401
        locked = login(client, "alice")  # even the right password, while locked
        assert locked.status_code == 429
        assert locked.json()["error"]["code"] == "locked_out"
        assert int(locked.headers["retry-after"]) > 0
        shown = client.get("/security/lockouts", headers=ADMIN).json()
        assert [(lock["kind"], lock["subject"]) for lock in shown] == [("account", "alice")]
        assert client.delete("/security/lockouts/account/alice", headers=ADMIN).status_code == 204
        assert login(client, "alice").status_code == 200


def test_lockout_expires_and_failures_outside_the_window_do_not_count(
    app: App, clock: ManualClock
) -> None:
    with TestClient(app.api) as client:
        for _ in range(4):
            login(client, "alice", "wrong password here")
        clock.advance(901)  # the window has passed: four old failures do not add up
        assert login(client, "alice", "wrong password here").status_code == 401
        assert login(client, "alice").status_code == 200
        for _ in range(5):
            login(client, "alice", "wrong password here")
        assert login(client, "alice").status_code == 429
        clock.advance(901)
        assert login(client, "alice").status_code == 200


def test_one_address_is_locked_after_failures_across_accounts(
    database_url: str, clock: ManualClock
) -> None:
    built = make_app(database_url, clock, lockout_address_failures=6)
    try:
        built.accounts.create_user(TEST_ACTOR, "alice", PASSWORD, ["agent"])
        with TestClient(built.api) as client:
            for n in range(6):
                login(client, f"guess{n}", "wrong password here")
            refused = login(client, "alice")
            assert refused.status_code == 429
            assert refused.json()["error"]["details"]["kind"] == "address"
    finally:
        built.close()


def test_sessions_time_out_when_idle_and_absolutely(app: App, clock: ManualClock) -> None:
    with TestClient(app.api) as client:
        login(client, "alice")
        clock.advance(1700)
        assert client.get("/queues").status_code == 200
        clock.advance(1700)  # still under 30 min since the last request
        assert client.get("/queues").status_code == 200
        clock.advance(1801)
        assert client.get("/queues").status_code == 401
    with TestClient(app.api) as client:
        login(client, "alice")
        for _ in range(25):  # active all the time, but 12 h is the limit
            clock.advance(1790)
            client.get("/queues")
        assert client.get("/queues").status_code == 401


def test_logout_ends_the_session(app: App) -> None:
    with TestClient(app.api) as client:
        csrf = login(client, "alice").json()["csrf_token"]
        cookie = client.cookies.get("cb_session")
        assert client.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        client.cookies.set("cb_session", cookie or "")
        assert client.get("/queues").status_code == 401


def test_api_tokens_are_scoped_hashed_expiring_and_revocable(app: App, clock: ManualClock) -> None:
    alice = session_for(app, clock, "alice")
    made = alice.post(
        "/tokens", json={"name": "crm sync", "permissions": ["queues.read"], "expires_in_s": 3600}
    )
    assert made.status_code == 201, made.text
    raw = made.json()["token"]
    stored = app.accounts.store.get_token(made.json()["id"])
    assert stored is not None and raw not in stored.secret_hash
    beyond = alice.post("/tokens", json={"name": "x", "permissions": ["users.manage"]})
    assert beyond.status_code == 422  # alice cannot hand out what she does not hold
    again = alice.post("/tokens", json={"name": "y", "permissions": ["queues.read"]})
    raw2, token_id = again.json()["token"], again.json()["id"]
    revoke = alice.client.delete(f"/tokens/{token_id}", headers={"X-CSRF-Token": alice.csrf})
    assert revoke.status_code == 204
    bearer = {"Authorization": f"Bearer {raw}"}
    with TestClient(app.api) as client:
        assert client.get("/queues", headers={"Authorization": f"Bearer {raw2}"}).status_code == 401
        assert client.get("/queues", headers=bearer).status_code == 200
        assert client.get("/dispositions", headers=bearer).status_code == 403  # not in scope
        clock.advance(3601)
        expired = client.get("/queues", headers=bearer)
        assert expired.status_code == 401


def test_password_policy_names_the_field(app: App) -> None:
    with TestClient(app.api) as client:
        for password in ("short", "alice2-and-more-letters", "password1234"):
            response = client.post(
                "/users",
                headers=ADMIN,
                json={"username": "alice2", "password": password, "roles": ["agent"]},
            )
            assert response.status_code == 422, password
            assert response.json()["error"]["details"]["field"] == "password"
        unknown_role = client.post(
            "/users",
            headers=ADMIN,
            json={"username": "bob", "password": PASSWORD, "roles": ["wizard"]},
        )
        assert unknown_role.json()["error"]["details"]["field"] == "roles"


def test_changing_a_password_ends_every_session(app: App, clock: ManualClock) -> None:
    alice = session_for(app, clock, "alice")
    other = session_for(app, clock, "alice")
    changed = alice.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
    )
    assert changed.status_code == 204, changed.text
    assert other.client.get("/queues").status_code == 401
    assert login(TestClient(app.api), "alice", "another long passphrase").status_code == 200


def test_custom_roles_grant_exactly_their_permissions(app: App, clock: ManualClock) -> None:
    with TestClient(app.api) as client:
        made = client.put(
            "/roles/reporter",
            headers=ADMIN,
            json={"description": "reads queues", "permissions": ["queues.read", "agents.read"]},
        )
        assert made.status_code == 200, made.text
        bad = client.put("/roles/x", headers=ADMIN, json={"permissions": ["queues.fly"]})
        assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "permissions"
        created = client.post(
            "/users",
            headers=ADMIN,
            json={"username": "rita", "password": PASSWORD, "roles": ["reporter"]},
        )
        assert created.status_code == 201, created.text
    rita = session_for(app, clock, "rita")
    assert rita.client.get("/agents").status_code == 200
    assert rita.client.get("/dispositions").status_code == 403


def test_disabled_user_cannot_log_in_and_loses_sessions(app: App, clock: ManualClock) -> None:
    alice = session_for(app, clock, "alice")
    user = app.accounts.store.get_user_by_username("alice")
    assert user is not None
    with TestClient(app.api) as client:
        patched = client.patch(f"/users/{user.id}", headers=ADMIN, json={"disabled": True})
        assert patched.status_code == 200, patched.text
    assert alice.client.get("/queues").status_code == 401
    assert login(TestClient(app.api), "alice").status_code == 401
