"""Test support for the media engine: a minimal SIP exchange for sipp and baresip, peers run as
subprocesses (always reaped), and audio fixtures.

The SIP here is the least that gets a real peer to send and receive RTP: one INVITE answered
with 200 OK (or sent, for baresip), ACK, BYE. It is not the SIP stack and tests nothing of SIP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
from numpy.typing import NDArray

SIPP_SCENARIOS = Path(__file__).parent / "sipp" / "media"
SIPP_DTMF_PCAPS = Path("/usr/share/sip-tester")


# Ports the tests pick for SIP and RTP peers: below the server's default RTP range
# (20000-29999) and below the kernel's ephemeral ports (32768 and up), where every client
# connection (PostgreSQL, HTTP) takes a TCP port that a peer listening on TCP too (baresip,
# the server) would then fail to bind ("exited with 98").
PICKED = range(10000, 20000)


def _free(port: int) -> bool:
    """Nothing on loopback holds `port`, for UDP or TCP."""
    try:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
        ):
            udp.bind(("127.0.0.1", port))
            tcp.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False


def free_udp_port(pairs: bool = False) -> int:
    """A port on loopback free right now for UDP and TCP (with `pairs`, an even one whose +1 is
    free too)."""
    for _ in range(500):
        port = PICKED.start + secrets.randbelow(len(PICKED) - 1)
        if pairs:
            port -= port % 2
        if _free(port) and (not pairs or _free(port + 1)):
            return port
    raise RuntimeError("no free port" + (" pair" if pairs else ""))


def speech_like(seconds: float, seed: int = 7) -> NDArray[np.int16]:
    """8 kHz audio with speech's shape: voiced harmonics with a wandering pitch, syllable-rate
    loudness and a little noise; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 8000)
    t = np.arange(n) / 8000
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t) + 10 * np.sin(2 * np.pi * 3.1 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / 8000
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    syllables = np.clip(np.sin(2 * np.pi * 4.0 * t), 0.0, None) ** 0.5
    signal = np.asarray(voiced) * syllables + 0.05 * rng.standard_normal(n)
    signal *= 0.5 * 32767 / np.max(np.abs(signal))
    return np.asarray(np.rint(signal), dtype=np.int16)


# ---- SDP and SIP, just enough ---------------------------------------------------------------


@dataclass(frozen=True)
class MediaOffer:
    """The audio line of an SDP body."""

    host: str
    port: int
    payload_types: tuple[int, ...]
    telephone_event_pt: int | None


def parse_sdp(body: str) -> MediaOffer:
    host_match = re.search(r"^c=IN IP[46] (\S+)", body, re.M)
    media_match = re.search(r"^m=audio (\d+) RTP/AVP ([\d ]+)", body, re.M)
    event_match = re.search(r"^a=rtpmap:(\d+) telephone-event/8000", body, re.M | re.I)
    assert host_match and media_match, f"no audio in SDP: {body!r}"
    return MediaOffer(
        host=host_match.group(1),
        port=int(media_match.group(1)),
        payload_types=tuple(int(p) for p in media_match.group(2).split()),
        telephone_event_pt=int(event_match.group(1)) if event_match else None,
    )


def build_sdp(host: str, port: int, payload_type: int = 0, event_pt: int | None = 101) -> str:
    names = {0: "PCMU", 8: "PCMA"}
    formats = f"{payload_type}" + (f" {event_pt}" if event_pt is not None else "")
    lines = [
        "v=0",
        f"o=callbridge-test 1 1 IN IP4 {host}",
        "s=-",
        f"c=IN IP4 {host}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {formats}",
        f"a=rtpmap:{payload_type} {names[payload_type]}/8000",
    ]
    if event_pt is not None:
        lines += [f"a=rtpmap:{event_pt} telephone-event/8000", f"a=fmtp:{event_pt} 0-15"]
    lines += ["a=ptime:20", "a=sendrecv"]
    return "\r\n".join(lines) + "\r\n"


@dataclass
class SipMessage:
    first_line: str
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> str:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        raise KeyError(name)

    def headers_named(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def method(self) -> str:
        return self.first_line.split()[0]

    @property
    def status(self) -> int | None:
        parts = self.first_line.split()
        return int(parts[1]) if parts[0].startswith("SIP/") else None


def parse_sip(data: bytes) -> SipMessage:
    head, _, body = data.decode("utf-8", "replace").partition("\r\n\r\n")
    first, *lines = head.split("\r\n")
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return SipMessage(first, headers, body)


def render_sip(first_line: str, headers: list[tuple[str, str]], body: str = "") -> bytes:
    extra = [("Content-Type", "application/sdp")] if body else []
    lines = [first_line, *(f"{k}: {v}" for k, v in headers + extra)]
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


class _Sip(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.inbox: asyncio.Queue[tuple[SipMessage, tuple[str, int]]] = asyncio.Queue()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's selector datagram transport does not subclass DatagramTransport (3.11).
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data.strip():
            self.inbox.put_nowait((parse_sip(data), addr))

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, addr)


@dataclass
class AnsweredCall:
    """What the answerer learnt: the caller's media offer, and when the caller hung up."""

    offer: asyncio.Future[MediaOffer]
    ended: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def sip_answerer(
    answer: Callable[[MediaOffer], str], port: int = 0
) -> AsyncIterator[tuple[int, AnsweredCall]]:
    """A UDP SIP endpoint on loopback that answers one INVITE with 200 OK and the SDP that
    `answer(offer)` returns, and answers BYE with 200 OK. Yields its port and the call."""
    loop = asyncio.get_running_loop()
    transport, sip = await loop.create_datagram_endpoint(_Sip, local_addr=("127.0.0.1", port))
    call = AnsweredCall(loop.create_future())
    to_tag = secrets.token_hex(4)
    answered: dict[str, bytes] = {}

    async def serve() -> None:
        while True:
            message, addr = await sip.inbox.get()
            if message.status is not None:
                continue
            method = message.method
            if method == "ACK":
                continue
            key = message.header("Call-ID") + message.header("CSeq")
            if key not in answered:
                headers = [("Via", v) for v in message.headers_named("Via")]
                headers += [
                    ("From", message.header("From")),
                    ("To", message.header("To") + f";tag={to_tag}"),
                    ("Call-ID", message.header("Call-ID")),
                    ("CSeq", message.header("CSeq")),
                ]
                body = ""
                if method == "INVITE":
                    offer = parse_sdp(message.body)
                    body = answer(offer)
                    headers.append(("Contact", f"<sip:media@127.0.0.1:{sip_port}>"))
                    if not call.offer.done():
                        call.offer.set_result(offer)
                answered[key] = render_sip("SIP/2.0 200 OK", headers, body)
            sip.send(answered[key], addr)
            if method == "BYE":
                call.ended.set()

    sip_port: int = transport.get_extra_info("sockname")[1]
    task = asyncio.create_task(serve())
    try:
        yield sip_port, call
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        transport.close()


@dataclass
class PlacedCall:
    """A call placed by `sip_caller`: the answer's SDP and a way to hang up."""

    answer: MediaOffer
    hang_up: Callable[[], None]


@contextlib.asynccontextmanager
async def sip_caller(
    target: tuple[str, int], sdp: str, answer_within_s: float = 10.0, user: str = "agent"
) -> AsyncIterator[PlacedCall]:
    """INVITE `sip:<user>@target` with `sdp` from a loopback UDP port, ACK its 200 OK; BYE on
    exit."""
    loop = asyncio.get_running_loop()
    transport, sip = await loop.create_datagram_endpoint(_Sip, local_addr=("127.0.0.1", 0))
    port: int = transport.get_extra_info("sockname")[1]
    call_id = f"{secrets.token_hex(8)}@127.0.0.1"
    from_ = f"<sip:tester@127.0.0.1:{port}>;tag={secrets.token_hex(4)}"
    uri = f"sip:{user}@{target[0]}:{target[1]}"

    def request(method: str, cseq: int, to: str, body: str = "") -> bytes:
        branch = "z9hG4bK" + secrets.token_hex(6)
        headers = [
            ("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport"),
            ("Max-Forwards", "70"),
            ("From", from_),
            ("To", to),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", f"<sip:tester@127.0.0.1:{port}>"),
        ]
        return render_sip(f"{method} {uri} SIP/2.0", headers, body)

    try:
        invite = request("INVITE", 1, f"<{uri}>", sdp)
        sip.send(invite, target)
        deadline = loop.time() + answer_within_s
        while True:
            try:
                message, _ = await asyncio.wait_for(sip.inbox.get(), 0.5)
            except TimeoutError:
                if loop.time() > deadline:
                    raise
                sip.send(invite, target)
                continue
            if message.status is not None and message.status >= 200:
                break
        assert message.status == 200, message.first_line
        to = message.header("To")
        sip.send(request("ACK", 1, to), target)
        hung_up = False

        def hang_up() -> None:
            nonlocal hung_up
            if not hung_up:
                hung_up = True
                sip.send(request("BYE", 2, to), target)

        yield PlacedCall(parse_sdp(message.body), hang_up)
        hang_up()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sip.inbox.get(), 2.0)
    finally:
        transport.close()


# ---- peers as subprocesses -----------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    returncode: int
    output: str


async def run_to_end(
    argv: list[str], cwd: Path, limit_s: float, log_name: str = "peer.log"
) -> Finished:
    """Run a peer to completion with its output in `cwd/log_name`; killed and reaped on
    timeout or cancellation."""
    log_path = cwd / log_name
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file
        )
        try:
            returncode = await asyncio.wait_for(proc.wait(), limit_s)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    return Finished(returncode, log_path.read_text(errors="replace"))


def sipp_argv(scenario: str, target_port: int, sip_port: int, media_port: int) -> list[str]:
    """sipp as one caller on loopback with the named scenario of tests/support/sipp/media."""
    return [
        "sipp",
        *("-sf", str(SIPP_SCENARIOS / scenario)),
        *("-i", "127.0.0.1", "-p", str(sip_port)),
        *("-mi", "127.0.0.1", "-mp", str(media_port)),
        *("-m", "1", "-l", "1", "-nostdin", "-timeout", "30s", "-timeout_error"),
        f"127.0.0.1:{target_port}",
    ]


@dataclass
class Baresip:
    """A headless baresip answering calls by itself; what it hears goes to `heard_wav`."""

    sip_port: int
    home: Path
    process: asyncio.subprocess.Process

    @property
    def heard_wav(self) -> Path:
        # baresip's sndfile module names its dumps dump-<time>-dec.wav in its cwd.
        dumps = sorted(self.home.glob("dump-*-dec.wav"))
        assert dumps, f"baresip wrote no dump in {self.home}: {os.listdir(self.home)}"
        return dumps[-1]

    def log(self) -> str:
        return (self.home / "baresip.log").read_text(errors="replace")


BARESIP_MODULES = ("g711", "aufile", "aubridge", "sndfile")


@contextlib.asynccontextmanager
async def baresip_phone(
    home: Path, source_wav: Path, codec: str = "PCMU"
) -> AsyncIterator[Baresip]:
    """baresip on loopback that auto-answers, sends `source_wav` and dumps what it receives."""
    assert shutil.which("baresip"), "baresip is not installed (make setup installs it)"
    sip_port = free_udp_port()
    _write_baresip_config(home, sip_port, source_wav, codec)
    async with running_baresip(home, sip_port) as phone:
        yield phone


@contextlib.asynccontextmanager
async def running_baresip(home: Path, sip_port: int) -> AsyncIterator[Baresip]:
    """Start baresip with the configuration in `home` (listening on `sip_port`), wait until it
    listens, and stop it (terminate, then kill) at the end."""
    assert shutil.which("baresip"), "baresip is not installed (make setup installs it)"
    with (home / "baresip.log").open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            "baresip",
            *("-f", str(home)),
            cwd=home,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
    try:
        await _wait_listening(sip_port, proc)
        yield Baresip(sip_port, home, proc)
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def _write_baresip_config(home: Path, sip_port: int, source_wav: Path, codec: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    modules = "\n".join(f"module {m}.so" for m in BARESIP_MODULES)
    (home / "config").write_text(
        f"""poll_method epoll
sip_listen 127.0.0.1:{sip_port}
net_interface 127.0.0.1
audio_source aufile,{source_wav}
audio_player aubridge,nil
audio_alert aubridge,nil
rtp_ports 40000-40999
module_path /usr/lib/baresip/modules
{modules}
module_app account.so
module_app menu.so
"""
    )
    codec_param = ";audio_codecs=" + ("pcmu" if codec == "PCMU" else "pcma")
    (home / "accounts").write_text(
        f"<sip:agent@127.0.0.1:{sip_port}>;regint=0;answermode=auto{codec_param}\n"
    )
    (home / "contacts").write_text("")


async def _wait_listening(port: int, proc: asyncio.subprocess.Process) -> None:
    """Until something holds UDP `port` (binding it fails), or the process died."""
    for _ in range(100):
        if proc.returncode is not None:
            raise RuntimeError(f"baresip exited with {proc.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return
        await asyncio.sleep(0.05)
    raise RuntimeError("baresip did not start listening")


# ---- a bare RTP peer -------------------------------------------------------------------------


class RawPeer(asyncio.DatagramProtocol):
    """A bare UDP socket on loopback: sends hand-built packets, keeps whatever arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.received: list[tuple[bytes, tuple[str, int]]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each received datagram
        self.port = 0

    @classmethod
    async def open(cls, port: int = 0) -> RawPeer:
        loop = asyncio.get_running_loop()
        _, peer = await loop.create_datagram_endpoint(cls, local_addr=("127.0.0.1", port))
        return peer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        self.port = self.transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append((data, addr))
        self.arrivals.append(time.monotonic())

    def send(self, data: bytes, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data, ("127.0.0.1", port))

    async def stream(self, packets: list[bytes], port: int, interval: float = 0.020) -> None:
        """Send one packet per interval, on absolute deadlines."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i, packet in enumerate(packets):
            await asyncio.sleep(max(0.0, start + i * interval - loop.time()))
            self.send(packet, port)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def rtp_packets(
    payloads: list[bytes], payload_type: int = 0, ssrc: int = 0x5EED, seq: int = 1000, ts: int = 0
) -> list[bytes]:
    """Consecutive RTP packets carrying `payloads`, 160 timestamp units apart."""
    from callbridge.adapters.telephony.media.rtp import RtpPacket

    return [
        RtpPacket(
            payload_type, (seq + i) & 0xFFFF, (ts + 160 * i) & 0xFFFFFFFF, ssrc, p, i == 0
        ).to_bytes()
        for i, p in enumerate(payloads)
    ]


def frames_of(data: bytes, size: int = 160) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def find_run(haystack: NDArray[np.int16], needle: NDArray[np.int16]) -> int:
    """Where `needle` occurs exactly in `haystack`; -1 if nowhere."""
    if len(needle) == 0 or len(needle) > len(haystack):
        return -1
    first = np.flatnonzero(haystack == needle[0])
    for start in first:
        end = start + len(needle)
        if end <= len(haystack) and np.array_equal(haystack[start:end], needle):
            return int(start)
    return -1


def code_distance(law_decode: NDArray[np.int16], a: NDArray[np.int16], b: NDArray[np.int16]) -> int:
    """The largest distance, counted in quantiser levels of a G.711 law, between a and b."""
    levels = np.unique(law_decode.astype(np.int32))

    def index(x: NDArray[np.int16]) -> NDArray[np.intp]:
        position = np.clip(np.searchsorted(levels, x.astype(np.int32)), 1, len(levels) - 1)
        below, above = levels[position - 1], levels[position]
        nearer_below = (x.astype(np.int32) - below) <= (above - x.astype(np.int32))
        return np.where(nearer_below, position - 1, position)

    return int(np.max(np.abs(index(a) - index(b)))) if len(a) else 0


class RawPeers:
    """Opens `RawPeer`s and closes them all on exit."""

    def __init__(self) -> None:
        self._peers: list[RawPeer] = []

    async def open(self, port: int = 0) -> RawPeer:
        peer = await RawPeer.open(port)
        self._peers.append(peer)
        return peer

    async def __aenter__(self) -> RawPeers:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for peer in self._peers:
            peer.close()
        await asyncio.sleep(0)  # let the transports finish closing


def align(reference: NDArray[np.int16], part: NDArray[np.int16]) -> int:
    """The offset in `reference` where `part` fits best (cross-correlation by FFT)."""
    size = 1 << (len(reference) + len(part)).bit_length()
    spectrum = np.fft.rfft(reference.astype(float), size) * np.conj(
        np.fft.rfft(part.astype(float), size)
    )
    correlation = np.fft.irfft(spectrum, size)[: max(1, len(reference) - len(part) + 1)]
    return int(np.argmax(correlation))


def baresip_events(log: str) -> tuple[str, str]:
    """The digits baresip logged as received: (starts, ends) in order."""
    starts = "".join(re.findall(r"received event: '(.)' \(end=0\)", log))
    ends = "".join(re.findall(r"received event: '(.)' \(end=1\)", log))
    return starts, ends
