"""Errors raised by the SIP stack."""

from __future__ import annotations


class SipError(Exception):
    """Base of every error the SIP stack raises on purpose."""


class SipParseError(SipError, ValueError):
    """Input that is not a well-formed SIP message, header, URI or SDP body.

    When the bytes looked like a request whose header block could be split into fields,
    `method` and `raw_headers` carry what was read, so the transport can still answer
    `400 Bad Request` (RFC 3261 section 21.4.1) instead of dropping it silently.
    """

    def __init__(
        self,
        reason: str,
        *,
        method: str | None = None,
        raw_headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.method = method
        self.raw_headers = raw_headers


class TransportError(SipError):
    """A message could not be sent (no route, connection refused or reset)."""
