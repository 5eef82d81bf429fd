"""Accounts as the security services see them: users, sessions, API tokens, lockouts, SIP
digest credentials, and the rules on passwords and on when failed logins lock an account or an
address. Pure: no password hashing (argon2 is the service's), no storage, no clock."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from callbridge.domain.errors import CallbridgeError, InvalidInput
from callbridge.domain.ids import AgentId
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
# A phone's digest answer crosses the network and can be brute-forced offline (with MD5, fast):
# a SIP password is never shorter than this, whatever the login policy says.
SIP_PASSWORD_MIN_LENGTH = 12


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
class SipDigest:
    """HA1 = H(username:realm:password) (RFC 7616 section 3.4.2) in lowercase hex, for MD5 and
    SHA-256: all a registrar needs to check a phone's digest answer. It opens the account's SIP
    registration in that realm as the password would, so it is stored sealed."""

    realm: str
    md5: str
    sha256: str

    @classmethod
    def of(cls, username: str, realm: str, password: str) -> SipDigest:
        text = f"{username}:{realm}:{password}".encode()
        return cls(
            realm=realm,
            # MD5 because RFC 2617 digest and most phones still use it; not our choice of hash
            md5=hashlib.md5(text, usedforsecurity=False).hexdigest(),
            sha256=hashlib.sha256(text).hexdigest(),
        )

    def ha1(self, realm: str, algorithm: str) -> str | None:
        """The HA1 for `algorithm` ("MD5" or "SHA-256"); None for another realm or algorithm."""
        if realm != self.realm:
            return None
        return {"MD5": self.md5, "SHA-256": self.sha256}.get(algorithm.upper())


@dataclass(frozen=True, slots=True)
class SipCredentials:
    """What the registrar looks up for a SIP username: whose phone it is and its digest."""

    user_id: str
    username: str
    agent_id: AgentId
    digest: SipDigest

    def ha1(self, realm: str, algorithm: str) -> str | None:
        return self.digest.ha1(realm, algorithm)


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
    sip_digest: SipDigest | None = None  # plain here; the store seals it
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
