"""SIP over UDP and TCP on one local host and port (RFC 3261 section 18, RFC 3581).

Incoming bytes are parsed here and handed to one `MessageSink` (the transaction layer). On the
way in, a request's top Via gets `received` and `rport` (18.2.1, RFC 3581). A malformed request
that still names Via, From, To, Call-ID and CSeq is answered `400` with the parse error as the
reason phrase; anything else malformed is dropped and counted. No input and no exception in
the layers above stops a listener.

TCP frames are cut by Content-Length. Connections are kept per remote address and reused in
both directions; a response goes back over the connection its request came on (18.2.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Literal, Protocol

import structlog

from callbridge.adapters.telephony.sip.counters import SipCounters
from callbridge.adapters.telephony.sip.errors import SipParseError, TransportError
from callbridge.adapters.telephony.sip.headers import Via, parse_via, split_list
from callbridge.adapters.telephony.sip.message import MAX_MESSAGE_SIZE, Message, Request, parse

log = structlog.get_logger(__name__)

TransportName = Literal["udp", "tcp"]
DEFAULT_PORT = 5060
_CONTENT_LENGTH_RE = re.compile(
    rb"^(?:content-length|l)[ \t]*:[ \t]*([0-9]{1,6})[ \t]*\r?$", re.IGNORECASE | re.MULTILINE
)


@dataclass(frozen=True)
class Target:
    """Where a message comes from or goes to: transport, IP address and port."""

    transport: TransportName
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport}:{self.host}:{self.port}"


class MessageSink(Protocol):
    """The layer above the transport (the transaction layer)."""

    def message_received(self, message: Message, source: Target) -> None:
        """Handle one parsed message; `source` is where it came from."""


def via_target(via: Via, transport: TransportName) -> Target:
    """Where a response to the hop that wrote `via` goes: received/rport, else sent-by."""
    host = via.received or via.host
    port = via.rport or via.port or DEFAULT_PORT
    return Target(transport, host.strip("[]"), port)


def stamp_via(via: Via, source: Target) -> Via:
    """`via` with `received` (when the sender's address differs) and `rport` filled in."""
    params: dict[str, str | None] = {}
    if via.host.strip("[]") != source.host:
        params["received"] = source.host
    if "rport" in via.params and via.params["rport"] is None:
        params["rport"] = str(source.port)
        params["received"] = source.host  # RFC 3581 4: always, with rport
    return via.with_params(**params) if params else via


class _Connection:
    """One TCP connection and the task reading from it."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.reader_task: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        return self.writer.is_closing()


class Transport:
    """UDP and TCP listeners on `host:port` (port 0: one free port shared by both)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        transports: tuple[TransportName, ...] = ("udp", "tcp"),
        counters: SipCounters | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.port = port
        self.transports = transports
        self.counters = counters if counters is not None else SipCounters()
        self._sink: MessageSink | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._connections: dict[tuple[str, int], _Connection] = {}
        self._connecting: dict[tuple[str, int], asyncio.Future[_Connection]] = {}
        self._resolved: dict[str, str] = {}

    async def start(self, sink: MessageSink) -> None:
        """Bind the listeners and start handing messages to `sink`."""
        self._sink = sink
        loop = asyncio.get_running_loop()
        for attempt in range(20):
            port = self._requested_port
            try:
                if "udp" in self.transports:
                    self._udp, _ = await loop.create_datagram_endpoint(
                        lambda: _UdpProtocol(self), local_addr=(self.host, port)
                    )
                    port = self._udp.get_extra_info("sockname")[1]
                if "tcp" in self.transports:
                    self._server = await asyncio.start_server(
                        self._accept, self.host, port, limit=MAX_MESSAGE_SIZE
                    )
                    port = self._server.sockets[0].getsockname()[1]
            except OSError:
                await self.stop()
                if self._requested_port != 0 or attempt == 19:
                    raise
                continue  # the UDP port chosen by the kernel was taken for TCP: try another
            self.port = port
            log.debug("sip.listening", host=self.host, port=port, transports=self.transports)
            return

    async def stop(self) -> None:
        """Close the listeners and every connection."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._server is not None:
            self._server.close()
        connections = list(self._connections.values())
        self._connections.clear()
        for connection in connections:
            connection.writer.close()
            if connection.reader_task is not None:
                connection.reader_task.cancel()
        for connection in connections:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                if connection.reader_task is not None:
                    await connection.reader_task
                await connection.writer.wait_closed()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def via(self, transport: TransportName, branch: str) -> Via:
        """Our Via for a request sent over `transport`, asking for rport."""
        return Via(
            transport=transport.upper(),
            host=self.host,
            port=self.port,
            params={"branch": branch, "rport": None},
        )

    async def send(self, message: Message, target: Target) -> None:
        """Send `message` to `target`; raise `TransportError` when it cannot be sent."""
        data = bytes(message)
        log.debug("sip.send", to=str(target), start=_summary(message), size=len(data))
        if target.transport == "udp":
            if self._udp is None:
                raise TransportError("UDP is not listening")
            address = await _resolve(target.host, self._resolved)
            self._udp.sendto(data, (address, target.port))
            return
        connection = await self._connection_to(target)
        connection.writer.write(data)

    def send_now(self, message: Message, target: Target) -> None:
        """Send without waiting (retransmissions over UDP, replies on an open connection)."""
        data = bytes(message)
        if target.transport == "udp":
            if self._udp is not None:
                host = self._resolved.get(target.host, target.host)
                self._udp.sendto(data, (host, target.port))
            return
        connection = self._connections.get((target.host, target.port))
        if connection is not None and not connection.closed:
            connection.writer.write(data)

    async def send_response(self, response: Message, source: Target) -> None:
        """Send a response to the request that came from `source` (18.2.2)."""
        if source.transport == "tcp":
            connection = self._connections.get((source.host, source.port))
            if connection is not None and not connection.closed:
                log.debug("sip.send", to=str(source), start=_summary(response))
                connection.writer.write(bytes(response))
                return
        await self.send(response, via_target(response.top_via, source.transport))

    async def _connection_to(self, target: Target) -> _Connection:
        key = (target.host, target.port)
        connection = self._connections.get(key)
        if connection is not None and not connection.closed:
            return connection
        pending = self._connecting.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_Connection] = asyncio.get_running_loop().create_future()
        self._connecting[key] = future
        try:
            reader, writer = await asyncio.open_connection(
                target.host, target.port, limit=MAX_MESSAGE_SIZE
            )
        except OSError as exc:
            error = TransportError(f"cannot connect to {target}: {exc}")
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody else must
            raise error from exc
        except asyncio.CancelledError:
            future.cancel()  # waiters are cancelled with us rather than left hanging
            raise
        finally:
            del self._connecting[key]
        connection = self._register(reader, writer, key)
        future.set_result(connection)
        return connection

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        connection = self._register(reader, writer, (peer[0], peer[1]))
        if connection.reader_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await connection.reader_task

    def _register(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: tuple[str, int]
    ) -> _Connection:
        connection = _Connection(writer)
        self._connections[key] = connection
        source = Target("tcp", key[0], key[1])
        connection.reader_task = asyncio.create_task(self._read_stream(reader, connection, source))
        return connection

    async def _read_stream(
        self, reader: asyncio.StreamReader, connection: _Connection, source: Target
    ) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.strip(b"\r\n"):
                    connection.writer.write(b"\r\n")  # RFC 5626 4.4.1: pong for a CRLF ping
                    continue
                match = _CONTENT_LENGTH_RE.search(head)
                if match is None or len(head) + int(match.group(1)) > MAX_MESSAGE_SIZE:
                    self.counters.malformed_dropped += 1
                    log.debug("sip.framing_error", peer=str(source))
                    break  # the stream cannot be resynchronised
                body = await reader.readexactly(int(match.group(1)))
                self.handle_bytes(head + body, source)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            if self._connections.get((source.host, source.port)) is connection:
                del self._connections[(source.host, source.port)]
            connection.writer.close()

    def handle_bytes(self, data: bytes, source: Target) -> None:
        """Parse one datagram or frame and pass it up; never raises."""
        if not data.strip(b"\r\n"):
            return  # keep-alive
        try:
            message = parse(data)
        except SipParseError as exc:
            self._malformed(exc, source)
            return
        if isinstance(message, Request):
            self.counters.requests_received += 1
            message.via[0] = stamp_via(message.via[0], source)
        else:
            self.counters.responses_received += 1
        log.debug("sip.recv", peer=str(source), start=_summary(message))
        assert self._sink is not None
        try:
            self._sink.message_received(message, source)
        except Exception:
            # A bug above must not take the listener down with it; it is logged loudly instead.
            log.exception("sip.handler_failed", peer=str(source), start=_summary(message))

    def _malformed(self, exc: SipParseError, source: Target) -> None:
        reply = bad_request(exc, source)
        if reply is None:
            self.counters.malformed_dropped += 1
            log.debug("sip.malformed_dropped", peer=str(source), reason=exc.reason)
            return
        data, target = reply
        if source.transport == "tcp":
            target = source
        self.counters.bad_request_sent += 1
        log.debug("sip.malformed_rejected", peer=str(source), reason=exc.reason)
        if target.transport == "udp" and self._udp is not None:
            self._udp.sendto(data, (target.host, target.port))
        elif (connection := self._connections.get((target.host, target.port))) is not None:
            connection.writer.write(data)


def bad_request(exc: SipParseError, source: Target) -> tuple[bytes, Target] | None:
    """A `400` for a malformed request that names Via, From, To, Call-ID and CSeq, and where
    it goes; None when the message cannot be answered (a response, an ACK, too little read).
    """
    if exc.method is None or exc.method == "ACK":
        return None
    fields: dict[str, list[str]] = {}
    for name, value in exc.raw_headers:
        fields.setdefault(name.lower(), []).append(value)
    vias = [item for value in fields.get("via", []) for item in split_list(value)]
    if not vias or any(name not in fields for name in ("from", "to", "call-id", "cseq")):
        return None
    try:
        top = stamp_via(parse_via(vias[0]), source)
    except SipParseError:
        return None
    to = fields["to"][0]
    if ";tag=" not in to.replace(" ", "").lower():
        to += ";tag=malformed"
    reason = "".join(c if 32 <= ord(c) < 127 else "?" for c in exc.reason)[:120]
    lines = [
        f"SIP/2.0 400 Bad Request ({reason})",
        f"Via: {top}",
        *(f"Via: {via}" for via in vias[1:]),
        f"From: {fields['from'][0]}",
        f"To: {to}",
        f"Call-ID: {fields['call-id'][0]}",
        f"CSeq: {fields['cseq'][0]}",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), via_target(top, source.transport)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._transport.handle_bytes(data, Target("udp", str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        log.debug("sip.udp_error", error=str(exc))  # ICMP unreachable: timers handle it


async def _resolve(host: str, cache: dict[str, str]) -> str:
    """An IP address for `host`: A/AAAA through the loop's resolver (no SRV/NAPTR, RFC 3263),
    remembered so retransmissions, sent without waiting, reuse it."""
    if host in cache:
        return cache[host]
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise TransportError(f"cannot resolve {host}: {exc}") from exc
    if not infos:
        raise TransportError(f"cannot resolve {host}")
    cache[host] = str(infos[0][4][0])
    return cache[host]


def _summary(message: Message) -> str:
    if isinstance(message, Request):
        return f"{message.method} {message.call_id} {message.cseq}"
    return f"{message.status} {message.call_id} {message.cseq}"
