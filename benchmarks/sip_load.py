"""SIP load benchmark: the voice path under load, driven by sipp, on one server core.

Run:
    .venv/bin/python benchmarks/sip_load.py --json            # full, 5-10 minutes
    .venv/bin/python benchmarks/sip_load.py --json --quick    # under 60 s
    .venv/bin/python benchmarks/sip_load.py --json --steps 100,300 --rates 50 --overload 100

The server under test (`_sip_load_server.py`, a subprocess pinned to the first core) is the real
voice path: `app.build()` with SIP on and the API's background tasks running (ACD timers, CRM
outbox, webhooks, voice), without the HTTP listener, logging JSON at INFO to a file, SQLite in a
temporary directory. It has 1,200 agents logged in and Ready in one queue (offer timeout 15 s,
wrap-up 0) behind the entry point `load`. Each agent's address-of-record is bound in the location
service to one sipp UAS that plays all the phones (set-up, not measured: no REGISTER crosses the
wire). That sipp answers every INVITE (180, then 200 with PCMU on its echo port) and echoes the
audio (-rtp_echo). Callers are sipp UACs calling `sip:load@server`; once answered, each streams
mu-law at 50 packets/s. Each call is thus a B2BUA call bridged by the ACD to an agent's phone, with
media both ways: caller -> server -> phone -> echo -> server -> caller, 100 packets/s in and 100
out of the server per call. The sipps and this script share the second core. All on 127.0.0.1.

What is measured (the JSON's "method" says it again next to the numbers):
- Concurrency (`steps`): calls are added at `ramp_cps` until N are up, and stay up (the callers
  wait for the server's BYE). Once all N are bridged (plus a short settle), a window (3 s quick,
  10 s full) in which the server reports its CPU time, the media clock's tick lag and the RTP
  packets counted by both sessions of every call up for the whole window, with RFC 3550 loss.
  Then the next N. At the end the agents hang up every call (`do_end`, as the REST API does);
  the gateway sends the BYEs, and every failure of the series is counted: sipp caller failures,
  calls answered but never bridged to an agent, sipp phone failures. A step is clean with no
  failure, all N up through the window, >= 47.5 packets/s in per call, no packet lost, and tick
  lag p99 <= 30 ms. `max_clean_concurrent` is the largest clean N; `cpu_ms_per_call_s` and
  `ticker_lag_p99_ms` are that step's (`at_target` gives the figures at the target N).
- Call setup (`setup_steps`, same server, after the hang-up): calls without media, held 1 s by
  the caller, offered at R/s for 2 s (quick) or 5 s. Clean: no failure, every call bridged, calls
  reaching the ACD at >= 90 % of R, and created -> connected (routing, the INVITE to the phone,
  its answer, the bridge) p99 <= 500 ms. `cps` is the highest clean R; steps stop at the first
  that is not clean.
- Overload: a fresh server with `sip_max_calls` = C and no rate limit is offered 3C calls with
  media at 400/s, each held by its caller until well after every offer had its answer. sipp's
  scenario has 503 as an expected branch; admitted = its 200s, refused = its 503s, completed =
  admitted calls bridged to an agent and hung up with the BYE answered.
- Full runs only: the concurrency steps again with every call recorded (the default setting
  `voice_record_calls`), in `recording_steps`.
- `failed_below_capacity`: failed calls in the steps within the targets (400 concurrent calls
  on asyncio, 1,000 on uvloop; 200 calls/s), which are also the default admission limits: calls
  there are admitted, not refused, so none may fail.
- Event loops: standard asyncio, then uvloop (a dependency; skipped where it is not installed),
  each with its own server, concurrency and setup steps (`by_loop`); the headline figures and
  `event_loop` are the first loop's. `--quick` runs asyncio alone, to stay under a minute.
  `--loop uvloop` runs uvloop alone (headline included): `--loop uvloop --steps 400,700,1000`
  measures its target; `--loop asyncio --loop uvloop` both.
- `--profile sample` samples every server's stack each millisecond of CPU time and keeps the
  counts in `server-samples.txt` (where a call's CPU goes); `--profile cprofile` keeps
  cProfile's `server.prof` instead (exact calls, but several times slower in small calls).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from _sip_load_procs import Children, SippPhones, stop_on_signals
from _sip_load_steps import (
    BRIDGE_P99_LIMIT_MS,
    CLEAN_LAG_P99_MS,
    MIN_ARRIVALS,
    MIN_PPS_IN,
    Bench,
    Plan,
    concurrency_series,
    overload_step,
    say,
    setup_steps,
)
from callbridge.adapters.telephony.media.g711 import Codec

TARGET_CONCURRENT = {"asyncio": 400, "uvloop": 1000}
TARGET_CPS = 200

QUICK = Plan(
    quick=True,
    concurrency=(100, 200, 400),
    window_s=3.0,
    settle_s=0.5,
    ramp_cps=80,
    setup_rates=(50, 100, 200),
    setup_seconds=2.0,
    setup_hold_s=1.0,
    overload_capacity=200,
    overload_cps=400,
    recording=(),
    agents=1200,
)
FULL = Plan(
    quick=False,
    concurrency=(100, 200, 300, 400, 500, 600, 800, 1000),
    window_s=10.0,
    settle_s=1.0,
    ramp_cps=50,
    setup_rates=(25, 50, 75, 100, 150, 200, 300, 400),
    setup_seconds=5.0,
    setup_hold_s=1.0,
    overload_capacity=400,
    overload_cps=400,
    recording=(100, 200, 300, 400),
    agents=1200,
)


def run_loop(bench: Bench, loop: str) -> dict[str, Any]:
    """Concurrency steps, then setup-rate steps, on one fresh server running `loop`."""
    server = bench.server(loop, loop=loop)
    try:
        steps = concurrency_series(bench, server, bench.plan.concurrency, loop)
        setup = setup_steps(bench, server, bench.plan.setup_rates)
    finally:
        server.close()
    return {"steps": steps, "setup_steps": setup, **summary(steps, setup, loop)}


def run_recording(bench: Bench, loop: str) -> list[dict[str, Any]]:
    """The concurrency steps again with every call recorded (the default setting)."""
    server = bench.server(f"{loop}-recording", loop=loop, record=True)
    try:
        return concurrency_series(bench, server, bench.plan.recording, f"{loop}-recording")
    finally:
        server.close()


# ---- the report ------------------------------------------------------------------------------


def summary(steps: list[dict[str, Any]], setup: list[dict[str, Any]], loop: str) -> dict[str, Any]:
    clean = [s for s in steps if s["clean"]]
    best = max(clean, key=lambda s: s["calls"]) if clean else None
    rated = best or (steps[0] if steps else None)
    target = TARGET_CONCURRENT[loop]
    failed_below = sum(s["failed"] for s in steps if s["calls"] <= target) + sum(
        s["failed"] for s in setup if s["offered_cps"] <= TARGET_CPS
    )
    at_target = next((s for s in steps if s["calls"] == target), None)
    return {
        "max_clean_concurrent": best["calls"] if best else 0,
        "cps": max([s["offered_cps"] for s in setup if s["clean"]], default=0),
        "cpu_ms_per_call_s": rated["cpu_ms_per_call_s"] if rated else None,
        "ticker_lag_p99_ms": rated["ticker_lag_p99_ms"] if rated else None,
        "failed_below_capacity": failed_below,
        "at_target": None
        if at_target is None
        else {
            k: at_target[k]
            for k in ("calls", "clean", "ticker_lag_p99_ms", "cpu_ms_per_call_s", "failed")
        },
    }


def caller_audio(work: Path) -> None:
    """One second of a two-tone signal as headerless mu-law: sipp loops it for the call."""
    t = np.arange(8000) / 8000.0
    tone = 4000 * np.sin(2 * np.pi * 440 * t) + 2000 * np.sin(2 * np.pi * 1250 * t)
    (work / "caller.ulaw").write_bytes(Codec.PCMU.encode(tone.astype(np.int16)))


def available_loops() -> list[str]:
    uvloop = importlib.util.find_spec("uvloop") is not None
    return ["asyncio", "uvloop"] if uvloop else ["asyncio"]


@contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sip-load-"))
    try:
        yield path
    finally:
        if keep:
            say(f"files kept in {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def run(plan: Plan, loops: list[str], keep: bool) -> dict[str, Any]:
    """`loops` in order; the first is the headline one, which also runs recording and overload."""
    cores = sorted(os.sched_getaffinity(0))
    server_core, load_core = (cores[0], cores[1]) if len(cores) >= 2 else (None, None)
    if load_core is not None:
        os.sched_setaffinity(0, {load_core})  # this script and the sipps
    started = time.monotonic()
    children = Children()
    with workdir(keep) as work:
        try:
            caller_audio(work)
            phones = SippPhones(children, work, load_core)
            bench = Bench(children, phones, work, server_core, load_core, plan)
            by_loop = {loop: run_loop(bench, loop) for loop in loops}
            recording = run_recording(bench, loops[0]) if plan.recording else []
            overload = overload_step(bench, loops[0])
        finally:
            children.close()
    return report(plan, by_loop, recording, overload, server_core, load_core, started)


def report(
    plan: Plan,
    by_loop: dict[str, dict[str, Any]],
    recording: list[dict[str, Any]],
    overload: dict[str, Any],
    server_core: int | None,
    load_core: int | None,
    started: float,
) -> dict[str, Any]:
    headline = next(iter(by_loop))
    main = by_loop[headline]
    targets = {
        "max_clean_concurrent": {name: TARGET_CONCURRENT[name] for name in by_loop},
        "cps": TARGET_CPS,
        "failed_below_capacity": 0,
        "overload": "every admitted call completes, every other call is refused with 503",
    }
    meets = {
        "max_clean_concurrent": all(
            r["max_clean_concurrent"] >= TARGET_CONCURRENT[name] for name, r in by_loop.items()
        ),
        "cps": main["cps"] >= TARGET_CPS,
        "failed_below_capacity": all(r["failed_below_capacity"] == 0 for r in by_loop.values()),
        "overload": bool(overload["ok"]),
    }
    meets["all"] = all(meets.values())
    clean_recording = [s["calls"] for s in recording if s["clean"]]
    return {
        "benchmark": "sip_load",
        "quick": plan.quick,
        "event_loop": headline,
        "uvloop_installed": "uvloop" in available_loops(),
        **{k: main[k] for k in summary([], [], headline) if k != "at_target"},
        "at_target": main["at_target"],
        "overload_admitted": overload["admitted"],
        "overload_admitted_completed": overload["admitted_completed"],
        "overload_refused_503": overload["refused_503"],
        "targets": targets,
        "meets_targets": meets,
        "steps": main["steps"],
        "setup_steps": main["setup_steps"],
        "overload": overload,
        "recording_steps": recording,
        "max_clean_concurrent_recording": max(clean_recording, default=0) if recording else None,
        "by_loop": {name: {k: v for k, v in r.items()} for name, r in by_loop.items()},
        "cores": {"server": server_core, "load_generators": load_core},
        "elapsed_s": round(time.monotonic() - started, 1),
        "method": method(plan),
    }


def method(plan: Plan) -> dict[str, str]:
    return {
        "server": "the real voice path in one process pinned to one core: app.build() with SIP "
        "on and the API's background tasks (ACD timers, CRM outbox, webhooks, voice), no HTTP "
        f"listener, INFO logs to a file, SQLite; {plan.agents} agents Ready in one queue, "
        "wrap-up 0; admission limits off except in the overload step; calls not recorded "
        "except in recording_steps",
        "phones": "one sipp UAS on the other core answers every agent INVITE (180, 200 PCMU) "
        "and echoes the RTP (-rtp_echo); each agent's AOR is bound to it in the location service "
        "directly (set-up, not measured; no REGISTER on the wire)",
        "callers": "sipp UACs on the other core call sip:load@server; with media each streams "
        "PCMU at 50 packets/s; the server relays it to the agent's leg and the echo back: 100 "
        "packets/s in and 100 out of the server per call",
        "steps": f"calls added at {plan.ramp_cps:.0f}/s until N are up (they stay up), "
        f"{plan.settle_s} s, then a {plan.window_s} s window over the calls up for all of it; "
        "at the end the agents hang up every call (do_end) and the server sends the BYEs",
        "ticker_lag": "how late each 20 ms media tick ran, p99 over the window",
        "server_core": "the server's core over the window, from /proc/stat: busy (any process "
        "and the kernel), softirq (the kernel's packet handling, on loopback mostly delivering "
        "what the server sends; not in server_cpu_share) and stolen by the hypervisor; busy "
        "far above server_cpu_share + softirq means something else ran there",
        "cpu_ms_per_call_s": "server CPU (user+sys) in the window / (calls x window seconds); "
        "the headline figure is at max_clean_concurrent (or the first step if none is clean)",
        "failed": "sipp caller failures + sipp phone failures during the step; at the hang-up "
        "every failure of the series is counted exactly (also calls answered but never bridged "
        "to an agent) and any the steps did not see is added to the last step",
        "clean": f"0 failed, all N up through the window, >= {MIN_PPS_IN} RTP packets/s in per "
        f"call, no RTP packet lost (RFC 3550 gaps, both legs), tick lag p99 <= "
        f"{CLEAN_LAG_P99_MS} ms",
        "ramp": "the seconds the step's calls took to come up, with the server's CPU share, "
        "the tick lag and created -> connected over that time (set-up under media load)",
        "cps": f"setup steps: calls without media held {plan.setup_hold_s} s, offered at R/s for "
        f"{plan.setup_seconds} s; clean: 0 failed, all bridged, arrivals at the ACD >= "
        f"{MIN_ARRIVALS:.0%} of R, "
        f"created -> connected p99 <= {BRIDGE_P99_LIMIT_MS:.0f} ms; cps = highest clean R",
        "cpu_ms_per_call": "setup steps: server CPU from the first offer until every call is "
        "over, per call (set-up, 1 s up, tear-down, and the idle background meanwhile)",
        "failed_below_capacity": "failed calls in concurrency steps up to the loop's target and "
        f"in setup steps up to {TARGET_CPS}/s: the issue's targets (the default admission "
        "limits are sip_max_calls 400 and sip_max_call_rate 100/s, what one core sustains here; "
        "the benchmark's server runs without a rate limit), so such calls are admitted, not "
        "refused, and must not fail",
        "overload": "a fresh server with sip_max_calls = C, no rate limit, offered 3C calls "
        f"with media at {plan.overload_cps:.0f}/s, held until every offer was answered; admitted "
        "= 200 OKs, completed = admitted calls bridged and hung up with the BYE answered, "
        "refused = 503s received by sipp (an expected branch of its scenario); while_offered: "
        "from the first offer until all admitted calls are bridged",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter steps (< 60 s)")
    parser.add_argument("--steps", help="concurrent calls per step, e.g. 100,400")
    parser.add_argument("--rates", help="setup steps in calls/s, e.g. 100,200")
    parser.add_argument("--overload", type=int, help="the overload step's capacity C")
    parser.add_argument("--window", type=float, help="measured seconds per concurrency step")
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        action="append",
        help="event loop(s) of the server, the first the headline (default: asyncio, then "
        "uvloop when installed; --quick: asyncio alone); recording and overload run on the first",
    )
    parser.add_argument("--keep", action="store_true", help="keep logs and sipp statistics")
    parser.add_argument(
        "--profile",
        choices=("sample", "cprofile"),
        help="profile each server from ready on (implies --keep): sample, a sampled CPU "
        "profile in server-samples.txt; cprofile, cProfile statistics in server.prof",
    )
    args = parser.parse_args()
    if shutil.which("sipp") is None:
        raise SystemExit("sipp is not installed (Debian package sip-tester; make setup)")
    plan = QUICK if args.quick else FULL
    if args.steps:
        plan = replace(plan, concurrency=tuple(int(n) for n in args.steps.split(",")))
    if args.rates:
        plan = replace(plan, setup_rates=tuple(int(r) for r in args.rates.split(",")))
    if args.overload:
        plan = replace(plan, overload_capacity=args.overload)
    if args.window:
        plan = replace(plan, window_s=args.window)
    if args.profile:
        plan = replace(plan, profile=args.profile)
    # --quick stays under a minute: standard asyncio alone unless --loop says otherwise
    loops = args.loop or (available_loops()[:1] if args.quick else available_loops())
    missing = sorted(set(loops) - set(available_loops()))
    if missing:
        raise SystemExit(f"--loop {missing[0]}: it is not installed")
    stop_on_signals()
    try:
        result = run(plan, list(dict.fromkeys(loops)), args.keep or bool(args.profile))
    except KeyboardInterrupt:
        say("interrupted; every process it started is stopped")
        raise SystemExit(130) from None
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
