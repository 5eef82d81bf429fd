"""The contact center's KPIs, folded from the event stream: one code for live reports and the
simulator.

Feed every event in order to `KpiCollector.observe` (domain events from the simulator) or
`observe_logged` (rows of the event log), then ask for `report()`. What is counted, and how:

- An interaction is counted in the queue it *arrived* in and the interval it arrived in
  (counted by arrival window), once its outcome is known: answered (an agent accepted it) or
  not (the customer left, or the system ended it: voicemail, disconnect). Arrivals still open
  are reported as `open`, not counted in the rates.
- Wait is from arrival in the queue to the agent's answer (ring time included, as callers hear
  it); for those who leave, to when they left. `delayed` means it was not offered to an agent at
  the instant it arrived, or that offer was missed (it waited in line).
- Service level is answered within the queue's target over all counted arrivals (abandoners
  count against it); `service_level_excl` leaves out those who left within the target.
- Occupancy is the agents' working time (from offer to wrap-up done, on any interaction, also
  one that arrived before the window) over their working plus Ready idle time: Not Ready time
  is not staffed time. Time is split at interval boundaries.
- Queue length is the time-averaged number waiting in line over the interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from callbridge.domain.events import (
    AgentPresenceChanged,
    Event,
    InteractionConnected,
    InteractionCreated,
    InteractionEnded,
    InteractionOffered,
    InteractionQueued,
    InteractionTransferred,
    InteractionWrappedUp,
    OfferMissed,
    WrapUpStarted,
)

ALL_QUEUES = "*"
DEFAULT_INTERVAL_S = 900.0
DEFAULT_SERVICE_LEVEL_S = 20.0


@dataclass(slots=True)
class Tally:
    """Sums for one queue (or all) in one interval; `Kpis` derives the rates from them."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    other_unanswered: int = 0  # ended by the system (voicemail, disconnect) before an answer
    answered_within_sl: int = 0
    abandoned_within_sl: int = 0
    delayed: int = 0
    wait_answered_s: float = 0.0
    wait_all_s: float = 0.0
    handled: int = 0
    handle_s: float = 0.0
    open: int = 0
    waiting_s: float = 0.0  # integral of the number waiting over time
    busy_s: float = 0.0  # agents' working time
    staffed_s: float = 0.0  # agents' working plus Ready idle time

    def add(self, other: Tally) -> None:
        # Field by field rather than by name through getattr and setattr: a report adds each
        # tally three times, at the end of every simulated day (a test checks all are here).
        self.offered += other.offered
        self.answered += other.answered
        self.abandoned += other.abandoned
        self.other_unanswered += other.other_unanswered
        self.answered_within_sl += other.answered_within_sl
        self.abandoned_within_sl += other.abandoned_within_sl
        self.delayed += other.delayed
        self.wait_answered_s += other.wait_answered_s
        self.wait_all_s += other.wait_all_s
        self.handled += other.handled
        self.handle_s += other.handle_s
        self.open += other.open
        self.waiting_s += other.waiting_s
        self.busy_s += other.busy_s
        self.staffed_s += other.staffed_s


@dataclass(frozen=True, slots=True)
class Kpis:
    """The rates a supervisor reads; None where there is nothing to divide by."""

    offered: int
    answered: int
    abandoned: int
    open: int
    service_level: float | None
    service_level_excl: float | None
    p_wait: float | None
    p_abandon: float | None
    asa_s: float | None
    mean_wait_s: float | None
    aht_s: float | None
    occupancy: float | None
    avg_waiting: float | None

    @classmethod
    def of(cls, t: Tally, span_s: float | None) -> Kpis:
        counted = t.offered

        def ratio(a: float, b: float) -> float | None:
            return a / b if b else None

        return cls(
            offered=counted,
            answered=t.answered,
            abandoned=t.abandoned,
            open=t.open,
            service_level=ratio(t.answered_within_sl, counted),
            service_level_excl=ratio(t.answered_within_sl, counted - t.abandoned_within_sl),
            p_wait=ratio(t.delayed, counted),
            p_abandon=ratio(t.abandoned, counted),
            asa_s=ratio(t.wait_answered_s, t.answered),
            mean_wait_s=ratio(t.wait_all_s, counted),
            aht_s=ratio(t.handle_s, t.handled),
            occupancy=ratio(t.busy_s, t.staffed_s),
            avg_waiting=ratio(t.waiting_s, span_s) if span_s else None,
        )


@dataclass(frozen=True, slots=True)
class IntervalKpis:
    start: float
    queue_id: str  # ALL_QUEUES for the whole center
    kpis: Kpis


@dataclass(frozen=True, slots=True)
class KpiReport:
    """Per interval and queue (and for the whole center), and over the whole span."""

    interval_s: float
    start: float
    end: float
    intervals: list[IntervalKpis]
    overall: dict[str, Kpis]  # by queue id, and ALL_QUEUES
    tallies: dict[str, Tally]  # the sums behind `overall`, for pooling replications


@dataclass(slots=True)
class _Contact:
    queue_id: str
    arrived_at: float
    bucket: int
    sl_s: float
    counted: bool = True
    waiting_in: str | None = None
    first_offer_at: float | None = None
    answered_at: float | None = None
    holder: str | None = None
    connected: bool = False
    resolved: bool = False
    missed: bool = False  # an offer lapsed before anyone answered


@dataclass(slots=True)
class _AgentClock:
    since: float
    ready: bool = False
    work: int = 0


@dataclass(slots=True)
class _Line:
    since: float
    waiting: int = 0


@dataclass(slots=True)
class KpiCollector:
    """Folds events into tallies. `service_levels` gives each queue's target in seconds.

    Intervals are `interval_s` long from `origin` (the simulator's start of day, or the epoch
    for live reports, so intervals line up with the clock).
    """

    interval_s: float = DEFAULT_INTERVAL_S
    origin: float = 0.0
    service_levels: Mapping[str, float] = field(default_factory=dict)
    # Arrivals before `count_from` or from `count_until` on (a simulation's warm-up and its
    # drain) are followed but not counted, and time-based sums are clipped to the window.
    count_from: float = -math.inf
    count_until: float = math.inf
    tallies: dict[tuple[int, str], Tally] = field(default_factory=dict)
    _contacts: dict[str, _Contact] = field(default_factory=dict)
    _agents: dict[str, _AgentClock] = field(default_factory=dict)
    _lines: dict[str, _Line] = field(default_factory=dict)
    _first: float | None = None
    _last: float = 0.0

    # --- feeding -------------------------------------------------------------------------

    def observe(self, event: Event) -> None:
        """One domain event, as the center told it (the simulator's path)."""
        self.observe_all((event,))

    def observe_all(self, events: Sequence[Event]) -> None:
        """Domain events in the order the center told them (the simulator feeds every batch
        the center returns through here).

        This runs for every simulated event, so the steps of an interaction's usual life are
        taken here, in one loop over local names, and the handlers (`_on_*`, which the event
        log's rows go through) only for the rarer cases. Both do the same arithmetic in the
        same order: a report is the same to the last bit whichever way the events came in.
        """
        if not events:
            return
        if self._first is None:
            self._first = events[0].at
        contacts, lines, tallies, agents = self._contacts, self._lines, self.tallies, self._agents
        origin, width = self.origin, self.interval_s
        low, high = self.count_from, self.count_until
        for event in events:
            at = event.at
            if type(event) is InteractionQueued:
                iid, queue_id = event.interaction_id, event.queue_id
                contact = contacts.get(iid)
                if contact is None:
                    if event.reason != "arrival":
                        continue  # arrived before the window opened
                    contact = contacts[iid] = _Contact(
                        queue_id,
                        at,
                        math.floor((at - origin) / width),  # self._bucket(at)
                        self.service_levels.get(queue_id, DEFAULT_SERVICE_LEVEL_S),
                        low <= at < high,
                    )
                else:
                    self._leave_line(contact, at)
                line = lines.get(queue_id)
                if line is None or line.waiting:
                    line = self._line(queue_id, at)
                else:  # nobody in line: self._line(queue_id, at) accrues nothing
                    line.since = at
                line.waiting += 1
                contact.waiting_in = queue_id
            elif type(event) is InteractionOffered:
                iid = event.interaction_id
                contact = contacts.get(iid)
                if contact is None:  # arrived before the window (or never queued): only work
                    contact = contacts[iid] = _Contact("", at, self._bucket(at), 0.0, False)
                waiting_in = contact.waiting_in
                if waiting_in is not None:  # self._leave_line(contact, at)
                    line = lines.get(waiting_in)
                    if line is None or line.since != at:
                        line = self._line(waiting_in, at)
                    line.waiting -= 1
                    contact.waiting_in = None
                if contact.first_offer_at is None:
                    contact.first_offer_at = at
                agent_id = event.agent_id
                clock = agents.get(agent_id)
                if clock is None or clock.since == at:  # a new clock, or no time to accrue
                    self._agent(agent_id, at).work += 1
                else:  # self._agent(...), inline (twice per call)
                    start, working = clock.since, clock.work > 0
                    if working or clock.ready:
                        bucket = math.floor((start - origin) / width)
                        if low <= start and at <= high and at <= origin + (bucket + 1) * width:
                            tally = tallies.get((bucket, ALL_QUEUES))
                            if tally is None:
                                tally = tallies[(bucket, ALL_QUEUES)] = Tally()
                            tally.staffed_s += at - start
                            if working:
                                tally.busy_s += at - start
                        else:
                            self._accrue_agent(clock, at, tallies)
                    clock.since = at
                    clock.work += 1
                contact.holder, contact.connected = agent_id, False
            elif type(event) is InteractionConnected:
                contact = contacts.get(event.interaction_id)
                if contact is None:
                    continue
                contact.connected = True
                if contact.answered_at is None:
                    contact.answered_at = at
                    contact.resolved = True
                    if not contact.counted:
                        continue
                    key = (contact.bucket, contact.queue_id)  # _tally(...)
                    tally = tallies.get(key)
                    if tally is None:
                        tally = tallies[key] = Tally()
                    wait = at - contact.arrived_at
                    tally.offered += 1
                    tally.answered += 1
                    tally.wait_answered_s += wait
                    tally.wait_all_s += wait
                    if wait <= contact.sl_s:
                        tally.answered_within_sl += 1
                    offered_at = contact.first_offer_at
                    if offered_at is None or offered_at > contact.arrived_at or contact.missed:
                        tally.delayed += 1
            elif type(event) is InteractionEnded:
                contact = contacts.get(event.interaction_id)
                # An agent ending an answered call changes nothing here: wrap-up follows.
                if contact is not None and (
                    contact.waiting_in is not None
                    or contact.holder is None
                    or not contact.connected
                    or contact.answered_at is None
                ):
                    self._on_ended(at, event.interaction_id, event.by)
            elif type(event) is InteractionWrappedUp:
                contact = contacts.pop(event.interaction_id, None)
                if contact is None:
                    continue
                holder = contact.holder
                if holder is not None:  # self._release(contact, at)
                    clock = agents.get(holder)
                    if clock is None or clock.since == at:  # a new clock, or no time to accrue
                        self._agent(holder, at).work -= 1
                    else:  # self._agent(...), inline (twice per call)
                        start, working = clock.since, clock.work > 0
                        if working or clock.ready:
                            bucket = math.floor((start - origin) / width)
                            if low <= start and at <= high and at <= origin + (bucket + 1) * width:
                                tally = tallies.get((bucket, ALL_QUEUES))
                                if tally is None:
                                    tally = tallies[(bucket, ALL_QUEUES)] = Tally()
                                tally.staffed_s += at - start
                                if working:
                                    tally.busy_s += at - start
                            else:
                                self._accrue_agent(clock, at, tallies)
                        clock.since = at
                        clock.work -= 1
                    contact.holder = None
                if contact.answered_at is not None and contact.counted:
                    key = (contact.bucket, contact.queue_id)  # _tally(...)
                    tally = tallies.get(key)
                    if tally is None:
                        tally = tallies[key] = Tally()
                    tally.handled += 1
                    tally.handle_s += at - contact.answered_at
            elif type(event) is InteractionCreated or type(event) is WrapUpStarted:
                continue  # nothing to count: the queueing and the wrap-up's end are what count
            elif type(event) is AgentPresenceChanged:
                self._on_presence(at, event.agent_id, event.presence)
            elif type(event) is OfferMissed or type(event) is InteractionTransferred:
                self._on_released(at, event.interaction_id)
        self._last = events[-1].at

    def observe_logged(
        self, kind: str, at: float, interaction_id: str | None, payload: Mapping[str, object]
    ) -> None:
        """One row of the event log, its payload being the event's fields (the live path)."""
        handler = _HANDLERS.get(kind)
        if handler is not None:
            agent = payload.get("agent_id") or payload.get("from_agent_id")
            queue = payload.get("queue_id")
            detail = payload.get(_DETAIL.get(kind, ""))
            handler(
                self,
                at,
                interaction_id or "",
                agent if isinstance(agent, str) else None,
                queue if isinstance(queue, str) else None,
                detail if isinstance(detail, str) else None,
            )
        self._seen(at)

    def _seen(self, at: float) -> None:
        self._last = at
        if self._first is None:
            self._first = at

    def seed_agent(
        self,
        agent_id: str,
        *,
        ready: bool,
        working: int,
        at: float,
        held: Mapping[str, bool] | None = None,
    ) -> None:
        """The state of an agent when the window opens (live reports start mid-day).

        `held` names the interactions behind `working` (id -> connected; False while it still
        rings), so that releasing them within the window ends that work; work not named there
        is held to the end.
        """
        held = held or {}
        if len(held) > working:
            raise ValueError(f"agent {agent_id} holds {len(held)} interactions, not {working}")
        self._agents[agent_id] = _AgentClock(at, ready, working)
        for iid, connected in held.items():
            self._contacts[iid] = _Contact(
                "", at, self._bucket(at), 0.0, False, holder=agent_id, connected=connected
            )

    # --- reading -------------------------------------------------------------------------

    def report(self, until: float | None = None, since: float | None = None) -> KpiReport:
        """The KPIs so far. Time-based sums (occupancy, queue length) run to `until`; queue
        length is averaged from `since` (default: the first event seen)."""
        end = self._last if until is None else max(until, self._last)
        tallies = {key: _copy(t) for key, t in self.tallies.items()}
        for agent in self._agents.values():
            self._accrue_agent(agent, end, tallies)
        for queue_id, line in self._lines.items():
            self._accrue_line(queue_id, line, end, tallies)
        for contact in self._contacts.values():
            if not contact.resolved and contact.counted:
                _tally(tallies, contact.bucket, contact.queue_id).open += 1
        start = self._first if self._first is not None else self.origin
        if since is not None:
            start = since if self._first is None else min(since, self._first)
        first_bucket = self._bucket(start)
        last_bucket = self._bucket(end)
        by_interval: dict[tuple[int, str], Tally] = {}
        overall: dict[str, Tally] = {ALL_QUEUES: Tally()}
        for (bucket, queue_id), tally in tallies.items():
            by_interval.setdefault((bucket, queue_id), Tally()).add(tally)
            overall.setdefault(queue_id, Tally()).add(tally)
            if queue_id != ALL_QUEUES:  # agents' time is kept under ALL_QUEUES already
                by_interval.setdefault((bucket, ALL_QUEUES), Tally()).add(tally)
                overall[ALL_QUEUES].add(tally)
        intervals = [
            IntervalKpis(
                self.origin + bucket * self.interval_s,
                queue_id,
                Kpis.of(tally, self._span(bucket, start, end)),
            )
            for (bucket, queue_id), tally in sorted(by_interval.items())
            if first_bucket <= bucket <= last_bucket or tally.offered or tally.open
        ]
        span = end - start
        return KpiReport(
            interval_s=self.interval_s,
            start=start,
            end=end,
            intervals=intervals,
            overall={q: Kpis.of(t, span) for q, t in sorted(overall.items())},
            tallies=overall,
        )

    # --- bookkeeping ---------------------------------------------------------------------

    def _bucket(self, at: float) -> int:
        return math.floor((at - self.origin) / self.interval_s)

    def _span(self, bucket: int, start: float, end: float) -> float:
        lo = max(start, self.origin + bucket * self.interval_s)
        hi = min(end, self.origin + (bucket + 1) * self.interval_s)
        return max(hi - lo, 0.0)

    def _spread(
        self,
        tallies: dict[tuple[int, str], Tally],
        queue_id: str,
        start: float,
        end: float,
        weight: float,
        attr: str,
    ) -> None:
        """Add `weight` times the time in [start, end) to `attr`, split at interval bounds."""
        start, end = max(start, self.count_from), min(end, self.count_until)
        if end <= start or weight == 0:
            return
        bucket = self._bucket(start)
        while start < end:
            edge = self.origin + (bucket + 1) * self.interval_s
            stop = min(edge, end)
            tally = _tally(tallies, bucket, queue_id)
            setattr(tally, attr, getattr(tally, attr) + weight * (stop - start))
            start, bucket = stop, bucket + 1

    def _accrue_agent(
        self, agent: _AgentClock, now: float, tallies: dict[tuple[int, str], Tally]
    ) -> None:
        working = agent.work > 0
        if not (working or agent.ready):
            return
        start = agent.since
        if self.count_from <= start and now <= self.count_until:
            # the common case, once per agent event: the span lies inside one interval
            bucket = math.floor((start - self.origin) / self.interval_s)
            if now <= self.origin + (bucket + 1) * self.interval_s:
                tally = tallies.get((bucket, ALL_QUEUES))  # _tally(...), inline: per event
                if tally is None:
                    tally = tallies[(bucket, ALL_QUEUES)] = Tally()
                tally.staffed_s += now - start
                if working:
                    tally.busy_s += now - start
                return
        # As _spread(..., "busy_s") and _spread(..., "staffed_s") with a weight of 1 (which
        # changes no bit), both in one pass: each sum gets the same terms in the same order.
        start, end = max(start, self.count_from), min(now, self.count_until)
        bucket = math.floor((start - self.origin) / self.interval_s)
        while start < end:
            stop = min(self.origin + (bucket + 1) * self.interval_s, end)
            tally = tallies.get((bucket, ALL_QUEUES))
            if tally is None:
                tally = tallies[(bucket, ALL_QUEUES)] = Tally()
            if working:
                tally.busy_s += stop - start
            tally.staffed_s += stop - start
            start, bucket = stop, bucket + 1

    def _accrue_line(
        self, queue_id: str, line: _Line, now: float, tallies: dict[tuple[int, str], Tally]
    ) -> None:
        start, weight = line.since, float(line.waiting)
        if self.count_from <= start and now <= self.count_until and weight:
            # the common case, as in _accrue_agent: the span lies inside one interval
            if now <= start:
                return
            bucket = math.floor((start - self.origin) / self.interval_s)
            if now <= self.origin + (bucket + 1) * self.interval_s:
                _tally(tallies, bucket, queue_id).waiting_s += weight * (now - start)
                return
        self._spread(tallies, queue_id, start, now, weight, "waiting_s")

    def _agent(self, agent_id: str, at: float) -> _AgentClock:
        """The agent's clock, its time accrued up to `at`."""
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = self._agents[agent_id] = _AgentClock(at)
        elif agent.since != at:
            start, working = agent.since, agent.work > 0
            if working or agent.ready:
                # self._accrue_agent(agent, at, self.tallies), its common case inline: a span
                # inside the window and inside one interval (once per agent event)
                bucket = math.floor((start - self.origin) / self.interval_s)
                if (
                    self.count_from <= start
                    and at <= self.count_until
                    and at <= self.origin + (bucket + 1) * self.interval_s
                ):
                    tally = self.tallies.get((bucket, ALL_QUEUES))
                    if tally is None:
                        tally = self.tallies[(bucket, ALL_QUEUES)] = Tally()
                    tally.staffed_s += at - start
                    if working:
                        tally.busy_s += at - start
                else:
                    self._accrue_agent(agent, at, self.tallies)
            agent.since = at
        return agent

    def _line(self, queue_id: str, at: float) -> _Line:
        line = self._lines.get(queue_id)
        if line is None:
            line = self._lines[queue_id] = _Line(at)
        elif line.since != at:
            if line.waiting:
                self._accrue_line(queue_id, line, at, self.tallies)
            line.since = at
        return line

    def _leave_line(self, contact: _Contact, at: float) -> None:
        if contact.waiting_in is not None:
            self._line(contact.waiting_in, at).waiting -= 1
            contact.waiting_in = None

    def _release(self, contact: _Contact, at: float) -> None:
        if contact.holder is not None:
            self._agent(contact.holder, at).work -= 1
            contact.holder = None

    # --- the events ----------------------------------------------------------------------
    # Each takes only the fields it needs: `observe_all` reads them from a domain event,
    # `_HANDLERS` from a row of the event log.

    def _on_presence(self, at: float, agent_id: str | None, presence: str | None) -> None:
        if agent_id is not None:
            self._agent(agent_id, at).ready = presence == "ready"

    def _on_queued(self, at: float, iid: str, queue_id: str | None, reason: str | None) -> None:
        if queue_id is None:
            return
        contact = self._contacts.get(iid)
        if contact is None:
            if reason != "arrival":
                return  # arrived before the window opened
            sl = self.service_levels.get(queue_id, DEFAULT_SERVICE_LEVEL_S)
            counted = self.count_from <= at < self.count_until
            bucket = math.floor((at - self.origin) / self.interval_s)  # self._bucket(at)
            contact = _Contact(queue_id, at, bucket, sl, counted)
            self._contacts[iid] = contact
        else:
            self._leave_line(contact, at)
        self._line(queue_id, at).waiting += 1
        contact.waiting_in = queue_id

    def _on_offered(
        self, at: float, iid: str, agent_id: str | None, queue_id: str | None = None
    ) -> None:
        if agent_id is None:
            return
        contact = self._contacts.get(iid)
        if contact is None:  # arrived before the window (or never queued): only its work counts
            contact = self._contacts[iid] = _Contact(
                queue_id or "", at, self._bucket(at), 0.0, False
            )
        if contact.waiting_in is not None:  # self._leave_line(contact, at), inline: per call
            self._line(contact.waiting_in, at).waiting -= 1
            contact.waiting_in = None
        if contact.first_offer_at is None:
            contact.first_offer_at = at
        self._agent(agent_id, at).work += 1
        contact.holder, contact.connected = agent_id, False

    def _on_released(self, at: float, iid: str) -> None:
        """A missed offer or a transfer: the agent no longer holds it."""
        contact = self._contacts.get(iid)
        if contact is not None:
            self._release(contact, at)
            if contact.answered_at is None:  # a miss; a transfer comes after the answer
                contact.missed = True

    def _on_connected(self, at: float, iid: str) -> None:
        contact = self._contacts.get(iid)
        if contact is None:
            return
        contact.connected = True
        if contact.answered_at is None:
            contact.answered_at = at
            contact.resolved = True
            if not contact.counted:
                return
            key = (contact.bucket, contact.queue_id)  # _tally(...), inline: per call
            tally = self.tallies.get(key)
            if tally is None:
                tally = self.tallies[key] = Tally()
            wait = at - contact.arrived_at
            tally.offered += 1
            tally.answered += 1
            tally.wait_answered_s += wait
            tally.wait_all_s += wait
            if wait <= contact.sl_s:
                tally.answered_within_sl += 1
            first = contact.first_offer_at
            if first is None or first > contact.arrived_at or contact.missed:
                tally.delayed += 1

    def _on_ended(self, at: float, iid: str, by: str | None) -> None:
        contact = self._contacts.get(iid)
        if contact is None:
            return
        if contact.waiting_in is not None:  # the caller left the line
            self._leave_line(contact, at)
        if contact.holder is not None and not contact.connected:
            self._release(contact, at)  # the customer hung up while it rang at the agent
        if contact.answered_at is None and contact.counted:
            tally = _tally(self.tallies, contact.bucket, contact.queue_id)
            wait = at - contact.arrived_at
            tally.offered += 1
            tally.wait_all_s += wait
            tally.delayed += 1
            if by == "customer":
                tally.abandoned += 1
                if wait <= contact.sl_s:
                    tally.abandoned_within_sl += 1
            else:
                tally.other_unanswered += 1
        if contact.holder is None:
            del self._contacts[iid]

    def _on_wrapped_up(self, at: float, iid: str) -> None:
        contact = self._contacts.pop(iid, None)
        if contact is None:
            return
        if contact.holder is not None:  # self._release(contact, at), inline: per call
            self._agent(contact.holder, at).work -= 1
            contact.holder = None
        if contact.answered_at is not None and contact.counted:
            key = (contact.bucket, contact.queue_id)  # _tally(...), inline: per call
            tally = self.tallies.get(key)
            if tally is None:
                tally = self.tallies[key] = Tally()
            tally.handled += 1
            tally.handle_s += at - contact.answered_at


def _tally(tallies: dict[tuple[int, str], Tally], bucket: int, queue_id: str) -> Tally:
    tally = tallies.get((bucket, queue_id))
    if tally is None:
        tally = tallies[(bucket, queue_id)] = Tally()
    return tally


def _copy(t: Tally) -> Tally:
    copy = Tally()
    copy.add(t)
    return copy


# An event log row, as (at, interaction id, agent id, queue id, detail), where detail is the
# presence, the queueing reason, or who ended it.
Handler = Callable[[KpiCollector, float, str, str | None, str | None, str | None], None]
_HANDLERS: dict[str, Handler] = {
    AgentPresenceChanged.kind: lambda c, at, _i, a, _q, d: c._on_presence(at, a, d),
    InteractionQueued.kind: lambda c, at, i, _a, q, d: c._on_queued(at, i, q, d),
    InteractionOffered.kind: lambda c, at, i, a, q, _d: c._on_offered(at, i, a, q),
    OfferMissed.kind: lambda c, at, i, _a, _q, _d: c._on_released(at, i),
    InteractionConnected.kind: lambda c, at, i, _a, _q, _d: c._on_connected(at, i),
    InteractionTransferred.kind: lambda c, at, i, _a, _q, _d: c._on_released(at, i),
    InteractionEnded.kind: lambda c, at, i, _a, _q, d: c._on_ended(at, i, d),
    InteractionWrappedUp.kind: lambda c, at, i, _a, _q, _d: c._on_wrapped_up(at, i),
}
# The field each kind's detail comes from, in the event log's payloads.
_DETAIL = {
    AgentPresenceChanged.kind: "presence",
    InteractionQueued.kind: "reason",
    InteractionEnded.kind: "by",
}
