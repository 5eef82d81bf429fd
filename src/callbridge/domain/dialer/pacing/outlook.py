"""The predictive model: over the next few seconds, how many agents will be free and how many of
the calls ringing will be answered live, and so what a new call risks.

Time ahead is cut into a grid of cells covering the span in which a call dialled now could be
answered live. For each cell the model forms

- demand D(t): live answers by t from the calls in flight; a call dialled `a` seconds ago and
  still ringing answers live in (a, a + t] with chance
  p (F_L(a + t) - F_L(a)) / (p (1 - F_L(a)) + (1 - p)(1 - F_F(a)))
  (F_L: time to a live answer, F_F: time a failed attempt holds the line, p: live share), so
  a call that has rung long without an answer counts for less, and not at all once it is past
  every live answer seen;
- supply S(t + grace): ready agents (less calls already waiting), plus each agent in wrap-up
  or talking with its chance to be free by then, from its elapsed time and the campaign's wrap
  and talk histograms.

A new call answered live at t is abandoned when demand already covers supply: P(D(t) >= S(t +
grace)). It also takes an agent that a later answer of an earlier call would have had: when
D(v) >= S(v + grace) at some later v, some call is abandoned that would not have been. The
risk of a call answered at t is therefore the largest of those chances over v >= t, averaged
over when the call is answered. Calls placed in the same decision count against each other.
Sums of independent chances go through `counts.at_least`.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from callbridge.domain.dialer.pacing.counts import Array, at_least
from callbridge.domain.dialer.pacing.estimates import CampaignEstimates, Histogram
from callbridge.domain.dialer.pacing.state import PacingState

MAX_CELLS = 30
AGE_WIDTH = 0.5
WRAP_WIDTH = 0.25
TALK_WIDTH = 5.0
MAX_TALK_ROWS = 720  # an hour of talk; longer calls use the last row
SPREAD = 3.0  # supply uncertainty: standard deviations kept as possible extra agents


@dataclass(frozen=True, slots=True)
class Tables:
    """The model's probabilities, precomputed from the estimates (rebuilt on a cadence)."""

    step: float
    cells: Array  # times ahead: the middle of each cell
    weights: Array  # share of a new call's live answers in each cell
    answered_before: Array  # chance another new call is answered live before each cell
    live_rate: float
    grace: float
    demand: Array  # [age row, cell]: a ringing call's chance of a live answer by then
    demand_var: Array
    wrap_free: Array  # [elapsed row, cell]: an agent in wrap-up free by cell + grace
    wrap_var: Array
    talk_free: Array  # [elapsed row, cell]: a talking agent free by cell + grace
    talk_var: Array
    handle_s: float  # mean talk plus wrap-up: how long an agent takes per live answer

    @property
    def horizon(self) -> float:
        return float(self.cells[-1] + self.step / 2)


def build_tables(estimates: CampaignEstimates, grace_s: float) -> Tables:
    """The model's tables for the campaign's current estimates."""
    p = estimates.live_rate
    live, failed = estimates.live_ring, estimates.failed_ring
    span = max(live.quantile(0.999), AGE_WIDTH)
    cells_n = min(MAX_CELLS, max(1, math.ceil(span / AGE_WIDTH)))
    step = span / cells_n
    edges = np.arange(cells_n + 1, dtype=np.float64) * step
    cells = edges[:-1] + step / 2
    mass = np.diff(live.cdf(edges))
    weights = mass / mass.sum() if mass.sum() > 0 else np.full(cells_n, 1.0 / cells_n)

    ages = (np.arange(live.bins, dtype=np.float64) + 0.5) * AGE_WIDTH
    live_by = live.cdf(ages)
    pending = p * (1.0 - live_by) + (1.0 - p) * (1.0 - failed.cdf(ages))
    ahead = live.cdf(ages[:, None] + cells[None, :]) - live_by[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        demand = np.where(pending[:, None] > 1e-9, p * ahead / pending[:, None], 0.0)
    demand = np.clip(demand, 0.0, 1.0)

    reach = cells + grace_s
    wrap_rows = min(estimates.wrap.bins, math.ceil(estimates.wrap.quantile(1.0) / WRAP_WIDTH) + 1)
    wrap_free = _free_after(estimates.wrap, WRAP_WIDTH, reach, rows=wrap_rows)
    talk_free = _talk_free(estimates.talk, estimates.wrap, reach)
    return Tables(
        step,
        cells,
        weights,
        p * live.cdf(cells),
        p,
        grace_s,
        demand,
        demand * (1.0 - demand),
        wrap_free,
        wrap_free * (1.0 - wrap_free),
        talk_free,
        talk_free * (1.0 - talk_free),
        estimates.talk.mean() + estimates.wrap.mean(),
    )


def _free_after(hist: Histogram, width: float, reach: Array, rows: int) -> Array:
    """[row, cell]: P(duration <= e + reach | duration > e), e the row's elapsed time. An agent
    past every duration seen is not counted on: nothing says when they will be free."""
    elapsed = (np.arange(rows, dtype=np.float64) + 0.5) * width
    done = hist.cdf(elapsed)
    later = hist.cdf(elapsed[:, None] + reach[None, :])
    left = 1.0 - done
    with np.errstate(divide="ignore", invalid="ignore"):
        table = np.where(left[:, None] > 1e-6, (later - done[:, None]) / left[:, None], 0.0)
    result: Array = np.clip(table, 0.0, 1.0)
    return result


def _talk_free(talk: Histogram, wrap: Histogram, reach: Array) -> Array:
    """[row, cell]: a talking agent's chance to end the call and the wrap-up within `reach`."""
    rows = min(MAX_TALK_ROWS, max(1, math.ceil(talk.quantile(0.999) / TALK_WIDTH) + 1))
    elapsed = (np.arange(rows, dtype=np.float64) + 0.5) * TALK_WIDTH
    wrap_edges = (
        np.arange(math.ceil(float(reach[-1]) / WRAP_WIDTH) + 1, dtype=np.float64) * WRAP_WIDTH
    )
    wrap_mass = np.diff(wrap.cdf(wrap_edges))
    wrap_mid = wrap_edges[:-1] + WRAP_WIDTH / 2
    done = talk.cdf(elapsed)
    left = 1.0 - done
    # talk must end by reach - w for a wrap-up of w: [row, cell, wrap bin]
    budget = reach[None, :, None] - wrap_mid[None, None, :]
    ended = talk.cdf(elapsed[:, None, None] + np.maximum(budget, 0.0))
    gained = np.where(budget > 0, ended - done[:, None, None], 0.0)
    free = np.einsum("rcw,w->rc", gained, wrap_mass)
    with np.errstate(divide="ignore", invalid="ignore"):
        table = np.where(left[:, None] > 1e-6, free / left[:, None], 0.0)
    result: Array = np.clip(table, 0.0, 1.0)
    return result


def _rows(since: Collection[float], now: float, width: float, rows: int) -> Array:
    """How many agents or calls sit in each elapsed-time row."""
    if not since:
        return np.zeros(rows, dtype=np.float64)
    elapsed = now - np.fromiter(since, dtype=np.float64, count=len(since))
    index = np.minimum((np.maximum(elapsed, 0.0) / width).astype(np.int64), rows - 1)
    counts: Array = np.bincount(index, minlength=rows).astype(np.float64)
    return counts


FIRST_BLOCK = 4  # new calls assessed together with the state's reading


@dataclass(frozen=True, slots=True)
class View:
    """The model applied to one state: per cell, the count an answer must not reach to find an
    agent (`need`), and the demand-and-supply count (`mean`, `var`) it is compared with."""

    tables: Tables
    mean: Array
    var: Array
    need: Array
    agents_free: float
    live_in_flight: float
    abandons_in_flight: float
    first_risks: Array  # risks of new calls 0 .. FIRST_BLOCK - 1

    def risks(self, first: int, count: int) -> Array:
        """The abandonment risk (if answered live) of new calls number first .. first+count-1
        placed now, each with the earlier ones of the batch placed alongside it."""
        if first + count <= len(self.first_risks):
            head: Array = self.first_risks[first : first + count]
            return head
        return _risks(_shortfall(self, first, count), self.tables.weights)


def _shortfall(reading: View | _Reading, first: int, count: int) -> Array:
    """[call, cell]: the chance that demand covers supply when new call first+i is answered."""
    t = reading.tables
    others = np.arange(first, first + count, dtype=np.float64)[:, None]
    before = t.answered_before[None, :]
    return at_least(
        reading.mean[None, :] + others * before,
        reading.var[None, :] + others * before * (1.0 - before),
        reading.need[None, :] + 0.0 * others,
    )


def _risks(shortfall: Array, weights: Array) -> Array:
    # an answer at t also takes the agent of a later answer when the system runs short at any
    # v >= t: the largest shortfall chance from t onwards
    worst = np.maximum.accumulate(shortfall[:, ::-1], axis=1)[:, ::-1]
    result: Array = worst @ weights
    return result


@dataclass(frozen=True, slots=True)
class _Reading:
    tables: Tables
    mean: Array
    var: Array
    need: Array


def view(tables: Tables, state: PacingState) -> View:
    """The model's reading of `state`."""
    t = tables
    calls = _rows(state.in_flight, state.now, AGE_WIDTH, t.demand.shape[0])
    demand = calls @ t.demand
    demand_var = calls @ t.demand_var
    wraps = _rows(state.wrapping_since, state.now, WRAP_WIDTH, t.wrap_free.shape[0])
    talks = _rows(state.talking_since, state.now, TALK_WIDTH, t.talk_free.shape[0])
    supply = wraps @ t.wrap_free + talks @ t.talk_free
    supply_var = wraps @ t.wrap_var + talks @ t.talk_var
    # count supply as room up to a generous bound less the agents not yet free, so one count
    # (demand plus agents still busy) is compared with one threshold
    room = np.ceil(supply + SPREAD * np.sqrt(supply_var) - 1e-9)
    reading = _Reading(
        t, demand + room - supply, demand_var + supply_var, (state.ready - state.waiting) + room
    )
    shortfall = _shortfall(reading, 0, FIRST_BLOCK)
    arriving = np.diff(demand, prepend=0.0)
    return View(
        t,
        reading.mean,
        reading.var,
        reading.need,
        agents_free=float(state.ready - state.waiting + supply[-1]),
        live_in_flight=float(demand[-1]),
        abandons_in_flight=float(arriving @ shortfall[0]),
        first_risks=_risks(shortfall, t.weights),
    )
