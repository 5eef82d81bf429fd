"""Delivering the activity outbox to the CRM: batches, retries with backoff, and exactly-once
in effect (at-least-once delivery, upserted on the interaction id).

A row is marked delivered only after the CRM has answered for it; a crash in between delivers
it again, and the CRM's upsert keeps one record. Who the activity was with comes from the
screen pop: its one match or the agent's pick. Several matches and no pick park the row as
"unresolved" until someone picks; no match logs it without a contact.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import anyio
import structlog

from callbridge.adapters.store.outbox import Outbox, OutboxRow, Status
from callbridge.domain.clock import Clock
from callbridge.domain.crm.records import Activity, FieldValue
from callbridge.domain.crm.screen_pop import Outcome
from callbridge.domain.errors import CallbridgeError
from callbridge.domain.ids import InteractionId
from callbridge.ports import Crm, MappedActivity, Store
from callbridge.services.crm_sync.mapping import FieldMapping
from callbridge.services.crm_sync.screen_pops import ScreenPops

log = structlog.get_logger(__name__)

Mapper = Callable[[Activity], dict[str, FieldValue]]


@dataclass(frozen=True)
class DeliveryPolicy:
    batch: int = 200
    max_attempts: int = 20  # then the row is "failed": shown, kept, retried only by hand
    first_backoff_s: float = 2.0
    max_backoff_s: float = 300.0

    def backoff(self, attempts: int, rng: random.Random) -> float:
        """Exponential with full jitter: spreads retries after an outage."""
        ceiling = min(self.max_backoff_s, self.first_backoff_s * 2 ** max(0, attempts))
        return rng.uniform(ceiling / 2, ceiling)


@dataclass
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    unresolved: int = 0
    errors: list[str] = field(default_factory=list)


class ActivityLog:
    def __init__(
        self,
        outbox: Outbox,
        crm: Crm,
        screen_pops: ScreenPops,
        store: Store,
        clock: Clock,
        mapper: Mapper,
        policy: DeliveryPolicy | None = None,
        rng: random.Random | None = None,
        mapping: FieldMapping | None = None,
    ) -> None:
        self.outbox, self.crm, self.screen_pops, self.store = outbox, crm, screen_pops, store
        self.clock, self.mapper = clock, mapper
        self.mapping = mapping  # the mapping file `mapper` applies; None: the CRM's default
        self.policy = policy or DeliveryPolicy()
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets

    def deliver_due(self) -> DeliveryReport:
        """One batch: what is due now, delivered in one call to the CRM."""
        report = DeliveryReport()
        now = self.clock.now()
        ready: list[tuple[OutboxRow, MappedActivity]] = []
        for row in self.outbox.due(now, self.policy.batch):
            activity = self._with_who(row)
            if activity is None:
                self.outbox.set_status(row.interaction_id, Status.UNRESOLVED)
                report.unresolved += 1
                continue
            try:
                ready.append((row, MappedActivity(activity, self.mapper(activity))))
            except CallbridgeError as exc:
                self._retry(row, f"mapping: {exc.message}", report, give_up=True)
        if not ready:
            return report
        try:
            results = self.crm.log_activities([m for _, m in ready])
        except Exception as exc:  # the CRM is down or refused the whole batch: all retry
            log.warning("crm_delivery_failed", error=str(exc), batch=len(ready))
            for row, _ in ready:
                self._retry(row, f"{type(exc).__name__}: {exc}", report)
            return report
        done: list[tuple[int, str | None]] = []
        for (row, _), result in zip(ready, results, strict=True):
            if result.ok:
                done.append((row.id, result.record_id))
            else:
                self._retry(row, result.error or "refused", report, give_up=not result.retryable)
        if done:
            self.outbox.delivered(done, self.clock.now())
            report.delivered += len(done)
        return report

    def _with_who(self, row: OutboxRow) -> Activity | None:
        """The activity with the contact it was with; None while a pick is awaited."""
        activity = row.activity
        if activity.who is not None:
            return activity
        ix = self.store.get_interaction(InteractionId(activity.external_id))
        if ix is None:
            return activity
        pop = self.screen_pops.resolve(ix)
        if pop.record is not None:
            return replace(activity, who=pop.record)
        if pop.outcome is Outcome.MULTIPLE:
            return None
        return activity

    def _retry(
        self, row: OutboxRow, error: str, report: DeliveryReport, *, give_up: bool = False
    ) -> None:
        attempts = row.attempts + 1
        give_up = give_up or attempts >= self.policy.max_attempts
        next_at = self.clock.now() + self.policy.backoff(attempts, self.rng)
        self.outbox.retry(row.id, error, next_at, give_up=give_up)
        report.errors.append(f"{row.interaction_id}: {error}")
        if give_up:
            report.failed += 1
        else:
            report.retried += 1

    def release(self, interaction_id: str) -> bool:
        """After a pick, or to try a failed row again: back to pending, due now."""
        return self.outbox.set_status(interaction_id, Status.PENDING, now=self.clock.now())

    async def run(self, interval_s: float) -> None:
        """Deliver forever: full batches back to back, otherwise every `interval_s`."""
        while True:
            try:
                report = await anyio.to_thread.run_sync(self.deliver_due)
            except CallbridgeError as exc:  # the store itself is down: try again later
                log.error("outbox_read_failed", error=exc.message)
                report = DeliveryReport()
            if report.delivered < self.policy.batch:
                await anyio.sleep(interval_s)
