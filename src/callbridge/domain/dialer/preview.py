"""Preview dialling: a record offered to one agent, who calls it or skips it.

A preview is a reservation, not a call: the record the dialer picked (through `next_dial`, like
every mode) held for one Ready agent until they press Call, skip it, stop being free, or
`PreviewSettings.timeout_s` passes (then the call is placed anyway). Each agent holds at most
one preview, each record is held by at most one agent. Pure: times are seconds, passed in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from callbridge.domain.agents import Agent
from callbridge.domain.dialer.decisions import PacingDecision, PacingInputs, PacingReason
from callbridge.domain.dialer.ids import CampaignId, RecordId
from callbridge.domain.dialer.modes import DialMode, PreviewSettings
from callbridge.domain.dialer.pacing.state import PacingState
from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import AgentId

SKIP_REST_S = 600.0  # a skipped record is not offered again for this long
MAX_SKIP_REASON = 200


@dataclass(frozen=True, slots=True)
class Preview:
    """Record `record_id`'s number `number`, offered to `agent_id` at `offered_at`; placed
    anyway at `deadline` (None: only when the agent presses Call)."""

    campaign_id: CampaignId
    record_id: RecordId
    number: str
    agent_id: AgentId
    offered_at: float
    deadline: float | None = None

    def due(self, now: float) -> bool:
        """Whether the preview time is over and the call is to be placed anyway."""
        return self.deadline is not None and now >= self.deadline


@dataclass(frozen=True, slots=True)
class Skip:
    """Why an agent skipped a preview: `reason` (free text, for the pacing log) and
    `do_not_call` (the person asked not to be called: the number goes on the internal list)."""

    reason: str = ""
    do_not_call: bool = False

    def __post_init__(self) -> None:
        if len(self.reason) > MAX_SKIP_REASON:
            raise InvalidInput(f"at most {MAX_SKIP_REASON} characters", field="reason")


def offer(
    campaign_id: CampaignId,
    record_id: RecordId,
    number: str,
    agent_id: AgentId,
    settings: PreviewSettings,
    now: float,
) -> Preview:
    """A preview offered now, with its deadline from the campaign's preview timeout."""
    deadline = None if settings.timeout_s is None else now + settings.timeout_s
    return Preview(campaign_id, record_id, number, agent_id, now, deadline)


def agents_to_offer(
    free: Iterable[Agent], allowed: int, previewing: Collection[AgentId]
) -> list[AgentId]:
    """Who gets a new preview: of the campaign's Ready agents with nothing in hand (`free`),
    the longest idle first, as many as the blending reserve allows (`allowed`, the ready agents
    the campaign may use, those already previewing included), skipping those who already hold
    one (`previewing`, in any campaign)."""
    room = allowed - sum(1 for a in free if a.id in previewing)
    waiting = sorted((a for a in free if a.id not in previewing), key=_longest_idle)
    return [a.id for a in waiting[: max(0, room)]]


def _longest_idle(agent: Agent) -> tuple[float, int]:
    return (agent.idle_since, agent.ordinal)


def resting(skipped: dict[RecordId, float], now: float) -> set[RecordId]:
    """The records skipped less than `SKIP_REST_S` ago (held back from previews)."""
    return {rid for rid, at in skipped.items() if now - at < SKIP_REST_S}


def preview_decision(
    state: PacingState, offered: Sequence[Preview], held: int, why: str = ""
) -> PacingDecision:
    """The pacing log's entry for a preview tick: the records offered and to whom (`held`
    previews were already out). A preview dials nothing by itself: `dial` is 0."""
    if offered:
        parts = [f"offered record {p.record_id} to agent {p.agent_id}" for p in offered]
        sentence = "preview: " + "; ".join(parts)
    elif why:
        sentence = f"preview: {why}"
    elif state.ready:
        sentence = f"preview: {held} preview(s) out, every ready agent has one"
    else:
        sentence = "preview: no agent ready"
    return PacingDecision(
        state.now, DialMode.PREVIEW, 0, PacingReason.PREVIEW, sentence, PacingInputs.of(state)
    )


def event_decision(state: PacingState, sentence: str, dial: int = 0) -> PacingDecision:
    """A preview's later step for the pacing log: called, skipped, withdrawn, timed out."""
    return PacingDecision(
        state.now,
        DialMode.PREVIEW,
        dial,
        PacingReason.PREVIEW,
        f"preview: {sentence}",
        PacingInputs.of(state),
    )
