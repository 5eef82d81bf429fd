"""The fewest agents that meet every staffing target, then the headcount after shrinkage.

Every target here is met by adding agents (service level and answered-call speed improve,
abandonment and occupancy fall as N grows), so the fewest agents meeting all of them is the
largest of the fewest meeting each, and targets cannot conflict: a target is only ever out of
reach. The square-root rule gives the first guess; the exact formulas decide, galloping from
the guess and then bisecting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from callbridge.domain.errors import InvalidInput
from callbridge.domain.staffing.models import (
    Model,
    Performance,
    Workload,
    require_at_least,
    require_fraction,
    require_positive,
)
from callbridge.domain.staffing.performance import performance
from callbridge.domain.staffing.square_root import (
    square_root_agents,
    square_root_agents_for_abandonment,
)

MAX_AGENTS = 1_000_000
TOLERANCE = 1e-12  # a measure this close to its target meets it (rounding, not service)

Missed = Callable[[int], tuple[str, ...]]  # agents -> names of the targets missed


@dataclass(frozen=True, slots=True)
class Targets:
    """What the queue must achieve; at least one target. Fractions are in (0, 1).

    - `service_level`: fraction of offered calls answered within `sl_seconds` (for Erlang A,
      abandoned calls count against it);
    - `max_asa_s`: average speed of answer of answered calls, seconds;
    - `max_abandon`: fraction of callers who hang up before an answer (Erlang A);
    - `max_occupancy`: fraction of agent time on calls.
    """

    service_level: float | None = None
    sl_seconds: float = 20.0
    max_asa_s: float | None = None
    max_abandon: float | None = None
    max_occupancy: float | None = None

    def __post_init__(self) -> None:
        require_at_least(self.sl_seconds, 0.0, "sl_seconds", "the service level time")
        if self.service_level is not None:
            require_fraction(
                self.service_level, "target_sl", "the target service level", upper_inclusive=False
            )
        if self.max_asa_s is not None:
            require_positive(self.max_asa_s, "max_asa", "the maximum ASA")
        if self.max_abandon is not None:
            require_fraction(
                self.max_abandon, "max_abandon", "the maximum abandonment", upper_inclusive=True
            )
        if self.max_occupancy is not None:
            require_fraction(
                self.max_occupancy, "max_occupancy", "the maximum occupancy", upper_inclusive=True
            )
        if (
            self.service_level is None
            and self.max_asa_s is None
            and self.max_abandon is None
            and self.max_occupancy is None
        ):
            raise InvalidInput("give at least one staffing target", field="target_sl")

    def missed(self, perf: Performance) -> tuple[str, ...]:
        """The names of the targets `perf` misses, in a fixed order; () when all are met."""
        missed: list[str] = []
        if self.service_level is not None and perf.service_level < self.service_level - TOLERANCE:
            missed.append("target_sl")
        if self.max_asa_s is not None and perf.asa_s > self.max_asa_s * (1.0 + TOLERANCE):
            missed.append("max_asa")
        if self.max_abandon is not None and perf.p_abandon > self.max_abandon + TOLERANCE:
            missed.append("max_abandon")
        if self.max_occupancy is not None and perf.occupancy > self.max_occupancy + TOLERANCE:
            missed.append("max_occupancy")
        return tuple(missed)


@dataclass(frozen=True, slots=True)
class Staffing:
    """The answer: `agents` on the phones, `scheduled_agents` on the roster after shrinkage.

    `binding` names the targets one agent fewer would miss ("stability" when one fewer would
    leave Erlang C unstable); `first_guess` is the square-root rule's answer.
    """

    agents: int
    scheduled_agents: int
    shrinkage: float
    first_guess: int
    binding: tuple[str, ...]
    performance: Performance


def scheduled_headcount(agents: int, shrinkage: float) -> int:
    """Agents to schedule so that `agents` remain after `shrinkage` (breaks, training, absence):
    the fewest S with S·(1 - shrinkage) ≥ agents, i.e. ceil(agents / (1 - shrinkage)).
    """
    require_at_least(shrinkage, 0.0, "shrinkage", "the shrinkage")
    if shrinkage >= 1.0:
        raise InvalidInput(f"the shrinkage must be below 1, not {shrinkage:g}", field="shrinkage")
    available = 1.0 - shrinkage
    scheduled = math.ceil(agents / available)
    # 14 / 0.7 is 20.000000000000004 in floating point: do not let that cost an agent
    while scheduled > agents and (scheduled - 1) * available >= agents * (1.0 - TOLERANCE):
        scheduled -= 1
    return scheduled


def solve(workload: Workload, targets: Targets, shrinkage: float = 0.0) -> Staffing:
    """The fewest agents for which `workload` meets every one of `targets`.

    Raises InvalidInput naming the field: no calls to staff for, a shrinkage outside [0, 1),
    a load beyond MAX_AGENTS, or a target still missed with MAX_AGENTS agents.
    """
    if workload.calls_per_hour <= 0:
        raise InvalidInput("there are no calls to staff for", field="calls_per_hour")
    scheduled_headcount(1, shrinkage)  # validates the shrinkage before any work
    lowest = math.floor(workload.load) + 1 if workload.model is Model.ERLANG_C else 1
    guess = _first_guess(workload, targets)
    start = max(lowest, guess)
    if start > MAX_AGENTS:
        raise InvalidInput(
            f"this load needs more than {MAX_AGENTS:,} agents: split it into several queues",
            field="calls_per_hour",
        )

    def missed(agents: int) -> tuple[str, ...]:
        return targets.missed(performance(workload, agents, targets.sl_seconds))

    if missed(start):
        failing, meeting = start, _gallop_up(start, missed)
    else:
        failing, meeting = _gallop_down(start, lowest, missed), start
    while meeting - failing > 1:
        middle = (failing + meeting) // 2
        if missed(middle):
            failing = middle
        else:
            meeting = middle
    if meeting > lowest:
        binding = missed(meeting - 1)
    else:  # one agent fewer is not a queue at all (Erlang C unstable, or no agent)
        binding = ("stability",) if workload.model is Model.ERLANG_C else ()
    return Staffing(
        agents=meeting,
        scheduled_agents=scheduled_headcount(meeting, shrinkage),
        shrinkage=shrinkage,
        first_guess=guess,
        binding=binding,
        performance=performance(workload, meeting, targets.sl_seconds),
    )


def _first_guess(workload: Workload, targets: Targets) -> int:
    """Square-root staffing: the largest guess over the service level target (P(wait > t) ~
    1 - SL) and, for Erlang A, the abandonment target; N = R when neither is given."""
    load = workload.load
    ratio = None if workload.patience_s is None else workload.patience_s / workload.aht_s
    guesses = []
    if targets.service_level is not None:
        t_over_aht = targets.sl_seconds / workload.aht_s
        guesses.append(square_root_agents(load, 1.0 - targets.service_level, ratio, t_over_aht))
    if targets.max_abandon is not None and ratio is not None:
        guesses.append(square_root_agents_for_abandonment(load, targets.max_abandon, ratio))
    return max(guesses, default=max(1, math.ceil(load)))


def _gallop_up(start: int, missed: Missed) -> int:
    """Some agent count above `start` that meets the targets (doubling steps)."""
    step = 1
    while True:
        agents = min(start + step, MAX_AGENTS)
        still = missed(agents)
        if not still:
            return agents
        if agents == MAX_AGENTS:
            names = ", ".join(still)
            raise InvalidInput(
                f"even {MAX_AGENTS:,} agents miss {names}: relax that target",
                field=still[0],
            )
        step *= 2


def _gallop_down(start: int, lowest: int, missed: Missed) -> int:
    """An agent count below `start` that misses the targets, or lowest - 1 if none does."""
    step = 1
    while True:
        agents = start - step
        if agents < lowest:
            return lowest - 1
        if missed(agents):
            return agents
        step *= 2
