"""Staffing math: Erlang B, C and A measures, exact at any size, and the fewest agents that meet
a set of targets. Pure functions; rates per second and times in seconds unless a name says
otherwise (a `Workload` counts calls per hour)."""

from callbridge.domain.staffing.erlang import (
    check_stable,
    erlang_b,
    erlang_c,
    erlang_c_performance,
)
from callbridge.domain.staffing.erlang_a import erlang_a_performance
from callbridge.domain.staffing.models import Model, Performance, Workload
from callbridge.domain.staffing.performance import performance
from callbridge.domain.staffing.solver import Staffing, Targets, scheduled_headcount, solve
from callbridge.domain.staffing.square_root import (
    garnett_p_wait,
    halfin_whitt_p_wait,
    square_root_agents,
)

__all__ = [
    "Model",
    "Performance",
    "Staffing",
    "Targets",
    "Workload",
    "check_stable",
    "erlang_a_performance",
    "erlang_b",
    "erlang_c",
    "erlang_c_performance",
    "garnett_p_wait",
    "halfin_whitt_p_wait",
    "performance",
    "scheduled_headcount",
    "solve",
    "square_root_agents",
]
