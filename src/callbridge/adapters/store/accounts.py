"""`SqlAccountStore`: users, roles, sessions, API tokens, recovery codes, failed logins and
lockouts, in the same database as everything else. Each write is one transaction that also
appends its audit records to the hash-chained audit log."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update

from callbridge.adapters.store.audit import append_audit
from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.rows import storage_errors, upsert
from callbridge.adapters.store.tables import (
    api_tokens,
    lockouts,
    login_failures,
    recovery_codes,
    roles,
    sessions,
    users,
)
from callbridge.domain.security.accounts import (
    ApiToken,
    CustomRole,
    Lockout,
    Session,
    SipDigest,
    User,
)
from callbridge.domain.security.permissions import Permission
from callbridge.ports import AuditRecord
from callbridge.services.security.crypto import FieldCipher

MFA_COLUMN = "users.mfa_secret"
SIP_COLUMN = "users.sip_digest"


class SqlAccountStore:
    """The `AccountStore` port on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    # --- users -----------------------------------------------------------------------------

    def save_user(self, user: User, audit: Sequence[AuditRecord] = ()) -> None:
        with storage_errors("save a user"), write_transaction(self._engine) as conn:
            upsert(conn, users, [self._user_row(user)])
            append_audit(conn, list(audit))

    def get_user(self, user_id: str) -> User | None:
        return self._one_user(users.c.id == user_id)

    def get_user_by_username(self, username: str) -> User | None:
        return self._one_user(users.c.username == username)

    def get_user_by_agent(self, agent_id: str) -> User | None:
        return self._one_user(users.c.agent_id == agent_id)

    def list_users(self) -> list[User]:
        with storage_errors("list users"), self._engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.username)).mappings()
            return [self._user(row) for row in rows]

    def count_users(self) -> int:
        with storage_errors("count users"), self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

    def _one_user(self, where: Any) -> User | None:
        with storage_errors("read a user"), self._engine.connect() as conn:
            row = conn.execute(select(users).where(where)).mappings().one_or_none()
            return None if row is None else self._user(row)

    def _user_row(self, user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "password_hash": user.password_hash,
            "roles": list(user.roles),
            "teams": None if user.teams is None else sorted(user.teams),
            "queues": None if user.queues is None else sorted(user.queues),
            "agent_id": user.agent_id,
            "mfa_secret": None
            if user.mfa_secret is None
            else self._cipher.seal(user.mfa_secret, MFA_COLUMN),
            "mfa_enabled": user.mfa_enabled,
            "mfa_required": user.mfa_required,
            "sip_digest": None if user.sip_digest is None else self._seal_digest(user.sip_digest),
            "disabled": user.disabled,
            "created_at": user.created_at,
            "password_changed_at": user.password_changed_at,
        }

    def _user(self, row: Mapping[Any, Any]) -> User:
        secret = row["mfa_secret"]
        return User(
            id=row["id"],
            username=row["username"],
            display_name=row["display_name"],
            password_hash=row["password_hash"],
            roles=tuple(row["roles"]),
            teams=None if row["teams"] is None else frozenset(row["teams"]),
            queues=None if row["queues"] is None else frozenset(row["queues"]),
            agent_id=row["agent_id"],
            mfa_secret=None if secret is None else self._cipher.open(secret, MFA_COLUMN),
            mfa_enabled=bool(row["mfa_enabled"]),
            mfa_required=row["mfa_required"],
            sip_digest=None if row["sip_digest"] is None else self._open_digest(row["sip_digest"]),
            disabled=bool(row["disabled"]),
            created_at=row["created_at"],
            password_changed_at=row["password_changed_at"],
        )

    def _seal_digest(self, digest: SipDigest) -> str:
        # the three values in one sealed JSON document: one column, one re-seal on rotation
        text = json.dumps(
            {"realm": digest.realm, "md5": digest.md5, "sha256": digest.sha256}, sort_keys=True
        )
        return self._cipher.seal(text, SIP_COLUMN)

    def _open_digest(self, stored: str) -> SipDigest:
        values = json.loads(self._cipher.open(stored, SIP_COLUMN))
        return SipDigest(realm=values["realm"], md5=values["md5"], sha256=values["sha256"])

    # --- custom roles ------------------------------------------------------------------------

    def save_role(self, role: CustomRole, audit: Sequence[AuditRecord] = ()) -> None:
        row = {
            "name": role.name,
            "description": role.description,
            "permissions": sorted(p.value for p in role.permissions),
        }
        with storage_errors("save a role"), write_transaction(self._engine) as conn:
            upsert(conn, roles, [row])
            append_audit(conn, list(audit))

    def delete_role(self, name: str, audit: Sequence[AuditRecord] = ()) -> None:
        with storage_errors("delete a role"), write_transaction(self._engine) as conn:
            conn.execute(delete(roles).where(roles.c.name == name))
            append_audit(conn, list(audit))

    def list_roles(self) -> list[CustomRole]:
        with storage_errors("list roles"), self._engine.connect() as conn:
            rows = conn.execute(select(roles).order_by(roles.c.name)).mappings()
            return [
                CustomRole(
                    r["name"],
                    r["description"],
                    frozenset(Permission(p) for p in r["permissions"] if p in _KNOWN),
                )
                for r in rows
            ]

    # --- MFA recovery codes --------------------------------------------------------------------

    def replace_recovery_codes(
        self, user_id: str, code_hashes: Sequence[str], audit: Sequence[AuditRecord] = ()
    ) -> None:
        with storage_errors("save recovery codes"), write_transaction(self._engine) as conn:
            conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
            if code_hashes:
                conn.execute(
                    insert(recovery_codes),
                    [{"code_hash": h, "user_id": user_id, "used_at": None} for h in code_hashes],
                )
            append_audit(conn, list(audit))

    def use_recovery_code(self, user_id: str, code_hash: str, at: float) -> bool:
        """Mark an unused code used; False if there is no such unused code. Atomic: a code
        presented twice at once is accepted once."""
        with storage_errors("use a recovery code"), write_transaction(self._engine) as conn:
            result = conn.execute(
                update(recovery_codes)
                .where(
                    and_(
                        recovery_codes.c.user_id == user_id,
                        recovery_codes.c.code_hash == code_hash,
                        recovery_codes.c.used_at.is_(None),
                    )
                )
                .values(used_at=at)
            )
            return result.rowcount == 1

    def unused_recovery_codes(self, user_id: str) -> int:
        query = (
            select(func.count())
            .select_from(recovery_codes)
            .where(and_(recovery_codes.c.user_id == user_id, recovery_codes.c.used_at.is_(None)))
        )
        with storage_errors("count recovery codes"), self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # --- sessions --------------------------------------------------------------------------

    def save_session(self, session: Session, audit: Sequence[AuditRecord] = ()) -> None:
        row = {
            "token_hash": session.token_hash,
            "user_id": session.user_id,
            "created_at": session.created_at,
            "last_seen_at": session.last_seen_at,
            "expires_at": session.expires_at,
            "mfa_passed": session.mfa_passed,
            "source": session.source,
        }
        with storage_errors("save a session"), write_transaction(self._engine) as conn:
            upsert(conn, sessions, [row])
            append_audit(conn, list(audit))

    def get_session(self, token_hash: str) -> Session | None:
        query = select(sessions).where(sessions.c.token_hash == token_hash)
        with storage_errors("read a session"), self._engine.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
        if row is None:
            return None
        return Session(
            row["token_hash"],
            row["user_id"],
            row["created_at"],
            row["last_seen_at"],
            row["expires_at"],
            bool(row["mfa_passed"]),
            row["source"],
        )

    def delete_sessions(
        self,
        *,
        token_hash: str | None = None,
        user_id: str | None = None,
        before: float | None = None,
    ) -> int:
        query = delete(sessions)
        if token_hash is not None:
            query = query.where(sessions.c.token_hash == token_hash)
        if user_id is not None:
            query = query.where(sessions.c.user_id == user_id)
        if before is not None:
            query = query.where(sessions.c.expires_at < before)
        with storage_errors("delete sessions"), write_transaction(self._engine) as conn:
            return int(conn.execute(query).rowcount)

    # --- API tokens ------------------------------------------------------------------------

    def save_token(self, token: ApiToken, audit: Sequence[AuditRecord] = ()) -> None:
        row = {
            "id": token.id,
            "user_id": token.user_id,
            "name": token.name,
            "secret_hash": token.secret_hash,
            "permissions": sorted(p.value for p in token.permissions),
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "revoked_at": token.revoked_at,
            "last_used_at": token.last_used_at,
        }
        with storage_errors("save an API token"), write_transaction(self._engine) as conn:
            upsert(conn, api_tokens, [row])
            append_audit(conn, list(audit))

    def get_token(self, token_id: str) -> ApiToken | None:
        query = select(api_tokens).where(api_tokens.c.id == token_id)
        with storage_errors("read an API token"), self._engine.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
        return None if row is None else _token(row)

    def list_tokens(self, user_id: str | None = None) -> list[ApiToken]:
        query = select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
        if user_id is not None:
            query = query.where(api_tokens.c.user_id == user_id)
        with storage_errors("list API tokens"), self._engine.connect() as conn:
            return [_token(row) for row in conn.execute(query).mappings()]

    def touch(
        self, *, token_id: str | None = None, session_hash: str | None = None, at: float
    ) -> None:
        """Record use: a token's last_used_at or a session's last_seen_at."""
        with storage_errors("record use"), write_transaction(self._engine) as conn:
            if token_id is not None:
                conn.execute(
                    update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=at)
                )
            if session_hash is not None:
                conn.execute(
                    update(sessions)
                    .where(sessions.c.token_hash == session_hash)
                    .values(last_seen_at=at)
                )

    # --- failed logins and lockouts ----------------------------------------------------------

    def record_failure(
        self, username: str, source: str, at: float, since: float
    ) -> tuple[int, int]:
        """Log one failed login; return the failures since `since` for the account and for
        the address, this one included."""
        with storage_errors("record a failed login"), write_transaction(self._engine) as conn:
            conn.execute(insert(login_failures).values(at=at, username=username, source=source))
            return (
                _count(conn, login_failures.c.username == username, since),
                _count(conn, login_failures.c.source == source, since),
            )

    def clear_failures(self, username: str) -> None:
        with storage_errors("clear failed logins"), write_transaction(self._engine) as conn:
            conn.execute(delete(login_failures).where(login_failures.c.username == username))

    def lock(self, lockout: Lockout, audit: Sequence[AuditRecord] = ()) -> None:
        row = {
            "kind": lockout.kind,
            "subject": lockout.subject,
            "locked_at": lockout.locked_at,
            "until": lockout.until,
            "failures": lockout.failures,
        }
        with storage_errors("lock out"), write_transaction(self._engine) as conn:
            upsert(conn, lockouts, [row])
            append_audit(conn, list(audit))

    def lockouts(self, now: float) -> list[Lockout]:
        """Lockouts still in force at `now`."""
        query = select(lockouts).where(lockouts.c.until > now).order_by(lockouts.c.locked_at)
        with storage_errors("list lockouts"), self._engine.connect() as conn:
            return [
                Lockout(r["kind"], r["subject"], r["locked_at"], r["until"], r["failures"])
                for r in conn.execute(query).mappings()
            ]

    def unlock(
        self, kind: str, subject: str, audit: Sequence[AuditRecord] = (), *, clear_failures: bool
    ) -> bool:
        with storage_errors("clear a lockout"), write_transaction(self._engine) as conn:
            gone = conn.execute(
                delete(lockouts).where(and_(lockouts.c.kind == kind, lockouts.c.subject == subject))
            ).rowcount
            if clear_failures:
                column = login_failures.c.username if kind == "account" else login_failures.c.source
                conn.execute(delete(login_failures).where(column == subject))
            append_audit(conn, list(audit))
            return gone == 1

    def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Audit records for actions that change nothing else (a login, an export)."""
        with storage_errors("append to the audit log"), write_transaction(self._engine) as conn:
            append_audit(conn, list(records))


_KNOWN = {p.value for p in Permission}


def _count(conn: Connection, where: Any, since: float) -> int:
    query = (
        select(func.count())
        .select_from(login_failures)
        .where(and_(where, login_failures.c.at >= since))
    )
    return int(conn.execute(query).scalar_one())


def _token(row: Mapping[Any, Any]) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        secret_hash=row["secret_hash"],
        permissions=frozenset(Permission(p) for p in row["permissions"] if p in _KNOWN),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )
