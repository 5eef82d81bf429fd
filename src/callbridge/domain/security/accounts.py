"""Accounts as the security services see them: users, sessions, API tokens, lockouts, and the
rules on passwords and on when failed logins lock an account or an address. Pure: no hashing,
no storage, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from callbridge.domain.errors import CallbridgeError, InvalidInput
from callbridge.domain.security.permissions import Permission

# A short list of the passwords people pick most; a full breached-password list would be better
# and can replace this set without changing the rule.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "password1234",
        "passwordpassword",
        "qwertyuiopas",
        "letmeinletmein",
        "iloveyou1234",
        "adminadmin123",
        "welcome12345",
        "changeme1234",
        "callbridge123",
        "contactcenter",
        "correcthorsebatterystaple",
    }
)
MAX_PASSWORD_LENGTH = 128


class Unauthorized(CallbridgeError):
    """Not authenticated: no credentials, or wrong ones. Never says which part was wrong."""

    code = "unauthorized"


class LockedOut(CallbridgeError):
    """Too many failed logins: the account or the source address is locked until a time."""

    code = "locked_out"


class MfaRequired(CallbridgeError):
    """Logged in with a password, but the second factor is still to come (or to be set up)."""

    code = "mfa_required"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    display_name: str
    password_hash: str
    roles: tuple[str, ...]
    teams: frozenset[str] | None = None
    queues: frozenset[str] | None = None
    agent_id: str | None = None
    mfa_secret: str | None = None  # plain here; the store seals it
    mfa_enabled: bool = False
    mfa_required: bool | None = None  # None: as the roles say
    disabled: bool = False
    created_at: float = 0.0
    password_changed_at: float = 0.0

    def needs_mfa(self, mfa_roles: tuple[str, ...]) -> bool:
        if self.mfa_required is not None:
            return self.mfa_required
        return any(role in mfa_roles for role in self.roles)


@dataclass(frozen=True, slots=True)
class Session:
    token_hash: str
    user_id: str
    created_at: float
    last_seen_at: float
    expires_at: float  # the absolute timeout
    mfa_passed: bool
    source: str


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    user_id: str
    name: str
    secret_hash: str
    permissions: frozenset[Permission]
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
    last_used_at: float | None = None

    def usable(self, now: float) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class Lockout:
    kind: str  # "account" or "address"
    subject: str
    locked_at: float
    until: float
    failures: int


@dataclass(frozen=True, slots=True)
class CustomRole:
    name: str
    description: str
    permissions: frozenset[Permission] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    account_failures: int = 5
    address_failures: int = 20
    window_s: float = 900.0
    duration_s: float = 900.0

    def due(self, account_failures: int, address_failures: int) -> list[str]:
        """Which lockouts the failures counted within the window call for."""
        kinds = []
        if account_failures >= self.account_failures:
            kinds.append("account")
        if address_failures >= self.address_failures:
            kinds.append("address")
        return kinds


def check_password(password: str, username: str, min_length: int) -> None:
    """The password policy: long enough, not too long, not the username, not a common one.

    Length and a blocklist rather than composition rules, as NIST SP 800-63B advises.
    """
    if len(password) < min_length:
        raise InvalidInput(f"password: must be at least {min_length} characters", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password: must be at most {MAX_PASSWORD_LENGTH} characters", field="password"
        )
    lowered = password.lower()
    if username and username.lower() in lowered:
        raise InvalidInput("password: must not contain the username", field="password")
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        raise InvalidInput("password: too common or too repetitive", field="password")
