"""The ports: what services need from the outside world, as typed Protocols.

Adapters implement these (SQLAlchemy store, in-memory or Redis bus); tests swap in fakes here
and nowhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from callbridge.domain.agents import Agent
from callbridge.domain.events import Event
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId, QueueId
from callbridge.domain.interactions import Interaction, InteractionState
from callbridge.domain.live import Disposition
from callbridge.domain.queues import Queue

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One row of the append-only interaction event log."""

    id: int
    at: float
    kind: str
    interaction_id: InteractionId | None
    agent_id: AgentId | None
    queue_id: QueueId | None
    payload: dict[str, JsonValue]


@dataclass(frozen=True, slots=True)
class StoredState:
    """Everything the live center is rebuilt from at start."""

    queues: list[Queue]
    agents: list[Agent]
    dispositions: list[Disposition]
    interactions: list[Interaction]  # open ones, and ended ones still in wrap-up
    next_seq: int


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry to append: who did what to which object, when, from where, and the
    object before and after (None where it did not exist)."""

    at: float
    actor: str
    action: str
    object_type: str
    object_id: str
    source: str
    before: JsonValue = None
    after: JsonValue = None


@dataclass(slots=True)
class Changes:
    """What one use case changed: written in one transaction, events included."""

    events: list[Event] = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)
    removed_queues: list[QueueId] = field(default_factory=list)
    dispositions: list[Disposition] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    next_seq: int | None = None
    audit: list[AuditRecord] = field(default_factory=list)  # appended in the same transaction


class Store(Protocol):
    def load(self) -> StoredState:
        """The state to rebuild the live center from."""
        ...

    def commit(self, changes: Changes) -> list[StoredEvent]:
        """Write state and events atomically; return the events as logged (with ids)."""
        ...

    def get_interaction(self, interaction_id: InteractionId) -> Interaction | None:
        """Any interaction, open or closed."""
        ...

    def list_interactions(
        self,
        *,
        state: InteractionState | None = None,
        queue_id: QueueId | None = None,
        limit: int = 100,
    ) -> list[Interaction]:
        """Newest first."""
        ...

    def events(
        self,
        *,
        interaction_id: InteractionId | None = None,
        agent_id: AgentId | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[StoredEvent]:
        """The event log in id order, optionally for one interaction or agent."""
        ...

    def get_disposition(self, code: DispositionCode) -> Disposition | None: ...

    def close(self) -> None: ...


class EventBus(Protocol):
    def publish(self, events: Sequence[StoredEvent]) -> None:
        """Hand logged events over for delivery to every subscriber, in order, without blocking.

        Called right after the transaction that logged them has committed.
        """
        ...

    def subscribe(self) -> AsyncIterator[StoredEvent]:
        """Events published from now on, until the iterator is closed."""
        ...


class IdFactory(Protocol):
    def __call__(self) -> str:
        """A new unique id."""
        ...
