"""Running sipp against our SIP endpoint from asyncio tests.

Each sipp run is one subprocess on 127.0.0.1 (signalling and media), on a port of its own,
with its message trace and error log written to the test's temporary directory. It is always
waited for, killed if it overstays, and its pipe read to the end, so no process or pipe
outlives the test. Scenarios live in tests/support/sipp/; a name without `.xml` is one of
sipp's built-in scenarios (`uac`, `uas`).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import pytest
from tests_support import free_port

from callbridge.adapters.telephony.sip import (
    AdmissionLimits,
    IncomingCall,
    SipEndpoint,
    Timers,
    sdp,
)
from callbridge.adapters.telephony.sip.sdp import SessionDescription

T = TypeVar("T")
SCENARIOS = Path(__file__).parent / "sipp"
FAST = Timers.fast(0.05)
_SEPARATOR = re.compile(r"^-{20,} .*$", re.MULTILINE)


def require_sipp() -> None:
    """Fail when sipp is missing: `make setup` installs it (Debian package sip-tester)."""
    if shutil.which("sipp") is None:
        pytest.fail("sipp is not installed; `make setup` installs it (Debian package sip-tester)")


@dataclass(frozen=True)
class SippResult:
    """How a sipp run ended and what it sent and received."""

    returncode: int
    stderr: str
    messages: str
    errors: str

    @property
    def ok(self) -> bool:
        """Every call of the scenario succeeded."""
        return self.returncode == 0

    def received(self, start: str) -> int:
        """How many messages sipp received whose start line begins with `start`."""
        return self._count("received", start)

    def sent(self, start: str) -> int:
        """How many messages sipp sent whose start line begins with `start`."""
        return self._count("sent", start)

    def _count(self, direction: str, start: str) -> int:
        count = 0
        for block in _SEPARATOR.split(self.messages):
            lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
            if len(lines) >= 2 and direction in lines[0] and lines[1].startswith(start):
                count += 1
        return count

    def describe(self) -> str:
        """Everything useful for an assertion message."""
        return f"sipp exited {self.returncode}\n{self.stderr[-2000:]}\n{self.errors[-2000:]}"


class Sipp:
    """One sipp process: `start()`, then `wait()` for its result (it is reaped either way)."""

    def __init__(
        self,
        scenario: str,
        workdir: Path,
        *,
        remote: str | None = None,
        calls: int = 1,
        transport: str = "u1",
        extra: Sequence[str] = (),
        sipp_timeout: float = 20.0,
    ) -> None:
        self.port = free_port()
        self.transport = transport
        self._timeout = sipp_timeout
        name = scenario.removesuffix(".xml")
        self._messages = workdir / f"{name}-{self.port}-messages.log"
        self._errors = workdir / f"{name}-{self.port}-errors.log"
        source = (
            ["-sf", str(SCENARIOS / scenario)] if scenario.endswith(".xml") else ["-sn", scenario]
        )
        self.args = [
            *source,
            *([remote] if remote else []),
            "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(self.port), "-t", transport,
            "-m", str(calls), "-nostdin", "-timeout", f"{int(sipp_timeout)}s", "-timeout_error",
            "-trace_msg", "-message_file", str(self._messages),
            "-trace_err", "-error_file", str(self._errors),
            *extra,
        ]  # fmt: skip
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start sipp (a UAS: wait until it listens)."""
        self._process = await asyncio.create_subprocess_exec(
            "sipp",
            *self.args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )

    async def wait_listening(self) -> None:
        """Return once sipp has bound its port (a bind of ours there fails)."""
        kind = socket.SOCK_DGRAM if self.transport.startswith("u") else socket.SOCK_STREAM
        for _ in range(250):
            with socket.socket(socket.AF_INET, kind) as probe:
                try:
                    probe.bind(("127.0.0.1", self.port))
                except OSError:
                    return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"sipp did not bind port {self.port}")

    async def wait(self) -> SippResult:
        """Wait for sipp to finish (kill it after its timeout) and collect what it logged."""
        assert self._process is not None
        process = self._process
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), self._timeout + 5)
        except TimeoutError:
            process.kill()
            _, stderr = await process.communicate()
        return SippResult(
            returncode=process.returncode if process.returncode is not None else -1,
            stderr=stderr.decode(errors="replace"),
            messages=_read(self._messages),
            errors=_read(self._errors),
        )

    async def kill(self) -> None:
        """Stop sipp now if it still runs, and reap it."""
        process = self._process
        if process is not None and process.returncode is None:
            with suppress(ProcessLookupError):
                process.kill()
            await process.communicate()


async def run_sipp(
    scenario: str,
    workdir: Path,
    *,
    remote: str | None = None,
    calls: int = 1,
    transport: str = "u1",
    extra: Sequence[str] = (),
    sipp_timeout: float = 20.0,
) -> SippResult:
    """Run a sipp scenario to the end and return its result."""
    sipp = Sipp(
        scenario,
        workdir,
        remote=remote,
        calls=calls,
        transport=transport,
        extra=extra,
        sipp_timeout=sipp_timeout,
    )
    await sipp.start()
    try:
        return await sipp.wait()
    finally:
        await sipp.kill()


@asynccontextmanager
async def sipp_uas(
    scenario: str,
    workdir: Path,
    *,
    calls: int = 1,
    transport: str = "u1",
    extra: Sequence[str] = (),
    sipp_timeout: float = 20.0,
) -> AsyncIterator[Sipp]:
    """A sipp callee, listening when the block starts; killed if still running at the end."""
    sipp = Sipp(
        scenario, workdir, calls=calls, transport=transport, extra=extra, sipp_timeout=sipp_timeout
    )
    await sipp.start()
    try:
        await sipp.wait_listening()
        yield sipp
    finally:
        await sipp.kill()


@asynccontextmanager
async def endpoint(
    *, timers: Timers = FAST, limits: AdmissionLimits | None = None
) -> AsyncIterator[SipEndpoint]:
    """Our endpoint on 127.0.0.1, a free port, UDP and TCP, fast timers."""
    sip = SipEndpoint("127.0.0.1", 0, timers=timers, limits=limits)
    async with sip:
        yield sip


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


class Collector(Generic[T]):
    """What handlers report (an outcome per call), and a way to wait until all came in."""

    def __init__(self, expected: int) -> None:
        self.items: list[T] = []
        self._expected = expected
        self._complete = asyncio.Event()

    def add(self, item: T) -> None:
        """Record one outcome."""
        self.items.append(item)
        if len(self.items) >= self._expected:
            self._complete.set()

    async def wait(self, seconds: float = 5.0) -> list[T]:
        """The outcomes, once `expected` of them came in (TimeoutError after `seconds`)."""
        async with asyncio.timeout(seconds):
            await self._complete.wait()
        return self.items


def answer_for(call: IncomingCall, rtp_port: int = 40000) -> SessionDescription:
    """Our SDP answer to an incoming call's offer (RTP on 127.0.0.1:rtp_port)."""
    assert call.offer is not None, "the INVITE had no SDP offer"
    return sdp.answer(call.offer, "127.0.0.1", rtp_port)
