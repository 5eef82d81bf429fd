"""Typed events: every state change in the center is told as exactly one of these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from callbridge.domain.frozen import quick_init
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId, QueueId, SkillId
from callbridge.domain.routing.explanation import RoutingDecision


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentEvent(Event):
    agent_id: AgentId


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionEvent(Event):
    interaction_id: InteractionId


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSaved(AgentEvent):
    """An agent was created, or its name, skills, capacity or groups changed."""

    kind: ClassVar[str] = "agent_saved"
    name: str
    skills: dict[SkillId, int]
    capacity: dict[str, int]
    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSaved(Event):
    kind: ClassVar[str] = "queue_saved"
    queue_id: QueueId
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueRemoved(Event):
    kind: ClassVar[str] = "queue_removed"
    queue_id: QueueId


@dataclass(frozen=True, slots=True, kw_only=True)
class DispositionSaved(Event):
    kind: ClassVar[str] = "disposition_saved"
    code: DispositionCode
    label: str


# --- agents ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentPresenceChanged(AgentEvent):
    kind: ClassVar[str] = "agent_presence_changed"
    presence: str
    reason: str | None = None


# --- interactions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionCreated(InteractionEvent):
    kind: ClassVar[str] = "interaction_created"
    channel: str
    direction: str
    from_address: str
    to_address: str
    attached: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionQueued(InteractionEvent):
    """Entered a queue, or went back to it (reason says which)."""

    kind: ClassVar[str] = "interaction_queued"
    queue_id: QueueId
    priority: int
    seq: int
    reason: str  # arrival | returned | transfer | overflow


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionOffered(InteractionEvent):
    kind: ClassVar[str] = "interaction_offered"
    agent_id: AgentId
    queue_id: QueueId | None
    deadline: float
    decision: RoutingDecision


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferMissed(InteractionEvent):
    """The agent rejected the offer or let it time out."""

    kind: ClassVar[str] = "offer_missed"
    agent_id: AgentId
    reason: str  # rejected | timeout


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionConnected(InteractionEvent):
    kind: ClassVar[str] = "interaction_connected"
    agent_id: AgentId


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionHeld(InteractionEvent):
    kind: ClassVar[str] = "interaction_held"
    agent_id: AgentId


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatMessage(InteractionEvent):
    """A message in a chat or text conversation. `agent_id` is the agent holding the
    conversation when it was written (the one it reaches), whoever wrote it; `sender` says who
    did. The body is personal data: the store seals it."""

    kind: ClassVar[str] = "chat_message"
    sender: str  # "customer" or "agent"
    body: str
    agent_id: AgentId | None = None
    queue_id: QueueId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionResumed(InteractionEvent):
    kind: ClassVar[str] = "interaction_resumed"
    agent_id: AgentId


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionTransferred(InteractionEvent):
    kind: ClassVar[str] = "interaction_transferred"
    from_agent_id: AgentId
    to_queue_id: QueueId | None = None
    to_agent_id: AgentId | None = None
    to_number: str | None = None  # an outside number: the call leaves the center


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionEscalated(InteractionEvent):
    kind: ClassVar[str] = "interaction_escalated"
    queue_id: QueueId
    level: int
    requirement: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionOverflowed(InteractionEvent):
    kind: ClassVar[str] = "interaction_overflowed"
    queue_id: QueueId
    action: str
    target_queue_id: QueueId | None = None
    message: str | None = None
    cause: str = "max_wait"  # max_wait: waited too long | no_agent: nobody logged in could serve it


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackRequested(InteractionEvent):
    kind: ClassVar[str] = "callback_requested"
    number: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IvrEntered(InteractionEvent):
    """A call went into an IVR flow before any queue."""

    kind: ClassVar[str] = "ivr_entered"
    flow: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IvrFinished(InteractionEvent):
    """The flow is done with the call: `outcome` is queue, voicemail, transfer or hangup;
    `path` the nodes it went through; `variables` what it gathered, now attached."""

    kind: ClassVar[str] = "ivr_finished"
    flow: str
    outcome: str
    path: tuple[str, ...]
    variables: dict[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitAnnounced(InteractionEvent):
    """The waiting caller was told their place in line and the expected wait (None: unknown,
    nobody who could answer is logged in)."""

    kind: ClassVar[str] = "wait_announced"
    queue_id: QueueId
    position: int
    expected_wait_s: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallProgress(InteractionEvent):
    """What the telephone network said about one leg of a call, when it said it: the outbound
    leg to a customer (the dialer's two-second rule is measured from these) or the agent's
    phone. `stage` is ringing, answered, busy, no_answer or failed; `status` the SIP code."""

    kind: ClassVar[str] = "call_progress"
    leg: str  # customer | agent | consult (a party the agent consults)
    stage: str
    status: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionEnded(InteractionEvent):
    kind: ClassVar[str] = "interaction_ended"
    by: str  # customer | agent | system
    reason: str
    agent_id: AgentId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WrapUpStarted(InteractionEvent):
    kind: ClassVar[str] = "wrap_up_started"
    agent_id: AgentId
    deadline: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionWrappedUp(InteractionEvent):
    kind: ClassVar[str] = "interaction_wrapped_up"
    agent_id: AgentId
    disposition: DispositionCode | None
    notes: str | None
    automatic: bool


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        AgentSaved,
        QueueSaved,
        QueueRemoved,
        DispositionSaved,
        AgentPresenceChanged,
        InteractionCreated,
        InteractionQueued,
        InteractionOffered,
        OfferMissed,
        InteractionConnected,
        InteractionHeld,
        ChatMessage,
        InteractionResumed,
        InteractionTransferred,
        InteractionEscalated,
        InteractionOverflowed,
        CallbackRequested,
        IvrEntered,
        IvrFinished,
        WaitAnnounced,
        CallProgress,
        InteractionEnded,
        WrapUpStarted,
        InteractionWrappedUp,
    )
}
# Built several times per call: see frozen.py.
for _event_type in EVENT_TYPES.values():
    quick_init(_event_type)
