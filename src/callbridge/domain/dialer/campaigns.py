"""Campaigns: what an outbound campaign is (typed and checked when made), and its start / pause /
stop state machine.

A campaign dials one or more lists in a mode, with a caller ID and a seller named in its
abandon message, under a compliance profile, with the abandonment target it aims below the
profile's cap, its dispositions, attempt limits, list order and recycling, the skills its agents
need, its own calling hours if stricter than the law's, and an inbound blending reserve: the
ready agents it leaves for inbound calls (Bhulai & Koole: give an idle agent outbound work only
beyond a threshold of idle agents).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from callbridge.domain.dialer.amd import AmdSettings
from callbridge.domain.dialer.attempts import AttemptLimits
from callbridge.domain.dialer.calling_hours import CallingHours, HoursRule
from callbridge.domain.dialer.compliance import (
    ComplianceProfile,
    Seller,
    abandon_message,
    check_abandon_message,
    check_agentless_message,
    check_ring_timeout,
    state_rules,
)
from callbridge.domain.dialer.dispositions import Disposition, disposition_table
from callbridge.domain.dialer.ids import CampaignId, ListId
from callbridge.domain.dialer.lists import ListOrder, Recycling
from callbridge.domain.dialer.modes import (
    AgentlessAction,
    AgentlessSettings,
    DialMode,
    PowerSettings,
    PreviewSettings,
)
from callbridge.domain.dialer.pacing.budget import AbandonmentLimits
from callbridge.domain.errors import InvalidInput, InvalidState
from callbridge.domain.ids import AgentId, DispositionCode, SkillId

DEFAULT_MESSAGE = (
    "This call was made on behalf of {seller} for telemarketing purposes. "
    "To reach us, call {phone}. {opt_out}"
)


@dataclass(frozen=True, slots=True)
class CampaignList:
    """A list the campaign dials, in `order`."""

    list_id: ListId
    order: ListOrder = ListOrder.AS_LOADED


class MachineAction(StrEnum):
    HANG_UP = "hang_up"  # a detected machine is hung up on at once
    MESSAGE = "message"  # the campaign's message is left after its greeting and beep


@dataclass(frozen=True, slots=True)
class Amd:
    """Answering-machine detection on answered calls (`domain/dialer/amd.py`), what is done
    with a detected machine, and the share of detections estimated to be live people taken
    for machines (UK rules count them as live and abandoned; justify it with test evidence)."""

    enabled: bool = False
    false_positive_share: float = 0.0
    machine_action: MachineAction = MachineAction.HANG_UP
    detector: AmdSettings = field(default_factory=AmdSettings)

    def __post_init__(self) -> None:
        if not 0.0 <= self.false_positive_share < 1.0:
            raise InvalidInput(
                "the AMD false-positive share is between 0 and 1", field="false_positive_share"
            )


@dataclass(frozen=True, slots=True)
class Campaign:
    """An outbound campaign, checked when made (InvalidInput names the field)."""

    campaign_id: CampaignId
    name: str
    mode: DialMode
    profile: ComplianceProfile
    caller_id: str
    seller: Seller
    lists: tuple[CampaignList, ...]
    time_zone: str = "UTC"
    abandonment: AbandonmentLimits = field(default_factory=AbandonmentLimits)
    abandon_message: str = DEFAULT_MESSAGE
    opt_out_key: str | None = "9"
    no_answer_timeout_s: float | None = None
    dispositions: tuple[Disposition, ...] = ()
    attempts: AttemptLimits = field(default_factory=AttemptLimits)
    recycling: Recycling = field(default_factory=Recycling)
    skills: tuple[SkillId, ...] = ()
    agents: tuple[AgentId, ...] = ()
    hours: tuple[HoursRule, ...] = ()
    inbound_reserve: int = 0
    amd: Amd = field(default_factory=Amd)
    preview: PreviewSettings = field(default_factory=PreviewSettings)
    power: PowerSettings = field(default_factory=PowerSettings)
    agentless: AgentlessSettings | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInput("a campaign needs a name", field="name")
        if not self.caller_id.startswith("+") or not self.caller_id[1:].isdigit():
            raise InvalidInput("the caller ID is an E.164 number", field="caller_id")
        if not self.lists:
            raise InvalidInput("a campaign dials at least one list", field="lists")
        if len({lst.list_id for lst in self.lists}) != len(self.lists):
            raise InvalidInput("a list appears twice", field="lists")
        if self.abandonment.cap > self.profile.abandon_cap:
            raise InvalidInput(
                f"the abandonment cap cannot be above the {self.profile.name} profile's "
                f"{self.profile.abandon_cap:.0%}",
                field="abandonment.cap",
            )
        if self.inbound_reserve < 0:
            raise InvalidInput("the inbound reserve cannot be negative", field="inbound_reserve")
        if self.opt_out_key is not None and self.opt_out_key not in "0123456789*#":
            raise InvalidInput("the opt-out key is one DTMF key", field="opt_out_key")
        try:
            ZoneInfo(self.time_zone)
        except (ValueError, KeyError):
            raise InvalidInput(f"unknown time zone {self.time_zone!r}", field="time_zone") from None
        check_ring_timeout(self.profile, self.ring_timeout_s)
        check_abandon_message(self.profile, self.abandon_message, self.seller, self.opt_out_key)
        disposition_table(self.dispositions)
        if (self.mode is DialMode.AGENTLESS) != (self.agentless is not None):
            raise InvalidInput(
                "an agentless campaign needs its agentless settings, and only it has them",
                field="agentless",
            )
        amd = self.amd
        if amd.enabled and self.profile.counts_amd_false_positives and not amd.false_positive_share:
            raise InvalidInput(
                f"under the {self.profile.name} profile AMD needs an estimate of its false "
                "positives (people taken for machines), counted as abandoned: set "
                "amd.false_positive_share from your test evidence",
                field="amd.false_positive_share",
            )
        if self.amd.enabled and self.mode is DialMode.AGENTLESS:
            raise InvalidInput(
                "AMD is for campaigns with agents: an agentless message plays to whoever answers",
                field="amd.enabled",
            )
        if self.agentless is not None:
            check_agentless_message(
                self.profile, self.agentless.message, self.seller, self.opt_out_key
            )
            if (
                self.agentless.action is AgentlessAction.PRESS_1
                and self.agentless.transfer_key == self.opt_out_key
            ):
                raise InvalidInput(
                    f"the transfer key {self.agentless.transfer_key} is the opt-out key too",
                    field="agentless.transfer_key",
                )

    @property
    def ring_timeout_s(self) -> float:
        """How long an unanswered call rings before the dialer hangs up."""
        if self.no_answer_timeout_s is None:
            return self.profile.default_no_answer_s
        return self.no_answer_timeout_s

    @property
    def message(self) -> str:
        """What an answered call hears when no agent takes it: the agentless message, else
        the abandon message."""
        if self.agentless is not None:
            return abandon_message(self.agentless.message, self.seller, self.opt_out_key)
        return abandon_message(self.abandon_message, self.seller, self.opt_out_key)

    @property
    def counted_false_positives(self) -> float:
        """The share of each detected machine counted as a live answer abandoned (the UK
        rule), or 0 when the campaign detects none or its profile does not count them."""
        if self.amd.enabled and self.profile.counts_amd_false_positives:
            return self.amd.false_positive_share
        return 0.0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def agent_guaranteed(self) -> bool:
        """Whether every call has a live agent waiting for it (the UK redial rules' exception)."""
        return self.mode in (DialMode.PREVIEW, DialMode.PROGRESSIVE)

    def disposition(self, code: DispositionCode) -> Disposition:
        table = disposition_table(self.dispositions)
        try:
            return table[code]
        except KeyError:
            raise InvalidInput(
                f"campaign {self.campaign_id} has no disposition {code}", field="disposition"
            ) from None

    def calling_hours(self) -> CallingHours:
        """The windows a call must fall in: the profile's, the states' and the campaign's."""
        return CallingHours(self.profile.hours, state_rules(self.profile), self.hours)

    def ready_for_outbound(self, ready: int, inbound_waiting: int = 0) -> int:
        """Ready agents this campaign may use: none while inbound calls wait, and only those
        beyond the inbound reserve."""
        if inbound_waiting > 0:
            return 0
        return max(0, ready - self.inbound_reserve)


class CampaignState(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"


class CampaignAction(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    COMPLETE = "complete"  # the lists have nothing left to dial


TRANSITIONS: dict[tuple[CampaignState, CampaignAction], CampaignState] = {
    (CampaignState.DRAFT, CampaignAction.START): CampaignState.RUNNING,
    (CampaignState.STOPPED, CampaignAction.START): CampaignState.RUNNING,
    (CampaignState.COMPLETED, CampaignAction.START): CampaignState.RUNNING,
    (CampaignState.RUNNING, CampaignAction.PAUSE): CampaignState.PAUSED,
    (CampaignState.PAUSED, CampaignAction.RESUME): CampaignState.RUNNING,
    (CampaignState.RUNNING, CampaignAction.STOP): CampaignState.STOPPED,
    (CampaignState.PAUSED, CampaignAction.STOP): CampaignState.STOPPED,
    (CampaignState.RUNNING, CampaignAction.COMPLETE): CampaignState.COMPLETED,
}


@dataclass(frozen=True, slots=True)
class CampaignStatus:
    """Where a campaign is in its life, since when, and when it first dialled (the US 30-day
    windows count from that day)."""

    state: CampaignState = CampaignState.DRAFT
    since: datetime | None = None
    first_started: datetime | None = None

    @property
    def dialling(self) -> bool:
        return self.state is CampaignState.RUNNING


def transition(status: CampaignStatus, action: CampaignAction, at: datetime) -> CampaignStatus:
    """The status after `action` at `at`; InvalidState when the state does not allow it."""
    target = TRANSITIONS.get((status.state, action))
    if target is None:
        raise InvalidState(
            f"cannot {action.value} a campaign that is {status.state.value}",
            state=status.state.value,
            action=action.value,
        )
    first = status.first_started
    if target is CampaignState.RUNNING and first is None:
        first = at
    return CampaignStatus(target, at, first)
