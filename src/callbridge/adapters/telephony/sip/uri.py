"""SIP and SIPS URIs (RFC 3261 section 19.1).

Only the `sip:` and `sips:` schemes are understood; anything else is a `SipParseError`, which a
server turns into `400` (`tel:` URIs are not supported yet). Escaped characters (`%41`) are kept
as received, so `str(parse_uri(text))` reproduces the text apart from lowercased scheme and
parameter names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from callbridge.adapters.telephony.sip.errors import SipParseError

# RFC 3261 25.1: unreserved, escaped and the extra characters each part allows.
_ESCAPED = r"%[0-9A-Fa-f]{2}"
_UNRESERVED = r"A-Za-z0-9\-_.!~*'()"
_USER_RE = re.compile(rf"(?:[{_UNRESERVED}&=+$,;?/]|{_ESCAPED})+")
_PASSWORD_RE = re.compile(rf"(?:[{_UNRESERVED}&=+$,]|{_ESCAPED})*")
_PARAM_CHARS_RE = re.compile(rf"(?:[{_UNRESERVED}\[\]/:&+$]|{_ESCAPED})+")
_HEADER_CHARS_RE = re.compile(rf"(?:[{_UNRESERVED}\[\]/?:+$]|{_ESCAPED})*")
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9.])?")
_IPV6_RE = re.compile(r"\[[0-9A-Fa-f:.]+\]")
_PORT_RE = re.compile(r"[0-9]{1,5}")

Params = dict[str, str | None]


@dataclass(frozen=True)
class SipUri:
    """`sip:user:password@host:port;params?headers`; parameter names are lowercase."""

    host: str
    user: str | None = None
    port: int | None = None
    scheme: str = "sip"
    password: str | None = None
    params: Params = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(self.user)
            if self.password is not None:
                parts += [":", self.password]
            parts.append("@")
        parts.append(self.host)
        if self.port is not None:
            parts += [":", str(self.port)]
        for name, value in self.params.items():
            parts += [";", name] if value is None else [";", name, "=", value]
        if self.headers:
            parts += ["?", "&".join(f"{k}={v}" for k, v in self.headers.items())]
        return "".join(parts)

    def __hash__(self) -> int:
        return hash(str(self))

    @property
    def transport(self) -> str:
        """The `transport` parameter, lowercase; `udp` when absent (`tls` for `sips:`)."""
        value = self.params.get("transport")
        if value:
            return value.lower()
        return "tls" if self.scheme == "sips" else "udp"

    @property
    def is_loose_router(self) -> bool:
        """True for a Route/Record-Route entry with `;lr` (RFC 3261 16.12)."""
        return "lr" in self.params

    def with_params(self, **params: str | None) -> SipUri:
        """A copy with `params` added or replaced."""
        return replace(self, params={**self.params, **params})

    def without_params(self, *names: str) -> SipUri:
        """A copy without the named parameters."""
        return replace(self, params={k: v for k, v in self.params.items() if k not in names})


def parse_uri(text: str) -> SipUri:
    """Parse a SIP or SIPS URI; raise `SipParseError` when it is not one."""
    scheme, colon, rest = text.strip().partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in ("sip", "sips"):
        raise SipParseError(f"unsupported URI scheme in {text[:40]!r}")
    user: str | None = None
    password: str | None = None
    # No character after the host may be an unescaped '@', so the last one ends the userinfo.
    userinfo, at, hostpart = rest.rpartition("@")
    if at:
        user, colon, pw = userinfo.partition(":")
        if not _USER_RE.fullmatch(user):
            raise SipParseError(f"bad user part in URI {text[:40]!r}")
        if colon:
            if not _PASSWORD_RE.fullmatch(pw):
                raise SipParseError("bad password in URI")
            password = pw
    hostpart, question, header_text = hostpart.partition("?")
    hostport, *param_texts = hostpart.split(";")
    host, port = parse_hostport(hostport)
    params: Params = {}
    for item in param_texts:
        name, eq, value = item.partition("=")
        if not _PARAM_CHARS_RE.fullmatch(name) or (eq and not _PARAM_CHARS_RE.fullmatch(value)):
            raise SipParseError(f"bad URI parameter {item[:40]!r}")
        params[name.lower()] = value if eq else None
    headers: dict[str, str] = {}
    if question:
        for item in header_text.split("&"):
            name, eq, value = item.partition("=")
            if not eq or not name or not _HEADER_CHARS_RE.fullmatch(name + value):
                raise SipParseError(f"bad URI header {item[:40]!r}")
            headers[name] = value
    return SipUri(
        host=host,
        user=user,
        port=port,
        scheme=scheme,
        password=password,
        params=params,
        headers=headers,
    )


def parse_hostport(text: str) -> tuple[str, int | None]:
    """`host[:port]` (host a name, IPv4 or bracketed IPv6) -> (host, port or None)."""
    if text.startswith("["):
        end = text.find("]")
        host, rest = text[: end + 1], text[end + 1 :]
        if end < 0 or not _IPV6_RE.fullmatch(host):
            raise SipParseError(f"bad IPv6 reference {text[:60]!r}")
    else:
        host, colon, port_text = text.partition(":")
        rest = colon + port_text
        if not _HOSTNAME_RE.fullmatch(host):
            raise SipParseError(f"bad host {text[:60]!r}")
    if not rest:
        return host, None
    if not rest.startswith(":") or not _PORT_RE.fullmatch(rest[1:]) or int(rest[1:]) > 65535:
        raise SipParseError(f"bad port in {text[:60]!r}")
    return host, int(rest[1:])
