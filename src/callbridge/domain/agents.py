"""Agents: presence, skills, per-channel capacity and the work they hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from callbridge.domain.channels import DEFAULT_CAPACITY, Channel
from callbridge.domain.errors import InvalidInput
from callbridge.domain.ids import AgentId, GroupName, InteractionId, SkillId
from callbridge.domain.queues import Requirement, check_proficiency

MISSED_REASON = "missed"
LOGIN_REASON = "login"  # agents start Not Ready, with this reason code
_VOICE = Channel.VOICE  # enum attribute look-ups are slow on Python 3.11; these run per decision


class Presence(StrEnum):
    """What the agent chose: the part of the state an agent sets."""

    LOGGED_OUT = "logged_out"
    NOT_READY = "not_ready"
    READY = "ready"


_READY = Presence.READY


class AgentState(StrEnum):
    """The state shown to supervisors: presence combined with the work the agent holds."""

    LOGGED_OUT = "logged_out"
    NOT_READY = "not_ready"
    READY = "ready"
    RESERVED = "reserved"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


class WorkPhase(StrEnum):
    RESERVED = "reserved"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


@dataclass(slots=True)
class WorkItem:
    interaction_id: InteractionId
    channel: Channel
    phase: WorkPhase


@dataclass(slots=True, eq=False)
class Agent:
    id: AgentId
    name: str
    skills: dict[SkillId, int] = field(default_factory=dict)
    capacity: dict[Channel, int] = field(default_factory=lambda: dict(DEFAULT_CAPACITY))
    groups: frozenset[GroupName] = frozenset()
    presence: Presence = Presence.LOGGED_OUT
    reason: str | None = None
    presence_since: float = 0.0
    # When the agent last became free of all work while ready: the key of "longest idle".
    idle_since: float = 0.0
    logged_in_at: float | None = None
    busy_seconds: float = 0.0
    busy_since: float | None = None
    work: dict[InteractionId, WorkItem] = field(default_factory=dict)
    # Stable position among all agents: breaks ties and orders round robin.
    ordinal: int = 0

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidInput("agent id is empty", field="id")
        if not self.name:
            raise InvalidInput("agent name is empty", field="name")
        check_skills(self.skills)
        check_capacity(self.capacity)

    @property
    def state(self) -> AgentState:
        if self.presence is Presence.LOGGED_OUT:
            return AgentState.LOGGED_OUT
        phases = {item.phase for item in self.work.values()}
        if WorkPhase.RESERVED in phases:
            return AgentState.RESERVED
        if WorkPhase.BUSY in phases:
            return AgentState.BUSY
        if WorkPhase.WRAP_UP in phases:
            return AgentState.WRAP_UP
        if self.presence is Presence.NOT_READY:
            return AgentState.NOT_READY
        return AgentState.READY

    def load(self, channel: Channel) -> int:
        return sum(1 for item in self.work.values() if item.channel is channel)

    def can_take(self, channel: Channel) -> bool:
        """Ready, and room in that channel. A voice call is exclusive of all other work."""
        if self.presence is not _READY:
            return False
        if not self.work:
            return self.capacity.get(channel, 0) > 0
        if channel is _VOICE:
            return False
        load = 0
        for item in self.work.values():
            if item.channel is _VOICE:
                return False
            if item.channel is channel:
                load += 1
        return load < self.capacity.get(channel, 0)

    def is_available(self) -> bool:
        """Could take something in some channel: the routing index holds exactly these agents."""
        if self.presence is not _READY:
            return False
        if not self.work:
            # capacities are never negative, so "some n > 0" is "some n is not 0": any() over
            # the values runs in C, where a generator costs a Python frame per channel
            return any(self.capacity.values())
        loads: dict[Channel, int] = {}
        for item in self.work.values():
            if item.channel is _VOICE:
                return False
            loads[item.channel] = loads.get(item.channel, 0) + 1
        return any(c is not _VOICE and loads.get(c, 0) < n for c, n in self.capacity.items())

    def load_ratio(self) -> float:
        """The fullest channel's share of its capacity: 0 idle, 1 full."""
        ratios = [self.load(c) / n for c, n in self.capacity.items() if n > 0]
        return max(ratios, default=0.0)

    def occupancy(self, now: float) -> float:
        """Share of logged-in time spent with work (offered, connected or wrapping up)."""
        if self.logged_in_at is None or now <= self.logged_in_at:
            return 0.0
        busy = self.busy_seconds
        if self.busy_since is not None:
            busy += now - self.busy_since
        return min(1.0, busy / (now - self.logged_in_at))

    def qualifies(self, requirement: Requirement) -> bool:
        if requirement.groups and not requirement.groups.isdisjoint(self.groups):
            return True
        return all(self.skills.get(r.skill, 0) >= r.min_proficiency for r in requirement.skills)

    def proficiency_score(self, requirement: Requirement) -> int:
        skills, score = self.skills, 0
        for r in requirement.skills:
            score += skills.get(r.skill, 0)
        return score

    def why_not(self, requirement: Requirement) -> str | None:
        """Why this agent does not qualify, or None if it does."""
        if self.qualifies(requirement):
            return None
        for r in requirement.skills:
            have = self.skills.get(r.skill, 0)
            if have < r.min_proficiency:
                return f"{r.skill} {have} < {r.min_proficiency}" if have else f"lacks {r.skill}"
        return "not in a required group"  # pragma: no cover - qualifies() covers the rest


def check_skills(skills: dict[SkillId, int]) -> None:
    for skill, proficiency in skills.items():
        if not skill:
            raise InvalidInput("skill name is empty", field="skills")
        check_proficiency(proficiency, f"skill {skill}", f"skills.{skill}")


def check_capacity(capacity: dict[Channel, int]) -> None:
    for channel, n in capacity.items():
        if channel is Channel.VOICE and n > 1:
            raise InvalidInput(
                f"an agent takes one voice call at a time (capacity 0 or 1), got {n}",
                field="capacity.voice",
            )
        if n < 0 or n > 50:
            raise InvalidInput(
                f"capacity for {channel.value} must be 0-50, got {n}",
                field=f"capacity.{channel.value}",
            )
