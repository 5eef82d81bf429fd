"""OAuth 2.0 for a server-to-server connector: the JWT bearer and client-credentials flows,
POSTed by us to a configurable token URL (simple-salesforce's own login helpers hard-code
*.salesforce.com hosts; contract §0.2). Neither flow issues a refresh token: a 401 later means
"ask again"."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt
import requests
from requests.adapters import HTTPAdapter

from callbridge.adapters.crm.salesforce.errors import SalesforceAuthError, SalesforceUnavailable
from callbridge.domain.clock import Clock

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_S = 180  # Salesforce accepts at most a few minutes ahead
DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read: every request stays well under 20 s normally


@dataclass(frozen=True, slots=True)
class Token:
    access_token: str
    instance_url: str


class TokenSource(Protocol):
    """Gets a fresh access token; called at start and after a 401."""

    def fetch(self, session: requests.Session) -> Token: ...


def jwt_assertion(
    *, client_id: str, username: str, audience: str, private_key_pem: str, now: float
) -> str:
    """The signed JWT of the bearer flow: RS256 over iss, sub, aud and a near expiry."""
    claims = {
        "iss": client_id,
        "sub": username,
        "aud": audience,
        "exp": int(now) + ASSERTION_LIFETIME_S,
    }
    return jwt.encode(claims, private_key_pem, algorithm="RS256")


@dataclass(frozen=True)
class JwtBearer:
    """The recommended flow: a certificate on the connected app, a pre-authorised user."""

    token_url: str
    client_id: str
    username: str
    audience: str
    private_key_pem: str
    clock: Clock
    instance_url: str | None = None

    def fetch(self, session: requests.Session) -> Token:
        assertion = jwt_assertion(
            client_id=self.client_id,
            username=self.username,
            audience=self.audience,
            private_key_pem=self.private_key_pem,
            now=self.clock.now(),
        )
        form = {"grant_type": JWT_GRANT, "assertion": assertion}
        return request_token(session, self.token_url, form, None, self.instance_url)


@dataclass(frozen=True)
class ClientCredentials:
    """The connected app's key and secret (HTTP Basic); runs as the app's "Run As" user."""

    token_url: str
    client_id: str
    client_secret: str
    instance_url: str | None = None

    def fetch(self, session: requests.Session) -> Token:
        form = {"grant_type": "client_credentials"}
        auth = (self.client_id, self.client_secret)
        return request_token(session, self.token_url, form, auth, self.instance_url)


def request_token(
    session: requests.Session,
    token_url: str,
    form: dict[str, str],
    auth: tuple[str, str] | None,
    instance_url: str | None,
) -> Token:
    """POST the token request. A refusal (400) is a SalesforceAuthError naming the OAuth error;
    no answer or a 5xx is SalesforceUnavailable (worth retrying)."""
    try:
        response = session.post(token_url, data=form, auth=auth)
    except requests.RequestException as exc:
        raise SalesforceUnavailable(
            f"the Salesforce token endpoint did not answer: {type(exc).__name__}",
            url=token_url,
        ) from exc
    body = _json(response)
    if response.status_code >= 500:
        raise SalesforceUnavailable(
            f"the Salesforce token endpoint answered {response.status_code}",
            url=token_url,
            status=response.status_code,
        )
    if response.status_code != 200:
        error = body.get("error", "error")
        description = body.get("error_description", "")
        raise SalesforceAuthError(
            f"Salesforce refused the token request ({response.status_code}): {error}"
            + (f": {description}" if description else ""),
            url=token_url,
            status=response.status_code,
            oauth_error=error,
        )
    token = body.get("access_token")
    where = body.get("instance_url") or instance_url
    if not isinstance(token, str) or not token or not isinstance(where, str) or not where:
        raise SalesforceAuthError(
            "the token answer has no access_token or instance_url (set salesforce_instance_url)",
            url=token_url,
        )
    return Token(token, where.rstrip("/"))


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class _Session(requests.Session):
    """A session whose requests all have a timeout (simple-salesforce passes none)."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


class _ExtraTrust(HTTPAdapter):
    """Verifies servers against the system's CAs plus one more bundle (a test CA, or a
    TLS-inspecting proxy's)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def make_session(
    ca_file: Path | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT
) -> requests.Session:
    """The HTTP session for the token endpoint and the REST API."""
    session = _Session(timeout)
    if ca_file is not None:
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=str(ca_file))
        session.mount("https://", _ExtraTrust(context))
    return session
