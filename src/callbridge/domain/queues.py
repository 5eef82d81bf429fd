"""Queues: what an interaction needs from an agent, and what happens while it waits."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from enum import StrEnum

from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import DispositionCode, GroupName, QueueId, SkillId
from callbridge.domain.scripts import ScriptPart, parse_script

MIN_PROFICIENCY = 1
MAX_PROFICIENCY = 10


class Strategy(StrEnum):
    """How the ACD picks among the agents who could take an interaction."""

    LONGEST_IDLE = "longest_idle"
    MOST_SKILLED = "most_skilled"
    LEAST_OCCUPIED = "least_occupied"
    ROUND_ROBIN = "round_robin"


class OverflowKind(StrEnum):
    QUEUE = "queue"
    VOICEMAIL = "voicemail"
    CALLBACK = "callback"
    DISCONNECT = "disconnect"


@dataclass(frozen=True, slots=True)
class SkillRequirement:
    skill: SkillId
    min_proficiency: int = MIN_PROFICIENCY

    def __post_init__(self) -> None:
        check_proficiency(
            self.min_proficiency,
            f"skill {self.skill}",
            f"requirements.{self.skill}.min_proficiency",
        )


@dataclass(frozen=True, slots=True)
class OverflowAction:
    """What happens to an interaction that has waited `max_wait_s` in its queue."""

    kind: OverflowKind
    target_queue: QueueId | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind is OverflowKind.QUEUE and self.target_queue is None:
            raise InvalidInput(
                "overflow to a queue needs target_queue", field="overflow.target_queue"
            )
        if self.kind is not OverflowKind.QUEUE and self.target_queue is not None:
            raise InvalidInput(
                f"target_queue only goes with overflow kind 'queue', not {self.kind.value!r}",
                field="overflow.target_queue",
            )


@dataclass(frozen=True, slots=True)
class RelaxProficiency:
    """After `after_s` in queue, accept agents with at least `min_proficiency` in `skill`."""

    after_s: float
    skill: SkillId
    min_proficiency: int

    def __post_init__(self) -> None:
        check_proficiency(
            self.min_proficiency, f"escalation skill {self.skill}", "escalation.min_proficiency"
        )


@dataclass(frozen=True, slots=True)
class DropSkill:
    """After `after_s` in queue, stop requiring `skill`."""

    after_s: float
    skill: SkillId


@dataclass(frozen=True, slots=True)
class AddGroup:
    """After `after_s` in queue, agents of `group` qualify whatever their skills."""

    after_s: float
    group: GroupName


EscalationStep = RelaxProficiency | DropSkill | AddGroup


@dataclass(frozen=True, slots=True)
class WrapUpPolicy:
    """After-call work: how long, and what the agent must enter."""

    duration_s: float = 30.0
    disposition_required: bool = False
    notes_required: bool = False
    # Applied when a timed wrap-up runs out while a disposition is required. Without one,
    # the agent stays in wrap-up past the timer until they enter a disposition.
    default_disposition: DispositionCode | None = None

    def __post_init__(self) -> None:
        if self.duration_s < 0:
            raise InvalidInput("wrap-up duration cannot be negative", field="wrap_up.duration_s")


@dataclass(frozen=True, slots=True)
class Requirement:
    """What an agent needs at one escalation level: every skill at its minimum, or a group."""

    skills: tuple[SkillRequirement, ...]
    groups: frozenset[GroupName] = frozenset()

    def describe(self) -> str:
        parts = [f"{r.skill}>={r.min_proficiency}" for r in self.skills] or ["any agent"]
        text = " and ".join(parts)
        if self.groups:
            text += " (or group " + ", ".join(sorted(self.groups)) + ")"
        return text


@dataclass(frozen=True, slots=True)
class Queue:
    id: QueueId
    name: str
    requirements: tuple[SkillRequirement, ...] = ()
    priority: int = 0
    service_level_s: float = 20.0
    max_wait_s: float | None = None
    overflow: OverflowAction | None = None
    # What happens to an arrival when no logged-in agent could ever take it (at any level).
    no_agent: OverflowAction | None = None
    escalation: tuple[EscalationStep, ...] = ()
    strategy: Strategy = Strategy.LONGEST_IDLE
    offer_timeout_s: float = 15.0
    wrap_up: WrapUpPolicy = field(default_factory=WrapUpPolicy)
    # What the agent reads to the customer, with merge fields (domain.scripts).
    script: str | None = None
    # Derived: requirement at each escalation level and the wait at which each level starts.
    levels: tuple[Requirement, ...] = field(init=False, repr=False, compare=False)
    level_starts: tuple[float, ...] = field(init=False, repr=False, compare=False)
    level_texts: tuple[str, ...] = field(init=False, repr=False, compare=False)
    script_parts: tuple[ScriptPart, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidInput("queue id is empty", field="id")
        if not self.name:
            raise InvalidInput("queue name is empty", field="name")
        seen = [r.skill for r in self.requirements]
        if len(set(seen)) != len(seen):
            raise InvalidInput("a skill is required twice", field="requirements")
        for name, value in (
            ("service_level_s", self.service_level_s),
            ("offer_timeout_s", self.offer_timeout_s),
        ):
            if value <= 0:
                raise InvalidInput(f"{name} must be positive", field=name)
        if self.max_wait_s is not None and self.max_wait_s <= 0:
            raise InvalidInput("max_wait_s must be positive", field="max_wait_s")
        if (self.max_wait_s is None) != (self.overflow is None):
            raise InvalidInput("max_wait_s and overflow go together", field="overflow")
        if self.overflow is not None and self.overflow.target_queue == self.id:
            raise InvalidInput("a queue cannot overflow into itself", field="overflow.target_queue")
        if self.no_agent is not None and self.no_agent.target_queue == self.id:
            raise InvalidInput(
                "a queue cannot send its no-agent calls to itself", field="no_agent.target_queue"
            )
        levels, starts = _build_levels(self.requirements, self.escalation)
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "level_starts", starts)
        object.__setattr__(self, "level_texts", tuple(r.describe() for r in levels))
        parts = () if self.script is None else parse_script(self.script)
        object.__setattr__(self, "script_parts", parts)

    @property
    def sends_to(self) -> frozenset[QueueId]:
        """The queues this one sends work to (overflow, no agent)."""
        return frozenset(
            a.target_queue
            for a in (self.overflow, self.no_agent)
            if a is not None and a.target_queue is not None
        )

    def level_at(self, waited_s: float) -> int:
        """The escalation level of an interaction that has waited `waited_s` in this queue.

        Never below 0: a wait read on a clock behind the entry is negative, and level -1 would
        index levels[-1], the widest level, where it should be the first.
        """
        starts = self.level_starts
        if len(starts) == 1:  # no escalation: most queues, on every routing decision
            return 0
        return max(0, bisect.bisect_right(starts, waited_s) - 1)

    def next_level_after(self, waited_s: float) -> float | None:
        """The wait at which the next escalation level starts, if any."""
        if len(self.level_starts) == 1:
            return None
        i = max(1, bisect.bisect_right(self.level_starts, waited_s))  # as level_at: never below 0
        return self.level_starts[i] if i < len(self.level_starts) else None


def check_proficiency(value: int, what: str, field: str = "proficiency") -> None:
    if not MIN_PROFICIENCY <= value <= MAX_PROFICIENCY:
        raise InvalidInput(
            f"proficiency for {what} must be {MIN_PROFICIENCY}-{MAX_PROFICIENCY}, got {value}",
            field=field,
        )


def _build_levels(
    base: tuple[SkillRequirement, ...], steps: tuple[EscalationStep, ...]
) -> tuple[tuple[Requirement, ...], tuple[float, ...]]:
    """Apply the steps cumulatively, in time order; steps at the same time form one level."""
    required = {r.skill: r.min_proficiency for r in base}
    groups: set[GroupName] = set()
    levels = [Requirement(tuple(base))]
    starts = [0.0]
    for i, step in enumerate(sorted(steps, key=lambda s: s.after_s)):
        where = f"escalation[{i}]"
        if step.after_s <= 0:
            raise InvalidInput(f"{where}: after_s must be positive", field=f"{where}.after_s")
        if isinstance(step, RelaxProficiency):
            if step.skill not in required:
                raise InvalidInput(
                    f"{where}: skill {step.skill} is not required at that point",
                    field=f"{where}.skill",
                )
            if step.min_proficiency > required[step.skill]:
                raise InvalidInput(
                    f"{where}: escalation may only relax proficiency",
                    field=f"{where}.min_proficiency",
                )
            required[step.skill] = step.min_proficiency
        elif isinstance(step, DropSkill):
            if step.skill not in required:
                raise InvalidInput(
                    f"{where}: skill {step.skill} is not required at that point",
                    field=f"{where}.skill",
                )
            del required[step.skill]
        else:
            groups.add(step.group)
        requirement = Requirement(
            tuple(SkillRequirement(s, p) for s, p in required.items()), frozenset(groups)
        )
        if starts[-1] == step.after_s:
            levels[-1] = requirement
        else:
            levels.append(requirement)
            starts.append(step.after_s)
    return tuple(levels), tuple(starts)
