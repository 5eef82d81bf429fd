"""SIP requests and responses: `parse(bytes)` and `bytes(message)` (RFC 3261 section 7).

The headers every transaction needs (Via, From, To, Call-ID, CSeq, and Max-Forwards on
requests) are typed fields, checked when a message is parsed; all others stay in `headers`.
Content-Length is not stored: it is checked on the way in and computed on the way out.

`parse` is total: whatever the input, it returns a `Request` or a `Response` or raises
`SipParseError`. Serialising normalises (full header names, one list element per line,
canonical order of the typed headers), so `bytes(parse(bytes(m))) == bytes(m)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from callbridge.adapters.telephony.sip.errors import SipParseError
from callbridge.adapters.telephony.sip.headers import (
    CSeq,
    Headers,
    NameAddr,
    Via,
    canonical_name,
    is_token,
    parse_cseq,
    parse_name_addr,
    parse_via,
    split_list,
)
from callbridge.adapters.telephony.sip.uri import SipUri, parse_uri

MAX_MESSAGE_SIZE = 64 * 1024
SIP_VERSION = "SIP/2.0"

_HEADER_LINE_RE = re.compile(r"([^\s:]+)[ \t]*:(.*)", re.DOTALL)
_STATUS_LINE_RE = re.compile(r"SIP/2\.0 ([1-6][0-9]{2})(?: (.*))?", re.DOTALL)
_CALL_ID_RE = re.compile(r"[\x21-\x7e]+")
_TYPED = frozenset({"via", "from", "to", "call-id", "cseq", "max-forwards", "content-length"})


@dataclass(eq=True, kw_only=True)
class _Message:
    via: list[Via]
    from_: NameAddr
    to: NameAddr
    call_id: str
    cseq: CSeq
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @property
    def top_via(self) -> Via:
        """The first Via: the hop that sent this request, or the one a response goes back to."""
        return self.via[0]

    @property
    def content_type(self) -> str | None:
        """The media type of the body, lowercase, without parameters."""
        value = self.headers.get("Content-Type")
        return value.split(";")[0].strip().lower() if value else None

    def contacts(self) -> list[NameAddr]:
        """The Contact entries (raises `SipParseError` when one is malformed; `*` is skipped)."""
        return [parse_name_addr(v) for v in self.headers.get_all("Contact") if v != "*"]

    def record_routes(self) -> list[NameAddr]:
        """The Record-Route entries, in message order."""
        return [parse_name_addr(v) for v in self.headers.get_all("Record-Route")]

    def routes(self) -> list[NameAddr]:
        """The Route entries, in message order."""
        return [parse_name_addr(v) for v in self.headers.get_all("Route")]

    def _typed_lines(self) -> list[str]:
        lines = [f"Via: {via}" for via in self.via]
        if isinstance(self, Request):
            lines.append(f"Max-Forwards: {self.max_forwards}")
        lines += [
            f"From: {self.from_}",
            f"To: {self.to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq}",
        ]
        return lines

    def _serialise(self, start_line: str) -> bytes:
        lines = [start_line, *self._typed_lines()]
        lines += [f"{name}: {value}" for name, value in self.headers]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(eq=True, kw_only=True)
class Request(_Message):
    """A SIP request."""

    method: str
    uri: SipUri
    max_forwards: int = 70

    def __bytes__(self) -> bytes:
        return self._serialise(f"{self.method} {self.uri} {SIP_VERSION}")


@dataclass(eq=True, kw_only=True)
class Response(_Message):
    """A SIP response."""

    status: int
    reason: str

    def __bytes__(self) -> bytes:
        return self._serialise(f"{SIP_VERSION} {self.status} {self.reason}")

    @property
    def is_provisional(self) -> bool:
        """1xx."""
        return self.status < 200

    @property
    def is_success(self) -> bool:
        """2xx."""
        return 200 <= self.status < 300


Message = Request | Response


def parse(data: bytes) -> Message:
    """Parse one whole message (a datagram, or a frame cut by Content-Length on a stream)."""
    if len(data) > MAX_MESSAGE_SIZE:
        raise SipParseError("message larger than 64 KiB")
    data = data.lstrip(b"\r\n")  # RFC 3261 7.5: ignore CRLFs before the start line
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        raise SipParseError("no empty line after the headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError("headers are not UTF-8") from None
    start_line, *lines = text.split("\r\n")
    method: str | None = None
    status: tuple[int, str] | None = None
    uri_text = ""
    if start_line.startswith("SIP/"):
        match = _STATUS_LINE_RE.fullmatch(start_line)
        if match is None:
            raise SipParseError("bad status line")
        reason = (match.group(2) or "").strip()
        if _has_control(reason):
            raise SipParseError("control character in the reason phrase")
        status = int(match.group(1)), reason
    else:
        parts = start_line.split(" ")
        if len(parts) != 3 or not is_token(parts[0]):
            raise SipParseError("bad request line")
        method, uri_text, version = parts
        if version.upper() != SIP_VERSION:
            raise SipParseError(f"unsupported SIP version {version[:20]!r}")
    fields = _header_fields(lines, method)
    try:
        return _build(fields, method, uri_text, status, body)
    except SipParseError as exc:
        raise SipParseError(exc.reason, method=method, raw_headers=tuple(fields)) from None


def _header_fields(lines: list[str], method: str | None) -> list[tuple[str, str]]:
    """Unfold continuation lines and split `name: value` (names canonical)."""
    fields: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not fields:
                raise SipParseError("continuation line before any header", method=method)
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {line.strip()}")
            continue
        match = _HEADER_LINE_RE.fullmatch(line)
        if match is None or not is_token(match.group(1)):
            raise SipParseError(f"bad header line {line[:40]!r}", method=method)
        fields.append((canonical_name(match.group(1)), match.group(2).strip()))
    if any(_has_control(value) for _, value in fields):
        raise SipParseError("control character in a header", method=method)
    return fields


_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")  # control characters but tab


def _has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def _build(
    fields: list[tuple[str, str]],
    method: str | None,
    uri_text: str,
    status: tuple[int, str] | None,
    body: bytes,
) -> Message:
    single: dict[str, str] = {}
    vias: list[Via] = []
    headers = Headers()
    for name, value in fields:
        key = name.lower()
        if key == "via":
            vias += [parse_via(item) for item in split_list(value)]
        elif key in _TYPED:
            if key in single and single[key] != value:
                raise SipParseError(f"more than one {name} header")
            single[key] = value
        else:
            headers.add(name, value)
    if not vias:
        raise SipParseError("missing Via header")
    for mandatory in ("From", "To", "Call-ID", "CSeq"):
        if mandatory.lower() not in single:
            raise SipParseError(f"missing {mandatory} header")
    call_id = single["call-id"]
    if not _CALL_ID_RE.fullmatch(call_id):
        raise SipParseError("bad Call-ID")
    cseq = parse_cseq(single["cseq"])
    from_ = parse_name_addr(single["from"])
    to = parse_name_addr(single["to"])
    body = _checked_body(single.get("content-length"), body)
    if status is not None:
        return Response(
            status=status[0],
            reason=status[1],
            via=vias,
            from_=from_,
            to=to,
            call_id=call_id,
            cseq=cseq,
            headers=headers,
            body=body,
        )
    assert method is not None
    if cseq.method != method:
        raise SipParseError("CSeq method does not match the request method")
    max_forwards = single.get("max-forwards")
    if max_forwards is None:
        raise SipParseError("missing Max-Forwards header")
    if not _is_number(max_forwards, 3) or int(max_forwards) > 255:
        raise SipParseError("bad Max-Forwards")
    return Request(
        method=method,
        uri=parse_uri(uri_text),
        max_forwards=int(max_forwards),
        via=vias,
        from_=from_,
        to=to,
        call_id=call_id,
        cseq=cseq,
        headers=headers,
        body=body,
    )


def _is_number(text: str, max_digits: int) -> bool:
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def _checked_body(content_length: str | None, body: bytes) -> bytes:
    """The body cut to Content-Length (RFC 3261 18.3: extra datagram bytes are discarded)."""
    if content_length is None:
        return body  # allowed over UDP; stream framing always requires it
    if not _is_number(content_length, 6):
        raise SipParseError("bad Content-Length")
    length = int(content_length)
    if length > len(body):
        raise SipParseError("Content-Length larger than the body")
    return body[:length]


REASON_PHRASES = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    420: "Bad Extension",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Server Time-out",
    600: "Busy Everywhere",
    603: "Decline",
}


def response_to(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Headers | None = None,
    body: bytes = b"",
) -> Response:
    """A response to `request` (RFC 3261 8.2.6.2): Via, From, Call-ID and CSeq copied, To
    copied with `to_tag` added when the request had none. Record-Route is copied for
    dialog-creating responses (12.1.1)."""
    to = request.to
    if to_tag is not None and to.tag is None:
        to = to.with_tag(to_tag)
    extra = headers.copy() if headers is not None else Headers()
    if 100 < status < 300:
        for route in reversed(request.headers.get_all("Record-Route")):
            extra.prepend("Record-Route", route)
    return Response(
        status=status,
        reason=reason if reason is not None else REASON_PHRASES.get(status, "Unknown"),
        via=list(request.via),
        from_=request.from_,
        to=to,
        call_id=request.call_id,
        cseq=request.cseq,
        headers=extra,
        body=body,
    )
