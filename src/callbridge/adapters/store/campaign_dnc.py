"""Do-not-call in the SQL store: the internal list with dates, campaign lists, national
registry copies and consent / business-relationship exemptions, read as the domain's `DncBook`.

Numbers are sealed with the FieldCipher and found by blind index. Part of the campaign store
(`campaigns.SqlCampaignStore` hands `dnc_book` and the writes here).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select

from callbridge.adapters.store.audit import append_audit
from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.rows import (
    chunks,
    epoch_of,
    moment,
    moment_of,
    storage_errors,
    upsert,
)
from callbridge.adapters.store.tables import (
    campaign_dnc,
    dnc,
    dnc_exemptions,
    dnc_registry_copies,
    dnc_registry_numbers,
)
from callbridge.domain.dialer.dnc import DncBook, DncEntry, Exemption, ExemptionKind, RegistryCopy
from callbridge.domain.dialer.ids import CampaignId
from callbridge.ports import AuditRecord
from callbridge.services.security.crypto import FieldCipher

REGISTRY_BATCH = 5000


class SqlDnc:
    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self._engine, self._cipher = engine, cipher
        # The newest registry copy, opened, by its id: a copy never changes once imported, and
        # opening millions of sealed numbers on every pacing tick would cost seconds.
        self._registry_cache: tuple[int, RegistryCopy] | None = None

    def dnc_book(self, campaign_id: CampaignId) -> DncBook:
        opened = self._cipher.open
        with storage_errors("read do-not-call"), self._engine.connect() as conn:
            internal = [
                DncEntry(
                    opened(r["number"], "dnc.number"),
                    moment(r["effective_at"]),
                    moment_of(r["expires_at"]),
                    r["source"],
                )
                for r in conn.execute(select(dnc)).mappings()
            ]
            own = [
                DncEntry(
                    opened(r["number"], "campaign_dnc.number"),
                    moment(r["effective_at"]),
                    moment_of(r["expires_at"]),
                    r["source"],
                )
                for r in conn.execute(
                    select(campaign_dnc).where(campaign_dnc.c.campaign_id == campaign_id)
                ).mappings()
            ]
            exemptions = [
                Exemption(
                    opened(r["number"], "dnc_exemptions.number"),
                    ExemptionKind(r["kind"]),
                    moment(r["since"]),
                    moment_of(r["revoked_at"]),
                )
                for r in conn.execute(select(dnc_exemptions)).mappings()
            ]
            registry = self._registry(conn)
        return DncBook.of(internal, {campaign_id: own}, registry, exemptions)

    def _registry(self, conn: Connection) -> RegistryCopy | None:
        head = (
            conn.execute(
                select(dnc_registry_copies)
                .order_by(dnc_registry_copies.c.obtained_at.desc(), dnc_registry_copies.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        if head is None:
            return None
        cached = self._registry_cache
        if cached is not None and cached[0] == head["id"]:
            return cached[1]
        numbers = conn.execute(
            select(dnc_registry_numbers.c.number).where(
                dnc_registry_numbers.c.copy_id == head["id"]
            )
        ).scalars()
        opened = self._cipher.open
        copy = RegistryCopy(
            moment(head["obtained_at"]),
            frozenset(opened(n, "dnc_registry_numbers.number") for n in numbers),
            head["name"],
        )
        self._registry_cache = (int(head["id"]), copy)
        return copy

    def add_dnc(
        self,
        entries: Sequence[DncEntry],
        campaign_id: CampaignId | None = None,
        *,
        added_at: datetime,
        audit: Sequence[AuditRecord] = (),
    ) -> int:
        """Add entries to the internal list (None) or a campaign's; how many numbers were new.

        A number already there keeps one entry that blocks whenever either would: the earlier
        start and the later expiry (none beats any). Adding never shortens a block; internal
        entries wait for the next CRM sync to be pushed.
        """
        table = dnc if campaign_id is None else campaign_dnc
        column = f"{table.name}.number"
        merged: dict[str, DncEntry] = {}
        for e in entries:
            key = self._cipher.index(e.number)
            merged[key] = _widest(merged[key], e) if key in merged else e
        with storage_errors("save do-not-call entries"), write_transaction(self._engine) as conn:
            query = select(table).where(table.c.number_index.in_(list(merged)))
            if campaign_id is not None:
                query = query.where(campaign_dnc.c.campaign_id == campaign_id)
            existing = {r["number_index"]: r for r in conn.execute(query).mappings()}
            rows = []
            for key, e in merged.items():
                old = existing.get(key)
                if old is not None:
                    was = DncEntry(
                        e.number,
                        moment(old["effective_at"]),
                        moment_of(old["expires_at"]),
                        e.source,
                    )
                    e = _widest(was, e)
                row: dict[str, object] = {
                    "number_index": key,
                    "number": self._cipher.seal(e.number, column),
                    "source": old["source"] if old is not None else e.source,
                    "added_at": old["added_at"] if old is not None else added_at.timestamp(),
                    "effective_at": e.effective_at.timestamp(),
                    "expires_at": epoch_of(e.expires_at),
                }
                if campaign_id is None:
                    row["pushed_at"] = old["pushed_at"] if old is not None else None
                else:
                    row["campaign_id"] = campaign_id
                rows.append(row)
            upsert(conn, table, rows)
            append_audit(conn, audit)
        return len(set(merged) - set(existing))

    def add_registry(
        self,
        copy: RegistryCopy,
        region: str,
        imported_at: datetime,
        audit: Sequence[AuditRecord] = (),
    ) -> int:
        """Keep `copy` (its numbers sealed and indexed); only the newest copy by `obtained_at`
        keeps numbers, older ones stay as a record of what was screened when. The copy's id."""
        with storage_errors("import a registry copy"), write_transaction(self._engine) as conn:
            copy_id = int(
                conn.execute(
                    insert(dnc_registry_copies)
                    .values(
                        name=copy.name,
                        region=region,
                        obtained_at=copy.obtained_at.timestamp(),
                        imported_at=imported_at.timestamp(),
                        numbers=len(copy.numbers),
                    )
                    .returning(dnc_registry_copies.c.id)
                ).scalar_one()
            )
            seal, index = self._cipher.seal, self._cipher.index
            for chunk in chunks(sorted(copy.numbers), REGISTRY_BATCH):
                conn.execute(
                    insert(dnc_registry_numbers),
                    [
                        {
                            "copy_id": copy_id,
                            "number_index": index(n),
                            "number": seal(n, "dnc_registry_numbers.number"),
                        }
                        for n in chunk
                    ],
                )
            newest = self._registry_head(conn)
            conn.execute(
                delete(dnc_registry_numbers).where(dnc_registry_numbers.c.copy_id != newest)
            )
            append_audit(conn, audit)
        return copy_id

    def _registry_head(self, conn: Connection) -> int:
        return int(
            conn.execute(
                select(dnc_registry_copies.c.id)
                .order_by(dnc_registry_copies.c.obtained_at.desc(), dnc_registry_copies.c.id.desc())
                .limit(1)
            ).scalar_one()
        )

    def registry_copies(self) -> list[tuple[int, str, str, datetime, datetime, int]]:
        """(id, name, region, obtained_at, imported_at, numbers) of every import, newest first."""
        t = dnc_registry_copies.c
        query = select(t.id, t.name, t.region, t.obtained_at, t.imported_at, t.numbers).order_by(
            t.obtained_at.desc(), t.id.desc()
        )
        with storage_errors("read registry copies"), self._engine.connect() as conn:
            return [
                (int(i), n, reg, moment(o), moment(imp), int(k))
                for i, n, reg, o, imp, k in conn.execute(query).all()
            ]

    def add_exemptions(
        self, exemptions: Iterable[Exemption], audit: Sequence[AuditRecord] = ()
    ) -> None:
        """Record consent or business relationships (the same number, kind and start replace
        the earlier one, e.g. to revoke it)."""
        rows = [
            {
                "number_index": self._cipher.index(x.number),
                "kind": x.kind.value,
                "since": x.since.timestamp(),
                "number": self._cipher.seal(x.number, "dnc_exemptions.number"),
                "revoked_at": epoch_of(x.revoked_at),
            }
            for x in exemptions
        ]
        with storage_errors("save exemptions"), write_transaction(self._engine) as conn:
            upsert(conn, dnc_exemptions, rows)
            append_audit(conn, audit)


def _widest(a: DncEntry, b: DncEntry) -> DncEntry:
    start = min(a.effective_at, b.effective_at)
    end = None if a.expires_at is None or b.expires_at is None else max(a.expires_at, b.expires_at)
    return DncEntry(a.number, start, end, a.source)
