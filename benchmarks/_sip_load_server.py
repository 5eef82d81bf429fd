"""The server under test for `benchmarks/sip_load.py`: the real Callbridge voice path in one
process, driven over stdin/stdout by the benchmark. Not meant to be run by hand.

What runs is what `callbridge serve` runs, minus the HTTP listener: `app.build(settings)` with
SIP on, and the API's lifespan (the ACD's timer loop, the webhook dispatcher, the built-in CRM's
activity outbox worker and the voice task: SIP endpoint, registrar, media engine, gateway).
Logging goes to a file at INFO, as JSON, as in production. Before it says it is ready, it
creates one queue (entry point `load`, wrap-up 0, offer timeout 15 s) and N agents, logs them
in, makes them Ready, and binds each agent's address-of-record to the benchmark's agent phone
(one sipp process) straight in the location service. That registration is set-up: it is not
part of any measurement, and no REGISTER crosses the wire.

Protocol: one JSON object per line. The first line out is `{"ready": ...}` with the SIP port.
Then each line in is a command and each gets one line out:
- `status`: calls up now (`bridged`: both legs answered), SIP counters, event counts so far;
- `begin`: start a measurement window (CPU time, the media clock's lag, per-call RTP counts);
- `end`: close it and report the window;
- `hangup`: the agents hang up every bridged call (the REST API's use case, `do_end`, at most
  `HANGUP_RATE` a second so the loop stays responsive), the system ends any call not yet
  bridged, until none is left; the gateway sends the BYEs;
- `quit`: stop (also on end of input).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import resource
import signal
import sys
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import asdict, dataclass
from dataclasses import fields as field_names
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
from pydantic import SecretStr

from callbridge.adapters.telephony.gateway import VoiceGateway
from callbridge.adapters.telephony.media.loop import install_event_loop, running_loop_name
from callbridge.adapters.telephony.media.session import RtpSession
from callbridge.adapters.telephony.voice import Voice
from callbridge.app import App, build
from callbridge.domain.center import ContactCenter
from callbridge.domain.errors import CallbridgeError
from callbridge.domain.events import Event
from callbridge.domain.ids import AgentId, QueueId, SkillId
from callbridge.domain.queues import Queue, SkillRequirement, WrapUpPolicy
from callbridge.domain.telephony.registrations import ContactRequest, Register
from callbridge.logging import configure_logging
from callbridge.services import interactions as svc
from callbridge.services import queues as queue_svc
from callbridge.services.security.crypto import Keyring
from callbridge.settings import Settings

ENTRY_POINT = "load"
SKILL = SkillId("load")
HANGUP_RATE = 200.0  # calls ended per second by `hangup`
RTP_PORTS = (20000, 29999)  # 5,000 port pairs: two sessions a call


def settings_for(args: argparse.Namespace, work: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{work / 'callbridge.db'}",
        admin_token=SecretStr("b" * 32),
        keys=SecretStr(Keyring.generate().to_json()),
        log_level=args.log_level,
        sip_enabled=True,
        sip_port=0,
        sip_transports=("udp",),
        rtp_port_min=RTP_PORTS[0],
        rtp_port_max=RTP_PORTS[1],
        sip_max_calls=args.max_calls,
        sip_max_call_rate=args.max_call_rate,
        voice_entry_points={ENTRY_POINT: ENTRY_POINT},
        voice_cache_dir=work / "audio",
        voice_record_calls=args.record,
        voice_recordings_dir=work / "recordings",
    )


def agent_id(i: int) -> AgentId:
    return AgentId(f"agent{i:05d}")


def staff(app: App, agents: int) -> None:
    """One queue and `agents` agents logged in and Ready, in three transactions."""
    rt = app.runtime
    queue_svc.do_save_queue(
        rt,
        Queue(
            id=QueueId(ENTRY_POINT),
            name="Load",
            requirements=(SkillRequirement(SKILL, 1),),
            offer_timeout_s=15.0,
            wrap_up=WrapUpPolicy(duration_s=0.0),
        ),
    )
    ids = [agent_id(i) for i in range(agents)]

    def save(center: ContactCenter, now: float) -> list[Event]:
        events: list[Event] = []
        for a in ids:
            events += center.save_agent(a, str(a), {SKILL: 5}, None, (), now)
        return events

    def log_in(center: ContactCenter, now: float) -> list[Event]:
        events: list[Event] = []
        for a in ids:
            events += center.login(a, now)
            events += center.set_ready(a, now)
        return events

    rt.apply(save)
    rt.apply(log_in)


def bind_phones(voice: Voice, agents: int, phone_host: str, phone_port: int) -> None:
    """Every agent's AOR bound to the one sipp process playing all the phones."""
    now = voice.endpoint.clock()
    for i in range(agents):
        aor = str(agent_id(i))
        voice.registrations.register(
            Register(
                aor=aor,
                call_id=f"bench-{aor}",
                cseq=1,
                contacts=(ContactRequest(f"sip:{aor}@{phone_host}:{phone_port}"),),
                expires=3600,
                source=f"udp:{phone_host}:{phone_port}",
            ),
            now,
            agent_id(i),
        )


@dataclass(frozen=True)
class LegCounts:
    """RTP packets of one call's two legs, as our sessions counted them."""

    caller_in: int  # from the caller (sipp's rtp_stream)
    to_agent: int  # relayed to the agent's phone
    agent_in: int  # from the agent's phone (sipp's echo)
    to_caller: int  # relayed back to the caller
    lost: int  # RFC 3550 cumulative loss seen on both legs

    def minus(self, other: LegCounts) -> LegCounts:
        return LegCounts(
            *(a - b for a, b in zip(asdict(self).values(), asdict(other).values(), strict=True))
        )


LEG_FIELDS = tuple(f.name for f in field_names(LegCounts))


def media_counts(gateway: VoiceGateway) -> dict[str, LegCounts]:
    """Per bridged call (keyed by interaction id), what its two sessions counted so far."""
    counts: dict[str, LegCounts] = {}
    for iid, call in gateway.calls.items():
        leg = call.leg
        if leg is None or leg.dialog is None or call.closed:
            continue
        caller, agent = _stats(call.caller_media), _stats(leg.media)
        counts[iid] = LegCounts(
            caller_in=caller[0],
            to_agent=agent[1],
            agent_in=agent[0],
            to_caller=caller[1],
            lost=caller[2] + agent[2],
        )
    return counts


def _stats(session: RtpSession) -> tuple[int, int, int]:
    stats = session.stats()
    return stats.packets_received, stats.packets_relayed, stats.packets_lost


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class GcTimer:
    """Time spent in the garbage collector's passes, by generation (a `gc.callbacks` entry)."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.passes = [0, 0, 0]
        self._started = 0.0
        gc.callbacks.append(self._on_pass)

    def _on_pass(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            generation = info["generation"]
            self.seconds[generation] += time.perf_counter() - self._started
            self.passes[generation] += 1

    def snapshot(self) -> tuple[list[float], list[int]]:
        return list(self.seconds), list(self.passes)


class Sampler:
    """Where the CPU goes, without cProfile's cost per function call (which inflates code made
    of many small calls several times): every millisecond of CPU time (SIGPROF) the running
    stack is sampled, each function counted once per sample (inclusive) and the innermost
    one alone (exclusive)."""

    def __init__(self) -> None:
        self.samples = 0
        self.inclusive: Counter[str] = Counter()
        self.exclusive: Counter[str] = Counter()

    def start(self) -> None:
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, 0.001, 0.001)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)

    def _sample(self, _signum: int, frame: FrameType | None) -> None:
        self.samples += 1
        seen: set[str] = set()
        innermost = True
        while frame is not None:
            code = frame.f_code
            name = f"{code.co_filename.rsplit('/site-packages/', 1)[-1]}:{code.co_name}"
            if innermost:
                self.exclusive[name] += 1
                innermost = False
            if name not in seen:
                seen.add(name)
                self.inclusive[name] += 1
            frame = frame.f_back

    def write(self, path: Path, top: int = 150) -> None:
        def table(counts: Counter[str]) -> list[str]:
            return [
                f"{n / self.samples:7.1%} {n:7d}  {name}" for name, n in counts.most_common(top)
            ]

        lines = [f"{self.samples} samples of 1 ms of CPU time", "", "inclusive:"]
        lines += [*table(self.inclusive), "", "exclusive:", *table(self.exclusive)]
        path.write_text("\n".join(lines) + "\n")


class Server:
    def __init__(self, app: App, voice: Voice, tg: asyncio.TaskGroup) -> None:
        self.app, self.voice, self._tg = app, voice, tg
        self._tasks: set[asyncio.Task[None]] = set()
        self.events: Counter[str] = Counter()
        self.bridge_ms: list[float] = []  # since `begin`: interaction created -> connected
        self._created: dict[str, float] = {}
        self._created_span: tuple[float, float] | None = None  # first and last since `begin`
        self._window: tuple[float, float, dict[str, LegCounts], dict[str, int]] | None = None
        self.gc = GcTimer()
        self._gc_at_begin = self.gc.snapshot()

    async def count_events(self) -> None:
        """Tally the event log's kinds and time each call from created to connected, both
        stamped on arrival here (the bus delivers in order, right after each commit)."""
        async for event in self.app.bus.subscribe():
            kind, iid = event.kind, event.interaction_id
            self.events[kind] += 1
            if iid is None:
                continue
            if kind == "interaction_created":
                now = self._created[iid] = time.monotonic()
                first = self._created_span[0] if self._created_span else now
                self._created_span = (first, now)
            elif kind == "interaction_connected" and iid in self._created:
                self.bridge_ms.append((time.monotonic() - self._created.pop(iid)) * 1000.0)
            elif kind == "interaction_ended":
                self._created.pop(iid, None)

    def status(self) -> dict[str, Any]:
        calls = self.voice.gateway.calls.values()
        return {
            "calls": len(calls),
            "bridged": sum(1 for c in calls if c.leg is not None and c.leg.dialog is not None),
            "sip": self.voice.endpoint.counters.snapshot(),
            "events": dict(self.events),
            "cpu_s": cpu_s(),
        }

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = self._tg.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def hangup(self) -> dict[str, Any]:
        self.spawn(self._hang_up())
        return {"calls": len(self.voice.gateway.calls)}

    async def _hang_up(self) -> None:
        """End every call: the agent's hang-up for a bridged one, the system's for one still
        waiting or ringing; again for calls that came up meanwhile, until none is left."""
        gateway, counters = self.voice.gateway, self.voice.endpoint.counters
        deadline = time.monotonic() + 60.0
        while (gateway.calls or counters.active_dialogs) and time.monotonic() < deadline:
            for iid, call in list(gateway.calls.items()):
                leg = call.leg
                bridged = leg is not None and leg.dialog is not None
                with contextlib.suppress(CallbridgeError):  # it ended meanwhile
                    if bridged and leg is not None:
                        svc.do_end(self.app.runtime, iid, "agent", leg.agent_id)
                    else:
                        svc.do_end(self.app.runtime, iid, "system")
                await asyncio.sleep(1.0 / HANGUP_RATE)
            await asyncio.sleep(0.2)

    def begin(self) -> dict[str, Any]:
        self.voice.media.clock.reset_lag()
        self.bridge_ms, self._created_span = [], None
        counts = media_counts(self.voice.gateway)
        self._window = (time.monotonic(), cpu_s(), counts, dict(self.events))
        self._gc_at_begin = self.gc.snapshot()
        return {"calls": len(counts)}

    def end(self) -> dict[str, Any]:
        assert self._window is not None, "end without begin"
        started, cpu, before, events = self._window
        window, used = time.monotonic() - started, cpu_s() - cpu
        lag = self.voice.media.lag_stats()
        after = media_counts(self.voice.gateway)
        both = [after[iid].minus(before[iid]) for iid in before.keys() & after.keys()]
        # calls bridged during the window count from their start
        every = [c.minus(before[iid]) if iid in before else c for iid, c in after.items()]
        total = {name: sum(getattr(c, name) for c in both) for name in LEG_FIELDS}
        (gc_s, gc_passes), (gc_s0, gc_passes0) = self.gc.snapshot(), self._gc_at_begin
        return {
            "window_s": window,
            "cpu_s": used,
            # the garbage collector's share of cpu_s, and its passes by generation
            "gc_s": sum(gc_s) - sum(gc_s0),
            "gc_passes": [a - b for a, b in zip(gc_passes, gc_passes0, strict=True)],
            "gc_ms_by_generation": [
                round((a - b) * 1000.0, 2) for a, b in zip(gc_s, gc_s0, strict=True)
            ],
            "lag": asdict(lag),
            "calls_at_begin": len(before),
            "calls_at_end": len(after),
            "calls_throughout": len(both),
            "media": total,  # calls up from `begin` to `end`
            "media_all": {name: sum(getattr(c, name) for c in every) for name in LEG_FIELDS},
            "bridge_ms": _percentiles(self.bridge_ms),
            "created_span_s": self._created_span[1] - self._created_span[0]
            if self._created_span
            else 0.0,
            "events": {k: v - events.get(k, 0) for k, v in self.events.items()},
        }


async def serve(args: argparse.Namespace) -> None:
    work = Path(args.work)
    with (work / "server.log").open("a") as log_file:
        configure_logging(args.log_level, json=True, stream=log_file)
        await _serve(args, work)


async def _serve(args: argparse.Namespace, work: Path) -> None:
    started = time.monotonic()
    profiler = None if args.profile is None else cProfile.Profile()
    sampler = None if args.sample is None else Sampler()
    app = build(settings_for(args, work))
    voice = app.voice
    assert voice is not None
    try:
        staff(app, args.agents)
        host, port = args.phone.rsplit(":", 1)
        bind_phones(voice, args.agents, host, int(port))
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        async with app.api.router.lifespan_context(app.api), asyncio.TaskGroup() as tg:
            server = Server(app, voice, tg)
            server.spawn(server.count_events())
            await asyncio.wait_for(voice.started.wait(), 30)
            if profiler is not None:  # from ready on: the start-up is not what is measured
                profiler.enable()
            if sampler is not None:
                sampler.start()
            _say(
                {
                    "ready": True,
                    "sip_port": voice.port,
                    "event_loop": running_loop_name(),
                    "agents": args.agents,
                    "setup_s": round(time.monotonic() - started, 3),
                }
            )
            while line := (await reader.readline()).decode().strip():
                if line == "quit":
                    break
                commands = {
                    "status": server.status,
                    "begin": server.begin,
                    "end": server.end,
                    "hangup": server.hangup,
                }
                _say(commands[line]())
            server.stop()
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        if sampler is not None:
            sampler.stop()
            sampler.write(Path(args.sample))
        app.close()


def _percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"count": 0, "p50": 0.0, "p99": 0.0, "max": 0.0}
    p50, p99 = np.percentile(values, [50, 99])
    return {"count": len(values), "p50": float(p50), "p99": float(p99), "max": max(values)}


def _say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", required=True, help="directory for the database and logs")
    parser.add_argument("--agents", type=int, default=1200)
    parser.add_argument("--phone", required=True, help="HOST:PORT of the agents' phone (sipp)")
    parser.add_argument("--max-calls", type=int, help="admission: concurrent calls (none)")
    parser.add_argument("--max-call-rate", type=float, help="admission: calls/s (none)")
    parser.add_argument("--record", action="store_true", help="record every call (WAV)")
    parser.add_argument("--loop", default="asyncio", choices=("asyncio", "uvloop"))
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--profile", help="cProfile statistics from ready on, to this file")
    parser.add_argument("--sample", help="sampled CPU profile from ready on, to this text file")
    args = parser.parse_args()
    name = install_event_loop(prefer_uvloop=args.loop == "uvloop")
    if name != args.loop:
        raise SystemExit(f"{args.loop} is not installed")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
