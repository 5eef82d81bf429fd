"""What a routing decision records, so that anyone can ask "why this agent?" afterwards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from callbridge.domain.frozen import over_slot, quick_init
from callbridge.domain.ids import AgentId, InteractionId, QueueId

MAX_LISTED = 25  # passed-over agents and waiting interactions kept per decision
MAX_RANKED = 10  # best-ranked candidates kept per decision


class Trigger(StrEnum):
    INTERACTION_WAITING = "interaction_waiting"  # an interaction arrived or escalated
    AGENT_AVAILABLE = "agent_available"  # an agent freed up and picked the next interaction
    TRANSFER = "transfer"  # an agent sent it to a named agent
    DIAL = "dial"  # the agent placed it (click-to-dial): no choice was made
    CAMPAIGN = "campaign"  # the dialer placed it and a person answered: offered to the agent


@quick_init  # built for every offer: see frozen.py
@dataclass(frozen=True, slots=True)
class AgentCandidate:
    agent_id: AgentId
    score: tuple[float, ...]  # the strategy's sort key: smaller wins


@quick_init  # built for every offer: see frozen.py
@dataclass(frozen=True, slots=True)
class PassedOver:
    agent_id: AgentId
    reason: str


@quick_init  # built for every offer: see frozen.py
@dataclass(frozen=True, slots=True)
class WaitingCandidate:
    interaction_id: InteractionId
    queue_id: QueueId
    priority: int
    waited_s: float


@quick_init  # built for every offer: see frozen.py
@dataclass(frozen=True, slots=True)
class RoutingDecision:
    trigger: Trigger
    interaction_id: InteractionId
    queue_id: QueueId
    agent_id: AgentId
    level: int
    requirement: str
    strategy: str
    rule: str
    agent_candidates: tuple[AgentCandidate, ...] = ()
    passed_over: tuple[PassedOver, ...] = ()
    waiting_candidates: tuple[WaitingCandidate, ...] = ()
    candidates_total: int = 0  # agents ranked by the strategy (1 when taken from idle order)
    pool_size: int = 0  # agents free for the queue when the decision was made

    def describe(self) -> list[str]:
        """The decision in sentences, for people."""
        lines = [
            f"{self.trigger.value}: queue {self.queue_id} at escalation level {self.level} "
            f"needs {self.requirement}",
            f"chose agent {self.agent_id} by {self.strategy}: {self.rule}",
        ]
        if self.trigger is Trigger.INTERACTION_WAITING:
            lines.append(
                f"{self.pool_size} agent(s) free for this queue, "
                f"{self.candidates_total} ranked by {self.strategy}"
            )
        for c in self.agent_candidates:
            if c.agent_id != self.agent_id:
                lines.append(
                    f"passed over {c.agent_id}: ranked lower by {self.strategy} "
                    f"(score {_fmt(c.score)})"
                )
        for p in self.passed_over:
            lines.append(f"passed over {p.agent_id}: {p.reason}")
        for w in self.waiting_candidates:
            if w.interaction_id != self.interaction_id:
                lines.append(
                    f"left waiting {w.interaction_id} in {w.queue_id}: priority "
                    f"{w.priority}, waited {w.waited_s:.1f}s"
                )
        return lines


def rule_on_read(text: Callable[..., str], *args: object) -> str:
    """A decision's rule given as the function that writes it and its arguments: the text is
    written the first time anyone reads `rule`, and kept. The value is the same as if it had
    been written at once (the arguments are taken now), but the simulator, whose decisions
    nobody reads, does not format a number for every call. Inline, as `cast(str, (text,
    *args))`, where a decision is made per call."""
    return cast(str, (text, *args))


class _RuleOnRead:
    """The descriptor of `RoutingDecision.rule`: over the slot, it writes a rule given as
    `(text, *args)` (see `rule_on_read`) on the first read and keeps the text in the slot."""

    __slots__ = ("_slot",)

    def __init__(self, slot: Any) -> None:
        self._slot = slot

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = self._slot.__get__(obj, owner)
        if type(value) is tuple:
            value = value[0](*value[1:])
            self._slot.__set__(obj, value)  # the same value, written out: frozen all the same
        return value

    def __set__(self, obj: object, value: object) -> None:
        self._slot.__set__(obj, value)  # never reached from outside: the class is frozen

    def __delete__(self, obj: object) -> None:
        self._slot.__delete__(obj)


over_slot(RoutingDecision, "rule", _RuleOnRead)


def _fmt(score: tuple[float, ...]) -> str:
    return ", ".join(f"{x:g}" for x in score)
