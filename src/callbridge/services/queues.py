"""Queue and disposition use cases."""

from __future__ import annotations

from callbridge.domain.ids import DispositionCode, QueueId
from callbridge.domain.queues import Queue
from callbridge.ports import StoredEvent
from callbridge.services.runtime import Runtime


def do_save_queue(rt: Runtime, queue: Queue) -> list[StoredEvent]:
    """Create or replace a queue; waiting interactions are routed under the new rules."""
    return rt.apply(lambda c, now: c.save_queue(queue, now))


def do_remove_queue(rt: Runtime, queue_id: QueueId) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.remove_queue(queue_id, now))


def do_save_disposition(rt: Runtime, code: DispositionCode, label: str) -> list[StoredEvent]:
    return rt.apply(lambda c, now: c.save_disposition(code, label, now))
