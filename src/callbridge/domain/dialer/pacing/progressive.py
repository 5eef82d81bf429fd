"""The exact modes: preview, progressive, power and agentless. No model, no budget: each is a
count of agents or lines."""

from __future__ import annotations

import math

from callbridge.domain.dialer.decisions import PacingDecision, PacingInputs, PacingReason
from callbridge.domain.dialer.modes import AgentlessSettings, DialMode, PowerSettings
from callbridge.domain.dialer.pacing.state import PacingState


def progressive(state: PacingState) -> PacingDecision:
    """One call per ready agent, each agent reserved for its call: a ringing or waiting call
    already has its agent, so only the uncommitted ready agents get a new one."""
    dial = max(0, state.uncommitted)
    if dial:
        reason, why = PacingReason.READY_AGENTS, f"{dial} ready agent(s) without a call"
    elif state.ready:
        reason, why = PacingReason.AGENTS_COVERED, "every ready agent has a call ringing"
    else:
        reason, why = PacingReason.NO_AGENTS, "no agent ready"
    return PacingDecision(
        state.now, DialMode.PROGRESSIVE, dial, reason, why, PacingInputs.of(state)
    )


def power(state: PacingState, settings: PowerSettings) -> PacingDecision:
    """`lines_per_agent` calls up for every ready agent, counting those already ringing."""
    lines = math.floor(settings.lines_per_agent * state.ready + 1e-9) - state.waiting
    dial = max(0, lines - len(state.in_flight))
    if not state.ready:
        reason, why = PacingReason.NO_AGENTS, "no agent ready"
    elif dial:
        reason = PacingReason.READY_AGENTS
        why = f"{settings.lines_per_agent:g} lines for each of {state.ready} ready agent(s)"
    else:
        reason, why = PacingReason.AGENTS_COVERED, f"{len(state.in_flight)} line(s) already up"
    return PacingDecision(state.now, DialMode.POWER, dial, reason, why, PacingInputs.of(state))


def preview(state: PacingState) -> PacingDecision:
    """Preview never dials by itself: each call is the agent's request (the live dialer offers
    records to agents instead: domain/dialer/preview.py)."""
    return PacingDecision(
        state.now,
        DialMode.PREVIEW,
        0,
        PacingReason.PREVIEW,
        "preview: agents place their own calls",
        PacingInputs.of(state),
    )


def agentless(
    state: PacingState, settings: AgentlessSettings, busy_lines: int, *, queue_exists: bool = True
) -> PacingDecision:
    """Keep `settings.lines` calls up; `busy_lines` counts calls ringing, hearing the message
    or transferred and not over. No agents needed; but a press-1 campaign whose queue does not
    exist (`queue_exists` False) dials nothing: a key press would have nowhere to go."""
    dial = max(0, settings.lines - busy_lines)
    if not queue_exists:
        dial = 0
        reason = PacingReason.NO_QUEUE
        why = f"no queue {settings.transfer_queue} to transfer to"
    elif dial:
        reason, why = PacingReason.LINES_FREE, f"{dial} of {settings.lines} line(s) free"
    else:
        reason, why = PacingReason.LINES_FULL, f"all {settings.lines} line(s) busy"
    return PacingDecision(state.now, DialMode.AGENTLESS, dial, reason, why, PacingInputs.of(state))
