"""Header fields: the ordered, case-insensitive `Headers` list and the typed values the stack
reads (`NameAddr` for From/To/Contact/Route, `Via`, `CSeq`).

Names are matched case-insensitively and compact forms (`v`, `f`, `t`, `i`, `m`, `l`, `c`,
`k`, `s`, ...) are expanded on the way in; well-known names are stored in their canonical
spelling. Headers whose grammar is a comma-separated list (Via, Contact, Route, Allow, ...) are
split into one entry per element, commas inside quotes and `<...>` excepted, so that every
entry holds exactly one value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from callbridge.adapters.telephony.sip.errors import SipParseError
from callbridge.adapters.telephony.sip.uri import Params, SipUri, parse_hostport, parse_uri

COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

_CANONICAL = {
    name.lower(): name
    for name in (
        *COMPACT_FORMS.values(),
        "Accept",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Authorization",
        "Call-Info",
        "CSeq",
        "Date",
        "Error-Info",
        "Expires",
        "Max-Forwards",
        "MIME-Version",
        "Min-Expires",
        "Organization",
        "P-Asserted-Identity",
        "Priority",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Require",
        "Reason",
        "Record-Route",
        "Reply-To",
        "Require",
        "Retry-After",
        "Route",
        "Server",
        "Timestamp",
        "Unsupported",
        "User-Agent",
        "Warning",
        "WWW-Authenticate",
    )
}

# Headers whose value is a comma-separated list (RFC 3261 7.3.1); the auth headers are not.
LIST_HEADERS = frozenset(
    name.lower()
    for name in (
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Allow-Events",
        "Call-Info",
        "Contact",
        "Content-Encoding",
        "Error-Info",
        "In-Reply-To",
        "Proxy-Require",
        "Reason",
        "Record-Route",
        "Require",
        "Route",
        "Supported",
        "Unsupported",
        "Via",
        "Warning",
    )
)

_SIP_WORD = r"[A-Za-z0-9\-.!%*_+`'~]+"
_TOKEN_RE = re.compile(_SIP_WORD)
_VIA_RE = re.compile(
    rf"SIP\s*/\s*2\.0\s*/\s*({_SIP_WORD})\s+(\[[^\]]*\]|[^\s:;]+)(?:\s*:\s*([0-9]+))?\s*(;.*)?",
    re.IGNORECASE | re.DOTALL,
)
_CSEQ_RE = re.compile(rf"\s*([0-9]{{1,10}})\s+({_SIP_WORD})\s*")


def canonical_name(name: str) -> str:
    """The canonical spelling of a header name, expanding compact forms."""
    lowered = name.lower()
    if lowered in COMPACT_FORMS:
        return COMPACT_FORMS[lowered]
    return _CANONICAL.get(lowered, name)


class Headers:
    """An ordered list of (name, value) header fields with case-insensitive lookup."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str, str]] = []
        for name, value in items:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        """Append a field (one entry per element for list headers)."""
        name = canonical_name(name)
        key = name.lower()
        if key in LIST_HEADERS:
            self._items.extend((key, name, item) for item in split_list(value))
        else:
            self._items.append((key, name, value.strip()))

    def prepend(self, name: str, value: str) -> None:
        """Insert a field before every other (a new top Via or Route)."""
        name = canonical_name(name)
        self._items.insert(0, (name.lower(), name, value.strip()))

    def set(self, name: str, value: str) -> None:
        """Replace every field of this name with one, where the first one was."""
        name = canonical_name(name)
        key = name.lower()
        positions = [i for i, item in enumerate(self._items) if item[0] == key]
        if not positions:
            self._items.append((key, name, value.strip()))
            return
        self._items[positions[0]] = (key, name, value.strip())
        for i in reversed(positions[1:]):
            del self._items[i]

    def remove(self, name: str) -> None:
        """Delete every field of this name."""
        key = canonical_name(name).lower()
        self._items = [item for item in self._items if item[0] != key]

    def get(self, name: str) -> str | None:
        """The first value of this name, or None."""
        key = canonical_name(name).lower()
        return next((item[2] for item in self._items if item[0] == key), None)

    def get_all(self, name: str) -> list[str]:
        """Every value of this name, in order."""
        key = canonical_name(name).lower()
        return [item[2] for item in self._items if item[0] == key]

    def copy(self) -> Headers:
        """An independent copy."""
        other = Headers()
        other._items = list(self._items)
        return other

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((name, value) for _, name, value in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [(k, v) for k, _, v in self._items] == [(k, v) for k, _, v in other._items]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"


def split_list(value: str) -> list[str]:
    """Split a list header on commas that are outside quoted strings and `<...>`."""
    items: list[str] = []
    start = 0
    in_quotes = in_angle = escaped = False
    for i, char in enumerate(value):
        if escaped:
            escaped = False
        elif in_quotes:
            if char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == "<":
            in_angle = True
        elif char == ">":
            in_angle = False
        elif char == "," and not in_angle:
            items.append(value[start:i])
            start = i + 1
    items.append(value[start:])
    return [item.strip() for item in items if item.strip()]


def parse_params(text: str) -> Params:
    """`;name=value;flag` (values may be quoted strings) -> {name lowercase: value or None}."""
    params: Params = {}
    rest = text.strip()
    while rest:
        if not rest.startswith(";"):
            raise SipParseError(f"expected ';' before {rest[:40]!r}")
        rest = rest[1:].lstrip()
        name_match = _TOKEN_RE.match(rest)
        if name_match is None:
            raise SipParseError(f"bad parameter name in {rest[:40]!r}")
        name = name_match.group().lower()
        rest = rest[name_match.end() :].lstrip()
        value: str | None = None
        if rest.startswith("="):
            rest = rest[1:].lstrip()
            if rest.startswith('"'):
                end = _quoted_end(rest)
                value, rest = rest[:end], rest[end:]
            else:
                value_match = re.match(r"[^;\s,\"]+", rest)
                if value_match is None:
                    raise SipParseError(f"missing value for parameter {name!r}")
                value, rest = value_match.group(), rest[value_match.end() :]
            rest = rest.lstrip()
        params[name] = value
    return params


def format_params(params: Params) -> str:
    """The inverse of `parse_params`."""
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def _quoted_end(text: str) -> int:
    """Index just past the quoted string that starts `text`."""
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    raise SipParseError("unterminated quoted string")


def unquote(text: str) -> str:
    """The content of a quoted string, backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.DOTALL)


def quote(text: str) -> str:
    """A quoted string for `text`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class NameAddr:
    """`"Display" <uri>;params` as found in From, To, Contact, Route and Record-Route."""

    uri: SipUri
    display: str | None = None
    params: Params = field(default_factory=dict)

    def __str__(self) -> str:
        display = f"{quote(self.display)} " if self.display is not None else ""
        return f"{display}<{self.uri}>{format_params(self.params)}"

    def __hash__(self) -> int:
        return hash(str(self))

    @property
    def tag(self) -> str | None:
        """The `tag` parameter (dialog identification, RFC 3261 19.3)."""
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddr:
        """A copy with `tag` set."""
        return replace(self, params={**self.params, "tag": tag})


def parse_name_addr(text: str) -> NameAddr:
    """Parse `name-addr` or `addr-spec` with header parameters."""
    rest = text.strip()
    display: str | None = None
    if rest.startswith('"'):
        end = _quoted_end(rest)
        display, rest = unquote(rest[:end]), rest[end:].lstrip()
        if not rest.startswith("<"):
            raise SipParseError("a quoted display name must be followed by <uri>")
    elif "<" in rest:
        before, _, _ = rest.partition("<")
        words = before.split()
        if not all(_TOKEN_RE.fullmatch(word) for word in words):
            raise SipParseError(f"bad display name {before[:40]!r}")
        display = " ".join(words) or None
        rest = rest[len(before) :]
    if rest.startswith("<"):
        end = rest.find(">")
        if end < 0:
            raise SipParseError("missing '>' after URI")
        uri = parse_uri(rest[1:end])
        rest = rest[end + 1 :]
    else:
        # addr-spec: a URI with ';' or ',' would have needed <...>, so ';' starts parameters.
        uri_text, semicolon, params_text = rest.partition(";")
        uri = parse_uri(uri_text)
        rest = semicolon + params_text
    return NameAddr(uri=uri, display=display, params=parse_params(rest))


@dataclass(frozen=True)
class Via:
    """One Via entry: `SIP/2.0/UDP host:port;branch=...;received=...;rport=...`."""

    transport: str
    host: str
    port: int | None = None
    params: Params = field(default_factory=dict)

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{format_params(self.params)}"

    def __hash__(self) -> int:
        return hash(str(self))

    @property
    def branch(self) -> str | None:
        """The branch parameter: the transaction id when it starts with `z9hG4bK`."""
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        """The `received` parameter, added by the next hop (RFC 3261 18.2.1)."""
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        """The `rport` value filled in by the next hop (RFC 3581), or None."""
        value = self.params.get("rport")
        return int(value) if value is not None and _is_port(value) else None

    @property
    def sent_by(self) -> tuple[str, int | None]:
        """The host and port the sender said responses should go to."""
        return self.host, self.port

    def with_params(self, **params: str | None) -> Via:
        """A copy with these parameters added or replaced."""
        return replace(self, params={**self.params, **params})


def parse_via(text: str) -> Via:
    """Parse one Via element (a list header is split before this)."""
    match = _VIA_RE.fullmatch(text.strip())
    if match is None:
        raise SipParseError(f"bad Via {text[:60]!r}")
    transport, host, port_text, params_text = match.groups()
    host, _ = parse_hostport(host)
    port = int(port_text) if port_text is not None else None
    if port is not None and not 0 < port <= 65535:
        raise SipParseError("bad Via port")
    params = parse_params(params_text or "")
    rport = params.get("rport")
    if rport is not None and not (_is_port(rport) and 0 < int(rport) <= 65535):
        raise SipParseError("bad Via rport")
    return Via(transport=transport.upper(), host=host, port=port, params=params)


@dataclass(frozen=True)
class CSeq:
    """`CSeq: 42 INVITE`."""

    seq: int
    method: str

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


def parse_cseq(text: str) -> CSeq:
    """Parse a CSeq value; the number must be below 2**31 (RFC 3261 8.1.1.5)."""
    match = _CSEQ_RE.fullmatch(text)
    if match is None or int(match.group(1)) >= 2**31:
        raise SipParseError(f"bad CSeq {text[:40]!r}")
    return CSeq(int(match.group(1)), match.group(2))


def _is_port(text: str) -> bool:
    return 0 < len(text) <= 5 and text.isascii() and text.isdigit()


def is_token(text: str) -> bool:
    """True when `text` is a SIP token (a method name, a parameter name)."""
    return _TOKEN_RE.fullmatch(text) is not None
