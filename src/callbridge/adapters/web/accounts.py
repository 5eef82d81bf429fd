"""REST routes for logging in (password, then TOTP), one's own account, users, roles, API
tokens, lockouts, and agents' SIP passwords."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from callbridge.adapters.web.account_schemas import (
    CodeIn,
    EnrolmentOut,
    LockoutOut,
    LoginIn,
    LoginOut,
    MeOut,
    PasswordChangeIn,
    PasswordResetIn,
    RecoveryCodesOut,
    RoleIn,
    RoleOut,
    SipPasswordIn,
    SipPasswordOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserPatch,
)
from callbridge.adapters.web.auth import (
    SESSION_COOKIE,
    Caller,
    PendingCallerDep,
    public,
    requires,
    source_of,
)
from callbridge.domain.errors import InvalidState, NotFound
from callbridge.domain.security.permissions import BUILTIN_ROLES, Permission
from callbridge.services.security import mfa
from callbridge.services.security.accounts import Accounts, Actor, csrf_token

router = APIRouter(tags=["accounts"])


def _accounts(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


AccountsDep = Annotated[Accounts, Depends(_accounts)]


def _actor(caller: Caller) -> Actor:
    return Actor(caller.principal.actor, caller.source)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or bool(request.app.state.tls)


# --- logging in ------------------------------------------------------------------------------


@router.post("/auth/login", dependencies=[Depends(public)])
async def login(
    body: LoginIn, request: Request, response: Response, accounts: AccountsDep
) -> LoginOut:
    """Password login. Sets the session cookie; `mfa` says whether a code (or TOTP set-up)
    must follow before anything else is allowed."""
    result = accounts.login(body.username, body.password, source_of(request))
    response.set_cookie(
        SESSION_COOKIE,
        result.session_token,
        max_age=int(accounts.policy.session_absolute_s),
        httponly=True,
        secure=_secure(request),
        samesite="strict",
        path="/",
    )
    return LoginOut(
        user=UserOut.of(result.user),
        mfa=result.mfa,
        csrf_token=csrf_token(result.session_token),
        expires_at=result.session.expires_at,
    )


@router.post(
    "/auth/mfa/verify", dependencies=[Depends(requires(Permission.SELF, allow_pending=True))]
)
async def verify_mfa(body: CodeIn, caller: PendingCallerDep, accounts: AccountsDep) -> MeOut:
    """Finish a login with a TOTP code or a one-time recovery code."""
    token = _session_token(caller)
    mfa.verify_mfa(accounts, token, body.code, caller.source)
    _, user = accounts.session(token)
    return _me(accounts, user.id, caller, mfa_passed=True)


@router.post(
    "/auth/mfa/enrol", dependencies=[Depends(requires(Permission.SELF, allow_pending=True))]
)
async def enrol_mfa(caller: PendingCallerDep, accounts: AccountsDep) -> EnrolmentOut:
    """Start TOTP set-up: scan the QR code, then confirm with a first code."""
    enrolment = mfa.begin_enrolment(accounts, accounts.get_user(caller.principal.user_id))
    return EnrolmentOut(
        secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg
    )


@router.post(
    "/auth/mfa/confirm", dependencies=[Depends(requires(Permission.SELF, allow_pending=True))]
)
async def confirm_mfa(
    body: CodeIn, caller: PendingCallerDep, accounts: AccountsDep
) -> RecoveryCodesOut:
    """Activate TOTP with a first code; returns the recovery codes, once."""
    codes = mfa.confirm_enrolment(accounts, _session_token(caller), body.code, caller.source)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(requires(Permission.SELF, allow_pending=True))],
)
async def logout(caller: PendingCallerDep, accounts: AccountsDep, request: Request) -> Response:
    accounts.logout(_session_token(caller))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=_secure(request), httponly=True)
    return response


@router.get("/auth/me", dependencies=[Depends(requires(Permission.SELF, allow_pending=True))])
async def me(caller: PendingCallerDep, accounts: AccountsDep) -> MeOut:
    return _me(accounts, caller.principal.user_id, caller, mfa_passed=caller.mfa_passed)


@router.post(
    "/auth/password",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(requires(Permission.SELF))],
)
async def change_password(
    body: PasswordChangeIn,
    caller: Annotated[Caller, Depends(requires(Permission.SELF))],
    accounts: AccountsDep,
) -> Response:
    """Change one's own password; every session of the account ends, this one included."""
    accounts.set_password(
        _actor(caller), caller.principal.user_id, body.new_password, current=body.current_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _session_token(caller: Caller) -> str:
    if caller.session_token is None:
        raise InvalidState("this needs a browser session, not an API token", field="session")
    return caller.session_token


def _me(accounts: Accounts, user_id: str, caller: Caller, *, mfa_passed: bool) -> MeOut:
    user = accounts.get_user(user_id)
    granted = accounts.principal(user).permissions if mfa_passed else caller.principal.permissions
    if caller.principal.token_id is not None:
        granted = caller.principal.permissions
    return MeOut(
        user=UserOut.of(user),
        permissions=sorted(p.value for p in granted),
        mfa_passed=mfa_passed,
        via=caller.principal.via,
    )


# --- users -----------------------------------------------------------------------------------


@router.get("/users", dependencies=[Depends(requires(Permission.USERS_READ))])
async def list_users(accounts: AccountsDep) -> list[UserOut]:
    return [UserOut.of(u) for u in accounts.store.list_users()]


@router.post("/users", status_code=status.HTTP_201_CREATED)
async def create_user(
    body: UserCreate,
    caller: Annotated[Caller, Depends(requires(Permission.USERS_MANAGE))],
    accounts: AccountsDep,
) -> UserOut:
    user = accounts.create_user(
        _actor(caller),
        body.username,
        body.password,
        body.roles,
        display_name=body.display_name,
        teams=body.teams,
        queues=body.queues,
        agent_id=body.agent_id,
        mfa_required=body.mfa_required,
    )
    return UserOut.of(user)


@router.get("/users/{user_id}", dependencies=[Depends(requires(Permission.USERS_READ))])
async def get_user(user_id: str, accounts: AccountsDep) -> UserOut:
    return UserOut.of(accounts.get_user(user_id))


@router.patch("/users/{user_id}")
async def update_user(
    user_id: str,
    body: UserPatch,
    caller: Annotated[Caller, Depends(requires(Permission.USERS_MANAGE))],
    accounts: AccountsDep,
) -> UserOut:
    """Change the fields sent; `null` for teams or queues means no limit."""
    fields = body.model_dump(exclude_unset=True)
    return UserOut.of(accounts.update_user(_actor(caller), user_id, **fields))


@router.post("/users/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
async def reset_password(
    user_id: str,
    body: PasswordResetIn,
    caller: Annotated[Caller, Depends(requires(Permission.USERS_MANAGE))],
    accounts: AccountsDep,
) -> Response:
    accounts.set_password(_actor(caller), user_id, body.new_password, current=None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/users/{user_id}/mfa/reset", status_code=status.HTTP_204_NO_CONTENT)
async def reset_mfa(
    user_id: str,
    caller: Annotated[Caller, Depends(requires(Permission.USERS_MANAGE))],
    accounts: AccountsDep,
) -> Response:
    """For a lost phone: TOTP and recovery codes are cleared; the user enrols again."""
    mfa.reset_mfa(accounts, _actor(caller), user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- SIP phones ------------------------------------------------------------------------------


@router.post("/users/{user_id}/sip-password")
async def set_sip_password(
    user_id: str,
    caller: Annotated[Caller, Depends(requires(Permission.USERS_MANAGE))],
    accounts: AccountsDep,
    body: SipPasswordIn | None = None,
) -> SipPasswordOut:
    """Set (or replace) the SIP password the user's agent registers a phone with: the one sent,
    or a random one. The password is in this answer only; only its digest is kept."""
    return _sip_password(accounts, caller, user_id, body)


@router.delete("/users/{user_id}/sip-password", status_code=status.HTTP_204_NO_CONTENT)
async def clear_sip_password(
    user_id: str,
    caller: Annotated[Caller, Depends(requires(Permission.USERS_MANAGE))],
    accounts: AccountsDep,
) -> Response:
    """Take the SIP password away: the user's phones can no longer register."""
    accounts.clear_sip_password(_actor(caller), user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/me/sip-password")
async def set_my_sip_password(
    caller: Annotated[Caller, Depends(requires(Permission.SELF))],
    accounts: AccountsDep,
    body: SipPasswordIn | None = None,
) -> SipPasswordOut:
    """Set (or replace) one's own SIP password, for one's own agent's phone."""
    return _sip_password(accounts, caller, caller.principal.user_id, body)


def _sip_password(
    accounts: Accounts, caller: Caller, user_id: str, body: SipPasswordIn | None
) -> SipPasswordOut:
    realm = accounts.policy.sip_realm
    password = accounts.set_sip_password(
        _actor(caller), user_id, realm, None if body is None else body.password
    )
    return SipPasswordOut(
        username=accounts.get_user(user_id).username, realm=realm, password=password
    )


# --- roles -----------------------------------------------------------------------------------


@router.get("/roles", dependencies=[Depends(requires(Permission.USERS_READ))])
async def list_roles(accounts: AccountsDep) -> list[RoleOut]:
    return [
        RoleOut(
            name=name, builtin=name in BUILTIN_ROLES, permissions=sorted(p.value for p in perms)
        )
        for name, perms in sorted(accounts.roles().items())
    ]


@router.put("/roles/{name}")
async def save_role(
    name: str,
    body: RoleIn,
    caller: Annotated[Caller, Depends(requires(Permission.ROLES_MANAGE))],
    accounts: AccountsDep,
) -> RoleOut:
    """Create or change a custom role made of named permissions."""
    role = accounts.save_role(_actor(caller), name, body.description, body.permissions)
    return RoleOut(
        name=role.name, builtin=False, permissions=sorted(p.value for p in role.permissions)
    )


@router.delete("/roles/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_role(
    name: str,
    caller: Annotated[Caller, Depends(requires(Permission.ROLES_MANAGE))],
    accounts: AccountsDep,
) -> Response:
    accounts.delete_role(_actor(caller), name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- API tokens ------------------------------------------------------------------------------


@router.get("/tokens", dependencies=[Depends(requires(Permission.SELF))])
async def my_tokens(
    caller: Annotated[Caller, Depends(requires(Permission.SELF))], accounts: AccountsDep
) -> list[TokenOut]:
    return [TokenOut.of(t) for t in accounts.store.list_tokens(caller.principal.user_id)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(
    body: TokenCreate,
    caller: Annotated[Caller, Depends(requires(Permission.SELF))],
    accounts: AccountsDep,
) -> TokenCreated:
    """A token for an integration, acting as you with only the permissions named (which you
    must hold). The token is in the response once; keep it."""
    owner = accounts.get_user(caller.principal.user_id)
    raw, token = accounts.create_token(
        _actor(caller), owner, body.name, body.permissions, body.expires_in_s
    )
    return TokenCreated(token=raw, **TokenOut.of(token).model_dump())


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(
    token_id: str,
    caller: Annotated[Caller, Depends(requires(Permission.SELF))],
    accounts: AccountsDep,
) -> Response:
    """Revoke one of your tokens; with tokens.manage, anyone's."""
    token = accounts.store.get_token(token_id)
    if token is None:
        raise NotFound(f"no API token {token_id}", field="token_id")
    if token.user_id != caller.principal.user_id:
        caller.check(Permission.TOKENS_MANAGE)
    accounts.revoke_token(_actor(caller), token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/{user_id}/tokens", dependencies=[Depends(requires(Permission.TOKENS_MANAGE))])
async def user_tokens(user_id: str, accounts: AccountsDep) -> list[TokenOut]:
    accounts.get_user(user_id)
    return [TokenOut.of(t) for t in accounts.store.list_tokens(user_id)]


# --- lockouts --------------------------------------------------------------------------------


@router.get("/security/lockouts", dependencies=[Depends(requires(Permission.SECURITY_LOCKOUTS))])
async def lockouts(accounts: AccountsDep) -> list[LockoutOut]:
    """Accounts and addresses locked now after too many failed logins."""
    return [LockoutOut.of(lock) for lock in accounts.lockouts()]


@router.delete("/security/lockouts/{kind}/{subject}", status_code=status.HTTP_204_NO_CONTENT)
async def unlock(
    kind: str,
    subject: str,
    caller: Annotated[Caller, Depends(requires(Permission.SECURITY_LOCKOUTS))],
    accounts: AccountsDep,
) -> Response:
    accounts.unlock(_actor(caller), kind, subject)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
