"""One campaign call on the wire, as the dialer sees it: what to dial, how it ended, and the
disposition that follows.

The telephony adapter places a `PlacedCall` and fills in a `CallResult`; the dialer service
turns the result into a disposition (`disposition_of`) and the record's progress. Times are
seconds on the service's clock.

What counts as abandoned: a person answered (every answer is live: live calls have no
answering-machine detection yet, which only ever over-counts) and no agent was connected
within the profile's grace of the answer, including a person who hung up inside the grace.
With answering-machine detection on, a detected machine is neither live nor abandoned (UK
rules add the campaign's estimate of false positives to both, in the budget and the report).
An agentless call is not abandoned when its message plays (it starts at the answer); it is
when the message could not be played (the person heard nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from callbridge.domain.agents import Agent
from callbridge.domain.dialer.amd import AmdResult, AmdSettings
from callbridge.domain.dialer.campaigns import Campaign
from callbridge.domain.dialer.dispositions import (
    ABANDONED,
    BUSY,
    INVALID,
    MACHINE,
    MESSAGE_PLAYED,
    NO_ANSWER,
    TRANSFERRED,
    UNREACHABLE,
    Disposition,
    Effect,
    disposition_table,
)
from callbridge.domain.dialer.ids import CampaignId, RecordId
from callbridge.domain.dialer.modes import AgentlessSettings
from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId, SkillId

# A connected call the agent wrapped up without a disposition: the record is done.
CONTACTED = Disposition(DispositionCode("CONTACT"), "Connected, no disposition set", Effect.FINAL)
# An abandoned (or agentless) call whose person pressed the opt-out key during the message,
# when the campaign has no do-not-call disposition of its own.
OPTED_OUT = Disposition(
    DispositionCode("OPTOUT"), "Opted out during the abandon message", Effect.DNC, None, True, False
)
INVALID_STATUSES = frozenset({404, 484, 604})


class DialOutcome(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"  # 486 or 600
    NO_ANSWER = "no_answer"  # rang out (we cancelled), or 408 / 480 / 487
    FAILED = "failed"  # unreachable, refused, no trunk


@dataclass(frozen=True, slots=True)
class AmdPlan:
    """Answering-machine detection on a placed call: the detector's thresholds, whether a
    detected machine is left the message (after its greeting and beep) or hung up on, and
    whether the agent's grace counts from the completed greeting (US) or from the answer."""

    settings: AmdSettings
    leave_message: bool = False
    grace_from_greeting: bool = False


@dataclass(frozen=True, slots=True)
class PlacedCall:
    """One dial of a campaign: the number, the caller ID, how long it may ring, the grace an
    agent has after the answer, the abandon message and its opt-out key, and who may take it
    (`agents` by id, else anyone with all of `skills`, else any agent). An agentless call has
    its `agentless` settings: no agent, `message` is the campaign's agentless message."""

    call_id: str
    campaign_id: CampaignId
    record_id: RecordId
    number: str
    caller_id: str
    ring_timeout_s: float
    grace_s: float
    message: str
    opt_out_key: str | None = None
    agents: tuple[AgentId, ...] = ()
    skills: tuple[SkillId, ...] = ()
    agentless: AgentlessSettings | None = None
    amd: AmdPlan | None = None

    def __post_init__(self) -> None:
        if self.ring_timeout_s <= 0 or self.grace_s < 0:
            raise InvalidInput("ring timeout and grace must be positive", field="ring_timeout_s")


@dataclass(frozen=True, slots=True)
class CallResult:
    """How one placed call went. `status` is the INVITE's final SIP status when it failed;
    `message_s` how long the abandon (or agentless) message played; `opted_out` when the
    opt-out key was pressed during it; `agentless` for a call of an agentless campaign, and
    `transferred` when its person pressed the transfer key and was queued; `amd` the
    detector's verdict when it listened (`machine` when it heard one: not a live answer).
    `agent_unreached`: a preview call whose agent's phone did not answer (or who could no
    longer take it), so the number was never dialled: no attempt to store."""

    outcome: DialOutcome
    dialled_at: float
    ended_at: float
    status: int | None = None
    answered_at: float | None = None
    connected_at: float | None = None
    agent_id: AgentId | None = None
    interaction_id: InteractionId | None = None
    abandoned: bool = False
    message: str | None = None
    message_s: float = 0.0
    opted_out: bool = False
    agentless: bool = False
    transferred: bool = False
    amd: AmdResult | None = None
    machine: bool = False
    agent_unreached: bool = False

    @property
    def live(self) -> bool:
        """A person answered (a detected machine is not one)."""
        return self.outcome is DialOutcome.ANSWERED and not self.machine

    @property
    def ring_s(self) -> float:
        """How long it rang: to the answer, or to the end of a failed attempt."""
        end = self.answered_at if self.answered_at is not None else self.ended_at
        return max(0.0, end - self.dialled_at)

    @property
    def talk_s(self) -> float | None:
        if self.connected_at is None:
            return None
        return max(0.0, self.ended_at - self.connected_at)


@dataclass(slots=True)
class DialProgress:
    """Where a call being placed is, as the telephony adapter sees it happen: when a person
    answered, and when an agent was connected (the dialer reads these between ticks)."""

    answered_at: float | None = None
    connected_at: float | None = None
    ended: bool = False


def outcome_of_status(status: int | None) -> DialOutcome:
    """A failed INVITE's final status as an outcome."""
    if status in (486, 600):
        return DialOutcome.BUSY
    if status in (408, 480, 487):
        return DialOutcome.NO_ANSWER
    return DialOutcome.FAILED


def disposition_of(
    campaign: Campaign, result: CallResult, agent_code: DispositionCode | None = None
) -> Disposition:
    """The disposition a call ends with: the agent's (when one talked to the person and set
    one the campaign knows), else the system's for what happened on the line."""
    if result.outcome is DialOutcome.BUSY:
        return BUSY
    if result.outcome is DialOutcome.NO_ANSWER:
        return NO_ANSWER
    if result.outcome is DialOutcome.FAILED:
        return INVALID if result.status in INVALID_STATUSES else UNREACHABLE
    if result.machine:
        return MACHINE
    table = disposition_table(campaign.dispositions)
    if result.opted_out and (result.abandoned or result.agentless):
        own = next((d for d in table.values() if d.effect is Effect.DNC), None)
        return own or OPTED_OUT
    if result.abandoned:
        return ABANDONED
    if agent_code is not None and agent_code in table:
        return table[agent_code]
    if result.agentless:
        return TRANSFERRED if result.transferred else MESSAGE_PLAYED
    return CONTACTED


def works_campaign(agent: Agent, agents: tuple[AgentId, ...], skills: tuple[SkillId, ...]) -> bool:
    """Whether `agent` works a campaign that names `agents` (then only they do), or else needs
    `skills` (all of them), or else names neither (every agent does)."""
    if agents:
        return agent.id in agents
    return all(skill in agent.skills for skill in skills)
