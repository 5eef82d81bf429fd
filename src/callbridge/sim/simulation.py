"""One replication of a scenario: the real contact center on a virtual clock.

The simulator holds a `ContactCenter` (the domain the server runs), puts arrivals in through
the same change the API applies (`services.interactions.arrival`), and plays the customers
and agents: callers who hang up when their patience runs out, agents who answer after a ring
time and end the call after its handle time. Wrap-up, missed offers, escalation and overflow
are the center's own timers, acted on through `tick()` as they fall due, exactly as the server's
timer loop does. Every event the center tells goes to the `KpiCollector` live reports use.

What it leaves out of the server is only the write-through to the database and the bus: a
simulated day needs no durability.

Counting is by arrival window: arrivals in [start + warm-up, start + duration) are counted,
and the run goes on after the last arrival until every one of them is resolved and wrapped up.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from callbridge.domain.center import ContactCenter
from callbridge.domain.events import Event, InteractionOffered
from callbridge.domain.ids import AgentId, GroupName, InteractionId, QueueId, SkillId
from callbridge.domain.interactions import InteractionState
from callbridge.domain.reporting.kpis import ALL_QUEUES, KpiCollector, KpiReport
from callbridge.services.interactions import NewInteraction, arrival
from callbridge.sim.distributions import Distribution, Stream, exponential
from callbridge.sim.scenario import Scenario

# heap entry kinds, in the order ties at one instant are handled
_SHIFT_START, _ARRIVAL, _ANSWER, _HANG_UP, _ABANDON, _SHIFT_END = range(6)
_QUEUED, _OFFERED = InteractionState.QUEUED, InteractionState.OFFERED
_INF = math.inf
_FOLD_BATCH = 256  # events folded into the KPIs at once
_CALLER = "+15550000000"
_ENTRY = "+18005550100"

# InteractionId(str(n)) without the call to the NewType (a Python call on 3.11): per call
_interaction_id: Callable[[int], InteractionId] = str  # type: ignore[assignment]

Progress = Callable[[float], None]  # share of the simulated time done, 0..1


@dataclass(frozen=True, slots=True)
class ReplicationResult:
    report: KpiReport
    arrivals: int  # every simulated arrival, warm-up included
    counted: int  # arrivals in the counted window
    events: int  # events the center told
    end_s: float  # when the last counted arrival was resolved and wrapped up


class _ArrivalProcess:
    """Poisson arrivals at a piecewise-constant rate, by inverting the cumulative rate.

    The times are worked out a batch of draws at a time, by the same arithmetic in the same
    order as one at a time: `times` holds those not yet taken, the next last (take it with
    `pop()`, and call `refill()` when it is empty). A time at or past `end` (the first one is
    the last handed out) means that no arrival is left.
    """

    __slots__ = ("_constant", "_end", "_i", "_steps", "_unit", "now", "times")

    def __init__(
        self, steps: list[tuple[float, float]], unit: Stream, start: float, end: float
    ) -> None:
        self._steps, self._unit, self._i, self.now, self._end = steps, unit, 0, start, end
        # one step at a positive rate: the loop below always takes its first branch
        self._constant = steps[0][1] if len(steps) == 1 and steps[0][1] > 0 else 0.0
        self.times: list[float] = []

    def next(self) -> float:
        """The next arrival time; at or past the end when none is left before it."""
        times = self.times
        return times.pop() if times else self.refill()

    def refill(self) -> float:
        """Works out the times of the next batch of draws; the first of them."""
        times, end = self.times, self._end
        if self.now >= end:  # the last time handed out was already past the end
            return _INF
        if self._constant:
            t, rate = self.now, self._constant
            for need in self._unit.batch():
                t += need / rate
                times.append(t)
                if t >= end:
                    break
            self.now = t
        else:
            for need in self._unit.batch():
                t = self._invert(need)
                times.append(t)
                if t >= end:
                    break
        times.reverse()
        return times.pop()

    def _invert(self, need: float) -> float:
        """The time at which the cumulative rate has grown by `need` (infinity past `end`)."""
        t, steps, i = self.now, self._steps, self._i
        while True:
            rate = steps[i][1]
            edge = steps[i + 1][0] if i + 1 < len(steps) else math.inf
            if rate > 0 and need <= rate * (edge - t):
                t += need / rate
                break
            if edge == math.inf or edge >= self._end:
                self.now = _INF
                return _INF
            need -= rate * (edge - t)
            t, i = edge, i + 1
        self.now, self._i = t, i
        return t


class Simulation:
    """Runs one replication of `scenario` with the random streams spawned from `seeds`."""

    def __init__(
        self, scenario: Scenario, seeds: np.random.SeedSequence, base_dir: Path = Path()
    ) -> None:
        self.scenario = scenario
        gens = [np.random.Generator(np.random.PCG64(s)) for s in seeds.spawn(4)]
        arrival_gen, handle_gen, patience_gen, ring_gen = gens
        # per arrival stream: what arrives (the same each time), when, handle time, patience
        # (None when nobody abandons: every draw would be infinite)
        self._streams: list[tuple[NewInteraction, _ArrivalProcess, Stream, Stream | None]] = []
        unit = exponential(1.0)
        arrival_seeds = np.random.SeedSequence(arrival_gen.integers(2**63)).spawn(
            len(scenario.arrivals)
        )
        handle_seeds = np.random.SeedSequence(handle_gen.integers(2**63)).spawn(
            len(scenario.arrivals)
        )
        patience_seeds = np.random.SeedSequence(patience_gen.integers(2**63)).spawn(
            len(scenario.arrivals)
        )
        for spec, a_seed, h_seed, p_seed in zip(
            scenario.arrivals, arrival_seeds, handle_seeds, patience_seeds, strict=True
        ):
            process = _ArrivalProcess(
                spec.rate_steps(scenario.begin_s),
                _stream(unit, a_seed),
                scenario.begin_s,
                scenario.end_s,
            )
            self._streams.append(
                (
                    NewInteraction(spec.channel, _CALLER, _ENTRY, QueueId(spec.queue)),
                    process,
                    _stream(spec.handle_time.build(base_dir), h_seed),
                    None
                    if spec.patience.distribution == "none"
                    else _stream(spec.patience.build(base_dir), p_seed),
                )
            )
        self._ring = Stream(scenario.ring_time.build(base_dir), ring_gen)
        self._ring_zero = scenario.ring_time.distribution == "deterministic" and not (
            scenario.ring_time.value_s
        )
        self.center = ContactCenter()
        self.collector = KpiCollector(
            interval_s=scenario.interval_s,
            origin=0.0,
            service_levels={q.id: q.service_level_s for q in scenario.queues},
            count_from=scenario.count_from_s,
            count_until=scenario.end_s,
        )
        # (at, seq, kind, a, b): a and b are the arrival stream's index, or the interaction and
        # the agent, as the kind says
        self._heap: list[tuple[float, int, int, Any, Any]] = []
        # Answers at no ring time, in the order rung (all at the instant they were rung). The
        # run takes the first before the heap's first entry and the first timer, where it
        # would have come out of the heap, and puts them in the heap when something is earlier.
        self._ringing: deque[tuple[float, int, int, Any, Any]] = deque()
        self._seq = 0
        self._end_s = scenario.end_s
        self._handle: dict[str, float] = {}
        self._leaving: set[AgentId] = set()
        self._told: list[Event] = []  # events not yet folded into the KPIs
        self.events = 0
        self.arrivals = 0

    # --- set-up ----------------------------------------------------------------------------

    def _push(self, at: float, kind: int, a: object = "", b: object = "") -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, kind, a, b))

    def _configure(self) -> None:
        begin, center = self.scenario.begin_s, self.center
        for spec in self.scenario.queues:
            self._tell(center.save_queue(spec.to_domain(spec.id), begin))
        for group in self.scenario.agents:
            capacity = dict(group.capacity) if group.capacity is not None else None
            for n in range(1, group.count + 1):
                agent_id = AgentId(f"{group.name}-{n}")
                self._tell(
                    center.save_agent(
                        agent_id,
                        agent_id,
                        {SkillId(s): p for s, p in group.skills.items()},
                        capacity,
                        [GroupName(g) for g in group.groups],
                        begin,
                    )
                )
                for shift in group.shifts or ():
                    self._push(float(shift.start), _SHIFT_START, agent_id)
                    self._push(float(shift.end), _SHIFT_END, agent_id)
                if not group.shifts:
                    self._push(begin, _SHIFT_START, agent_id)
        for index, (_, process, _, _) in enumerate(self._streams):
            at = process.next()
            if at < self._end_s:
                self._push(at, _ARRIVAL, index)

    # --- the run ---------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> ReplicationResult:
        self._configure()
        heap, center = self._heap, self.center
        next_deadline, timers, pop = center.next_deadline, center.timers.heap, heapq.heappop
        arrive, answer, hang_up = self._arrive, self._answer, self._hang_up
        begin, end = self.scenario.begin_s, self.scenario.end_s
        span = end - begin
        next_report = begin if progress is not None else math.inf
        now = begin
        ringing = self._ringing
        while True:
            if (
                ringing
                and (not heap or ringing[0] < heap[0])
                and not (timers and timers[0][0] <= ringing[0][0])
            ):
                # the first answer at no ring time is the next thing, as it would be in the heap
                now, _, kind, a, b = ringing.popleft()
            elif heap and not ringing and (not timers or heap[0][0] < timers[0][0]):
                # The first timer, void or not, falls due no later than the first live one: the
                # next event here comes before it, so there is no need to look for the live one.
                now, _, kind, a, b = pop(heap)
            else:
                if ringing:  # something else comes first: they wait in line with the rest
                    for entry in ringing:
                        heapq.heappush(heap, entry)
                    ringing.clear()
                deadline = timers[0][0] if timers else None
                if deadline is not None and not (heap and heap[0][0] < deadline):
                    deadline = next_deadline()
                if heap and (deadline is None or heap[0][0] < deadline):
                    now, _, kind, a, b = pop(heap)
                elif deadline is not None:
                    now = deadline
                    self._tell(center.tick(now))
                    self._after_tick()
                    continue
                else:
                    break
            if now >= next_report:
                assert progress is not None
                progress(min((now - begin) / span, 1.0))
                next_report = now + span / 200
            # the common kinds first; the heap holds the ids as the center knows them
            if kind == _ARRIVAL:
                arrive(a, now)
            elif kind == _ANSWER:
                answer(a, b, now)
            elif kind == _HANG_UP:
                hang_up(a, b, now)
            elif kind == _ABANDON:
                self._abandon(a, now)
            elif kind == _SHIFT_START:
                self._shift_start(a, now)
            else:
                self._shift_end(a, now)
        if progress is not None:
            progress(1.0)
        self._fold()
        report = self.collector.report(until=max(now, end))
        whole = report.tallies[ALL_QUEUES]
        return ReplicationResult(
            report=report,
            arrivals=self.arrivals,
            counted=whole.offered + whole.open,
            events=self.events,
            end_s=now,
        )

    def _tell(self, events: list[Event]) -> None:
        """Every event goes to the KPIs; an offer rings the agent's phone."""
        told = self._told
        told += events
        if len(told) >= _FOLD_BATCH:
            self._fold()
        for event in events:
            if type(event) is InteractionOffered:
                self._seq += 1
                if self._ring_zero:
                    # answered at once: kept apart from the heap, in the order they were rung
                    self._ringing.append(
                        (event.at, self._seq, _ANSWER, event.interaction_id, event.agent_id)
                    )
                    continue
                heapq.heappush(
                    self._heap,
                    (
                        event.at + self._ring(),
                        self._seq,
                        _ANSWER,
                        event.interaction_id,
                        event.agent_id,
                    ),
                )

    def _fold(self) -> None:
        """The events told so far go to the KPIs, in order. In batches rather than as each
        change is made: nothing reads the KPIs before the end, and the fold runs about twice
        as fast over many events at once as over the three or so of one change."""
        self.events += len(self._told)
        self.collector.observe_all(self._told)
        self._told.clear()
        self.center.closed.clear()  # the server stores these; a simulation keeps no history

    def _arrive(self, index: int, now: float) -> None:
        new, process, handle, patience = self._streams[index]
        self.arrivals += 1
        iid = _interaction_id(self.arrivals)
        draws = handle.draws  # handle(), inline: per call
        self._handle[iid] = draws.pop() if draws else handle()
        self._tell(arrival(new, iid)(self.center, now))
        if patience is not None:
            wait = patience()
            if wait < _INF:
                self._push(now + wait, _ABANDON, iid)
        times = process.times  # process.next(), inline: per call
        at = times.pop() if times else process.refill()
        if at < self._end_s:
            self._seq += 1  # self._push(at, _ARRIVAL, index), inline: per call
            heapq.heappush(self._heap, (at, self._seq, _ARRIVAL, index, ""))

    def _answer(self, iid: InteractionId, agent_id: AgentId, now: float) -> None:
        ix = self.center.interactions.get(iid)
        if ix is None or ix.state is not _OFFERED or ix.agent_id != agent_id:
            return  # the caller hung up while it rang, or the offer timed out
        # self._tell(...): an answer makes no offer, and the next _tell folds in good time
        self._told += self.center.accept(iid, agent_id, now)
        self._seq += 1  # self._push(..., _HANG_UP, iid, agent_id), inline: per call
        heapq.heappush(
            self._heap, (now + self._handle.pop(iid), self._seq, _HANG_UP, iid, agent_id)
        )

    def _hang_up(self, iid: InteractionId, agent_id: AgentId, now: float) -> None:
        self._tell(self.center.end(iid, "agent", now, agent_id))
        if self._leaving:
            self._after_tick()

    def _abandon(self, iid: InteractionId, now: float) -> None:
        ix = self.center.interactions.get(iid)
        if ix is None or ix.state not in (_QUEUED, _OFFERED) or ix.callback_number is not None:
            return
        self._handle.pop(iid, None)
        self._tell(self.center.end(iid, "customer", now))

    def _shift_start(self, agent_id: AgentId, now: float) -> None:
        self._leaving.discard(agent_id)
        agent = self.center.agents[agent_id]
        if agent.logged_in_at is None:
            self._tell(self.center.login(agent_id, now))
        self._tell(self.center.set_ready(agent_id, now))

    def _shift_end(self, agent_id: AgentId, now: float) -> None:
        agent = self.center.agents[agent_id]
        if agent.logged_in_at is None:
            return
        if agent.work:  # finishes what it holds, takes nothing new
            self._tell(self.center.set_not_ready(agent_id, "end of shift", now))
            self._leaving.add(agent_id)
        else:
            self._tell(self.center.logout(agent_id, now))

    def _after_tick(self) -> None:
        """Agents at the end of their shift log out once their last work is wrapped up."""
        for agent_id in list(self._leaving):
            agent = self.center.agents[agent_id]
            if not agent.work:
                self._leaving.discard(agent_id)
                now = agent.idle_since if agent.idle_since is not None else 0.0
                self._tell(self.center.logout(agent_id, now))


def _stream(dist: Distribution, seed: np.random.SeedSequence) -> Stream:
    return Stream(dist, np.random.Generator(np.random.PCG64(seed)))
