"""Dialing lists pulled from the CRM, and Callbridge's own do-not-call list."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.rows import storage_errors, upsert
from callbridge.adapters.store.tables import dialing_list_members, dialing_lists, dnc
from callbridge.domain.crm.records import DialingListMember, DncEntry, RecordRef, RecordType
from callbridge.services.security.crypto import FieldCipher


@dataclass(frozen=True, slots=True)
class DialingList:
    id: str
    name: str
    source: str
    crm: str
    created_at: float
    synced_at: float | None
    members: int = 0


class ListStore:
    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self._engine, self._cipher = engine, cipher

    def replace_list(
        self, lst: DialingList, members: Sequence[DialingListMember], at: float
    ) -> None:
        """The list and its members as the CRM has them now, in one transaction."""
        seal, index = self._cipher.seal, self._cipher.index
        rows = [
            {
                "list_id": lst.id,
                "record_type": m.ref.type.value,
                "record_id": m.ref.id,
                "position": n,
                "name": m.name,
                "phone": seal(m.phone, "dialing_list_members.phone"),
                "phone_index": index(m.phone),
                "fields": seal(json.dumps(m.fields, sort_keys=True), "dialing_list_members.fields"),
            }
            for n, m in enumerate({m.ref: m for m in members}.values())
        ]
        head = {
            "id": lst.id,
            "name": lst.name,
            "source": lst.source,
            "crm": lst.crm,
            "created_at": lst.created_at,
            "synced_at": at,
        }
        with storage_errors("save a dialing list"), write_transaction(self._engine) as conn:
            upsert(conn, dialing_lists, [head])
            conn.execute(
                delete(dialing_list_members).where(dialing_list_members.c.list_id == lst.id)
            )
            if rows:
                conn.execute(insert(dialing_list_members), rows)

    def lists(self, list_id: str | None = None) -> list[DialingList]:
        """Every list (or the one `list_id` names), with its member count."""
        heads = select(dialing_lists).order_by(dialing_lists.c.name)
        counted = select(dialing_list_members.c.list_id, func.count()).group_by(
            dialing_list_members.c.list_id
        )
        if list_id is not None:
            heads = heads.where(dialing_lists.c.id == list_id)
            counted = counted.where(dialing_list_members.c.list_id == list_id)
        with storage_errors("read dialing lists"), self._engine.connect() as conn:
            counts: dict[str, int] = dict(conn.execute(counted).all())
            return [
                DialingList(
                    r["id"],
                    r["name"],
                    r["source"],
                    r["crm"],
                    r["created_at"],
                    r["synced_at"],
                    int(counts.get(r["id"], 0)),
                )
                for r in conn.execute(heads).mappings()
            ]

    def get_list(self, list_id: str) -> DialingList | None:
        found = self.lists(list_id)
        return found[0] if found else None

    def members(self, list_id: str, limit: int = 1000, offset: int = 0) -> list[DialingListMember]:
        query = (
            select(dialing_list_members)
            .where(dialing_list_members.c.list_id == list_id)
            .order_by(dialing_list_members.c.position)
            .limit(limit)
            .offset(offset)
        )
        opened = self._cipher.open
        with storage_errors("read a dialing list"), self._engine.connect() as conn:
            return [
                DialingListMember(
                    RecordRef(RecordType(r["record_type"]), r["record_id"]),
                    r["name"],
                    opened(r["phone"], "dialing_list_members.phone"),
                    json.loads(opened(r["fields"], "dialing_list_members.fields")),
                )
                for r in conn.execute(query).mappings()
            ]

    # --- do-not-call -----------------------------------------------------------------------

    def add_dnc(self, entries: Sequence[DncEntry], *, pushed: bool) -> int:
        """Add numbers (idempotent); `pushed` marks them as already in the CRM. Returns how
        many were new."""
        rows = {
            self._cipher.index(e.number): {
                "number_index": self._cipher.index(e.number),
                "number": self._cipher.seal(e.number, "dnc.number"),
                "source": e.source,
                "added_at": e.added_at,
                "pushed_at": e.added_at if pushed else None,
                "effective_at": e.added_at,  # honoured at once (campaign DNC entries may wait)
            }
            for e in entries
        }
        if not rows:
            return 0
        with storage_errors("save do-not-call numbers"), write_transaction(self._engine) as conn:
            upsert_into = sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
            # a number already there returns no row: what comes back is what was new
            statement = (
                upsert_into(dnc)
                .values(list(rows.values()))
                .on_conflict_do_nothing(index_elements=["number_index"])
                .returning(dnc.c.number_index)
            )
            return len(conn.execute(statement).all())

    def dnc_entries(self, *, unpushed_only: bool = False) -> list[tuple[str, DncEntry]]:
        query = select(dnc).order_by(dnc.c.added_at)
        if unpushed_only:
            query = query.where(dnc.c.pushed_at.is_(None))
        with storage_errors("read do-not-call numbers"), self._engine.connect() as conn:
            return [
                (
                    r["number_index"],
                    DncEntry(
                        self._cipher.open(r["number"], "dnc.number"), r["added_at"], r["source"]
                    ),
                )
                for r in conn.execute(query).mappings()
            ]

    def is_dnc(self, number: str) -> bool:
        key = self._cipher.index(number)
        with storage_errors("check do-not-call"), self._engine.connect() as conn:
            return (
                conn.execute(select(dnc.c.number_index).where(dnc.c.number_index == key)).first()
                is not None
            )

    def mark_pushed(self, keys: Sequence[str], at: float) -> None:
        with storage_errors("mark numbers pushed"), write_transaction(self._engine) as conn:
            conn.execute(update(dnc).where(dnc.c.number_index.in_(list(keys))).values(pushed_at=at))
