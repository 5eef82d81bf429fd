"""Erlang B and Erlang C (M/M/N), exact and stable for any number of agents.

No factorials and no powers: Erlang B comes from the recursion B(n) = A·B(n-1) / (n + A·B(n-1)),
whose terms stay in [0, 1], and Erlang C from B. Loads are in Erlang (arrival rate x handle time).
"""

from __future__ import annotations

import math

from callbridge.domain.errors import InvalidInput
from callbridge.domain.staffing.models import (
    Model,
    Performance,
    probability,
    require_agents,
    require_at_least,
    require_positive,
)


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of M/M/N/N: `agents` servers, `load` Erlang offered, no queue."""
    require_agents(agents)
    require_at_least(load, 0.0, "load", "the offered load")
    b = 1.0
    for n in range(1, agents + 1):
        ab = load * b
        b = ab / (n + ab)
    return b


def erlang_c(agents: int, load: float) -> float:
    """P(wait) in M/M/N: the probability that a caller finds all `agents` busy.

    Needs agents > load (a stable queue); raises InvalidInput naming `agents` otherwise.
    """
    check_stable(agents, load)
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1.0 - b))


def check_stable(agents: int, load: float) -> None:
    """Erlang C has a steady state only when the agents outnumber the offered load."""
    require_agents(agents)
    require_at_least(load, 0.0, "load", "the offered load")
    if agents <= load:
        raise InvalidInput(
            f"{agents} agents cannot keep up with an offered load of {load:.4g} Erlang: "
            f"Erlang C needs at least {math.floor(load) + 1} agents; "
            "or give a mean patience to model callers who hang up (Erlang A)",
            field="agents",
        )


def erlang_c_performance(
    arrival_rate: float, aht: float, agents: int, sl_seconds: float
) -> Performance:
    """Erlang C measures for `arrival_rate` calls per second, handle time `aht` seconds.

    ASA = C·AHT/(N - A); SL(t) = 1 - C·exp(-(N - A)t/AHT); occupancy = A/N.
    """
    require_at_least(arrival_rate, 0.0, "arrival_rate", "the arrival rate")
    require_positive(aht, "aht", "the average handle time")
    require_at_least(sl_seconds, 0.0, "sl_seconds", "the service level time")
    load = arrival_rate * aht
    p_wait = erlang_c(agents, load)
    spare = agents - load
    asa = p_wait * aht / spare
    service_level = 1.0 - p_wait * math.exp(-spare * sl_seconds / aht)
    return Performance(
        model=Model.ERLANG_C,
        agents=agents,
        p_wait=probability(p_wait),
        p_abandon=0.0,
        asa_s=asa,
        mean_wait_s=asa,
        service_level=probability(service_level),
        service_level_virtual=probability(service_level),
        occupancy=probability(load / agents),
        p_abandon_within_t=0.0,
        sl_seconds=sl_seconds,
    )
