"""Realtime benchmark: many browser pages following the event stream of one server process.

Run:
    .venv/bin/python benchmarks/realtime.py --json            # 1,000 clients, 200 events/s, 60 s
    .venv/bin/python benchmarks/realtime.py --json --quick    # 100 clients, 100 events/s, 5 s

The server is the real app (`build`, SQLite in a temporary directory, the event hub, uvicorn with
its sans-I/O websockets protocol) in a child process of its own, so that its CPU is measured
alone. Each client does what a wallboard page does: reads the snapshot (GET
/pages/wallboard/state, which registers its queue), then follows /ws/events?queue_id=... and
acknowledges what it applied (at most every 200 ms, as the page does). The events are real
ones: the server turns its agents Ready and Not Ready through the use cases (one commit, one
event each), at the rate asked, spread evenly, for the time asked (fewer if it cannot keep up).

Latency is from the event's time (the server's clock, stamped when the use case ran) to its
arrival at the client, on the same machine's clock; every event of the run every client
receives counts. `lost` counts, over all clients, the events logged during the run that a
client had not received 10 s after the run; `repeated` those it got more than once (or out of
order). `server_cpu_pct` is the server process's CPU time over the run's wall time (100 = one
core), `client_cpu_pct` the same for the one process running every client: they share the
machine, so a busy client process shows up in the latency too. `server_cpu_us_per_delivery`
(server CPU time over events delivered, summed over clients) moves least when other jobs
share the machine.

The baseline is the previous stream (one task per socket that filtered, framed and paced its
own sends: `stream.py` at BASELINE_COMMIT, read with `git show`), measured in the same run with
the same clients, before ours. It runs by default on full runs (`--no-baseline` to skip) and
only with `--baseline` on `--quick` ones. One JSON object goes to stdout: our numbers at the
top level, the baseline's under "baseline", the issue's target and whether it is met; progress
goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import websockets
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

TOKEN = "bench-token"  # noqa: S105  # the throwaway server's bootstrap token
AGENTS = 20
CONNECT_AT_ONCE = 50
ACK_EVERY_S = 0.2  # as the page (live.js ackSoon)
STRAGGLERS_S = 10.0  # after the run, how long the clients may take to receive the last event
ROOT = Path(__file__).resolve().parents[1]
STREAM = "src/callbridge/adapters/web/stream.py"
BASELINE_COMMIT = "0cf1134f840b6a2c6be76d117a9431bf0424638d"  # the per-socket-task stream
# The client reads only what it measures: each event's id and time, which both streams encode
# first (`encode`), so that one process can stand in for a thousand browsers.
EVENTS_FRAME = b'{"type":"events","events":['
EVENT_ID_AT = re.compile(rb'\{"id":(\d+),"at":([-+.\deE]+),"kind":')
TARGET = {"clients": 1000, "events_per_s": 200, "p99_ms": 250.0, "lost": 0, "repeated": 0}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


# --- the server process --------------------------------------------------------------------------


def baseline_source() -> str | None:
    """The previous stream module's text, or None outside a git checkout that has it."""
    try:
        shown = subprocess.run(  # noqa: S603  # fixed arguments
            ["git", "-C", str(ROOT), "show", f"{BASELINE_COMMIT}:{STREAM}"],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shown.stdout if shown.returncode == 0 else None


def _install_baseline() -> None:
    """Put the previous stream module where the app imports it from, before it does."""
    import callbridge.adapters.web as web

    source = baseline_source()
    if source is None:
        raise RuntimeError(f"cannot read {STREAM} at {BASELINE_COMMIT}")
    name = "callbridge.adapters.web.stream"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    exec(compile(source, f"{BASELINE_COMMIT[:7]}:{STREAM}", "exec"), module.__dict__)  # noqa: S102
    web.stream = module


def serve(port: int, database: Path, impl: str, profile: str | None) -> None:
    """The app on 127.0.0.1:port; on a line "go RATE SECONDS" on stdin, make events."""
    if impl == "baseline":
        _install_baseline()

    import anyio
    import uvicorn
    from pydantic import SecretStr

    from callbridge.app import build
    from callbridge.domain.ids import AgentId
    from callbridge.services import agents as agent_svc
    from callbridge.services.security.crypto import Keyring
    from callbridge.settings import Settings

    _raise_file_limit()
    settings = Settings(
        database_url=f"sqlite:///{database}",
        admin_token=SecretStr(TOKEN),
        keys=SecretStr(Keyring.generate().to_json()),
        log_level="warning",
    )
    app = build(settings)
    rt = app.runtime
    agents = [AgentId(f"bench{i:03d}") for i in range(AGENTS)]
    for agent_id in agents:
        agent_svc.do_save_agent(rt, agent_id, agent_id, {}, None, [])
        agent_svc.do_login(rt, agent_id)

    def make_event(i: int) -> None:
        agent_id = agents[i % len(agents)]
        if rt.center.agents[agent_id].presence.value == "ready":
            agent_svc.do_set_not_ready(rt, agent_id, "break")
        else:
            agent_svc.do_set_ready(rt, agent_id)

    async def make_events(rate: float, seconds: float) -> None:
        """Event i at start + i/rate; what fell due while the loop was busy is made at once,
        as many concurrent requests would (one sequential task alone would lag behind)."""
        count = int(rate * seconds)
        start = time.monotonic()
        made = 0
        while made < count:
            await anyio.sleep(max(0.0, start + made / rate - time.monotonic()))
            now = time.monotonic()
            if now > start + seconds:
                break  # a server that cannot keep up makes fewer
            for i in range(made, min(count, int((now - start) * rate) + 1)):
                make_event(i)
                made += 1
        blocked = getattr(app.api.state.hub, "blocked", -1)  # -1: the baseline counts none
        print(f"done {made} {blocked}", flush=True)

    async def main() -> None:
        config = uvicorn.Config(
            app.api,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            ws="websockets-sansio",
            ws_per_message_deflate=False,  # as `callbridge serve`: one frame, many clients
            backlog=4096,
        )
        server = uvicorn.Server(config)
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve)
            while not server.started:  # noqa: ASYNC110  # uvicorn sets a flag, not an event
                await anyio.sleep(0.05)
            print("ready", flush=True)
            line = await anyio.to_thread.run_sync(sys.stdin.readline)
            _, rate, seconds = line.split()
            await make_events(float(rate), float(seconds))
            await anyio.to_thread.run_sync(sys.stdin.readline)  # "stop"
            server.should_exit = True

    try:
        if profile:  # cProfile of the server, for finding where its time goes
            import cProfile

            cProfile.runctx("anyio.run(main)", {}, {"anyio": anyio, "main": main}, profile)
        else:
            anyio.run(main)
    finally:
        app.close()


# --- the clients ---------------------------------------------------------------------------------


@dataclass
class Client:
    queue_id: str = ""
    last: int = 0
    repeated: int = 0
    ids: array[int] = field(default_factory=lambda: array("q"))
    latencies: array[float] = field(default_factory=lambda: array("d"))


class Page(asyncio.Protocol):
    """A wallboard page's socket, on websockets' sans-I/O protocol: frames are handled as they
    are read, with no task per client, so that the one client process keeps up with the server
    (its CPU is reported as client_cpu_pct)."""

    def __init__(self, client: Client, url: str, opened: asyncio.Future[None]) -> None:
        self.client, self.opened = client, opened
        self.ws = ClientProtocol(parse_uri(url), max_size=None)
        self.transport: asyncio.Transport | None = None
        self.acked_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        request = self.ws.connect()
        request.headers["Authorization"] = f"Bearer {TOKEN}"
        self.ws.send_request(request)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if event.status_code != 101:
                    self.opened.set_exception(ConnectionError(f"refused: {event.status_code}"))
                else:
                    self.opened.set_result(None)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._apply(bytes(event.data))
        self._flush()

    def _apply(self, text: bytes) -> None:
        now = time.time()
        if not text.startswith(EVENTS_FRAME):
            return  # a heartbeat
        client = self.client
        for found in EVENT_ID_AT.finditer(text):
            event_id = int(found[1])
            if event_id <= client.last:
                client.repeated += 1
                continue
            client.last = event_id
            client.ids.append(event_id)
            client.latencies.append(now - float(found[2]))
        if now - self.acked_at >= ACK_EVERY_S:
            self.acked_at = now
            self.ws.send_text(json.dumps({"ack": client.last}).encode())

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)


async def follow(base: str, http: httpx.AsyncClient, client: Client) -> asyncio.Transport:
    """A wallboard page: the snapshot, then the queue's frames, acknowledged now and then."""
    snap = (await http.get(f"{base}/pages/wallboard/state")).json()
    client.queue_id, client.last = snap["queue_id"], snap["last_event_id"]
    url = base.replace("http", "ws") + (
        f"/ws/events?queue_id={client.queue_id}&last_event_id={client.last}"
    )
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[None] = loop.create_future()
    host, port = base.removeprefix("http://").split(":")
    transport, _ = await loop.create_connection(lambda: Page(client, url, opened), host, int(port))
    await opened
    return transport


async def run_clients(
    base: str, count: int, go: Callable[[list[Client]], Awaitable[None]]
) -> list[Client]:
    clients = [Client() for _ in range(count)]
    limits = httpx.Limits(max_connections=CONNECT_AT_ONCE)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    transports: list[asyncio.Transport] = []
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=60) as http:
        try:
            for start in range(0, count, CONNECT_AT_ONCE):
                batch = clients[start : start + CONNECT_AT_ONCE]
                transports += await asyncio.gather(*(follow(base, http, c) for c in batch))
            log(f"{count} clients connected")
            await go(clients)
        finally:
            for transport in transports:
                transport.abort()
    return clients


def measure(clients: int, rate: float, seconds: float, impl: str = "ours") -> dict[str, Any]:
    """One run against a fresh server with the `impl` stream ("ours" or "baseline")."""
    _raise_file_limit()
    profile = os.environ.get("REALTIME_PROFILE")  # a path: the server's cProfile stats
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        command = [sys.executable, __file__, "--serve", str(port), str(Path(tmp) / "b.db"), impl]
        server = subprocess.Popen(  # noqa: S603  # this script, with our own arguments
            command + ([f"{profile}.{impl}"] if profile else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdin is not None and server.stdout is not None
        try:
            if server.stdout.readline().strip() != "ready":
                raise RuntimeError("the server did not start")
            base = f"http://127.0.0.1:{port}"
            proc = psutil.Process(server.pid)
            window: dict[str, Any] = {}

            async def go(followers: list[Client]) -> None:
                assert server.stdin is not None and server.stdout is not None
                first = await asyncio.to_thread(_last_event_id, base)
                cpu0, wall0, mine0 = proc.cpu_times(), time.monotonic(), time.process_time()
                server.stdin.write(f"go {rate} {seconds}\n")
                server.stdin.flush()
                done = await asyncio.to_thread(server.stdout.readline)
                wall = time.monotonic() - wall0
                cpu1, mine1 = proc.cpu_times(), time.process_time()
                last = await asyncio.to_thread(_last_event_id, base)
                window.update(first=first, last=last, wall=wall, done=done.strip())
                window["cpu"] = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
                window["client_cpu"] = mine1 - mine0
                deadline = time.monotonic() + STRAGGLERS_S  # frames may still be on their way
                behind = [c for c in followers if c.last < last]
                while behind and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                    behind = [c for c in behind if c.last < last]

            result = asyncio.run(run_clients(base, clients, go))
            server.stdin.write("stop\n")
            server.stdin.flush()
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
    first, last = window["first"], window["last"]
    got = [np.frombuffer(c.ids, dtype=np.int64) for c in result]
    in_window = [(ids > first) & (ids <= last) for ids in got]
    latencies = (
        np.concatenate(
            [np.frombuffer(c.latencies)[w] for c, w in zip(result, in_window, strict=True)]
        )
        * 1000.0
    )
    events = last - first
    return {
        "benchmark": "realtime",
        "stream": impl,
        "clients": clients,
        "events": events,
        "events_per_s": round(events / window["wall"], 1),
        "duration_s": round(window["wall"], 2),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1) if latencies.size else None,
        "p99_ms": round(float(np.percentile(latencies, 99)), 1) if latencies.size else None,
        "max_ms": round(float(latencies.max()), 1) if latencies.size else None,
        "lost": sum(events - int(w.sum()) for w in in_window),
        "repeated": sum(c.repeated for c in result),
        "server_cpu_pct": round(100.0 * window["cpu"] / window["wall"], 1),
        "client_cpu_pct": round(100.0 * window["client_cpu"] / window["wall"], 1),
        # less noisy than the rest on a shared machine: CPU a delivery costs, waits aside
        "server_cpu_us_per_delivery": round(1e6 * window["cpu"] / max(1, int(latencies.size)), 2),
        "deliveries": int(latencies.size),
        "blocked_writes": int(window["done"].split()[2]),  # sockets handed to their own task
        "websockets": websockets.version.version,
    }


def meets(report: dict[str, Any]) -> bool:
    """Does a run meet the issue's target (at the target's load or more)?"""
    p99 = report["p99_ms"]
    return bool(
        report["clients"] >= TARGET["clients"]
        and report["events_per_s"] >= 0.95 * TARGET["events_per_s"]
        and p99 is not None
        and p99 < TARGET["p99_ms"]
        and report["lost"] == 0
        and report["repeated"] == 0
    )


def _last_event_id(base: str) -> int:
    page = httpx.get(f"{base}/pages/wallboard/state", headers={"Authorization": f"Bearer {TOKEN}"})
    last: int = page.json()["last_event_id"]
    return last


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quick", action="store_true", help="100 clients, 100 events/s, 5 s")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--rate", type=float, help="events per second")
    parser.add_argument("--seconds", type=float)
    parser.add_argument(
        "--baseline",
        action=argparse.BooleanOptionalAction,
        help="also measure the previous stream, first (default: on, except with --quick)",
    )
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        port, database, impl, *profile = args.serve
        serve(int(port), Path(database), impl, profile[0] if profile else None)
        return
    clients = args.clients or (100 if args.quick else 1000)
    rate = args.rate or (100.0 if args.quick else 200.0)
    seconds = args.seconds or (5.0 if args.quick else 60.0)
    with_baseline = not args.quick if args.baseline is None else args.baseline
    log(f"realtime: {clients} clients, {rate:g} events/s for {seconds:g} s (pid {os.getpid()})")
    baseline: dict[str, Any] | None = None
    if with_baseline:
        if baseline_source() is None:
            log(f"no baseline: {STREAM} at {BASELINE_COMMIT[:7]} is not in this checkout")
        else:
            log("baseline: the previous stream")
            baseline = measure(clients, rate, seconds, "baseline")
            log(json.dumps(baseline))
            log("ours")
    report = measure(clients, rate, seconds)
    report["target"] = TARGET
    report["target_met"] = meets(report)
    if baseline is not None:
        baseline["target_met"] = meets(baseline)
    report["baseline"] = baseline
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:16} {value}")


if __name__ == "__main__":
    main()
