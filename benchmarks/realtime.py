"""Realtime benchmark: many browser pages following the event stream of one server process.

Run:
    .venv/bin/python benchmarks/realtime.py --json            # 1,000 clients, 200 events/s, 60 s
    .venv/bin/python benchmarks/realtime.py --json --quick    # 100 clients, 100 events/s, 5 s

The server is the real app (`build`, SQLite in a temporary directory, the event hub, uvicorn with
its sans-I/O websockets protocol) in a child process of its own, so that its CPU is measured
alone. Each client does what a wallboard page does: reads the snapshot (GET
/pages/wallboard/state, which registers its queue), then follows /ws/events?queue_id=... and
acknowledges what it applied. The events are real ones: the server turns its agents Ready and
Not Ready through the use cases (one commit, one event each), at the rate asked, spread evenly.

Latency is from the event's time (the server's clock, stamped when the use case ran) to its
arrival at the client, on the same machine's clock; every event every client receives counts.
`lost` counts, over all clients, the events logged during the run that a client never got;
`repeated` those it got more than once. `server_cpu_pct` is the server process's CPU time over
the run's wall time (100 = one core). The clients share the same 2-core machine, so a busy
client process shows up in the latency too. One JSON object goes to stdout; progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import websockets
from websockets.asyncio.client import connect

TOKEN = "bench-token"  # noqa: S105  # the throwaway server's bootstrap token
AGENTS = 20
CONNECT_AT_ONCE = 50


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


# --- the server process --------------------------------------------------------------------------


def serve(port: int, database: Path) -> None:
    """The app on 127.0.0.1:port; on a line "go RATE SECONDS" on stdin, make events."""
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

    async def make_events(rate: float, seconds: float) -> None:
        count = int(rate * seconds)
        start = time.monotonic()
        for i in range(count):
            await anyio.sleep(max(0.0, start + i / rate - time.monotonic()))
            agent_id = agents[i % len(agents)]
            if rt.center.agents[agent_id].presence.value == "ready":
                agent_svc.do_set_not_ready(rt, agent_id, "break")
            else:
                agent_svc.do_set_ready(rt, agent_id)
        print(f"done {count}", flush=True)

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
        anyio.run(main)
    finally:
        app.close()


# --- the clients ---------------------------------------------------------------------------------


@dataclass
class Client:
    queue_id: str = ""
    last: int = 0
    seen: set[int] = field(default_factory=set)
    repeated: int = 0
    latencies: list[float] = field(default_factory=list)


async def follow(base: str, http: httpx.AsyncClient, client: Client, stop: asyncio.Event) -> None:
    snap = (await http.get(f"{base}/pages/wallboard/state")).json()
    client.queue_id, client.last = snap["queue_id"], snap["last_event_id"]
    url = base.replace("http", "ws") + (
        f"/ws/events?queue_id={client.queue_id}&last_event_id={client.last}"
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with connect(url, additional_headers=headers, max_size=None) as ws:
        client.ready = True  # type: ignore[attr-defined]
        while not stop.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            now = time.time()
            frame = json.loads(text)
            if frame["type"] != "events":
                continue
            for event in frame["events"]:
                event_id = event["id"]
                if event_id in client.seen:
                    client.repeated += 1
                    continue
                client.seen.add(event_id)
                client.latencies.append(now - event["at"])
                client.last = max(client.last, event_id)
            await ws.send(json.dumps({"ack": client.last}))


async def run_clients(base: str, count: int, go: Any) -> list[Client]:
    clients = [Client() for _ in range(count)]
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=CONNECT_AT_ONCE)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=60) as http:
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)

        async def one(client: Client) -> None:
            async with gate:
                task = asyncio.create_task(follow(base, http, client, stop))
                while not getattr(client, "ready", False):
                    if task.done():
                        task.result()
                    await asyncio.sleep(0.01)
            await task

        tasks = [asyncio.create_task(one(c)) for c in clients]
        while sum(getattr(c, "ready", False) for c in clients) < count:
            for task in tasks:
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            await asyncio.sleep(0.1)
        log(f"{count} clients connected")
        await go()
        stop.set()
        await asyncio.gather(*tasks)
    return clients


def measure(clients: int, rate: float, seconds: float) -> dict[str, Any]:
    _raise_file_limit()
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        server = subprocess.Popen(  # noqa: S603  # this script, with our own arguments
            [sys.executable, __file__, "--serve", str(port), str(Path(tmp) / "bench.db")],
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

            async def go() -> None:
                assert server.stdin is not None and server.stdout is not None
                first = await asyncio.to_thread(_last_event_id, base)
                cpu0, wall0 = proc.cpu_times(), time.monotonic()
                server.stdin.write(f"go {rate} {seconds}\n")
                server.stdin.flush()
                done = await asyncio.to_thread(server.stdout.readline)
                wall = time.monotonic() - wall0
                cpu1 = proc.cpu_times()
                last = await asyncio.to_thread(_last_event_id, base)
                window.update(first=first, last=last, wall=wall, done=done.strip())
                window["cpu"] = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
                await asyncio.sleep(1.0)  # the stragglers: a frame may still be on its way

            result = asyncio.run(run_clients(base, clients, go))
            server.stdin.write("stop\n")
            server.stdin.flush()
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
    wanted = set(range(window["first"] + 1, window["last"] + 1))
    latencies = np.array([x for c in result for x in c.latencies]) * 1000.0
    lost = sum(len(wanted - c.seen) for c in result)
    return {
        "benchmark": "realtime",
        "clients": clients,
        "events": len(wanted),
        "events_per_s": round(len(wanted) / window["wall"], 1),
        "duration_s": round(window["wall"], 2),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1) if latencies.size else None,
        "p99_ms": round(float(np.percentile(latencies, 99)), 1) if latencies.size else None,
        "max_ms": round(float(latencies.max()), 1) if latencies.size else None,
        "lost": lost,
        "repeated": sum(c.repeated for c in result),
        "server_cpu_pct": round(100.0 * window["cpu"] / window["wall"], 1),
        "deliveries": int(latencies.size),
        "websockets": websockets.version.version,
    }


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quick", action="store_true", help="100 clients, 100 events/s, 5 s")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--rate", type=float, help="events per second")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), Path(args.serve[1]))
        return
    clients = args.clients or (100 if args.quick else 1000)
    rate = args.rate or (100.0 if args.quick else 200.0)
    seconds = args.seconds or (5.0 if args.quick else 60.0)
    log(f"realtime: {clients} clients, {rate:g} events/s for {seconds:g} s (pid {os.getpid()})")
    report = measure(clients, rate, seconds)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:16} {value}")


if __name__ == "__main__":
    main()
