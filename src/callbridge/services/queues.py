"""Queue and disposition use cases."""

from __future__ import annotations

from collections.abc import Sequence

from callbridge.domain.ids import DispositionCode, QueueId
from callbridge.domain.queues import Queue
from callbridge.ports import AuditRecord, StoredEvent
from callbridge.services.runtime import Runtime


def do_save_queue(
    rt: Runtime, queue: Queue, *, audit: Sequence[AuditRecord] = ()
) -> list[StoredEvent]:
    """Create or replace a queue; waiting interactions are routed under the new rules."""
    return rt.apply(lambda c, now: c.save_queue(queue, now), audit)


def do_remove_queue(
    rt: Runtime, queue_id: QueueId, *, audit: Sequence[AuditRecord] = ()
) -> list[StoredEvent]:
    """Remove a queue that nothing waits in and no other queue overflows into."""
    return rt.apply(lambda c, now: c.remove_queue(queue_id, now), audit)


def do_save_disposition(
    rt: Runtime, code: DispositionCode, label: str, *, audit: Sequence[AuditRecord] = ()
) -> list[StoredEvent]:
    """Create a disposition code, or change its label."""
    return rt.apply(lambda c, now: c.save_disposition(code, label, now), audit)
