"""TOTP for every user who wants it, and everyone whose role needs it: enrolment with a QR
code, login with a code, ten one-time recovery codes, and the admin's reset for a lost phone."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, replace

import pyotp
import qrcode
import qrcode.image.svg

from callbridge.domain.errors import InvalidState
from callbridge.domain.security.accounts import Session, Unauthorized, User
from callbridge.services.security.accounts import ISSUER, Accounts, Actor, digest

RECOVERY_CODES = 10


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


# --- TOTP --------------------------------------------------------------------------------


def begin_enrolment(accounts: Accounts, user: User) -> Enrolment:
    """A new TOTP secret, kept (sealed) but not active until a code confirms it."""
    if user.mfa_enabled:
        raise InvalidState("multi-factor authentication is already set up", field="mfa")
    secret = pyotp.random_base32()
    accounts.store.save_user(replace(user, mfa_secret=secret))
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    return Enrolment(secret, uri, out.getvalue().decode())


def confirm_enrolment(accounts: Accounts, token: str, code: str, source: str) -> list[str]:
    """Activate TOTP with a first code; returns the one-time recovery codes (shown once)."""
    session, user = accounts.session(token, allow_pending=True)
    if user.mfa_enabled or user.mfa_secret is None:
        raise InvalidState("start enrolment first", field="mfa")
    if not pyotp.TOTP(user.mfa_secret).verify(
        code.strip(), for_time=int(accounts.clock.now()), valid_window=1
    ):
        accounts.record_failure(user.username, source, accounts.clock.now(), "totp")
        raise Unauthorized("the code is not right", field="code")
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    now = accounts.clock.now()
    actor = Actor(f"user:{user.id}", source)
    accounts.store.save_user(replace(user, mfa_enabled=True))
    accounts.store.replace_recovery_codes(
        user.id,
        [digest(_normal_code(c)) for c in codes],
        [actor.record(now, "mfa.enrol", "user", user.id, None, {"recovery_codes": len(codes)})],
    )
    accounts.store.save_session(replace(session, mfa_passed=True))
    return codes


def verify_mfa(accounts: Accounts, token: str, code: str, source: str) -> Session:
    """Complete a login with a TOTP code or an unused recovery code."""
    session, user = accounts.session(token, allow_pending=True)
    now = accounts.clock.now()
    accounts.refuse_if_locked(user.username, source, now)
    if not user.mfa_enabled or user.mfa_secret is None:
        raise InvalidState("set up multi-factor authentication first", field="mfa")
    entered = code.strip()
    how = "totp"
    ok = entered.isdigit() and pyotp.TOTP(user.mfa_secret).verify(
        entered, for_time=int(now), valid_window=1
    )
    if not ok:
        how = "recovery_code"
        ok = accounts.store.use_recovery_code(user.id, digest(_normal_code(entered)), now)
    if not ok:
        accounts.record_failure(user.username, source, now, "mfa")
        raise Unauthorized("the code is not right", field="code")
    accounts.store.clear_failures(user.username)
    passed = replace(session, mfa_passed=True, last_seen_at=now)
    actor = Actor(f"user:{user.id}", source)
    accounts.store.save_session(
        passed, [actor.record(now, "login.mfa", "user", user.id, None, {"with": how})]
    )
    return passed


def reset_mfa(accounts: Accounts, actor: Actor, user_id: str) -> None:
    """An admin clears a user's TOTP (lost phone); the user enrols again at next login."""
    user = accounts.get_user(user_id)
    now = accounts.clock.now()
    accounts.store.save_user(
        replace(user, mfa_enabled=False, mfa_secret=None),
        [actor.record(now, "mfa.reset", "user", user_id, None, None)],
    )
    accounts.store.replace_recovery_codes(user_id, [])
    accounts.store.delete_sessions(user_id=user_id)


def _recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits, one use, behind a password
    return f"{raw[:5]}-{raw[5:]}"


def _normal_code(code: str) -> str:
    return code.strip().lower().replace("-", "").replace(" ", "")
