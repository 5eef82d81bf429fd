"""Erlang A (Palm's M/M/N+M): Poisson arrivals, exponential handle times and patience.

The number of callers in the system is a birth-death chain: up at rate λ, down at rate
min(n, N)μ + (n - N)⁺θ. Its stationary law is computed relative to the states up to N, whose
shape is Erlang B's (so B(N, A) carries them without factorials), and a queue tail

    r_k = Π_{j=1..k} λ / (Nμ + jθ),   k callers waiting,

summed in log space until what is left is below 1e-17 of the total. The tail terms eventually
shrink geometrically, so the sum converges for any load: Erlang A is always stable.

Arrivals see the stationary law (PASTA). An arrival finding k callers waiting takes position
m = k + 1. At position i it moves up at rate Nμ + (i - 1)θ and hangs up at rate θ, so it stays
there an Exp(Nμ + iθ) time whatever happens next, and is answered with probability
Nμ / (Nμ + mθ) (the product telescopes).
"""

from __future__ import annotations

import math

import numpy as np

from callbridge.domain.errors import InvalidInput
from callbridge.domain.staffing.erlang import erlang_b
from callbridge.domain.staffing.models import (
    Model,
    Performance,
    probability,
    require_agents,
    require_at_least,
    require_positive,
)
from callbridge.domain.staffing.uniformization import FloatArray, exits_by

NEGLIGIBLE = 1e-17  # queue-tail mass, relative to the largest term, that may be left out
MAX_POSITIONS = 4_000_000  # a longer stationary queue is not a staffing question any more


def erlang_a_performance(
    arrival_rate: float, aht: float, agents: int, patience: float, sl_seconds: float
) -> Performance:
    """Erlang A measures for `arrival_rate` calls per second, handle time `aht` seconds and a
    mean patience of `patience` seconds, with service levels at `sl_seconds`.

    P(wait), P(abandon), ASA of answered calls and occupancy come from the stationary law; the
    mean wait of all callers from Little's law on the queue (E[queue]/λ); the time-t measures
    (answered within t, virtual wait within t, abandoned within t) by uniformization.
    """
    require_at_least(arrival_rate, 0.0, "arrival_rate", "the arrival rate")
    require_positive(aht, "aht", "the average handle time")
    require_positive(patience, "patience", "the mean patience")
    require_agents(agents)
    require_at_least(sl_seconds, 0.0, "sl_seconds", "the service level time")
    load = arrival_rate * aht
    blocking = erlang_b(agents, load)
    if blocking == 0.0:
        # no calls, or all agents busy with a probability below the smallest float
        return _nobody_waits(agents, load / agents, sl_seconds)

    theta = 1.0 / patience
    served_rate = agents / aht  # Nμ: answers per second while everyone is busy
    log_tail = _queue_log_profile(arrival_rate, served_rate, theta)
    top = float(log_tail.max())
    log_tail_sum = top + math.log(float(np.exp(log_tail - top).sum()))
    log_blocking = math.log(blocking)
    # mass of the states below N relative to state N is (1 - B)/B; 1 - B is 0 only if B rounds to 1
    log_below = math.log1p(-blocking) if blocking < 1.0 else -math.inf
    log_norm = float(np.logaddexp(log_below, log_blocking + log_tail_sum))

    queued = np.exp(log_blocking + log_tail - log_norm)  # P(an arrival finds k waiting)
    p_no_wait = math.exp(log_below - log_norm)
    position = np.arange(1, len(queued) + 1, dtype=np.float64)
    leave_rate = served_rate + position * theta  # out of position m, either way
    p_answer_from = served_rate / leave_rate

    p_wait = float(queued.sum())
    p_answered_late = float((queued * p_answer_from).sum())
    p_abandon = float((queued * position * theta / leave_rate).sum())
    p_answered = p_no_wait + p_answered_late
    wait_if_answered = np.cumsum(1.0 / leave_rate)  # Σ_{i ≤ m} 1/(Nμ + iθ)
    asa = float((queued * p_answer_from * wait_if_answered).sum()) / p_answered
    mean_queue = float(((position - 1.0) * queued).sum())
    # busy agents: Erlang B's carried load over the states up to N, then all N
    busy = load * (1.0 - blocking) * math.exp(-log_norm) + agents * float(queued[1:].sum())

    advance = served_rate + (position - 1.0) * theta
    exits = exits_by(queued, advance, theta, sl_seconds)
    virtual = exits_by(queued, advance, 0.0, sl_seconds)
    return Performance(
        model=Model.ERLANG_A,
        agents=agents,
        p_wait=probability(p_wait),
        p_abandon=probability(p_abandon),
        asa_s=asa,
        mean_wait_s=mean_queue / arrival_rate,
        service_level=probability(p_no_wait + exits.served),
        service_level_virtual=probability(p_no_wait + virtual.served),
        occupancy=probability(busy / agents),
        p_abandon_within_t=probability(exits.abandoned),
        sl_seconds=sl_seconds,
    )


def _nobody_waits(agents: int, occupancy: float, sl_seconds: float) -> Performance:
    return Performance(
        model=Model.ERLANG_A,
        agents=agents,
        p_wait=0.0,
        p_abandon=0.0,
        asa_s=0.0,
        mean_wait_s=0.0,
        service_level=1.0,
        service_level_virtual=1.0,
        occupancy=occupancy,
        p_abandon_within_t=0.0,
        sl_seconds=sl_seconds,
    )


def _queue_log_profile(arrival_rate: float, served_rate: float, theta: float) -> FloatArray:
    """log r_k for k = 0, 1, ..., K - 1, cut where the rest of the tail is negligible.

    Built in growing chunks: past k > (λ - Nμ)/θ the ratio q_k = λ/(Nμ + kθ) is below 1 and
    falling, so the rest of the tail is at most r_K·q/(1 - q).
    """
    log_lam = math.log(arrival_rate)
    chunks = [np.zeros(1)]
    last = top = 0.0
    size = 1024
    done = 0
    while True:
        j = np.arange(done + 1, done + size + 1, dtype=np.float64)
        logs = last + np.cumsum(log_lam - np.log(served_rate + j * theta))
        chunks.append(logs)
        done += size
        last = float(logs[-1])
        top = max(top, float(logs.max()))
        q = arrival_rate / (served_rate + (done + 1) * theta)
        if q < 1.0 and last + math.log(q) - math.log1p(-q) < top + math.log(NEGLIGIBLE):
            break
        if done >= MAX_POSITIONS:
            raise InvalidInput(
                f"with a mean patience this long the queue would hold over {MAX_POSITIONS:,} "
                "callers: add agents or give a shorter patience",
                field="patience",
            )
        size *= 2
    profile = np.concatenate(chunks)
    # drop the far tail that is negligible anyway: it only slows the time-t sums down
    keep = np.nonzero(profile >= top + math.log(NEGLIGIBLE))[0]
    return profile[: int(keep[-1]) + 1]
