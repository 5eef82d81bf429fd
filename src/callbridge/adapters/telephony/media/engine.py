"""`MediaEngine`: the media plane of one process.

It owns the one media clock (a 20 ms ticker task), allocates RTP/RTCP port pairs and opens
`RtpSession`s on them, and on every tick drives the sessions that generate or consume decoded
audio, in four phases so that everything in one tick sees the same instant:

1. receive: each decoding session takes one frame out of its jitter buffer;
2. mix: each conference computes every participant's mix;
3. send: each generating session sends its packet (DTMF, playback, mix);
4. record: each recording gets the frames of both directions.

Sessions that only relay are not visited per tick at all (their packets are forwarded on
arrival); RTCP is scheduled on a timing wheel keyed by tick, so an idle tick costs nothing per
session.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import socket
from collections import defaultdict
from types import TracebackType

import structlog

from callbridge.adapters.telephony.media.clock import LagStats, MediaClock
from callbridge.adapters.telephony.media.conference import Conference
from callbridge.adapters.telephony.media.endpoint import Address, MediaSocket
from callbridge.adapters.telephony.media.g711 import Codec
from callbridge.adapters.telephony.media.session import RtpSession
from callbridge.domain.errors import CallbridgeError, InvalidInput

log = structlog.get_logger(__name__)


class MediaPortsExhausted(CallbridgeError):
    """Every RTP port pair of the configured range is taken."""

    code = "media_ports_exhausted"


class MediaEngine:
    """Opens media sessions on `host` with ports from `port_range` (inclusive, even RTP ports)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port_range: tuple[int, int] = (20000, 29999),
        *,
        period_s: float = 0.020,
        rtcp_interval_s: float = 5.0,
        jitter_ms: tuple[int, int, int] = (60, 40, 160),
        rtcp: bool = True,
    ) -> None:
        first, last = port_range
        if first % 2:
            first += 1
        if not 0 < first < last <= 65535:
            raise InvalidInput("bad RTP port range", port_range=port_range)
        depth, low, high = (max(1, round(ms / 20)) for ms in jitter_ms)
        self.host = host
        self._family = (
            socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        )
        self._first, self._pairs = first, (last - first + 1) // 2
        self._cursor = 0
        self._rtcp_enabled = rtcp
        self.jitter_depths = (depth, low, high)
        self.clock = MediaClock(self._on_tick, period=period_s)
        self._rtcp_ticks = max(1, round(rtcp_interval_s / period_s))
        self._rtcp_wheel: defaultdict[int, list[RtpSession]] = defaultdict(list)
        self._rtcp_next: dict[RtpSession, int] = {}
        self._sessions: dict[int, RtpSession] = {}
        self._ticking: dict[RtpSession, None] = {}  # an ordered set
        self._conferences: dict[Conference, None] = {}
        self._cname = f"callbridge-{secrets.token_hex(4)}@{host}"
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        """Run the media clock until cancelled, then close every session (for a task group)."""
        try:
            await self.clock.run()
        finally:
            self.close_all()

    async def __aenter__(self) -> MediaEngine:
        self._task = asyncio.create_task(self.run(), name="media-clock")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the clock started by `async with` and close every session."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.close_all()

    def close_all(self) -> None:
        for conference in list(self._conferences):
            conference.close()
        for session in list(self._sessions.values()):
            session.close()

    # ---- sessions --------------------------------------------------------------------------

    async def open_session(self, codec: Codec = Codec.PCMU) -> RtpSession:
        """A new session on the next free port pair (RTP even, RTCP the odd one above it)."""
        rtp_sock, rtcp_sock, port = self._bind_pair()
        loop = asyncio.get_running_loop()
        rtp = MediaSocket(rtp_sock, loop, _unattached)
        rtcp = MediaSocket(rtcp_sock, loop, _unattached) if rtcp_sock is not None else None
        session = RtpSession(self, self.host, port, rtp, rtcp, codec, self._cname)
        rtp.handler = session._on_rtp
        if rtcp is not None:
            rtcp.handler = session._on_rtcp
        self._sessions[port] = session
        return session

    def _bind_pair(self) -> tuple[socket.socket, socket.socket | None, int]:
        for i in range(self._pairs):
            index = (self._cursor + i) % self._pairs
            port = self._first + 2 * index
            if port in self._sessions:
                continue
            sockets: list[socket.socket] = []
            try:
                for p in (port, port + 1) if self._rtcp_enabled else (port,):
                    sock = socket.socket(self._family, socket.SOCK_DGRAM)
                    sockets.append(sock)
                    sock.setblocking(False)
                    sock.bind((self.host, p))
            except OSError:
                for sock in sockets:
                    sock.close()
                continue
            self._cursor = (index + 1) % self._pairs
            return sockets[0], (sockets[1] if len(sockets) > 1 else None), port
        raise MediaPortsExhausted("no free RTP port pair", host=self.host)

    @property
    def sessions(self) -> tuple[RtpSession, ...]:
        return tuple(self._sessions.values())

    def conference(self) -> Conference:
        """A new, empty conference mixed by this engine's clock."""
        conference = Conference(self)
        self._conferences[conference] = None
        return conference

    def lag_stats(self) -> LagStats:
        return self.clock.lag_stats()

    # ---- bookkeeping the sessions call -----------------------------------------------------

    def refresh(self, session: RtpSession) -> None:
        """Re-derive whether `session` needs the ticker (after any change of its mode)."""
        session.update_mode()
        if not session.closed and (session.generating or session.decoding):
            self._ticking[session] = None
        else:
            self._ticking.pop(session, None)

    def forget(self, session: RtpSession) -> None:
        self._ticking.pop(session, None)
        self._rtcp_next.pop(session, None)
        if self._sessions.get(session.local_port) is session:
            del self._sessions[session.local_port]

    def forget_conference(self, conference: Conference) -> None:
        self._conferences.pop(conference, None)

    def schedule_rtcp(self, session: RtpSession, first: bool = False) -> None:
        """Plan the session's next report: 0.5-1.5 intervals away (half that for the first)."""
        if session in self._rtcp_next and first:
            return
        interval = self._rtcp_ticks // 2 if first else self._rtcp_ticks
        delay = max(1, interval // 2 + secrets.randbelow(interval + 1))
        due = max(self.clock.tick, 0) + delay
        self._rtcp_next[session] = due
        self._rtcp_wheel[due].append(session)

    # ---- the tick --------------------------------------------------------------------------

    def _on_tick(self, tick: int) -> None:
        if self._ticking:
            members = list(self._ticking)
            for session in members:
                try:
                    session.receive_tick()
                except Exception:
                    log.exception("media_receive_tick_failed", port=session.local_port)
            for conference in list(self._conferences):
                conference.mix_tick()
            for session in members:
                try:
                    session.send_tick(tick)
                    session.record_tick()
                except Exception:
                    log.exception("media_send_tick_failed", port=session.local_port)
        due = self._rtcp_wheel.pop(tick, None)
        if due:
            for session in due:
                if self._rtcp_next.get(session) == tick and not session.closed:
                    self.schedule_rtcp(session)
                    try:
                        session.send_rtcp()
                    except Exception:
                        log.exception("media_rtcp_failed", port=session.local_port)
        if tick % 500 == 0:
            self._collect_skipped_rtcp(tick)

    def _collect_skipped_rtcp(self, tick: int) -> None:
        """Reports due in ticks the clock skipped (an overloaded loop) are rescheduled."""
        for stale in [t for t in self._rtcp_wheel if t < tick]:
            for session in self._rtcp_wheel.pop(stale):
                if self._rtcp_next.get(session) == stale and not session.closed:
                    self.schedule_rtcp(session)


def _unattached(data: bytes, addr: Address) -> None:
    """Datagrams arriving before the session is attached (none can: no await in between)."""
