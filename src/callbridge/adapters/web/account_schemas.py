"""Request and response bodies of the accounts API: logins, MFA, users, roles, tokens."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from callbridge.domain.security.accounts import ApiToken, Lockout, User

NAME = Field(min_length=1, max_length=200)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Body):
    username: str = NAME
    password: str = Field(min_length=1, max_length=1024)


class CodeIn(Body):
    code: str = Field(min_length=6, max_length=32, description="A TOTP code or a recovery code")


class PasswordChangeIn(Body):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PasswordResetIn(Body):
    new_password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    roles: list[str]
    teams: list[str] | None
    queues: list[str] | None
    agent_id: str | None
    mfa_enabled: bool
    mfa_required: bool | None
    sip_enabled: bool = Field(description="Has a SIP password: the agent's phone can register")
    disabled: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            roles=list(user.roles),
            teams=None if user.teams is None else sorted(user.teams),
            queues=None if user.queues is None else sorted(user.queues),
            agent_id=user.agent_id,
            mfa_enabled=user.mfa_enabled,
            mfa_required=user.mfa_required,
            sip_enabled=user.sip_digest is not None,
            disabled=user.disabled,
        )


class LoginOut(BaseModel):
    user: UserOut
    mfa: str = Field(description="none: logged in; verify: send a code; enrol: set up TOTP")
    csrf_token: str = Field(description="Send as X-CSRF-Token with every change")
    expires_at: float


class MeOut(BaseModel):
    user: UserOut
    permissions: list[str]
    mfa_passed: bool
    via: str


class EnrolmentOut(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as a QR code, an SVG document")


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works once")


class UserCreate(Body):
    username: str = NAME
    password: str = Field(min_length=1, max_length=1024)
    display_name: str | None = Field(default=None, max_length=200)
    roles: list[str] = Field(min_length=1)
    teams: list[str] | None = None
    queues: list[str] | None = None
    agent_id: str | None = None
    mfa_required: bool | None = None


class UserPatch(Body):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    roles: list[str] | None = Field(default=None, min_length=1)
    teams: list[str] | None = None
    queues: list[str] | None = None
    agent_id: str | None = None
    mfa_required: bool | None = None
    disabled: bool | None = None


class SipPasswordIn(Body):
    password: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="Leave out for a random one (recommended)",
    )


class SipPasswordOut(BaseModel):
    username: str = Field(description="The SIP user name (the account's username)")
    realm: str = Field(description="The digest realm")
    password: str = Field(description="Shown once; only its digest is kept")


class RoleIn(Body):
    description: str = Field(default="", max_length=500)
    permissions: list[str]


class RoleOut(BaseModel):
    name: str
    builtin: bool
    permissions: list[str]


class TokenCreate(Body):
    name: str = NAME
    permissions: list[str] = Field(min_length=1)
    expires_in_s: float | None = Field(default=None, gt=0, le=10 * 365 * 86400)


class TokenOut(BaseModel):
    id: str
    user_id: str
    name: str
    permissions: list[str]
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    last_used_at: float | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            user_id=token.user_id,
            name=token.name,
            permissions=sorted(p.value for p in token.permissions),
            created_at=token.created_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
            last_used_at=token.last_used_at,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself: shown once, only its hash is kept")


class LockoutOut(BaseModel):
    kind: str
    subject: str
    locked_at: float
    until: float
    failures: int

    @classmethod
    def of(cls, lock: Lockout) -> LockoutOut:
        return cls(
            kind=lock.kind,
            subject=lock.subject,
            locked_at=lock.locked_at,
            until=lock.until,
            failures=lock.failures,
        )
