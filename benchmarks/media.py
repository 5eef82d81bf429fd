"""Media benchmark: how many relayed call pairs one media engine carries cleanly, on loopback.

Run:
    .venv/bin/python benchmarks/media.py --json            # N = 100, 200, 400 pairs, 10 s each
    .venv/bin/python benchmarks/media.py --json --quick    # the same N, 2 s each (< 30 s)
    .venv/bin/python benchmarks/media.py --json --loops asyncio,uvloop --calls 100,400,800

For each event loop (asyncio, and uvloop when it is importable) and each N, a fresh server
process (this script with --serve) opens a MediaEngine with N bridged pairs of RtpSessions (2N
sessions, relaying without decoding), and this process acts as every phone: each leg sends 50
packets/s of 160-byte PCMU to its session (25 legs share a UDP socket, to keep the generator
light) and receives what the other leg's phone sent through the relay. Server and load
generator are pinned to different cores when there are two. Each packet carries its send time
and whether it belongs to the measured window, so loss and relay latency are exact. The server
reports the media clock's lag (p50/p99 over the window) and its own CPU time. One JSON object
goes to stdout; "method" says what each number is.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import importlib.util
import json
import os
import resource
import selectors
import socket
import struct
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from callbridge.adapters.telephony.media.engine import MediaEngine
from callbridge.adapters.telephony.media.loop import install_event_loop, running_loop_name

ROOT = Path(__file__).resolve().parent.parent
PPS = 50
LEGS_PER_SOCKET = 25  # the phones share sockets: fewer wake-ups for the load generator
WARM_UP_S = 1.0
CLEAN_LAG_P99_MS = 30.0  # what "clean media" means here, with no packet lost
_HEADER = struct.Struct("!BBHII")
_STAMP = struct.Struct("!dB")  # send time, measured-window flag: the payload's first 9 bytes


# ---- the server (a subprocess) ---------------------------------------------------------------


async def serve(calls: int, remotes: list[int]) -> None:
    """Bridge `calls` pairs; remotes[i] is the phone port of session i. Commands on stdin."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with MediaEngine("127.0.0.1", (44000, 44000 + 8 * calls + 100)) as engine:
        sessions = [await engine.open_session() for _ in range(2 * calls)]
        for session, port in zip(sessions, remotes, strict=True):
            session.set_remote("127.0.0.1", port)
        for a, b in zip(sessions[::2], sessions[1::2], strict=True):
            a.connect(b)
        _say({"ports": [s.local_port for s in sessions], "event_loop": running_loop_name()})
        await reader.readline()  # "measure"
        engine.clock.reset_lag()
        started, cpu = time.monotonic(), _cpu_s()
        await reader.readline()  # "report"
        window, cpu = time.monotonic() - started, _cpu_s() - cpu
        lag = engine.lag_stats()
        stats = [s.stats() for s in sessions]
        _say(
            {
                "window_s": window,
                "cpu_s": cpu,
                "lag": asdict(lag),
                "relayed": sum(s.packets_relayed for s in stats),
                "received": sum(s.packets_received for s in stats),
            }
        )


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


# ---- the phones (this process) ---------------------------------------------------------------


@dataclass
class PhoneCounts:
    latencies_ms: array.array[float]
    sent: int = 0
    received: int = 0
    worst_send_late_ms: float = 0.0  # how far the phones fell behind their own schedule


def run_phones(
    sockets: list[socket.socket], ports: list[int], seconds: float, server: Any
) -> PhoneCounts:
    """Send 50 pps per leg, spread over the 20 ms period; tell the server when to measure.

    Leg i sends from sockets[i // LEGS_PER_SOCKET] to ports[i].
    """
    legs = len(ports)
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    counts = PhoneCounts(latencies_ms=array.array("d"))
    period = 1.0 / PPS
    slots = 20
    payload_tail = b"\xff" * (160 - _STAMP.size)
    targets = [("127.0.0.1", port) for port in ports]
    seq = [0] * legs
    start = time.perf_counter()
    measure_at, stop_at = start + WARM_UP_S, start + WARM_UP_S + seconds
    measuring = False
    slot = 0
    worst_late = 0.0
    while True:
        due = start + slot * period / slots
        now = time.perf_counter()
        if now >= due:
            if due >= stop_at:
                break
            if not measuring and due >= measure_at:
                measuring = True
                server.stdin.write("measure\n")
                server.stdin.flush()
            if measuring:
                worst_late = max(worst_late, now - due)
            flag = 1 if measuring else 0
            stamp = _STAMP.pack(now, flag) + payload_tail
            for leg in range(slot % slots, legs, slots):
                n = seq[leg]
                seq[leg] = n + 1
                header = _HEADER.pack(0x80, 0, n & 0xFFFF, (160 * n) & 0xFFFFFFFF, leg + 1)
                sockets[leg // LEGS_PER_SOCKET].sendto(header + stamp, targets[leg])
                counts.sent += flag
            slot += 1
            continue
        _receive(selector, due - now, counts)
    drain_until = time.perf_counter() + 0.5
    while (left := drain_until - time.perf_counter()) > 0:
        _receive(selector, left, counts)
    selector.close()
    counts.worst_send_late_ms = worst_late * 1000.0
    return counts


def _receive(selector: selectors.BaseSelector, timeout: float, counts: PhoneCounts) -> None:
    latencies = counts.latencies_ms
    for key, _ in selector.select(timeout):
        sock: socket.socket = key.fileobj  # type: ignore[assignment]
        while True:
            try:
                data = sock.recv(2048)
            except BlockingIOError:
                break
            if len(data) < 12 + _STAMP.size or data[1] >= 192:
                continue  # RTCP
            sent_at, flag = _STAMP.unpack_from(data, 12)
            if flag:
                counts.received += 1
                latencies.append((time.perf_counter() - sent_at) * 1000.0)


def measure(loop_name: str, calls: int, seconds: float, cores: list[int]) -> dict[str, Any]:
    """One server process, `calls` pairs, `seconds` of measured traffic, on `cores`."""
    sockets = []
    for _ in range(-(-2 * calls // LEGS_PER_SOCKET)):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        sockets.append(sock)
    remotes = [sockets[i // LEGS_PER_SOCKET].getsockname()[1] for i in range(2 * calls)]
    argv = [sys.executable, __file__, "--serve", "--loop", loop_name, "--calls", str(calls)]
    with subprocess.Popen(  # noqa: S603 -- our own interpreter running this script
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    ) as server:
        try:
            assert server.stdin is not None and server.stdout is not None
            server.stdin.write(json.dumps(remotes) + "\n")
            server.stdin.flush()
            hello = json.loads(_line(server.stdout))
            _pin(server.pid, cores)
            phones_cpu = _cpu_s()
            counts = run_phones(sockets, hello["ports"], seconds, server)
            phones_cpu = _cpu_s() - phones_cpu
            server.stdin.write("report\n")
            server.stdin.flush()
            report = json.loads(_line(server.stdout))
        finally:
            if server.stdin is not None:
                server.stdin.close()
            server.wait(timeout=30)
            for sock in sockets:
                sock.close()
    latencies = sorted(counts.latencies_ms)
    lag = report["lag"]
    lost = counts.sent - counts.received
    result = {
        "calls": calls,
        "event_loop": hello["event_loop"],
        "ticker_lag_p50_ms": round(lag["p50_ms"], 3),
        "ticker_lag_p99_ms": round(lag["p99_ms"], 3),
        "ticker_lag_max_ms": round(lag["max_ms"], 3),
        "ticks_skipped": lag["skipped"],
        "cpu_ms_per_call_s": round(report["cpu_s"] * 1000.0 / (calls * report["window_s"]), 3),
        "server_cpu_share": round(report["cpu_s"] / report["window_s"], 3),
        "packets_sent": counts.sent,
        "packets_lost": lost,
        "relay_latency_p50_ms": round(_percentile(latencies, 50), 3),
        "relay_latency_p99_ms": round(_percentile(latencies, 99), 3),
        "phones_cpu_share": round(phones_cpu / (WARM_UP_S + seconds + 0.5), 3),
        "phones_worst_send_late_ms": round(counts.worst_send_late_ms, 3),
    }
    result["clean"] = lost == 0 and result["ticker_lag_p99_ms"] <= CLEAN_LAG_P99_MS
    return result


def _line(stream: IO[str]) -> str:
    line = stream.readline()
    if not line:
        raise RuntimeError("the media server exited early")
    return line


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def _pin(server_pid: int, cores: list[int]) -> None:
    """Server on one core, phones on another, when the machine has two."""
    if len(cores) >= 2:
        os.sched_setaffinity(server_pid, {cores[0]})
        os.sched_setaffinity(0, {cores[1]})


def available_loops() -> list[str]:
    uvloop = importlib.util.find_spec("uvloop") is not None
    return ["asyncio", "uvloop"] if uvloop else ["asyncio"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the JSON report")
    parser.add_argument("--quick", action="store_true", help="2 s per point instead of 10 s")
    parser.add_argument("--calls", default="100,200,400", help="call pairs per point")
    parser.add_argument("--loops", default=",".join(available_loops()))
    parser.add_argument("--seconds", type=float, help="measured seconds per point")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--loop", default="asyncio", help=argparse.SUPPRESS)
    args = parser.parse_args()
    calls = [int(c) for c in args.calls.split(",")]
    if args.serve:
        remotes = json.loads(sys.stdin.readline())
        name = install_event_loop(prefer_uvloop=args.loop == "uvloop")
        assert name == args.loop, f"{args.loop} is not installed"
        asyncio.run(serve(calls[0], remotes))
        return
    seconds = args.seconds or (2.0 if args.quick else 10.0)
    cores = sorted(os.sched_getaffinity(0))  # before the first run pins this process
    points: dict[str, list[dict[str, Any]]] = {}
    for loop_name in args.loops.split(","):
        for n in calls:
            print(f"media: {loop_name} {n} pairs ...", file=sys.stderr, flush=True)
            points.setdefault(loop_name, []).append(measure(loop_name, n, seconds, cores))
    report = {
        "benchmark": "media",
        "quick": args.quick,
        "seconds_per_point": seconds,
        "uvloop_installed": "uvloop" in available_loops(),
        "points": points,
        "max_clean_calls": {
            name: max([p["calls"] for p in results if p["clean"]], default=0)
            for name, results in points.items()
        },
        "method": {
            "calls": "bridged pairs of RtpSessions relaying PCMU both ways without decoding",
            "load": f"{PPS} packets/s per leg each way, 160-byte payloads, spread over 20 ms",
            "ticker_lag": "how late each 20 ms media tick ran, over the measured window",
            "cpu_ms_per_call_s": "server CPU (user+sys) per pair per second of the window",
            "packets_lost": "measured-window packets sent by the phones that never came back",
            "relay_latency": "phone -> session -> relay -> session -> phone, one way",
            "clean": f"no packet lost and ticker lag p99 <= {CLEAN_LAG_P99_MS} ms",
            "cores": "server and phones pinned to different cores when there are two",
        },
    }
    print(json.dumps(report, indent=2 if not args.json else None))


if __name__ == "__main__":
    main()
