"""OAuth 2.0 token endpoint (JWT bearer, client credentials, password) and the session table."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt

from sfstandin.ids import RecordId

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuthError(Exception):
    """An OAuth failure: HTTP 400 with `{"error": ..., "error_description": ...}`."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str
    username: str
    password: str
    security_token: str
    public_key_pem: bytes
    audience: str
    jwt_preauthorized: bool = True


class Sessions:
    """Issued access tokens; optionally they lapse after `timeout` seconds of inactivity."""

    def __init__(self, org_id: RecordId, timeout: float | None = None) -> None:
        self._org_id = org_id
        self._timeout = timeout
        self._last_used: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = f"{self._org_id[:15]}!AQ{secrets.token_urlsafe(72)}"
        with self._lock:
            self._last_used[token] = time.monotonic()
        return token

    def touch(self, token: str) -> bool:
        """True (and the session is kept alive) if `token` is a live session."""
        now = time.monotonic()
        with self._lock:
            last = self._last_used.get(token)
            if last is None:
                return False
            if self._timeout is not None and now - last > self._timeout:
                del self._last_used[token]
                return False
            self._last_used[token] = now
            return True

    def expire_all(self) -> None:
        with self._lock:
            self._last_used.clear()

    def revoke(self, token: str) -> None:
        with self._lock:
            self._last_used.pop(token, None)

    def count(self) -> int:
        with self._lock:
            return len(self._last_used)


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = raw.partition(":")
    return (user, password) if sep else None


def _check_client(creds: Credentials, client_id: str | None, secret: str | None) -> None:
    if client_id != creds.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if secret is not None and not hmac.compare_digest(secret, creds.client_secret):
        raise OAuthError("invalid_client", "invalid client credentials")


def _jwt_bearer(creds: Credentials, assertion: str | None) -> None:
    if not assertion:
        raise OAuthError("invalid_request", "assertion is missing")
    try:
        header = jwt.get_unverified_header(assertion)
        claims: dict[str, Any] = jwt.decode(
            assertion,
            creds.public_key_pem,
            algorithms=["RS256"],
            options={
                "verify_aud": False,
                "verify_exp": False,
                "require": ["iss", "sub", "aud", "exp"],
            },
        )
    except jwt.InvalidTokenError as exc:
        raise OAuthError("invalid_grant", "invalid assertion") from exc
    if header.get("alg") != "RS256":
        raise OAuthError("invalid_grant", "invalid assertion")
    if claims["iss"] != creds.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if creds.audience not in audiences:
        raise OAuthError("invalid_grant", "Audience validation failed")
    if not isinstance(claims["exp"], (int, float)) or claims["exp"] < time.time():
        raise OAuthError("invalid_grant", "expired authorization code")
    if claims["sub"] != creds.username:
        raise OAuthError("invalid_grant", "invalid assertion")
    if not creds.jwt_preauthorized:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")


def grant(creds: Credentials, form: dict[str, str], authorization: str | None) -> tuple[str, str]:
    """Validate a token request; returns (grant type, scope) or raises OAuthError."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant type is missing")
    if grant_type == JWT_BEARER:
        _jwt_bearer(creds, form.get("assertion"))
        return grant_type, "id full api"
    if grant_type == "client_credentials":
        basic = _basic(authorization)
        client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
        if secret is None:
            raise OAuthError("invalid_client", "invalid client credentials")
        _check_client(creds, client_id, secret)
        return grant_type, "api"
    if grant_type == "password":
        _check_client(creds, form.get("client_id"), form.get("client_secret") or "")
        expected = creds.password + creds.security_token
        if form.get("username") != creds.username or not hmac.compare_digest(
            form.get("password", ""), expected
        ):
            raise OAuthError(
                "invalid_grant",
                "invalid username, password, security token; or user locked out.",
            )
        return grant_type, "api"
    raise OAuthError("unsupported_grant_type", "grant type not supported")


def token_body(
    creds: Credentials, token: str, grant_type: str, scope: str, base_url: str,
    org_id: str, user_id: str,
) -> dict[str, str]:  # fmt: skip
    """The success body of §2: no refresh token and no `expires_in`, as Salesforce answers."""
    identity = f"{base_url}/id/{org_id}/{user_id}"
    issued_at = str(int(time.time() * 1000))
    digest = hmac.new(
        creds.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
    ).digest()
    body = {
        "access_token": token,
        "instance_url": base_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": base64.b64encode(digest).decode(),
    }
    if grant_type != "password":
        body["scope"] = scope
    if grant_type == "client_credentials":
        body["api_instance_url"] = base_url
    return body
