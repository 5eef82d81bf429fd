"""Accounts: users and roles, password logins with throttling and lockout, TOTP with recovery
codes, browser sessions, and scoped API tokens. Every change is audited in the transaction that
makes it.

Secrets the client holds (session cookies, API tokens, recovery codes) are stored only as
SHA-256 hashes: they are long random strings, so a fast hash is enough. Passwords, which people
choose, are hashed with argon2id. A SIP phone's password is kept as the digest HA1 values the
registrar checks phones with (sealed by the store: they open the phone's registration).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from callbridge.domain.clock import Clock
from callbridge.domain.errors import AlreadyExists, InvalidInput, InvalidState, NotFound
from callbridge.domain.ids import AgentId
from callbridge.domain.security.accounts import (
    SIP_PASSWORD_MIN_LENGTH,
    ApiToken,
    CustomRole,
    LockedOut,
    Lockout,
    LockoutPolicy,
    MfaRequired,
    Session,
    SipCredentials,
    SipDigest,
    Unauthorized,
    User,
    check_password,
)
from callbridge.domain.security.permissions import (
    BUILTIN_ROLES,
    Permission,
    Principal,
    Scope,
    role_permissions,
)
from callbridge.ports import AccountStore, AuditRecord, JsonValue

TOKEN_PREFIX = "cb_"  # noqa: S105  # a prefix, not a secret
BOOTSTRAP_TOKEN_ID = "bootstrap"  # noqa: S105  # an id, not a secret
ISSUER = "Callbridge"
TOUCH_EVERY_S = 60.0  # write a session's last_seen at most this often
SIP_PASSWORD_ALPHABET = string.ascii_letters + string.digits  # easy to type into a phone
SIP_PASSWORD_CHARS = 20  # about 119 random bits


@dataclass(frozen=True)
class AccountPolicy:
    password_min_length: int = 12
    mfa_roles: tuple[str, ...] = ("supervisor", "admin")
    session_idle_s: float = 1800.0
    session_absolute_s: float = 12 * 3600.0
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    sip_realm: str = "callbridge"


@dataclass(frozen=True)
class Actor:
    """Who is making a change and from where, for the audit log."""

    name: str
    source: str

    def record(
        self, at: float, action: str, kind: str, oid: str, before: JsonValue, after: JsonValue
    ) -> AuditRecord:
        return AuditRecord(at, self.name, action, kind, oid, self.source, before, after)


@dataclass(frozen=True)
class LoginResult:
    session_token: str
    session: Session
    user: User
    mfa: str  # "none" (done), "verify" (enter a code) or "enrol" (set up TOTP first)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token that goes with a session: derived, so it needs no storage, and only
    someone holding the (HttpOnly) session cookie can compute it."""
    return digest("csrf:" + session_token)[:32]


def user_json(user: User) -> JsonValue:
    """A user as the audit log and the API show it: never a hash or a secret."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "roles": list(user.roles),
        "teams": _names(user.teams),
        "queues": _names(user.queues),
        "agent_id": user.agent_id,
        "mfa_enabled": user.mfa_enabled,
        "mfa_required": user.mfa_required,
        "sip_enabled": user.sip_digest is not None,
        "disabled": user.disabled,
    }


class Accounts:
    def __init__(
        self,
        store: AccountStore,
        clock: Clock,
        new_id: Callable[[], str],
        policy: AccountPolicy,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.store, self.clock, self.new_id, self.policy = store, clock, new_id, policy
        self.hasher = hasher or PasswordHasher()  # argon2id with the library's defaults
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    # --- users -------------------------------------------------------------------------------

    def create_user(
        self,
        actor: Actor,
        username: str,
        password: str,
        roles: Iterable[str],
        *,
        display_name: str | None = None,
        teams: Iterable[str] | None = None,
        queues: Iterable[str] | None = None,
        agent_id: str | None = None,
        mfa_required: bool | None = None,
    ) -> User:
        """A new user. The password must meet the policy; roles must exist."""
        username = username.strip()
        if not username:
            raise InvalidInput("username: must not be empty", field="username")
        if self.store.get_user_by_username(username) is not None:
            raise AlreadyExists(f"user {username} exists", field="username")
        self._check_agent_free(agent_id, None)
        role_names = self._known_roles(roles)
        check_password(password, username, self.policy.password_min_length)
        now = self.clock.now()
        user = User(
            id=self.new_id(),
            username=username,
            display_name=display_name or username,
            password_hash=self.hasher.hash(password),
            roles=role_names,
            teams=None if teams is None else frozenset(teams),
            queues=None if queues is None else frozenset(queues),
            agent_id=agent_id,
            mfa_required=mfa_required,
            created_at=now,
            password_changed_at=now,
        )
        self.store.save_user(
            user, [actor.record(now, "user.create", "user", user.id, None, user_json(user))]
        )
        return user

    def update_user(self, actor: Actor, user_id: str, **fields: object) -> User:
        """Change display_name, roles, teams, queues, agent_id, mfa_required or disabled."""
        before = self.get_user(user_id)
        changes: dict[str, object] = {}
        for name, value in fields.items():
            if name == "roles":
                changes["roles"] = self._known_roles(value)  # type: ignore[arg-type]
            elif name in ("teams", "queues"):
                changes[name] = None if value is None else frozenset(value)  # type: ignore[call-overload]
            elif name == "agent_id":
                self._check_agent_free(value, user_id)  # type: ignore[arg-type]
                changes[name] = value
            elif name in ("display_name", "mfa_required", "disabled"):
                changes[name] = value
            else:
                raise InvalidInput(f"{name}: not a user field that can be changed", field=name)
        after = replace(before, **changes)  # type: ignore[arg-type]
        now = self.clock.now()
        self.store.save_user(
            after,
            [
                actor.record(
                    now, "user.update", "user", user_id, user_json(before), user_json(after)
                )
            ],
        )
        if after.disabled and not before.disabled:
            self.store.delete_sessions(user_id=user_id)
        return after

    def set_password(
        self, actor: Actor, user_id: str, new_password: str, *, current: str | None
    ) -> None:
        """Change a password: one's own (with `current`), or reset by an admin (without).
        Every session of the user ends."""
        user = self.get_user(user_id)
        if current is not None and not self._password_ok(user, current):
            raise Unauthorized("the current password is not right", field="current_password")
        check_password(new_password, user.username, self.policy.password_min_length)
        now = self.clock.now()
        changed = replace(
            user, password_hash=self.hasher.hash(new_password), password_changed_at=now
        )
        action = "user.password_change" if current is not None else "user.password_reset"
        self.store.save_user(changed, [actor.record(now, action, "user", user_id, None, None)])
        self.store.delete_sessions(user_id=user_id)

    # --- SIP phones --------------------------------------------------------------------------

    def set_sip_password(
        self, actor: Actor, user_id: str, realm: str, password: str | None = None
    ) -> str:
        """Give the user's agent a SIP phone: keep the digest of `password` for `realm` and
        return the password, to be shown once. Without `password`, a random one is made. The
        user must work as an agent; a chosen password meets the password policy (at least 12
        characters) and is not the login password, which a phone's weaker digest must not
        expose."""
        user = self.get_user(user_id)
        if user.agent_id is None:
            raise InvalidInput(
                f"agent_id: user {user.username} works as no agent; link one first",
                field="agent_id",
            )
        if not realm:
            raise InvalidInput("realm: must not be empty", field="realm")
        generated = password is None
        if password is None:
            password = "".join(
                secrets.choice(SIP_PASSWORD_ALPHABET) for _ in range(SIP_PASSWORD_CHARS)
            )
        else:
            minimum = max(self.policy.password_min_length, SIP_PASSWORD_MIN_LENGTH)
            check_password(password, user.username, minimum)
            if self._password_ok(user, password):
                raise InvalidInput("password: must not be the login password", field="password")
        changed = replace(user, sip_digest=SipDigest.of(user.username, realm, password))
        after: JsonValue = {"sip_enabled": True, "realm": realm, "generated": generated}
        record = actor.record(
            self.clock.now(), "user.sip_password", "user", user_id, _sip_json(user), after
        )
        self.store.save_user(changed, [record])
        return password

    def clear_sip_password(self, actor: Actor, user_id: str) -> None:
        """Take the SIP password away: the user's phones can no longer register."""
        user = self.get_user(user_id)
        if user.sip_digest is None:
            return
        record = actor.record(
            self.clock.now(),
            "user.sip_password_clear",
            "user",
            user_id,
            _sip_json(user),
            {"sip_enabled": False},
        )
        self.store.save_user(replace(user, sip_digest=None), [record])

    def sip_credentials(self, username: str) -> SipCredentials | None:
        """What the registrar checks a phone against: the enabled account with this username,
        the agent it works as and its digest; None unless all three are there."""
        user = self.store.get_user_by_username(username)
        if user is None or user.disabled or user.agent_id is None or user.sip_digest is None:
            return None
        return SipCredentials(user.id, user.username, AgentId(user.agent_id), user.sip_digest)

    def get_user(self, user_id: str) -> User:
        user = self.store.get_user(user_id)
        if user is None:
            raise NotFound(f"no user {user_id}", field="user_id")
        return user

    def _check_agent_free(self, agent_id: str | None, user_id: str | None) -> None:
        if agent_id is None:
            return
        holder = self.store.get_user_by_agent(agent_id)
        if holder is not None and holder.id != user_id:
            raise AlreadyExists(
                f"agent {agent_id} already belongs to user {holder.username}", field="agent_id"
            )

    def _known_roles(self, roles: Iterable[str]) -> tuple[str, ...]:
        names = tuple(dict.fromkeys(roles))
        custom = {r.name for r in self.store.list_roles()}
        unknown = [r for r in names if r not in BUILTIN_ROLES and r not in custom]
        if unknown:
            raise InvalidInput(f"roles: unknown role(s) {', '.join(unknown)}", field="roles")
        return names

    # --- roles -------------------------------------------------------------------------------

    def save_role(
        self, actor: Actor, name: str, description: str, permissions: Iterable[str]
    ) -> CustomRole:
        """Create or change a custom role made of named permissions."""
        if name in BUILTIN_ROLES:
            raise InvalidInput(f"name: {name} is a built-in role", field="name")
        if not name.strip():
            raise InvalidInput("name: must not be empty", field="name")
        known = {p.value for p in Permission}
        unknown = sorted(set(permissions) - known)
        if unknown:
            raise InvalidInput(
                f"permissions: unknown permission(s) {', '.join(unknown)}", field="permissions"
            )
        before = next((r for r in self.store.list_roles() if r.name == name), None)
        role = CustomRole(name, description, frozenset(Permission(p) for p in permissions))
        record = actor.record(
            self.clock.now(), "role.save", "role", name, _role_json(before), _role_json(role)
        )
        self.store.save_role(role, [record])
        return role

    def delete_role(self, actor: Actor, name: str) -> None:
        before = next((r for r in self.store.list_roles() if r.name == name), None)
        if before is None:
            raise NotFound(f"no custom role {name}", field="name")
        holders = [u.username for u in self.store.list_users() if name in u.roles]
        if holders:
            raise InvalidState(
                f"role {name} is held by {', '.join(holders)}", field="name", users=len(holders)
            )
        record = actor.record(
            self.clock.now(), "role.delete", "role", name, _role_json(before), None
        )
        self.store.delete_role(name, [record])

    def roles(self) -> dict[str, frozenset[Permission]]:
        """Every role, built-in and custom, with its permissions."""
        out = dict(BUILTIN_ROLES)
        for role in self.store.list_roles():
            out[role.name] = role.permissions
        return out

    def principal(self, user: User, token: ApiToken | None = None) -> Principal:
        custom = {r.name: r.permissions for r in self.store.list_roles()}
        granted = role_permissions(user.roles, custom)
        if token is not None:
            granted = granted & token.permissions  # a token never exceeds its owner
        return Principal(
            user_id=user.id,
            name=user.username,
            roles=user.roles,
            permissions=granted,
            scope=Scope(teams=user.teams, queues=user.queues, agent_id=user.agent_id),
            via="session" if token is None else "token",
            token_id=None if token is None else token.id,
        )

    # --- logging in --------------------------------------------------------------------------

    def login(self, username: str, password: str, source: str) -> LoginResult:
        """Check the password, throttled per account and per address; open a session that
        still needs the second factor when the user has or must have one."""
        now = self.clock.now()
        self.refuse_if_locked(username, source, now)
        user = self.store.get_user_by_username(username)
        if user is None:
            # timing: as long as a real check, so a miss does not reveal the account is unknown
            self._password_ok(replace(_NOBODY, password_hash=self._dummy_hash), password)
        if user is None or user.disabled or not self._password_ok(user, password):
            self.record_failure(username, source, now, "password")
            raise Unauthorized("invalid username or password")
        self.store.clear_failures(username)
        if user.mfa_enabled:
            mfa = "verify"
        elif user.needs_mfa(self.policy.mfa_roles):
            mfa = "enrol"
        else:
            mfa = "none"
        token = secrets.token_urlsafe(32)
        session = Session(
            token_hash=digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.policy.session_absolute_s,
            mfa_passed=mfa == "none",
            source=source,
        )
        actor = Actor(f"user:{user.id}", source)
        record = actor.record(now, "login", "user", user.id, None, {"mfa": mfa})
        self.store.save_session(session, [record])
        return LoginResult(token, session, user, mfa)

    def _password_ok(self, user: User, password: str) -> bool:
        try:
            return self.hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def refuse_if_locked(self, username: str, source: str, now: float) -> None:
        for lock in self.store.lockouts(now):
            if (lock.kind, lock.subject) in (("account", username), ("address", source)):
                what = "this account" if lock.kind == "account" else "this address"
                raise LockedOut(
                    f"too many failed logins: {what} is locked for {lock.until - now:.0f} s",
                    kind=lock.kind,
                    until=lock.until,
                    retry_after_s=round(lock.until - now),
                )

    def record_failure(self, username: str, source: str, now: float, factor: str) -> None:
        policy = self.policy.lockout
        account, address = self.store.record_failure(username, source, now, now - policy.window_s)
        actor = Actor(f"login:{username}", source)
        records = [actor.record(now, "login.failed", "user", username, None, {"factor": factor})]
        for kind in policy.due(account, address):
            subject = username if kind == "account" else source
            failures = account if kind == "account" else address
            lock = Lockout(kind, subject, now, now + policy.duration_s, failures)
            records.append(actor.record(now, "lockout", kind, subject, None, {"until": lock.until}))
            self.store.lock(lock)
        self.store.append_audit(records)

    # --- sessions ----------------------------------------------------------------------------

    def session(self, token: str, *, allow_pending: bool = False) -> tuple[Session, User]:
        """The live session for a cookie value; ends it if idle or too old."""
        now = self.clock.now()
        found = self.store.get_session(digest(token))
        if found is None:
            raise Unauthorized("not logged in, or the session has ended")
        if now >= found.expires_at or now - found.last_seen_at >= self.policy.session_idle_s:
            self.store.delete_sessions(token_hash=found.token_hash)
            raise Unauthorized("the session has timed out; log in again")
        user = self.store.get_user(found.user_id)
        if user is None or user.disabled:
            self.store.delete_sessions(token_hash=found.token_hash)
            raise Unauthorized("the account is disabled")
        if not found.mfa_passed and not allow_pending:
            step = "verify" if user.mfa_enabled else "enrol"
            raise MfaRequired(
                "complete multi-factor authentication first "
                f"({'enter a code' if step == 'verify' else 'set up an authenticator app'})",
                step=step,
            )
        if now - found.last_seen_at >= TOUCH_EVERY_S:
            self.store.touch(session_hash=found.token_hash, at=now)
        return found, user

    def logout(self, token: str) -> None:
        found = self.store.get_session(digest(token))
        if found is None:
            return
        actor = Actor(f"user:{found.user_id}", found.source)
        self.store.delete_sessions(token_hash=found.token_hash)
        self.store.append_audit(
            [actor.record(self.clock.now(), "logout", "user", found.user_id, None, None)]
        )

    # --- API tokens --------------------------------------------------------------------------

    def create_token(
        self,
        actor: Actor,
        owner: User,
        name: str,
        permissions: Iterable[str],
        expires_in_s: float | None,
    ) -> tuple[str, ApiToken]:
        """A token for integrations, scoped to named permissions the owner holds. The raw
        token is returned once; only its hash is kept."""
        wanted = set(permissions)
        known = {p.value for p in Permission}
        if wanted - known:
            raise InvalidInput(
                f"permissions: unknown permission(s) {', '.join(sorted(wanted - known))}",
                field="permissions",
            )
        held = self.principal(owner).permissions
        beyond = sorted(wanted - {p.value for p in held})
        if beyond:
            raise InvalidInput(
                f"permissions: {owner.username} does not hold {', '.join(beyond)}",
                field="permissions",
            )
        if not wanted:
            raise InvalidInput("permissions: name at least one", field="permissions")
        now = self.clock.now()
        token_id = secrets.token_hex(8)
        raw = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        token = ApiToken(
            id=token_id,
            user_id=owner.id,
            name=name,
            secret_hash=digest(raw),
            permissions=frozenset(Permission(p) for p in wanted),
            created_at=now,
            expires_at=None if expires_in_s is None else now + expires_in_s,
        )
        self.store.save_token(
            token,
            [actor.record(now, "token.create", "api_token", token_id, None, _token_json(token))],
        )
        return raw, token

    def revoke_token(self, actor: Actor, token_id: str) -> ApiToken:
        token = self.store.get_token(token_id)
        if token is None:
            raise NotFound(f"no API token {token_id}", field="token_id")
        now = self.clock.now()
        revoked = replace(token, revoked_at=token.revoked_at or now)
        record = actor.record(
            now, "token.revoke", "api_token", token_id, _token_json(token), _token_json(revoked)
        )
        self.store.save_token(revoked, [record])
        return revoked

    def authenticate_token(self, raw: str) -> tuple[ApiToken, User]:
        """The token and its owner, if the token is known, unexpired and unrevoked."""
        token_id = BOOTSTRAP_TOKEN_ID
        if raw.startswith(TOKEN_PREFIX) and raw.count("_") >= 2:
            token_id = raw[len(TOKEN_PREFIX) :].split("_", 1)[0]
        token = self.store.get_token(token_id)
        now = self.clock.now()
        if token is None or not hmac.compare_digest(token.secret_hash, digest(raw)):
            raise Unauthorized("the API token is not valid")
        if not token.usable(now):
            raise Unauthorized("the API token has expired or was revoked")
        user = self.store.get_user(token.user_id)
        if user is None or user.disabled:
            raise Unauthorized("the API token's owner is disabled")
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY_S:
            self.store.touch(token_id=token.id, at=now)
        return token, user

    def ensure_bootstrap(self, token: str | None) -> tuple[str | None, str | None]:
        """On a database without users: an `admin` user with a random password and an API
        token with every permission, so the first admin can get in. With `token` given (from
        settings), that is the bootstrap token's secret, on every start.

        Returns (admin password if one was made now, raw token if one was made now).
        """
        password = None
        admin = self.store.get_user_by_username("admin")
        actor = Actor("system", "startup")
        if self.store.count_users() == 0:
            password = secrets.token_urlsafe(15)
            admin = self.create_user(actor, "admin", password, ["admin"], display_name="Admin")
        existing = self.store.get_token(BOOTSTRAP_TOKEN_ID)
        if admin is None or (existing is not None and token is None):
            return password, None
        raw = token or f"{TOKEN_PREFIX}{BOOTSTRAP_TOKEN_ID}_{secrets.token_urlsafe(32)}"
        if (
            existing is not None
            and existing.user_id == admin.id
            and existing.usable(self.clock.now())
            and hmac.compare_digest(existing.secret_hash, digest(raw))
        ):
            return password, None
        now = self.clock.now()
        boot = ApiToken(
            id=BOOTSTRAP_TOKEN_ID,
            user_id=admin.id,
            name="bootstrap admin token",
            secret_hash=digest(raw),
            permissions=frozenset(Permission),
            created_at=now,
        )
        self.store.save_token(
            boot,
            [actor.record(now, "token.bootstrap", "api_token", boot.id, None, _token_json(boot))],
        )
        return password, raw

    # --- lockouts ----------------------------------------------------------------------------

    def lockouts(self) -> list[Lockout]:
        return self.store.lockouts(self.clock.now())

    def unlock(self, actor: Actor, kind: str, subject: str) -> None:
        if kind not in ("account", "address"):
            raise InvalidInput("kind: must be account or address", field="kind")
        record = actor.record(self.clock.now(), "lockout.clear", kind, subject, None, None)
        if not self.store.unlock(kind, subject, [record], clear_failures=True):
            raise NotFound(f"no lockout of {kind} {subject}", field="subject")


_NOBODY = User(id="", username="", display_name="", password_hash="", roles=())


def _sip_json(user: User) -> JsonValue:
    if user.sip_digest is None:
        return {"sip_enabled": False}
    return {"sip_enabled": True, "realm": user.sip_digest.realm}


def _role_json(role: CustomRole | None) -> JsonValue:
    if role is None:
        return None
    return {
        "name": role.name,
        "description": role.description,
        "permissions": _names(p.value for p in role.permissions),
    }


def _token_json(token: ApiToken) -> JsonValue:
    return {
        "id": token.id,
        "user_id": token.user_id,
        "name": token.name,
        "permissions": _names(p.value for p in token.permissions),
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


def _names(names: Iterable[str] | None) -> JsonValue:
    if names is None:
        return None
    out: list[JsonValue] = [*sorted(names)]
    return out
