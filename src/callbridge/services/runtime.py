"""The runtime every use case works through: the live center, written through to the store.

A use case changes the in-memory center (which validates first and changes nothing on error),
then the runtime writes the touched state and the events in one transaction, then publishes
the logged events. If the write fails, the live center is rebuilt from the store, so memory
never holds what the database does not: nothing already stored is lost, nothing half-done stays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from callbridge.domain.center import ContactCenter
from callbridge.domain.clock import Clock
from callbridge.domain.crm.activity import activity_for
from callbridge.domain.crm.records import Activity
from callbridge.domain.errors import CallbridgeError, StorageError
from callbridge.domain.events import (
    DispositionSaved,
    Event,
    InteractionEvent,
    QueueRemoved,
    QueueSaved,
)
from callbridge.domain.ids import AgentId, InteractionId, QueueId
from callbridge.domain.interactions import Interaction
from callbridge.domain.restore import restore, route_waiting
from callbridge.ports import AuditRecord, Changes, EventBus, IdFactory, Store, StoredEvent

log = structlog.get_logger(__name__)

Change = Callable[[ContactCenter, float], list[Event]]
AGENT_FIELDS = ("agent_id", "from_agent_id", "to_agent_id")


class Runtime:
    def __init__(self, store: Store, bus: EventBus, clock: Clock, new_id: IdFactory) -> None:
        self.store, self.bus, self.clock, self.new_id = store, bus, clock, new_id
        self._center = ContactCenter()
        self.events_applied = 0
        # True after a failed write whose reload failed too: the live state is unknown until
        # the store answers again, so every use of the center reloads first or fails.
        self.degraded = False

    @classmethod
    def start(cls, store: Store, bus: EventBus, clock: Clock, new_id: IdFactory) -> Runtime:
        """Load the stored state, rebuild the center, and route whatever can be routed now."""
        runtime = cls(store, bus, clock, new_id)
        runtime.reload()
        runtime.apply(route_waiting)
        return runtime

    @property
    def center(self) -> ContactCenter:
        """The live center; after an outage, rebuilt from the store first."""
        if self.degraded:
            try:
                self.reload()
            except Exception as exc:
                raise StorageError(f"the store is unavailable: {exc}") from exc
        return self._center

    def reload(self) -> None:
        """Replace the live center with one rebuilt from the store."""
        state = self.store.load()
        self._center = restore(
            state.queues,
            state.agents,
            state.dispositions,
            state.interactions,
            state.next_seq,
            self.clock.now(),
        )
        self.degraded = False

    def apply(self, change: Change, audit: Sequence[AuditRecord] = ()) -> list[StoredEvent]:
        """Run one change on the live center and make it durable. Errors change nothing.

        `audit` entries are appended in the same transaction as the change.
        """
        events = change(self.center, self.clock.now())
        return self._write(events, audit)

    def _write(self, events: list[Event], audit: Sequence[AuditRecord] = ()) -> list[StoredEvent]:
        closed = self._center.drain_closed()
        changes = self._changes(events, closed)
        changes.audit.extend(audit)
        try:
            stored = self.store.commit(changes)
        except Exception as exc:
            log.error("commit_failed", error=str(exc), events=len(events))
            try:
                self.reload()
            except Exception as reload_exc:  # the store is down; nothing routes until it is back
                log.error("reload_failed", error=str(reload_exc))
                self._center, self.degraded = ContactCenter(), True
            if isinstance(exc, CallbridgeError):
                raise
            raise StorageError(f"could not store the change: {exc}") from exc
        self.events_applied += len(stored)
        if stored:
            self.bus.publish(stored)
        return stored

    def _activity(self, ix: Interaction) -> Activity:
        center = self._center
        queue = center.queues.get(ix.queue_id) if ix.queue_id else None
        agent = center.agents.get(ix.last_agent_id) if ix.last_agent_id else None
        disposition = center.dispositions.get(ix.disposition) if ix.disposition else None
        return activity_for(
            ix,
            queue_name=queue.name if queue else ix.queue_id,
            agent_name=agent.name if agent else ix.last_agent_id,
            disposition_label=disposition.label if disposition else ix.disposition,
        )

    def _changes(self, events: list[Event], closed: list[Interaction]) -> Changes:
        center = self._center
        agent_ids: set[AgentId] = set()
        interaction_ids: set[InteractionId] = set()
        queue_ids: set[QueueId] = set()
        changes = Changes(events=events, next_seq=center.next_seq, at=self.clock.now())
        # every interaction that closed leaves an activity for the CRM, in this same commit
        changes.outbox = [self._activity(ix) for ix in closed]
        for event in events:
            for name in AGENT_FIELDS:
                value = getattr(event, name, None)
                if value is not None:
                    agent_ids.add(value)
            if isinstance(event, InteractionEvent):
                interaction_ids.add(event.interaction_id)
            elif isinstance(event, QueueSaved):
                queue_ids.add(event.queue_id)
            elif isinstance(event, QueueRemoved):
                changes.removed_queues.append(event.queue_id)
            elif isinstance(event, DispositionSaved):
                changes.dispositions.append(center.dispositions[event.code])
        by_id = {ix.id: ix for ix in closed}
        for iid in interaction_ids:
            ix = center.interactions.get(iid) or by_id.get(iid)
            if ix is not None:
                changes.interactions.append(ix)
        changes.agents = [center.agents[a] for a in sorted(agent_ids) if a in center.agents]
        changes.queues = [center.queues[q] for q in sorted(queue_ids) if q in center.queues]
        return changes
