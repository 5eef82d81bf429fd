"""Interactions: one customer contact on one channel, and its state machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from callbridge.domain.channels import Channel, Direction
from callbridge.domain.errors import InvalidState
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId, QueueId, SkillId


class InteractionState(StrEnum):
    NEW = "new"
    IN_IVR = "in_ivr"
    QUEUED = "queued"
    OFFERED = "offered"
    CONNECTED = "connected"
    ON_HOLD = "on_hold"
    ENDED = "ended"
    WRAPPED_UP = "wrapped_up"


S = InteractionState
TRANSITIONS: dict[InteractionState, frozenset[InteractionState]] = {
    S.NEW: frozenset({S.IN_IVR, S.QUEUED, S.OFFERED, S.ENDED}),
    S.IN_IVR: frozenset({S.QUEUED, S.ENDED}),
    S.QUEUED: frozenset({S.QUEUED, S.OFFERED, S.ENDED}),
    S.OFFERED: frozenset({S.CONNECTED, S.QUEUED, S.ENDED}),
    S.CONNECTED: frozenset({S.ON_HOLD, S.ENDED, S.QUEUED, S.OFFERED}),
    S.ON_HOLD: frozenset({S.CONNECTED, S.ENDED, S.QUEUED, S.OFFERED}),
    S.ENDED: frozenset({S.WRAPPED_UP}),
    S.WRAPPED_UP: frozenset(),
}
OPEN_STATES = frozenset({S.NEW, S.IN_IVR, S.QUEUED, S.OFFERED, S.CONNECTED, S.ON_HOLD})


class EndReason(StrEnum):
    COMPLETED = "completed"  # ended after an agent talked to the customer
    ABANDONED = "abandoned"  # the customer left before reaching an agent
    VOICEMAIL = "voicemail"
    DISCONNECTED = "disconnected"  # overflow: disconnect with a message
    TRANSFERRED = "transferred"  # put through to an outside number (by an agent or a flow)
    SELF_SERVICE = "self_service"  # the IVR flow finished the call itself (closed, hang-up node)


@dataclass(slots=True, eq=False)
class Interaction:
    id: InteractionId
    channel: Channel
    direction: Direction
    from_address: str
    to_address: str
    created_at: float
    attached: dict[str, str] = field(default_factory=dict)
    state: InteractionState = InteractionState.NEW
    queue_id: QueueId | None = None
    priority: int = 0
    # Extra skills this interaction needs on top of its queue's (set by an IVR, say).
    extra_skills: dict[SkillId, int] = field(default_factory=dict)
    # Position in line: seq and queue_entered_at survive a missed offer and a callback request.
    seq: int = 0
    queue_entered_at: float | None = None
    agent_id: AgentId | None = None
    offer_deadline: float | None = None
    callback_number: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: EndReason | None = None
    last_agent_id: AgentId | None = None
    wrap_up_deadline: float | None = None
    disposition: DispositionCode | None = None
    notes: str | None = None
    escalation_level: int = 0
    # Bumped on every state change; a timer set at one version is void at another.
    version: int = 0

    def move_to(self, new: InteractionState) -> None:
        # The center's per-call steps do the same inline, with `cannot_move` for the error.
        if new not in TRANSITIONS[self.state]:
            raise self.cannot_move(new)
        self.state = new
        self.version += 1

    def cannot_move(self, new: InteractionState) -> InvalidState:
        return InvalidState(
            f"interaction {self.id} cannot go from {self.state.value} to {new.value}",
            interaction_id=self.id,
            state=self.state.value,
        )

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES
