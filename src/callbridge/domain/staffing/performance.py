"""One entry point for "how does this queue perform with N agents?", whichever the model."""

from __future__ import annotations

from callbridge.domain.staffing.erlang import erlang_c_performance
from callbridge.domain.staffing.erlang_a import erlang_a_performance
from callbridge.domain.staffing.models import Performance, Workload


def performance(workload: Workload, agents: int, sl_seconds: float = 20.0) -> Performance:
    """Steady-state measures of `workload` served by `agents` agents, service level at
    `sl_seconds`: Erlang C when the workload has no patience, Erlang A otherwise.

    Raises InvalidInput (field "agents") for Erlang C with agents at or below the load.
    """
    if workload.patience_s is None:
        return erlang_c_performance(workload.arrival_rate, workload.aht_s, agents, sl_seconds)
    return erlang_a_performance(
        workload.arrival_rate, workload.aht_s, agents, workload.patience_s, sl_seconds
    )
