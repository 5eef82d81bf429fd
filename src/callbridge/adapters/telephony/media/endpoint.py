"""Media sockets: non-blocking UDP sockets read straight from the event loop's reader callback.

No asyncio transport in between: a readable socket is drained (up to a bound, for fairness
between sockets) in one callback, and sends go straight to `socket.sendto`. A full send buffer
drops the packet instead of queueing it: late audio is worth nothing, and a queue would only
add delay. Works the same on asyncio's selector loop and on uvloop (both have `add_reader`).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

Address = tuple[str, int]
MAX_DATAGRAM = 2048
DRAIN_PER_WAKEUP = 32


class MediaSocket:
    """One bound UDP socket; every datagram goes to `handler(data, addr)`."""

    def __init__(
        self,
        sock: socket.socket,
        loop: asyncio.AbstractEventLoop,
        handler: Callable[[bytes, Address], None],
    ) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._loop = loop
        self.handler = handler
        self.port: int = sock.getsockname()[1]
        self.dropped = 0  # sends refused by a full buffer or an unreachable destination
        self.closed = False
        loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        receive = self._sock.recvfrom
        for _ in range(DRAIN_PER_WAKEUP):
            try:
                data, addr = receive(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # ICMP errors reported on a later read: nothing to do
                log.debug("media_socket_error", port=self.port, error=str(exc))
                continue
            self.handler(data, addr)

    def sendto(self, data: bytes | bytearray, addr: Address) -> None:
        try:
            self._sock.sendto(data, addr)
        except OSError:  # a full buffer, or the far end's port is closed: drop the packet
            self.dropped += 1

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
