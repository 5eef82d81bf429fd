"""The processes of `benchmarks/sip_load.py`: the server under test and the sipp load
generators, each started in a session of its own (Ctrl-C reaches only the benchmark, which then
stops them in order), pinned to a core, and always reaped."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "tests" / "support" / "sipp" / "load"
SERVER = Path(__file__).with_name("_sip_load_server.py")
REPLY_TIMEOUT_S = 60.0
START_UP_S = 0.15  # sipp binds its ports and reads its scenario within this


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_echo_port(first: int = 30000, last: int = 31996) -> int:
    """An even port p in [first, last] with p, p+1 and p+2 free: sipp's -rtp_echo binds p and
    p+2. Outside the server's RTP range and the callers'."""
    for port in range(first, last + 1, 4):
        sockets = []
        try:
            for p in (port, port + 1, port + 2):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return port
    raise RuntimeError(f"no free UDP ports for sipp's echo in {first}-{last}")


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM unwind the benchmark, so every `finally` that reaps a child runs
    (also when started in the background, where SIGINT comes ignored)."""

    def unwind(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, unwind)
    signal.signal(signal.SIGINT, signal.default_int_handler)


class Children:
    """Every subprocess of the run; `close()` stops and reaps those still running."""

    def __init__(self) -> None:
        self._running: list[subprocess.Popen[Any]] = []

    def start(
        self,
        argv: Sequence[str],
        *,
        core: int | None,
        cwd: Path,
        stdin: int | IO[Any] = subprocess.DEVNULL,
        stdout: int | IO[Any] = subprocess.DEVNULL,
        stderr: int | IO[Any] = subprocess.DEVNULL,
        text: bool = False,
    ) -> subprocess.Popen[Any]:
        process = subprocess.Popen(  # noqa: S603 -- sipp and our own interpreter, fixed argv
            list(argv),
            cwd=cwd,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            text=text,
            start_new_session=True,
        )
        self._running.append(process)
        if core is not None:
            with contextlib.suppress(ProcessLookupError):  # it died at once: the caller sees
                os.sched_setaffinity(process.pid, {core})
        return process

    def stop(self, process: subprocess.Popen[Any], grace_s: float = 5.0) -> int:
        """Terminate (then kill) `process` if it still runs, and reap it."""
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(grace_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        if process in self._running:
            self._running.remove(process)
        return process.returncode

    def close(self) -> None:
        for process in reversed(list(self._running)):
            self.stop(process)


def cpu_seconds(process: subprocess.Popen[Any]) -> float:
    """User + system CPU of a running child, all its threads (0 once it is gone)."""
    try:
        times = psutil.Process(process.pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def core_ticks(core: int | None) -> tuple[int, int, int, int]:
    """(busy, softirq, steal, total) clock ticks of one CPU so far, from /proc/stat."""
    if core is None:
        return 0, 0, 0, 0
    with open("/proc/stat") as f:
        for line in f:
            name, *fields = line.split()
            if name == f"cpu{core}":
                user, nice, system, idle, iowait, irq, softirq, steal = map(int, fields[:8])
                busy = user + nice + system + irq + softirq
                return busy, softirq, steal, busy + idle + iowait + steal
    return 0, 0, 0, 0


def core_use(
    before: tuple[int, int, int, int], after: tuple[int, int, int, int]
) -> dict[str, float]:
    """Between two `core_ticks`: the shares of the time the core was busy (any process and the
    kernel), in softirq (the kernel's packet handling: on loopback, delivering what this core
    sends) and stolen by the hypervisor."""
    total = after[3] - before[3]
    if total <= 0:
        return {"busy": 0.0, "softirq": 0.0, "steal": 0.0}
    return {
        name: round((after[i] - before[i]) / total, 3)
        for i, name in enumerate(("busy", "softirq", "steal"))
    }


class ServerProcess:
    """The server under test (`_sip_load_server.py`), spoken to one JSON line at a time."""

    def __init__(
        self,
        children: Children,
        work: Path,
        *,
        agents: int,
        phone: tuple[str, int],
        core: int | None,
        loop: str = "asyncio",
        max_calls: int | None = None,
        max_call_rate: float | None = None,
        record: bool = False,
        profile: str | None = None,
    ) -> None:
        work.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, str(SERVER), "--work", str(work), "--agents", str(agents),
            "--phone", f"{phone[0]}:{phone[1]}", "--loop", loop,
            *(["--max-calls", str(max_calls)] if max_calls is not None else []),
            *(["--max-call-rate", str(max_call_rate)] if max_call_rate is not None else []),
            *(["--record"] if record else []),
            *(["--profile", str(work / "server.prof")] if profile == "cprofile" else []),
            *(["--sample", str(work / "server-samples.txt")] if profile == "sample" else []),
        ]  # fmt: skip
        self._children = children
        self._stderr_path = work / "server.stderr"
        with self._stderr_path.open("w") as stderr:
            self.process = children.start(
                argv,
                core=core,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self.hello = self._reply()

    @property
    def sip_port(self) -> int:
        return int(self.hello["sip_port"])

    def ask(self, command: str) -> dict[str, Any]:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(command + "\n")
        stdin.flush()
        return self._reply()

    def _reply(self) -> dict[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], REPLY_TIMEOUT_S)
        line = stdout.readline() if ready else ""
        if not line:
            tail = self._stderr_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the server under test did not answer:\n{tail}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def wait_bridged(self, calls: int, within_s: float) -> int:
        """Poll until `calls` calls are bridged (or time runs out); how many are."""
        deadline = time.monotonic() + within_s
        while True:
            bridged = int(self.ask("status")["bridged"])
            if bridged >= calls or time.monotonic() > deadline:
                return bridged
            time.sleep(0.1)

    def wait_idle(self, within_s: float) -> dict[str, Any]:
        """Poll until no call is left in the gateway or the SIP stack; the last status."""
        deadline = time.monotonic() + within_s
        while True:
            status = self.ask("status")
            idle = status["calls"] == 0 and status["sip"]["active_dialogs"] == 0
            if idle or time.monotonic() > deadline:
                return status
            time.sleep(0.1)

    def close(self) -> None:
        if self.process.poll() is None and self.process.stdin is not None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
                self.process.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._children.stop(self.process)


@dataclass
class SippOutcome:
    """How a sipp caller run went: its final statistics and per-message counts."""

    returncode: int
    successful: int
    failed: int
    counts: dict[str, int] = field(default_factory=dict)
    answer_ms: float | None = None  # mean INVITE -> 200 as sipp saw it (its rtd timer)

    def _count(self, pattern: str, last: bool = False) -> int:
        names = [n for n in self.counts if re.fullmatch(pattern, n)]
        if not names:
            return 0
        return self.counts[names[-1] if last else names[0]]

    @property
    def answered(self) -> int:
        """200 OKs to the INVITE (the first `200_Recv` line of the scenario)."""
        return self._count(r"\d+_200_Recv")

    @property
    def bye_answered(self) -> int:
        """200 OKs to the BYE (the last `200_Recv` line)."""
        return self._count(r"\d+_200_Recv", last=True)

    @property
    def refused_503(self) -> int:
        return self._count(r"\d+_503_Recv")


class SippCaller:
    """One sipp UAC run against the server: `calls` calls at `rate`/s, at most `limit` at once,
    each held `hold_s` after the answer."""

    def __init__(
        self,
        children: Children,
        work: Path,
        name: str,
        scenario: str,
        server_port: int,
        *,
        calls: int,
        limit: int,
        rate: float,
        hold_s: float,
        core: int | None,
        media_port: int,
        timeout_s: float | None = None,
    ) -> None:
        self._children = children
        self.calls = calls
        self.started = time.monotonic()
        self.stats = work / f"{name}.csv"
        self.timeout_s = timeout_s or hold_s + calls / rate + 60.0
        argv = [
            "sipp", "-sf", str(SCENARIOS / scenario), f"127.0.0.1:{server_port}", "-s", "load",
            "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(free_udp_port()),
            "-mp", str(media_port), "-m", str(calls), "-l", str(limit), "-r", str(round(rate)),
            "-d", str(round(hold_s * 1000)),
            "-nostdin", "-timeout", f"{round(self.timeout_s)}s", "-timeout_error",
            "-trace_stat", "-stf", str(self.stats), "-fd", "1", "-trace_counts",
            "-trace_err", "-error_file", str(work / f"{name}-errors.log"),
        ]  # fmt: skip
        self._errors = work / f"{name}-errors.log"
        self.process = children.start(argv, core=core, cwd=work)
        self._counts = work / f"{Path(scenario).stem}_{self.process.pid}_counts.csv"

    def start_failure(self) -> str | None:
        """None if sipp runs (or already finished); else why it gave up at start-up (it binds
        its ports and reads its scenario first thing)."""
        try:
            code = self.process.wait(START_UP_S)
        except subprocess.TimeoutExpired:
            return None
        if code in (0, 1):
            return None  # done already; its statistics say how it went
        self._children.stop(self.process)
        errors = self._errors.read_text(errors="replace") if self._errors.exists() else ""
        return f"sipp exited with {code}: {errors[-2000:]}"

    def check(self) -> None:
        """Raise if sipp stopped with an error of its own (a bad scenario, a port taken)."""
        code = self.process.poll()
        if code is not None and code not in (0, 1):  # 1: some calls failed, which we count
            errors = self._errors.read_text(errors="replace") if self._errors.exists() else ""
            raise RuntimeError(f"sipp exited with {code}: {errors[-2000:]}")

    def cpu_s(self) -> float:
        return cpu_seconds(self.process)

    def failed(self) -> int:
        """Failed calls so far, as of sipp's last statistics dump (once a second)."""
        return int(last_row(self.stats).get("FailedCall(C)", 0))

    def wait(self, within_s: float | None = None) -> SippOutcome:
        """Wait for the run to end (at most `within_s`, else its own timeout plus a margin;
        then it is stopped) and read what it counted. Calls it never finished count as
        failed."""
        left = self.timeout_s + 10.0 - (time.monotonic() - self.started)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(max(1.0, left if within_s is None else within_s))
        code = self._children.stop(self.process)
        stats = last_row(self.stats)
        successful = int(stats.get("SuccessfulCall(C)", 0))
        return SippOutcome(
            returncode=code,
            successful=successful,
            failed=self.calls - successful,
            counts={k: int(v) for k, v in last_row(self._counts).items() if v.isdigit()},
            answer_ms=_duration_ms(stats.get("ResponseTime1(C)")),
        )


class SippPhones:
    """One sipp UAS playing every agent's phone: answers each INVITE, echoes the audio on one
    RTP port (-rtp_echo), waits for the BYE. Runs for the whole benchmark."""

    def __init__(self, children: Children, work: Path, core: int | None) -> None:
        self._children = children
        self.port = free_udp_port()
        self.stats = work / "phones.csv"
        argv = [
            "sipp", "-sf", str(SCENARIOS / "agent_phone.xml"),
            "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(self.port),
            "-mp", str(free_echo_port()), "-rtp_echo",
            "-nostdin", "-trace_stat", "-stf", str(self.stats), "-fd", "200ms",
            "-trace_err", "-error_file", str(work / "phones-errors.log"),
        ]  # fmt: skip
        self.process = children.start(argv, core=core, cwd=work)
        self._wait_listening()

    def _wait_listening(self) -> None:
        for _ in range(250):
            if self.process.poll() is not None:
                raise RuntimeError(f"sipp (the agents' phones) exited: {self.process.returncode}")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind(("127.0.0.1", self.port))
                except OSError:
                    return
            time.sleep(0.02)
        raise RuntimeError("sipp (the agents' phones) did not start listening")

    def failed(self) -> int:
        """Failed calls so far, as of sipp's last statistics dump (every 200 ms)."""
        return int(last_row(self.stats).get("FailedCall(C)", 0))

    def cpu_s(self) -> float:
        return cpu_seconds(self.process)

    def close(self) -> None:
        self._children.stop(self.process)


def _duration_ms(value: str | None) -> float | None:
    """sipp's `HH:MM:SS:USEC` as milliseconds."""
    try:
        hours, minutes, seconds, micros = (int(part) for part in (value or "").split(":"))
    except ValueError:
        return None
    return ((hours * 60 + minutes) * 60 + seconds) * 1000.0 + micros / 1000.0


def last_row(path: Path) -> dict[str, str]:
    """The last row of one of sipp's `;`-separated CSV files, by column name ({} if none)."""
    if not path.exists():
        return {}
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if len(lines) < 2:
        return {}
    header, last = (
        next(csv.reader(lines[:1], delimiter=";")),
        next(csv.reader(lines[-1:], delimiter=";")),
    )
    return dict(zip(header, last, strict=False))
