"""`SqlStore`: the `Store` port on SQLite or PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, insert, or_, select

from callbridge.adapters.store import codec, outbox
from callbridge.adapters.store.audit import append_audit
from callbridge.adapters.store.engine import make_engine, write_transaction
from callbridge.adapters.store.prepared import prepared
from callbridge.adapters.store.rows import storage_errors, upsert
from callbridge.adapters.store.schema import migrate
from callbridge.adapters.store.sealing import open_payload, seal_payload
from callbridge.adapters.store.tables import (
    NEXT_SEQ,
    agent_skills,
    agents,
    counters,
    dispositions,
    interaction_events,
    interactions,
    queues,
)
from callbridge.domain.agents import Agent
from callbridge.domain.errors import StorageError
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId, QueueId
from callbridge.domain.interactions import OPEN_STATES, Interaction, InteractionState
from callbridge.domain.live import Disposition
from callbridge.ports import AuditRecord, Changes, Store, StoredEvent, StoredState

if TYPE_CHECKING:
    from callbridge.services.security.crypto import FieldCipher


class SqlStore:
    """State and the event log in one database; each `commit` is one transaction."""

    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        """Use an engine whose database is already migrated; `open` does both.

        `cipher` seals personal data on the way in and opens it on the way out.
        """
        self._engine = engine
        self._cipher = cipher

    @classmethod
    def open(cls, url: str, cipher: FieldCipher) -> SqlStore:
        """Connect to `url`, creating a SQLite file on first run, and migrate it to head."""
        engine = make_engine(url)
        try:
            with storage_errors("migrate the database"):
                migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, cipher)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def cipher(self) -> FieldCipher:
        return self._cipher

    def close(self) -> None:
        self._engine.dispose()

    # --- writing ---------------------------------------------------------------------------

    def commit(self, changes: Changes) -> list[StoredEvent]:
        """Write state and events atomically; return the events as logged (with ids)."""
        both = set(changes.removed_queues) & {q.id for q in changes.queues}
        if both:
            raise StorageError(
                f"queue(s) {sorted(both)} both saved and removed in one commit",
                queue_ids=sorted(both),
            )
        cipher = self._cipher
        cipher.refresh()  # a rotated key file: seal under its new primary key from now on
        with storage_errors("write changes"), write_transaction(self._engine) as conn:
            self._write_agents(conn, changes.agents)
            upsert(
                conn,
                queues,
                [
                    {"id": q.id, "name": q.name, "config": codec.queue_config(q)}
                    for q in changes.queues
                ],
            )
            if changes.removed_queues:
                conn.execute(delete(queues).where(queues.c.id.in_(changes.removed_queues)))
            upsert(conn, dispositions, [codec.disposition_row(d) for d in changes.dispositions])
            upsert(
                conn, interactions, [codec.interaction_row(i, cipher) for i in changes.interactions]
            )
            if changes.next_seq is not None:
                upsert(conn, counters, [{"name": NEXT_SEQ, "value": changes.next_seq}])
            if changes.audit:
                append_audit(conn, changes.audit)
            if changes.outbox:
                at = changes.at if changes.at is not None else changes.outbox[-1].ended_at
                outbox.enqueue(conn, cipher, changes.outbox, at)
            return _append_events(conn, [codec.event_record(e) for e in changes.events], cipher)

    def append_audit(self, records: Sequence[AuditRecord]) -> list[int]:
        """Append audit entries on their own, for actions that change nothing else."""
        with storage_errors("append to the audit log"), write_transaction(self._engine) as conn:
            return append_audit(conn, records)

    def _write_agents(self, conn: Connection, changed: list[Agent]) -> None:
        latest = {agent.id: agent for agent in changed}
        if not latest:
            return
        upsert(conn, agents, [codec.agent_row(a) for a in latest.values()])
        deleting = prepared(conn, _DELETE_SKILLS)
        deleting.execute_many(conn, [{"agent_id": agent_id} for agent_id in latest])
        skill_rows = [row for a in latest.values() for row in codec.agent_skill_rows(a)]
        if skill_rows:
            inserting = prepared(conn, _INSERT_SKILLS, _SKILL_COLUMNS)
            inserting.execute_many(conn, skill_rows)

    # --- reading ---------------------------------------------------------------------------

    def load(self) -> StoredState:
        """Queues, agents, dispositions, open interactions and those still in wrap-up."""
        live = or_(
            interactions.c.state.in_([s.value for s in OPEN_STATES]),
            and_(
                interactions.c.state == InteractionState.ENDED.value,
                interactions.c.agent_id.is_not(None),
            ),
        )
        with storage_errors("load the stored state"), self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # one snapshot for every table (SQLite's BEGIN already gives one)
                conn.execution_options(isolation_level="REPEATABLE READ")
            skills: dict[str, dict[str, int]] = defaultdict(dict)
            for agent_id, skill, proficiency in conn.execute(
                select(agent_skills.c.agent_id, agent_skills.c.skill, agent_skills.c.proficiency)
            ):
                skills[agent_id][skill] = proficiency
            seq = conn.execute(select(counters.c.value).where(counters.c.name == NEXT_SEQ))
            return StoredState(
                queues=[
                    codec.queue_from_config(row["id"], row["name"], row["config"])
                    for row in conn.execute(select(queues).order_by(queues.c.id)).mappings()
                ],
                agents=[
                    codec.agent_from_row(row, skills[row["id"]])
                    for row in conn.execute(select(agents).order_by(agents.c.ordinal)).mappings()
                ],
                dispositions=[
                    codec.disposition_from_row(row)
                    for row in conn.execute(
                        select(dispositions).order_by(dispositions.c.code)
                    ).mappings()
                ],
                interactions=[
                    codec.interaction_from_row(row, self._cipher)
                    for row in conn.execute(
                        select(interactions)
                        .where(live)
                        .order_by(interactions.c.created_at, interactions.c.id)
                    ).mappings()
                ],
                next_seq=seq.scalar_one_or_none() or 1,
            )

    def get_interaction(self, interaction_id: InteractionId) -> Interaction | None:
        """Any interaction, open or closed."""
        query = select(interactions).where(interactions.c.id == interaction_id)
        with storage_errors("read an interaction"), self._engine.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
            return None if row is None else codec.interaction_from_row(row, self._cipher)

    def list_interactions(
        self,
        *,
        state: InteractionState | None = None,
        queue_id: QueueId | None = None,
        limit: int = 100,
    ) -> list[Interaction]:
        """Newest first (by creation time, then id)."""
        query = select(interactions).order_by(
            interactions.c.created_at.desc(), interactions.c.id.desc()
        )
        if state is not None:
            query = query.where(interactions.c.state == state.value)
        if queue_id is not None:
            query = query.where(interactions.c.queue_id == queue_id)
        with storage_errors("list interactions"), self._engine.connect() as conn:
            rows = conn.execute(query.limit(max(limit, 0))).mappings()
            return [codec.interaction_from_row(row, self._cipher) for row in rows]

    def find_interactions(self, address: str, limit: int = 100) -> list[Interaction]:
        """Interactions from, to or to be called back at `address`, newest first.

        Matched through the blind indexes, so "+1 (415) 555-0100" finds "+14155550100".
        """
        key = self._cipher.index(address)
        query = (
            select(interactions)
            .where(
                or_(
                    interactions.c.from_index == key,
                    interactions.c.to_index == key,
                    interactions.c.callback_index == key,
                )
            )
            .order_by(interactions.c.created_at.desc(), interactions.c.id.desc())
            .limit(max(limit, 0))
        )
        with storage_errors("find interactions"), self._engine.connect() as conn:
            rows = conn.execute(query).mappings()
            return [codec.interaction_from_row(row, self._cipher) for row in rows]

    def events(
        self,
        *,
        interaction_id: InteractionId | None = None,
        agent_id: AgentId | None = None,
        after_id: int = 0,
        limit: int = 1000,
        since: float | None = None,
        until: float | None = None,
    ) -> list[StoredEvent]:
        """The event log in id order, optionally for one interaction or agent, and only events
        dated from `since` to `until` (both included, to the microsecond the log keeps)."""
        log = interaction_events
        query = select(log).where(log.c.id > after_id).order_by(log.c.id).limit(max(limit, 0))
        if interaction_id is not None:
            query = query.where(log.c.interaction_id == interaction_id)
        if agent_id is not None:
            query = query.where(log.c.agent_id == agent_id)
        if since is not None:
            query = query.where(log.c.at >= since)
        if until is not None:
            query = query.where(log.c.at <= until)
        with storage_errors("read the event log"), self._engine.connect() as conn:
            rows = conn.execute(query).mappings()
            return [_stored_event(row, self._cipher) for row in rows]

    def get_disposition(self, code: DispositionCode) -> Disposition | None:
        query = select(dispositions).where(dispositions.c.code == code)
        with storage_errors("read a disposition"), self._engine.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
            return None if row is None else codec.disposition_from_row(row)

    def ping(self) -> None:
        """Raise StorageError unless the database answers now."""
        with storage_errors("reach the database"), self._engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")


_check_protocol: type[Store] = SqlStore

# The statements every commit runs, built once and run as prepared statements (`prepared`):
# through SQLAlchemy's execution each cost several times what the database takes for it.
# (Upserts are kept the same way, by `rows.upsert_statement`.) The skills are deleted by an
# executemany of `agent_id = ?`, not one `IN (...)`, whose SQL would change with the count.
_DELETE_SKILLS = delete(agent_skills).where(agent_skills.c.agent_id == bindparam("agent_id"))
_INSERT_SKILLS = insert(agent_skills)
_SKILL_COLUMNS = ("agent_id", "skill", "proficiency")
# One row at a time, RETURNING its id: the ids come back in the order of the events.
_INSERT_EVENTS = insert(interaction_events).returning(interaction_events.c.id)
_EVENT_COLUMNS = ("at", "kind", "interaction_id", "agent_id", "queue_id", "payload")


def _append_events(
    conn: Connection, records: list[codec.EventRecord], cipher: FieldCipher
) -> list[StoredEvent]:
    if not records:
        return []
    rows = [
        {
            "at": r.at,
            "kind": r.kind,
            "interaction_id": r.interaction_id,
            "agent_id": r.agent_id,
            "queue_id": r.queue_id,
            "payload": seal_payload(r.payload, cipher),
        }
        for r in records
    ]
    ids = prepared(conn, _INSERT_EVENTS, _EVENT_COLUMNS).returning_first(conn, rows)
    return [
        StoredEvent(
            id=event_id,
            # as it will read back: rounded to the microsecond
            at=codec.from_datetime(codec.to_datetime(r.at)),
            kind=r.kind,
            interaction_id=r.interaction_id,
            agent_id=r.agent_id,
            queue_id=r.queue_id,
            payload=r.payload,
        )
        for event_id, r in zip(ids, records, strict=True)
    ]


def _stored_event(row: Mapping[Any, Any], cipher: FieldCipher) -> StoredEvent:
    payload = row["payload"]
    if not isinstance(payload, dict):
        raise StorageError(f"stored event {row['id']} has a payload that is not an object")
    return StoredEvent(
        id=row["id"],
        at=row["at"],
        kind=row["kind"],
        interaction_id=None
        if row["interaction_id"] is None
        else InteractionId(row["interaction_id"]),
        agent_id=None if row["agent_id"] is None else AgentId(row["agent_id"]),
        queue_id=None if row["queue_id"] is None else QueueId(row["queue_id"]),
        payload=open_payload(payload, cipher),
    )
