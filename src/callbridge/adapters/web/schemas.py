"""Request and response bodies of the REST API, and their conversion to and from the domain."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from callbridge.domain.agents import Agent
from callbridge.domain.channels import Channel, Direction
from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import DispositionCode, GroupName, QueueId, SkillId
from callbridge.domain.interactions import Interaction
from callbridge.domain.queues import (
    AddGroup,
    DropSkill,
    EscalationStep,
    OverflowAction,
    OverflowKind,
    Queue,
    RelaxProficiency,
    SkillRequirement,
    Strategy,
    WrapUpPolicy,
)
from callbridge.ports import StoredEvent
from callbridge.services.views import QueueStats

Proficiency = Annotated[int, Field(ge=1, le=10)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Ident = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- agents ------------------------------------------------------------------------------


class AgentIn(Strict):
    name: Name
    skills: dict[Ident, Proficiency] = {}
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=50)]] | None = None
    groups: list[Ident] = []


class AgentCreate(AgentIn):
    id: Ident


class SkillIn(Strict):
    proficiency: Proficiency


class AgentStateIn(Strict):
    state: Literal["ready", "not_ready"]
    reason: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class WorkOut(BaseModel):
    interaction_id: str
    channel: Channel
    phase: str


class AgentOut(BaseModel):
    id: str
    name: str
    state: str
    presence: str
    reason: str | None
    skills: dict[str, int]
    capacity: dict[Channel, int]
    groups: list[str]
    work: list[WorkOut]

    @classmethod
    def of(cls, agent: Agent) -> AgentOut:
        return cls(
            id=agent.id,
            name=agent.name,
            state=agent.state.value,
            presence=agent.presence.value,
            reason=agent.reason,
            skills=dict(agent.skills),
            capacity=dict(agent.capacity),
            groups=sorted(agent.groups),
            work=[
                WorkOut(interaction_id=w.interaction_id, channel=w.channel, phase=w.phase.value)
                for w in agent.work.values()
            ],
        )


# --- queues ------------------------------------------------------------------------------


class SkillRequirementIn(Strict):
    skill: Ident
    min_proficiency: Proficiency = 1


class EscalationIn(Strict):
    """One step: after `after_s`, relax a skill's minimum, drop a skill, or add a group."""

    after_s: Annotated[float, Field(gt=0)]
    action: Literal["relax", "drop_skill", "add_group"]
    skill: Ident | None = None
    min_proficiency: Proficiency | None = None
    group: Ident | None = None

    def to_domain(self) -> EscalationStep:
        if self.action == "add_group":
            if self.group is None:
                raise InvalidInput("escalation: add_group needs group", field="escalation.group")
            return AddGroup(self.after_s, GroupName(self.group))
        if self.skill is None:
            raise InvalidInput(f"escalation: {self.action} needs skill", field="escalation.skill")
        if self.action == "drop_skill":
            return DropSkill(self.after_s, SkillId(self.skill))
        if self.min_proficiency is None:
            raise InvalidInput(
                "escalation: relax needs min_proficiency", field="escalation.min_proficiency"
            )
        return RelaxProficiency(self.after_s, SkillId(self.skill), self.min_proficiency)

    @classmethod
    def of(cls, step: EscalationStep) -> EscalationIn:
        if isinstance(step, AddGroup):
            return cls(after_s=step.after_s, action="add_group", group=step.group)
        if isinstance(step, DropSkill):
            return cls(after_s=step.after_s, action="drop_skill", skill=step.skill)
        return cls(
            after_s=step.after_s,
            action="relax",
            skill=step.skill,
            min_proficiency=step.min_proficiency,
        )


class OverflowIn(Strict):
    action: OverflowKind
    target_queue: Ident | None = None
    message: Annotated[str, Field(max_length=500)] | None = None

    def to_domain(self) -> OverflowAction:
        target = QueueId(self.target_queue) if self.target_queue else None
        return OverflowAction(self.action, target, self.message)

    @classmethod
    def of(cls, action: OverflowAction | None) -> OverflowIn | None:
        if action is None:
            return None
        return cls(action=action.kind, target_queue=action.target_queue, message=action.message)


class WrapUpIn(Strict):
    duration_s: Annotated[float, Field(ge=0, le=3600)] = 30.0
    disposition_required: bool = False
    notes_required: bool = False
    default_disposition: Ident | None = None


class QueueIn(Strict):
    name: Name
    requirements: list[SkillRequirementIn] = []
    priority: int = 0
    service_level_s: Annotated[float, Field(gt=0)] = 20.0
    max_wait_s: Annotated[float, Field(gt=0)] | None = None
    overflow: OverflowIn | None = None
    no_agent: OverflowIn | None = None
    escalation: list[EscalationIn] = []
    strategy: Strategy = Strategy.LONGEST_IDLE
    offer_timeout_s: Annotated[float, Field(gt=0, le=600)] = 15.0
    wrap_up: WrapUpIn = WrapUpIn()
    script: Annotated[
        str | None,
        Field(
            max_length=20_000,
            description="What the agent reads to the customer, with merge fields such as "
            "{{record.FirstName}}, {{ivr.account}}, {{agent.name}}, {{customer.address}}",
        ),
    ] = None

    def to_domain(self, queue_id: str) -> Queue:
        wrap = self.wrap_up
        return Queue(
            id=QueueId(queue_id),
            name=self.name,
            requirements=tuple(
                SkillRequirement(SkillId(r.skill), r.min_proficiency) for r in self.requirements
            ),
            priority=self.priority,
            service_level_s=self.service_level_s,
            max_wait_s=self.max_wait_s,
            overflow=None if self.overflow is None else self.overflow.to_domain(),
            no_agent=None if self.no_agent is None else self.no_agent.to_domain(),
            escalation=tuple(e.to_domain() for e in self.escalation),
            strategy=self.strategy,
            offer_timeout_s=self.offer_timeout_s,
            wrap_up=WrapUpPolicy(
                wrap.duration_s,
                wrap.disposition_required,
                wrap.notes_required,
                DispositionCode(wrap.default_disposition) if wrap.default_disposition else None,
            ),
            script=self.script or None,
        )


class ScriptIn(Strict):
    script: Annotated[str | None, Field(max_length=20_000)] = None


class QueueCreate(QueueIn):
    id: Ident


class QueueStatsOut(BaseModel):
    waiting: int
    longest_wait_s: float
    available_agents: int
    qualified_agents_logged_in: int

    @classmethod
    def of(cls, stats: QueueStats) -> QueueStatsOut:
        return cls(
            waiting=stats.waiting,
            longest_wait_s=stats.longest_wait_s,
            available_agents=stats.available_agents,
            qualified_agents_logged_in=stats.qualified_agents_logged_in,
        )


class QueueOut(QueueCreate):
    model_config = ConfigDict(extra="ignore")
    stats: QueueStatsOut

    @classmethod
    def of(cls, queue: Queue, stats: QueueStats) -> QueueOut:
        w = queue.wrap_up
        return cls(
            id=queue.id,
            name=queue.name,
            requirements=[
                SkillRequirementIn(skill=r.skill, min_proficiency=r.min_proficiency)
                for r in queue.requirements
            ],
            priority=queue.priority,
            service_level_s=queue.service_level_s,
            max_wait_s=queue.max_wait_s,
            overflow=OverflowIn.of(queue.overflow),
            no_agent=OverflowIn.of(queue.no_agent),
            escalation=[EscalationIn.of(s) for s in queue.escalation],
            strategy=queue.strategy,
            offer_timeout_s=queue.offer_timeout_s,
            wrap_up=WrapUpIn(
                duration_s=w.duration_s,
                disposition_required=w.disposition_required,
                notes_required=w.notes_required,
                default_disposition=w.default_disposition,
            ),
            script=queue.script,
            stats=QueueStatsOut.of(stats),
        )


class SkillOut(BaseModel):
    skill: str
    agents: int
    queues: list[str]


class DispositionIn(Strict):
    code: Ident
    label: Name


# --- interactions ------------------------------------------------------------------------


class InteractionCreate(Strict):
    channel: Channel
    from_: Annotated[str, Field(alias="from", min_length=1, max_length=320)]
    to: Annotated[str, Field(max_length=320)] = ""
    queue_id: Ident
    priority: Annotated[int, Field(ge=-1000, le=1000)] | None = None
    attached: dict[
        Annotated[str, Field(min_length=1, max_length=100)], Annotated[str, Field(max_length=4096)]
    ] = {}
    skills: dict[Ident, Proficiency] = {}


class AgentRef(Strict):
    agent_id: Ident


class TransferIn(AgentRef):
    to_queue_id: Ident | None = None
    to_agent_id: Ident | None = None
    to_number: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class EndIn(Strict):
    by: Literal["customer", "agent", "system"] = "customer"
    agent_id: Ident | None = None


class WrapUpDone(AgentRef):
    disposition: Ident | None = None
    notes: Annotated[str, Field(max_length=10_000)] | None = None


class CallbackIn(Strict):
    number: Annotated[str, Field(min_length=3, max_length=32)]


class InteractionOut(BaseModel):
    id: str
    channel: Channel
    direction: Direction
    from_: str = Field(serialization_alias="from")
    to: str
    state: str
    queue_id: str | None
    priority: int
    attached: dict[str, str]
    skills: dict[str, int]
    agent_id: str | None
    last_agent_id: str | None
    created_at: float
    queue_entered_at: float | None
    answered_at: float | None
    ended_at: float | None
    end_reason: str | None
    offer_deadline: float | None
    wrap_up_deadline: float | None
    callback_number: str | None
    escalation_level: int
    disposition: str | None
    notes: str | None

    @classmethod
    def of(cls, ix: Interaction) -> InteractionOut:
        return cls(
            id=ix.id,
            channel=ix.channel,
            direction=ix.direction,
            from_=ix.from_address,
            to=ix.to_address,
            state=ix.state.value,
            queue_id=ix.queue_id,
            priority=ix.priority,
            attached=dict(ix.attached),
            skills=dict(ix.extra_skills),
            agent_id=ix.agent_id,
            last_agent_id=ix.last_agent_id,
            created_at=ix.created_at,
            queue_entered_at=ix.queue_entered_at,
            answered_at=ix.answered_at,
            ended_at=ix.ended_at,
            end_reason=ix.end_reason.value if ix.end_reason else None,
            offer_deadline=ix.offer_deadline,
            wrap_up_deadline=ix.wrap_up_deadline,
            callback_number=ix.callback_number,
            escalation_level=ix.escalation_level,
            disposition=ix.disposition,
            notes=ix.notes,
        )


class EventOut(BaseModel):
    id: int
    at: float
    kind: str
    interaction_id: str | None
    agent_id: str | None
    queue_id: str | None
    payload: dict[str, JsonValue]

    @classmethod
    def of(cls, e: StoredEvent) -> EventOut:
        return cls(
            id=e.id,
            at=e.at,
            kind=e.kind,
            interaction_id=e.interaction_id,
            agent_id=e.agent_id,
            queue_id=e.queue_id,
            payload=e.payload,
        )


class ActionOut(BaseModel):
    """What an action did: the interaction after it, and the events it caused."""

    interaction: InteractionOut
    events: list[EventOut]


class RoutingOut(BaseModel):
    interaction_id: str
    decisions: list[dict[str, JsonValue]]
    explanation: list[list[str]]
