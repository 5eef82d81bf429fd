"""The exact modes: progressive, power, preview, agentless."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from callbridge.domain.dialer.decisions import PacingReason
from callbridge.domain.dialer.modes import AgentlessAction, AgentlessSettings, PowerSettings
from callbridge.domain.dialer.pacing.progressive import agentless, power, preview, progressive
from callbridge.domain.dialer.pacing.state import PacingState


def test_progressive_gives_each_uncommitted_ready_agent_one_call() -> None:
    d = progressive(PacingState(10.0, ready=3, waiting=0, in_flight=(8.0,)))
    assert (d.dial, d.reason) == (2, PacingReason.READY_AGENTS)
    assert d.inputs.in_flight == 1 and d.at == 10.0
    covered = progressive(PacingState(10.0, ready=2, waiting=1, in_flight=(8.0,)))
    assert (covered.dial, covered.reason) == (0, PacingReason.AGENTS_COVERED)
    assert progressive(PacingState(10.0, ready=0)).reason is PacingReason.NO_AGENTS


@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_progressive_never_has_more_calls_up_than_ready_agents(
    ready: int, waiting: int, ringing: int
) -> None:
    state = PacingState(0.0, ready, waiting, in_flight=(0.0,) * ringing)
    d = progressive(state)
    assert d.dial >= 0
    if d.dial:
        assert waiting + ringing + d.dial == ready


def test_power_dials_a_fixed_ratio_of_lines_per_ready_agent() -> None:
    settings = PowerSettings(lines_per_agent=2.5)
    assert power(PacingState(0.0, ready=4), settings).dial == 10
    assert power(PacingState(0.0, ready=4, in_flight=(0.0,) * 7), settings).dial == 3
    assert power(PacingState(0.0, ready=0), settings).reason is PacingReason.NO_AGENTS


def test_preview_leaves_every_call_to_the_agent() -> None:
    d = preview(PacingState(0.0, ready=5))
    assert (d.dial, d.reason) == (0, PacingReason.PREVIEW)


def test_agentless_fills_its_lines() -> None:
    settings = AgentlessSettings(AgentlessAction.MESSAGE, "Your appointment is tomorrow", lines=6)
    assert agentless(PacingState(0.0, ready=0), settings, busy_lines=4).dial == 2
    full = agentless(PacingState(0.0, ready=0), settings, busy_lines=6)
    assert (full.dial, full.reason) == (0, PacingReason.LINES_FULL)
