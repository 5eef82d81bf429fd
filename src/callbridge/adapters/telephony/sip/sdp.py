"""SDP (RFC 4566) for audio offer/answer (RFC 3264): parse, build, and `answer`.

Only what a G.711 voice endpoint needs is typed: the connection address, each `m=` line with
its payload types, `a=rtpmap`, `a=fmtp`, `a=ptime` and the direction attribute. Other lines
are kept as they came (`extra`) so a body round-trips.

Hold: a re-INVITE whose audio is `sendonly` or `inactive`, or (RFC 2543 style) whose connection
address is `0.0.0.0`. `answer` mirrors the offered direction (sendonly -> recvonly, recvonly ->
sendonly, inactive -> inactive) and treats `c=0.0.0.0` as sendonly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from callbridge.adapters.telephony.sip.errors import SipError

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]
DIRECTIONS: tuple[Direction, ...] = ("sendrecv", "sendonly", "recvonly", "inactive")
_MIRROR: dict[Direction, Direction] = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
HOLD_ADDRESS = "0.0.0.0"  # noqa: S104 - a value in SDP, not a bind address


class SdpError(SipError, ValueError):
    """A body that is not SDP we can use (the INVITE is then answered 488 or 400)."""


class NoCommonCodec(SdpError):
    """The offer has no audio codec we support: answer 488 Not Acceptable Here."""


@dataclass(frozen=True)
class Codec:
    """An RTP payload format: `a=rtpmap:<payload_type> <name>/<clock_rate>`."""

    payload_type: int
    name: str
    clock_rate: int = 8000

    def same_format(self, other: Codec) -> bool:
        """Same encoding and rate, whatever payload number each side chose."""
        return self.name.lower() == other.name.lower() and self.clock_rate == other.clock_rate


PCMU = Codec(0, "PCMU")
PCMA = Codec(8, "PCMA")
TELEPHONE_EVENT = Codec(101, "telephone-event")
_STATIC = {0: PCMU, 8: PCMA}


@dataclass(frozen=True)
class Media:
    """One `m=` section."""

    kind: str
    port: int
    proto: str
    formats: tuple[str, ...]
    codecs: tuple[Codec, ...] = ()
    fmtp: tuple[tuple[int, str], ...] = ()
    ptime: int | None = None
    direction: Direction | None = None
    connection: str | None = None
    extra: tuple[str, ...] = ()

    def codec(self, payload_type: int) -> Codec | None:
        """The codec for a payload type: from its rtpmap, or the static PCMU/PCMA table."""
        found = next((c for c in self.codecs if c.payload_type == payload_type), None)
        return found or _STATIC.get(payload_type)

    def offered_codecs(self) -> list[Codec]:
        """Codecs in the order of the `m=` line (the offerer's preference)."""
        codecs = []
        for fmt in self.formats:
            codec = self.codec(int(fmt)) if fmt.isascii() and fmt.isdigit() else None
            if codec is not None:
                codecs.append(codec)
        return codecs


@dataclass(frozen=True)
class SessionDescription:
    """A whole SDP body."""

    address: str
    media: tuple[Media, ...]
    session_id: int = 0
    version: int = 0
    username: str = "-"
    origin_address: str | None = None
    session_name: str = "-"
    direction: Direction | None = None
    extra: tuple[str, ...] = ()

    @property
    def audio(self) -> Media | None:
        """The first audio stream that is not rejected (port 0)."""
        return next((m for m in self.media if m.kind == "audio" and m.port != 0), None)

    def connection_address(self, media: Media) -> str:
        """Where RTP for `media` goes: its own c= line, else the session's."""
        return media.connection or self.address

    def effective_direction(self, media: Media) -> Direction:
        """The direction of `media`, `c=0.0.0.0` (old-style hold) counting as sendonly."""
        if self.connection_address(media) == HOLD_ADDRESS:
            return "sendonly" if media.direction in (None, "sendrecv") else media.direction
        return media.direction or self.direction or "sendrecv"

    @property
    def is_hold(self) -> bool:
        """True when the audio stream asks the other side not to send (hold)."""
        audio = self.audio
        return audio is not None and self.effective_direction(audio) in ("sendonly", "inactive")

    def __str__(self) -> str:
        origin = self.origin_address or self.address
        lines = [
            "v=0",
            f"o={self.username} {self.session_id} {self.version} IN IP4 {origin}",
            f"s={self.session_name}",
            f"c=IN IP4 {self.address}",
            *(line for line in self.extra if line[0] in "iuepb"),
            "t=0 0",
            *(line for line in self.extra if line[0] not in "iuepb"),
        ]
        if self.direction:
            lines.append(f"a={self.direction}")
        for media in self.media:
            lines.append(f"m={media.kind} {media.port} {media.proto} {' '.join(media.formats)}")
            if media.connection:
                lines.append(f"c=IN IP4 {media.connection}")
            lines += [line for line in media.extra if not line.startswith("a=")]
            lines += [f"a=rtpmap:{c.payload_type} {c.name}/{c.clock_rate}" for c in media.codecs]
            lines += [f"a=fmtp:{pt} {params}" for pt, params in media.fmtp]
            if media.ptime is not None:
                lines.append(f"a=ptime:{media.ptime}")
            lines += [line for line in media.extra if line.startswith("a=")]
            if media.direction:
                lines.append(f"a={media.direction}")
        return "\r\n".join(lines) + "\r\n"

    def __bytes__(self) -> bytes:
        return str(self).encode()


def parse_sdp(body: bytes) -> SessionDescription:
    """Parse an SDP body; raise `SdpError` when it is not usable SDP."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SdpError("SDP is not UTF-8") from None
    session: dict[str, str] = {}
    session_extra: list[str] = []
    session_direction: Direction | None = None
    sections: list[list[tuple[str, str]]] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        if not raw.strip():
            continue
        kind, eq, value = raw.partition("=")
        if not eq or len(kind) != 1:
            raise SdpError(f"bad SDP line {raw[:40]!r}")
        if kind == "m":
            sections.append([])
        if sections:
            sections[-1].append((kind, value))
        elif kind in "vosc":
            session[kind] = value
        elif kind == "a" and value in DIRECTIONS:
            session_direction = value
        elif kind != "t":
            session_extra.append(raw)
    if session.get("v") != "0" or "o" not in session:
        raise SdpError("SDP needs v=0 and o=")
    origin = session["o"].split()
    if len(origin) != 6 or not all(_is_int(v) for v in origin[1:3]):
        raise SdpError("bad o= line")
    media = tuple(_parse_media(section) for section in sections)
    address = _connection(session["c"]) if "c" in session else None
    if address is None:
        address = next((m.connection for m in media if m.connection), None)
        if address is None:
            raise SdpError("no c= line")
    return SessionDescription(
        address=address,
        media=media,
        session_id=int(origin[1]),
        version=int(origin[2]),
        username=origin[0],
        origin_address=origin[5],
        session_name=session.get("s", "-") or "-",
        direction=session_direction,
        extra=tuple(session_extra),
    )


def _parse_media(section: list[tuple[str, str]]) -> Media:
    parts = section[0][1].split()
    if len(parts) < 4 or not _is_int(parts[1].split("/")[0]):
        raise SdpError(f"bad m= line {section[0][1][:40]!r}")
    port = int(parts[1].split("/")[0])
    if port > 65535:
        raise SdpError("bad media port")
    codecs: list[Codec] = []
    fmtp: list[tuple[int, str]] = []
    extra: list[str] = []
    ptime: int | None = None
    direction: Direction | None = None
    connection: str | None = None
    for kind, value in section[1:]:
        name, _, arg = value.partition(":")
        if kind == "c":
            connection = _connection(value)
        elif kind == "a" and value in DIRECTIONS:
            direction = value
        elif kind == "a" and name == "rtpmap":
            codecs.append(_rtpmap(arg))
        elif kind == "a" and name == "fmtp" and _is_int(arg.split(" ")[0]):
            payload_type, _, params = arg.partition(" ")
            fmtp.append((int(payload_type), params.strip()))
        elif kind == "a" and name == "ptime" and _is_int(arg.strip()):
            ptime = int(arg.strip())
        else:
            extra.append(f"{kind}={value}")
    return Media(
        kind=parts[0],
        port=port,
        proto=parts[2],
        formats=tuple(parts[3:]),
        codecs=tuple(codecs),
        fmtp=tuple(fmtp),
        ptime=ptime,
        direction=direction,
        connection=connection,
        extra=tuple(extra),
    )


def _rtpmap(arg: str) -> Codec:
    payload_type, _, encoding = arg.partition(" ")
    name, _, rate = encoding.strip().partition("/")
    rate = rate.split("/")[0]
    if not _is_int(payload_type) or not name or not _is_int(rate) or int(payload_type) > 127:
        raise SdpError(f"bad rtpmap {arg[:40]!r}")
    return Codec(int(payload_type), name, int(rate))


def _connection(value: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"bad c= line {value[:40]!r}")
    return parts[2].split("/")[0]


def _is_int(text: str) -> bool:
    return 0 < len(text) <= 12 and text.isascii() and text.isdigit()


def offer(
    address: str,
    port: int,
    *,
    codecs: tuple[Codec, ...] = (PCMU, PCMA),
    telephone_event: bool = True,
    direction: Direction = "sendrecv",
    session_id: int = 0,
    version: int = 0,
    ptime: int = 20,
) -> SessionDescription:
    """An audio offer for our RTP socket at `address:port`."""
    all_codecs = (*codecs, TELEPHONE_EVENT) if telephone_event else codecs
    fmtp = ((TELEPHONE_EVENT.payload_type, "0-16"),) if telephone_event else ()
    media = Media(
        kind="audio",
        port=port,
        proto="RTP/AVP",
        formats=tuple(str(c.payload_type) for c in all_codecs),
        codecs=all_codecs,
        fmtp=fmtp,
        ptime=ptime,
        direction=direction,
    )
    return SessionDescription(
        address=address, media=(media,), session_id=session_id, version=version
    )


def answer(
    offer: SessionDescription,
    local_address: str,
    local_port: int,
    supported: tuple[Codec, ...] = (PCMU, PCMA),
    *,
    previous: SessionDescription | None = None,
    session_id: int = 0,
) -> SessionDescription:
    """Our answer to `offer`: the first offered codec we support, telephone-event echoed when
    offered, the direction mirrored; other streams are rejected with port 0 (RFC 3264 6).

    Pass the answer given earlier in the dialog as `previous`: its session id is kept and its
    version is incremented only when the new answer differs (RFC 3264 8).
    Raise `NoCommonCodec` when no audio stream carries a codec we support.
    """
    chosen: Media | None = None
    answered: list[Media] = []
    for media in offer.media:
        accepted = _accept(offer, media, local_port, supported) if chosen is None else None
        if accepted is None:
            answered.append(replace(media, port=0, codecs=(), fmtp=(), extra=(), connection=None))
        else:
            chosen = accepted
            answered.append(accepted)
    if chosen is None:
        raise NoCommonCodec("no common audio codec")
    result = SessionDescription(
        address=local_address,
        media=tuple(answered),
        session_id=previous.session_id if previous else session_id,
        version=previous.version if previous else 0,
    )
    if previous is not None and replace(previous, extra=()) != result:
        result = replace(result, version=previous.version + 1)
    return result


def _accept(
    offer: SessionDescription, media: Media, local_port: int, supported: tuple[Codec, ...]
) -> Media | None:
    if media.kind != "audio" or media.port == 0 or not media.proto.startswith("RTP/"):
        return None
    offered = media.offered_codecs()
    codec = next(
        (o for o in offered for s in supported if o.same_format(s)),
        None,
    )
    if codec is None:
        return None
    codecs = [codec]
    fmtp: list[tuple[int, str]] = []
    event = next((o for o in offered if o.same_format(TELEPHONE_EVENT)), None)
    if event is not None:
        codecs.append(event)
        offered_fmtp = dict(media.fmtp).get(event.payload_type, "0-16")
        fmtp.append((event.payload_type, offered_fmtp))
    return Media(
        kind="audio",
        port=local_port,
        proto=media.proto,
        formats=tuple(str(c.payload_type) for c in codecs),
        codecs=tuple(codecs),
        fmtp=tuple(fmtp),
        ptime=media.ptime,
        direction=_MIRROR[offer.effective_direction(media)],
    )
