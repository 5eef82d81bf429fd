"""Digest authentication for SIP (RFC 3261 22, RFC 2617, RFC 7616): MD5 and SHA-256, qop=auth.

Server side, `DigestServer` makes challenges and verifies answers without keeping state: the
nonce carries its issue time and an HMAC over it, so any process holding the secret can check
it, and an old nonce with an otherwise correct answer is reported `stale` (the client retries
silently). Credentials are looked up as HA1 (`ha1()`), never as passwords.

Client side, `authorization()` answers a challenge for a request we send (outbound trunk
calls, REGISTER); the endpoint retries the request once with it.

Not done: `-sess` algorithms, `qop=auth-int`, nonce-count replay tracking (a replayed answer
is accepted until its nonce goes stale, `nonce_ttl`, five minutes by default).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Literal

from callbridge.adapters.telephony.sip.errors import SipParseError
from callbridge.adapters.telephony.sip.headers import CSeq, Via, quote, unquote
from callbridge.adapters.telephony.sip.message import Request, Response
from callbridge.adapters.telephony.sip.timers import Clock
from callbridge.adapters.telephony.sip.uri import parse_uri

Algorithm = Literal["MD5", "SHA-256"]
ALGORITHMS: tuple[Algorithm, ...] = ("SHA-256", "MD5")
HA1Lookup = Callable[[str, str, Algorithm], Awaitable[str | None]]
"""(username, realm, algorithm) -> HA1 as lowercase hex, or None for an unknown user."""

_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]+)\s*(?:,|$)', re.S)


def _hash(algorithm: Algorithm, text: str) -> str:
    if algorithm == "SHA-256":
        return hashlib.sha256(text.encode()).hexdigest()
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()  # RFC 2617 digest


def ha1(username: str, realm: str, password: str, algorithm: Algorithm = "MD5") -> str:
    """H(username:realm:password): what a credential store keeps instead of the password."""
    return _hash(algorithm, f"{username}:{realm}:{password}")


def parse_auth_params(value: str) -> dict[str, str]:
    """`Digest a="x", b=y` -> {"a": "x", "b": "y"} (names lowercase, values unquoted)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise SipParseError(f"not a Digest credential: {scheme[:20]!r}")
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _PARAM_RE.match(rest, position)
        if match is None or match.end() == position:
            raise SipParseError("bad digest parameters")
        name, raw = match.group(1).lower(), match.group(2)
        params[name] = unquote(raw) if raw.startswith('"') else raw
        position = match.end()
    return params


def _algorithm(value: str | None) -> Algorithm | None:
    if value is None or value.upper() == "MD5":
        return "MD5"
    if value.upper() == "SHA-256":
        return "SHA-256"
    return None


@dataclass(frozen=True)
class Challenge:
    """A WWW-Authenticate / Proxy-Authenticate value."""

    realm: str
    nonce: str
    algorithm: Algorithm = "MD5"
    qop: tuple[str, ...] = ("auth",)
    opaque: str | None = None
    stale: bool = False

    def __str__(self) -> str:
        parts = [
            f"realm={quote(self.realm)}",
            f"nonce={quote(self.nonce)}",
            f"algorithm={self.algorithm}",
        ]
        if self.qop:
            parts.append(f"qop={quote(','.join(self.qop))}")
        if self.opaque is not None:
            parts.append(f"opaque={quote(self.opaque)}")
        if self.stale:
            parts.append("stale=true")
        return "Digest " + ", ".join(parts)

    @staticmethod
    def parse(value: str) -> Challenge:
        """Parse a challenge; raise `SipParseError` for one we cannot answer."""
        params = parse_auth_params(value)
        algorithm = _algorithm(params.get("algorithm"))
        if algorithm is None or "realm" not in params or "nonce" not in params:
            raise SipParseError("unsupported or incomplete digest challenge")
        qop = tuple(q.strip() for q in params["qop"].split(",")) if "qop" in params else ()
        return Challenge(
            realm=params["realm"],
            nonce=params["nonce"],
            algorithm=algorithm,
            qop=qop,
            opaque=params.get("opaque"),
            stale=params.get("stale", "").lower() == "true",
        )


@dataclass(frozen=True)
class Credentials:
    """A username and password to answer challenges with (`realm` None: any realm)."""

    username: str
    password: str
    realm: str | None = None


def pick_challenge(values: list[str]) -> Challenge | None:
    """The challenge to answer among several: SHA-256 before MD5, qop=auth or none."""
    challenges: list[Challenge] = []
    for value in values:
        try:
            challenge = Challenge.parse(value)
        except SipParseError:
            continue
        if not challenge.qop or "auth" in challenge.qop:
            challenges.append(challenge)
    challenges.sort(key=lambda c: ALGORITHMS.index(c.algorithm))
    return challenges[0] if challenges else None


def authorization(
    challenge: Challenge,
    credentials: Credentials,
    method: str,
    uri: str,
    *,
    cnonce: str | None = None,
    nonce_count: int = 1,
) -> str:
    """The Authorization / Proxy-Authorization value answering `challenge` for a request."""
    algorithm = challenge.algorithm
    secret = ha1(credentials.username, challenge.realm, credentials.password, algorithm)
    ha2 = _hash(algorithm, f"{method}:{uri}")
    parts = [
        f"username={quote(credentials.username)}",
        f"realm={quote(challenge.realm)}",
        f"nonce={quote(challenge.nonce)}",
        f"uri={quote(uri)}",
    ]
    if "auth" in challenge.qop:
        cnonce = cnonce or secrets.token_hex(8)
        nc = f"{nonce_count:08x}"
        response = _hash(algorithm, f"{secret}:{challenge.nonce}:{nc}:{cnonce}:auth:{ha2}")
        parts += [f"response={quote(response)}", "qop=auth", f"nc={nc}", f"cnonce={quote(cnonce)}"]
    else:
        parts.append(f"response={quote(_hash(algorithm, f'{secret}:{challenge.nonce}:{ha2}'))}")
    parts.append(f"algorithm={algorithm}")
    if challenge.opaque is not None:
        parts.append(f"opaque={quote(challenge.opaque)}")
    return "Digest " + ", ".join(parts)


@dataclass(frozen=True)
class AuthResult:
    """The outcome of `DigestServer.verify`: `ok`, or why not (`stale`: retry, same password)."""

    ok: bool
    username: str | None = None
    stale: bool = False
    reason: str = ""


class DigestServer:
    """Challenges and verifies requests for one realm."""

    def __init__(
        self,
        realm: str,
        secret: bytes,
        lookup: HA1Lookup,
        *,
        clock: Clock,
        nonce_ttl: float = 300.0,
        algorithms: tuple[Algorithm, ...] = ALGORITHMS,
    ) -> None:
        self.realm = realm
        self._secret = secret
        self._lookup = lookup
        self._clock = clock
        self.nonce_ttl = nonce_ttl
        self.algorithms = algorithms

    def challenges(self, *, stale: bool = False) -> list[str]:
        """One challenge value per algorithm (RFC 7616 3.7: most preferred first)."""
        nonce = self._nonce()
        return [
            str(Challenge(realm=self.realm, nonce=nonce, algorithm=a, stale=stale))
            for a in self.algorithms
        ]

    def _nonce(self) -> str:
        stamp = struct.pack(">Q", int(self._clock() * 1000) & (2**64 - 1)) + secrets.token_bytes(8)
        mac = hmac.new(self._secret, stamp, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(stamp + mac).decode().rstrip("=")

    def _nonce_age(self, nonce: str) -> float | None:
        """Seconds since the nonce was issued, or None when we did not issue it."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except ValueError:
            return None
        if len(raw) != 32:
            return None
        expected = hmac.new(self._secret, raw[:16], hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(raw[16:], expected):
            return None
        issued_ms: int = struct.unpack(">Q", raw[:8])[0]
        return self._clock() - issued_ms / 1000

    async def verify(self, request: Request, header: str = "Authorization") -> AuthResult:
        """Check the request's `header` (Authorization, or Proxy-Authorization for 407)."""
        values = request.headers.get_all(header)
        value = next((v for v in values if self._realm_of(v) == self.realm), None)
        value = value or (values[0] if values else None)
        if value is None:
            return AuthResult(ok=False, reason="no credentials")
        try:
            params = parse_auth_params(value)
        except SipParseError as exc:
            return AuthResult(ok=False, reason=exc.reason)
        username = params.get("username")
        algorithm = _algorithm(params.get("algorithm"))
        missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in params]
        if missing or username is None:
            return AuthResult(ok=False, reason=f"missing {', '.join(missing)}")
        if params["realm"] != self.realm or algorithm not in self.algorithms:
            return AuthResult(ok=False, username=username, reason="wrong realm or algorithm")
        if params.get("qop") != "auth" or "nc" not in params or "cnonce" not in params:
            return AuthResult(ok=False, username=username, reason="qop=auth required")
        if not self._uri_matches(params["uri"], request):
            return AuthResult(ok=False, username=username, reason="digest uri mismatch")
        age = self._nonce_age(params["nonce"])
        if age is None:
            return AuthResult(ok=False, username=username, reason="nonce not ours")
        secret = await self._lookup(username, self.realm, algorithm)
        if secret is None:
            return AuthResult(ok=False, username=username, reason="unknown user")
        ha2 = _hash(algorithm, f"{request.method}:{params['uri']}")
        expected = _hash(
            algorithm,
            f"{secret}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}",
        )
        if not hmac.compare_digest(expected.encode(), params["response"].lower().encode()):
            return AuthResult(ok=False, username=username, reason="wrong password")
        if not 0 <= age <= self.nonce_ttl:
            return AuthResult(ok=False, username=username, stale=True, reason="stale nonce")
        return AuthResult(ok=True, username=username)

    @staticmethod
    def _realm_of(value: str) -> str | None:
        try:
            return parse_auth_params(value).get("realm")
        except SipParseError:
            return None

    @staticmethod
    def _uri_matches(digest_uri: str, request: Request) -> bool:
        try:
            return parse_uri(digest_uri) == request.uri
        except SipParseError:
            return False


def authorized_retry(
    request: Request, response: Response, credentials: Credentials, *, seq: int, via: Via
) -> Request | None:
    """`request` again with credentials answering the 401/407 `response` (22.2): a new
    branch, CSeq `seq`. None when there is nothing to answer, the realm is not the one the
    credentials are for, or the same request already carried an answer that was refused
    (wrong password: retrying would loop)."""
    proxy = response.status == 407
    challenge = pick_challenge(
        response.headers.get_all("Proxy-Authenticate" if proxy else "WWW-Authenticate")
    )
    if challenge is None or credentials.realm not in (None, challenge.realm):
        return None
    header = "Proxy-Authorization" if proxy else "Authorization"
    if request.headers.get(header) is not None and not challenge.stale:
        return None
    headers = request.headers.copy()
    headers.set(header, authorization(challenge, credentials, request.method, str(request.uri)))
    return replace(request, via=[via], cseq=CSeq(seq, request.method), headers=headers)
