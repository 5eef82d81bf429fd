"""The simulator, running the real engine, against exact queueing theory.

Single-skill M/M/N and M/M/N+M scenarios must agree with the Erlang C and Erlang A calculators
within 3 standard errors (across replications) on P(wait), ASA, service level and P(abandon).
Seeds are fixed, so a run is reproducible; a failure means a real disagreement.
"""

from __future__ import annotations

import pytest
from sim_support import run, single_queue, within, z_score

from callbridge.domain.reporting.kpis import ALL_QUEUES
from callbridge.domain.staffing.models import Workload
from callbridge.domain.staffing.performance import performance

KPIS = (("p_wait", "p_wait"), ("asa_s", "asa_s"), ("service_level", "service_level"))


@pytest.mark.parametrize("agents", [12, 14])
def test_mmn_agrees_with_erlang_c(agents: int) -> None:
    result = run(single_queue(agents=agents))
    exact = performance(Workload(200, 180), agents, 20)
    sim = result.overall[ALL_QUEUES]
    for simulated, analytic in KPIS:
        expected = getattr(exact, analytic)
        assert within(sim[simulated], expected), (simulated, z_score(sim[simulated], expected))
    assert sim["p_abandon"].mean == 0
    # occupancy is a long-run time average, so it agrees too
    assert within(sim["occupancy"], exact.occupancy)


@pytest.mark.parametrize(("agents", "patience_s"), [(12, 180.0), (10, 300.0)])
def test_mmn_plus_m_agrees_with_erlang_a(agents: int, patience_s: float) -> None:
    result = run(single_queue(agents=agents, patience_s=patience_s))
    exact = performance(Workload(200, 180, patience_s), agents, 20)
    sim = result.overall[ALL_QUEUES]
    for simulated, analytic in (*KPIS, ("p_abandon", "p_abandon")):
        expected = getattr(exact, analytic)
        assert within(sim[simulated], expected), (simulated, z_score(sim[simulated], expected))
    assert sim["p_abandon"].mean is not None and sim["p_abandon"].mean > 0.01
    # Little's law on the line: P(abandon) = theta * E[wait of all callers]
    assert within(sim["mean_wait_s"], exact.mean_wait_s)


def test_a_wrong_staffing_is_told_apart() -> None:
    """The check has teeth: 13 agents' results do not pass for 14 agents' theory."""
    sim = run(single_queue(agents=13)).overall[ALL_QUEUES]
    exact14 = performance(Workload(200, 180), 14, 20)
    assert not within(sim["p_wait"], exact14.p_wait)
    assert not within(sim["asa_s"], exact14.asa_s)
