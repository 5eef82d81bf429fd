"""Webhook signatures: how Callbridge signs what it sends and checks what it receives.

The header is `Callbridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, the HMAC keyed
with the shared secret over `"<t>.<raw body>"`. The timestamp inside the signed text stops an
old request from being replayed later; more than one `v1=` is accepted, so a receiver can keep
working while a secret is rolled over.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from callbridge.domain.errors import CallbridgeError, InvalidInput

HEADER = "Callbridge-Signature"
SCHEME = "v1"
TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix that marks a secret, not one


class SignatureError(CallbridgeError):
    """A webhook request whose signature is missing, malformed, too old or wrong."""

    code = "bad_signature"


@dataclass(frozen=True, slots=True)
class Subscription:
    """Where to send events, and which kinds (none listed: every kind)."""

    id: str
    url: str
    events: frozenset[str]
    active: bool
    created_at: float

    def wants(self, kind: str) -> bool:
        """Whether an event of this kind goes to this subscription."""
        return self.active and (not self.events or kind in self.events)


def check_subscription(url: str, events: Iterable[str], known_kinds: Collection[str]) -> None:
    """Refuse a URL that is not HTTPS (plain HTTP only to this machine, for development) and
    event kinds that do not exist."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidInput("url must be an absolute https:// URL", field="url")
    if parts.scheme == "http" and not _is_loopback(host):
        raise InvalidInput(
            "url must use https:// (plain http:// is allowed only to localhost)", field="url"
        )
    unknown = sorted(set(events) - set(known_kinds))
    if unknown:
        raise InvalidInput(
            f"unknown event kind(s) {', '.join(unknown)}; known: {', '.join(sorted(known_kinds))}",
            field="events",
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_secret() -> str:
    """A fresh random signing secret for one subscription."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: float, body: bytes) -> str:
    """The `Callbridge-Signature` header value for `body` sent at `timestamp` (epoch seconds)."""
    t = int(timestamp)
    return f"t={t},{SCHEME}={signature(secret, t, body)}"


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    now: float,
    tolerance_s: float = TOLERANCE_S,
) -> int:
    """Check a `Callbridge-Signature` header against the raw `body`; return its timestamp.

    Raises SignatureError when the header is missing or malformed, its timestamp is more than
    `tolerance_s` away from `now`, or no `v1` signature matches (compared in constant time).
    """
    if not header:
        raise SignatureError(f"the {HEADER} header is missing", field=HEADER)
    timestamp, candidates = _parse(header)
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(
            f"the {HEADER} timestamp is {int(now - timestamp)} s away from now "
            f"(at most {int(tolerance_s)} s allowed): refused as a possible replay",
            field=HEADER,
        )
    expected = signature(secret, timestamp, body)
    # every candidate is compared, so timing does not tell which one (if any) matched
    matched = [hmac.compare_digest(expected, c) for c in candidates]
    if not any(matched):
        raise SignatureError(f"the {HEADER} signature does not match the body", field=HEADER)
    return timestamp


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or not value:
            raise _malformed(f"{part.strip()!r} is not key=value")
        if key == "t":
            if not value.isdigit() or timestamp is not None:
                raise _malformed("t must appear once, as whole seconds since the epoch")
            timestamp = int(value)
        elif key == SCHEME:
            if not value.isascii():
                raise _malformed(f"{SCHEME} must be hexadecimal")
            candidates.append(value.lower())
        # other schemes are ignored: a newer sender may add them
    if timestamp is None:
        raise _malformed("no t=<timestamp>")
    if not candidates:
        raise _malformed(f"no {SCHEME}=<signature>")
    return timestamp, candidates


def _malformed(why: str) -> SignatureError:
    return SignatureError(
        f"the {HEADER} header is malformed ({why}); expected t=<unix seconds>,{SCHEME}=<hex>",
        field=HEADER,
    )
