"""The steps of `benchmarks/sip_load.py`: concurrent calls with media, call setup rate, and
overload. Each returns plain dicts for the JSON report, with `clean` and `not_clean_because`."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _sip_load_procs import Children, ServerProcess, SippCaller, SippPhones, core_ticks, core_use

CLEAN_LAG_P99_MS = 30.0
MIN_PPS_IN = 47.5  # of the 50 a caller sends: below it the load was not really offered
BRIDGE_P99_LIMIT_MS = 500.0
MIN_ARRIVALS = 0.9  # of the offered rate, at the ACD: below it the server fell behind
RAMP_SLACK_S = 8.0  # how much longer than added / ramp rate a step's calls may take to come up
SERIES_TIMEOUT_S = 1800.0  # held calls hang up by themselves after 15 min; sipp gives up later
HANG_UP_WITHIN_S = 120.0
PHONES_STATS_S = 0.3  # the phones' sipp writes its statistics every 200 ms
MEDIA_PORTS = (40000, 41999)  # the sipp callers' RTP; the server's is 20000-29999


@dataclass(frozen=True)
class Plan:
    quick: bool
    concurrency: tuple[int, ...]  # calls up at each step (cumulative)
    window_s: float
    settle_s: float  # after the last call of a step is bridged, before its window
    ramp_cps: float
    setup_rates: tuple[int, ...]
    setup_seconds: float
    setup_hold_s: float
    overload_capacity: int
    overload_cps: float
    recording: tuple[int, ...]  # concurrency steps again, every call recorded
    agents: int
    profile: str | None = None  # "cprofile" (server.prof) or "sample" (server-samples.txt)


@dataclass
class Bench:
    """What every step needs: the children, the phones, the cores and a place for files."""

    children: Children
    phones: SippPhones
    work: Path
    server_core: int | None
    load_core: int | None
    plan: Plan
    _next_media_port: int = MEDIA_PORTS[0]

    def server(self, name: str, **options: Any) -> ServerProcess:
        server = ServerProcess(
            self.children,
            self.work / name,
            agents=self.plan.agents,
            phone=("127.0.0.1", self.phones.port),
            core=self.server_core,
            profile=self.plan.profile,
            **options,
        )
        say(f"server {name}: ready in {server.hello['setup_s']} s ({server.hello['event_loop']})")
        return server

    def caller(
        self, name: str, scenario: str, server: ServerProcess, *, calls: int, **kw: Any
    ) -> SippCaller:
        """A sipp caller on the load core, with an RTP port of its own (sipp 3.6 binds -mp and
        the next ports and streams every call's audio from it). A port somebody else took
        meanwhile makes sipp exit at once: then it starts again on other ports."""
        for attempt in range(3):
            port = self._next_media_port
            self._next_media_port = port + 4 if port + 8 < MEDIA_PORTS[1] else MEDIA_PORTS[0]
            caller = SippCaller(
                self.children,
                self.work,
                f"{name}-retry{attempt}" if attempt else name,
                scenario,
                server.sip_port,
                calls=calls,
                core=self.load_core,
                media_port=port,
                **kw,
            )
            failure = caller.start_failure()
            if failure is None:
                return caller
            if "bind" not in failure:
                break
        raise RuntimeError(failure)


def say(message: str) -> None:
    print(f"sip_load: {message}", file=sys.stderr, flush=True)


def delta(after: dict[str, Any], before: dict[str, Any], key: str) -> int:
    return int(after.get(key, 0)) - int(before.get(key, 0))


def _why(reasons: list[str]) -> str:
    return "clean" if not reasons else "not clean: " + ", ".join(reasons)


# ---- concurrency -----------------------------------------------------------------------------


def concurrency_series(
    bench: Bench, server: ServerProcess, steps: tuple[int, ...], label: str
) -> list[dict[str, Any]]:
    """Add calls step by step (they stay up: callers hang up only when the server does), measure
    a window at each level, then have the agents hang up every call and account for all."""
    plan = bench.plan
    start = server.ask("status")
    phones_at_start = bench.phones.failed()
    callers: list[SippCaller] = []
    results: list[dict[str, Any]] = []
    up = 0
    for n in steps:
        if n <= up:
            continue
        say(f"{label}: {n} concurrent calls ...")
        failed_before = _failed_so_far(bench, callers)
        server.ask("begin")
        callers.append(
            bench.caller(
                f"{label}-{n}",
                "caller_held.xml",
                server,
                calls=n - up,
                limit=n - up,
                rate=plan.ramp_cps,
                hold_s=0.0,
                timeout_s=SERIES_TIMEOUT_S,
            )
        )
        bridged = server.wait_bridged(n, (n - up) / plan.ramp_cps + RAMP_SLACK_S)
        callers[-1].check()
        ramp = server.ask("end")
        up = n
        time.sleep(plan.settle_s)
        load_cpu, core = _load_cpu(bench, callers), core_ticks(bench.server_core)
        server.ask("begin")
        time.sleep(plan.window_s)
        window = server.ask("end")
        load_cpu = _load_cpu(bench, callers) - load_cpu
        failed = _failed_so_far(bench, callers) - failed_before
        step = _concurrency_step(n, bridged, ramp, window, failed, load_cpu)
        step["server_core"] = core_use(core, core_ticks(bench.server_core))
        results.append(step)
        say(
            f"{label}: {n} calls: lag p99 {step['ticker_lag_p99_ms']:.1f} ms, "
            f"{step['cpu_ms_per_call_s']} CPU ms per call-second, server core "
            f"{step['server_cpu_share']:.0%}, {_why(step['not_clean_because'])}"
        )
        past = step["calls_held_through_window"] < 0.9 * n
        if past or (len(results) >= 2 and not results[-1]["clean"] and not results[-2]["clean"]):
            say(f"{label}: stopping here, the server is past saturation")
            break
    teardown = _hang_up(bench, server, callers, start, phones_at_start)
    if results:  # whatever went wrong that the steps did not see happened to the last one
        last = results[-1]
        late = teardown["failed"] - sum(s["failed"] for s in results)
        last["hang_up"] = teardown
        if late > 0:
            last["failed"] += late
            last["clean"] = False
            last["not_clean_because"].append(f"{late} failed (found at hang-up)")
    return results


def _failed_so_far(bench: Bench, callers: list[SippCaller]) -> int:
    return sum(c.failed() for c in callers) + bench.phones.failed()


def _load_cpu(bench: Bench, callers: list[SippCaller]) -> float:
    return sum(c.cpu_s() for c in callers) + bench.phones.cpu_s()


def _concurrency_step(
    n: int,
    bridged: int,
    ramp: dict[str, Any],
    window: dict[str, Any],
    failed: int,
    load_cpu: float,
) -> dict[str, Any]:
    held = int(window["calls_throughout"])
    seconds = float(window["window_s"])
    media, lag = window["media"], window["lag"]
    pps_in = media["caller_in"] / held / seconds if held else 0.0
    received = media["caller_in"] + media["agent_in"] + media["lost"]
    step: dict[str, Any] = {
        "calls": n,
        "calls_up_at_window": bridged,
        "calls_held_through_window": held,
        "failed": failed,
        "window_s": round(seconds, 3),
        "ticker_lag_p50_ms": round(lag["p50_ms"], 3),
        "ticker_lag_p99_ms": round(lag["p99_ms"], 3),
        "ticker_lag_max_ms": round(lag["max_ms"], 3),
        "ticks_skipped": lag["skipped"],
        "cpu_ms_per_call_s": round(window["cpu_s"] * 1000.0 / (held * seconds), 3)
        if held
        else None,
        "server_cpu_share": round(window["cpu_s"] / seconds, 3),
        "rtp_in_per_call_s": round(pps_in, 2),
        "rtp_packets": media,
        "rtp_loss_ratio": round(media["lost"] / received, 6) if received else 0.0,
        "ramp": {
            "seconds": round(ramp["window_s"], 3),
            "calls_bridged": ramp["bridge_ms"]["count"],
            "server_cpu_share": round(ramp["cpu_s"] / ramp["window_s"], 3),
            "bridge_ms_p50": round(ramp["bridge_ms"]["p50"], 2),
            "bridge_ms_p99": round(ramp["bridge_ms"]["p99"], 2),
            "ticker_lag_p99_ms": round(ramp["lag"]["p99_ms"], 3),
        },
        "load_generator_cpu_share": round(load_cpu / seconds, 3),
    }
    why = []
    if failed:
        why.append(f"{failed} failed")
    if held < n:
        why.append(f"only {held} of {n} calls up through the window")
    if pps_in < MIN_PPS_IN:
        why.append(f"{pps_in:.1f} packets/s in per call")
    if media["lost"]:
        why.append(f"{media['lost']} RTP packets lost")
    if lag["p99_ms"] > CLEAN_LAG_P99_MS:
        why.append(f"tick lag p99 {lag['p99_ms']:.1f} ms")
    step["clean"] = not why
    step["not_clean_because"] = why
    return step


def _hang_up(
    bench: Bench,
    server: ServerProcess,
    callers: list[SippCaller],
    start: dict[str, Any],
    phones_at_start: int,
) -> dict[str, Any]:
    """The agents hang up every call; then count every failure of the series, exactly."""
    say(f"hanging up {server.ask('hangup')['calls']} calls ...")
    deadline = time.monotonic() + HANG_UP_WITHIN_S
    outcomes = [c.wait(within_s=max(1.0, deadline - time.monotonic())) for c in callers]
    after = server.wait_idle(30.0)
    time.sleep(PHONES_STATS_S)  # sipp writes its statistics every 200 ms
    events = {k: delta(after["events"], start["events"], k) for k in after["events"]}
    never = max(0, events.get("interaction_created", 0) - events.get("interaction_connected", 0))
    callers_failed = sum(o.failed for o in outcomes)
    phones_failed = bench.phones.failed() - phones_at_start
    return {
        "failed": callers_failed + never + phones_failed,
        "sipp_callers_failed": callers_failed,
        "answered_never_bridged": never,
        "sipp_phones_failed": phones_failed,
        "offers_missed": events.get("offer_missed", 0),
        "calls_left_on_server": after["calls"],
        "sip_retransmissions": delta(after["sip"], start["sip"], "retransmissions_sent"),
    }


# ---- call setup rate -------------------------------------------------------------------------


def setup_steps(
    bench: Bench, server: ServerProcess, rates: tuple[int, ...]
) -> list[dict[str, Any]]:
    results = []
    for rate in rates:
        step = _setup_step(bench, server, rate)
        results.append(step)
        if not step["clean"]:
            break  # saturated: more offered load only takes longer
    return results


def _setup_step(bench: Bench, server: ServerProcess, rate: int) -> dict[str, Any]:
    plan = bench.plan
    calls = round(rate * plan.setup_seconds)
    say(f"setup: {rate} calls/s ...")
    before, phones_failed = server.ask("status"), bench.phones.failed()
    server.ask("begin")
    caller = bench.caller(
        f"setup-{rate}",
        "caller_setup.xml",
        server,
        calls=calls,
        limit=calls,
        rate=rate,
        hold_s=plan.setup_hold_s,
    )
    outcome = caller.wait()
    after = server.wait_idle(30.0)
    window = server.ask("end")
    time.sleep(PHONES_STATS_S)  # sipp writes its statistics every 200 ms
    phones_failed = bench.phones.failed() - phones_failed
    created = delta(after["events"], before["events"], "interaction_created")
    never = max(0, created - delta(after["events"], before["events"], "interaction_connected"))
    failed = outcome.failed + never + phones_failed
    span = float(window["created_span_s"])
    achieved = (created - 1) / span if created > 1 and span > 0 else 0.0
    bridge = window["bridge_ms"]
    step: dict[str, Any] = {
        "offered_cps": rate,
        "calls": calls,
        "achieved_cps": round(achieved, 1),
        "failed": failed,
        "failed_detail": {
            "sipp_callers_failed": outcome.failed,
            "answered_never_bridged": never,
            "sipp_phones_failed": phones_failed,
        },
        "bridge_ms_p50": round(bridge["p50"], 2),
        "bridge_ms_p99": round(bridge["p99"], 2),
        "bridge_ms_max": round(bridge["max"], 2),
        "sipp_answer_ms_mean": outcome.answer_ms,
        "cpu_ms_per_call": round(window["cpu_s"] * 1000.0 / calls, 3),
        "gc_ms_per_call": round(window["gc_s"] * 1000.0 / calls, 3),
        "gc_passes": window["gc_passes"],
        "gc_ms_by_generation": window["gc_ms_by_generation"],
        "server_cpu_share_while_offered": round(
            window["cpu_s"] / (span + plan.setup_hold_s) if span else 0.0, 3
        ),
        "sip_retransmissions": delta(after["sip"], before["sip"], "retransmissions_sent"),
    }
    why = []
    if failed:
        why.append(f"{failed} failed")
    if created < calls:
        why.append(f"only {created} of {calls} calls reached the ACD")
    if achieved < MIN_ARRIVALS * rate:
        why.append(f"calls arrived at {achieved:.0f}/s")
    if bridge["p99"] > BRIDGE_P99_LIMIT_MS:
        why.append(f"created -> connected p99 {bridge['p99']:.0f} ms")
    step["clean"] = not why
    step["not_clean_because"] = why
    say(
        f"setup: {rate}/s: connected p99 {bridge['p99']:.0f} ms, "
        f"{step['cpu_ms_per_call']} CPU ms per call ({step['gc_ms_per_call']} in gc), {_why(why)}"
    )
    return step


# ---- overload --------------------------------------------------------------------------------


def overload_step(bench: Bench, loop: str) -> dict[str, Any]:
    """A fresh server taking C calls is offered 3C calls with media; they hang up by themselves
    once every offer has had its answer."""
    plan = bench.plan
    capacity = plan.overload_capacity
    offered = 3 * capacity
    offer_s = offered / plan.overload_cps
    # each caller hangs up hold_s after its answer: by then even the last admitted call must
    # be bridged, and the ACD sets calls up one after the other (~15 ms of CPU each)
    hold_s = offer_s + 0.015 * capacity + 2.0
    server = bench.server(f"{loop}-overload", loop=loop, max_calls=capacity)
    try:
        say(f"overload: {offered} calls offered to a server taking {capacity} ...")
        before, phones_failed = server.ask("status"), bench.phones.failed()
        server.ask("begin")
        caller = bench.caller(
            "overload",
            "caller.xml",
            server,
            calls=offered,
            limit=offered,
            rate=plan.overload_cps,
            hold_s=hold_s,
        )
        up = server.wait_bridged(capacity, offer_s + 5.0)
        time.sleep(max(0.0, caller.started + offer_s + 1.0 - time.monotonic()))
        window = server.ask("end")  # from the first offer until all are answered and bridged
        outcome = caller.wait()
        after = server.wait_idle(30.0)
        time.sleep(PHONES_STATS_S)
        phones_failed = bench.phones.failed() - phones_failed
    finally:
        server.close()
    events = {k: delta(after["events"], before["events"], k) for k in after["events"]}
    sip = {k: delta(after["sip"], before["sip"], k) for k in after["sip"]}
    admitted, bridged = outcome.answered, events.get("interaction_connected", 0)
    # completed: answered, bridged to an agent, hung up with the BYE answered, nothing failed
    completed = max(0, min(outcome.bye_answered, bridged) - phones_failed)
    result: dict[str, Any] = {
        "capacity": capacity,
        "offered": offered,
        "offered_cps": plan.overload_cps,
        "admitted": admitted,
        "admitted_completed": completed,
        "refused_503": outcome.refused_503,
        "calls_bridged_at_once": up,
        "sipp_callers_failed": outcome.failed,
        "sipp_phones_failed": phones_failed,
        "server_admitted": sip["admitted"],
        "server_refused_503": sip["refused_503"],
        "bridged": bridged,
        "while_offered": {
            "seconds": round(window["window_s"], 3),
            "ticker_lag_p99_ms": round(window["lag"]["p99_ms"], 3),
            "ticker_lag_max_ms": round(window["lag"]["max_ms"], 3),
            "rtp_packets": window["media_all"],
            "server_cpu_share": round(window["cpu_s"] / window["window_s"], 3),
        },
        "sip_retransmissions": sip["retransmissions_sent"],
    }
    result["ok"] = (
        0 < admitted <= capacity
        and completed == admitted
        and admitted + outcome.refused_503 == offered
        and outcome.failed == 0
    )
    say(
        f"overload: admitted {admitted}, completed {completed}, refused with 503 "
        f"{outcome.refused_503}"
    )
    return result
