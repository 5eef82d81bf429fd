"""`SqlCampaignStore`: the `CampaignStore` port on SQLite or PostgreSQL, with the writes the
campaign use cases need besides (do-not-call entries, registry copies, exemptions: those live
in `campaign_dnc.py`).

Phone numbers and names are sealed with the FieldCipher; numbers are found by blind index. A
campaign is kept as its campaign file and status, and parsed again on read, so what the
supervisor wrote is what runs. Domain times are aware datetimes; the columns hold UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select

from callbridge.adapters.store import pacing_codec
from callbridge.adapters.store.audit import append_audit
from callbridge.adapters.store.campaign_dnc import SqlDnc
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
    campaign_calls,
    campaign_progress,
    campaign_record_phones,
    campaign_records,
    campaigns,
    number_histories,
    pacing_decisions,
)
from callbridge.domain.dialer.attempts import NumberHistory, RecordProgress
from callbridge.domain.dialer.campaign_file import parse_campaign
from callbridge.domain.dialer.campaigns import CampaignState, CampaignStatus
from callbridge.domain.dialer.decisions import PacingDecision
from callbridge.domain.dialer.dnc import DncBook, DncEntry, Exemption, RegistryCopy
from callbridge.domain.dialer.ids import CampaignId, ListId, RecordId
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId
from callbridge.ports import AuditRecord, CampaignCall, CampaignStore, StoredCampaign
from callbridge.services.security.crypto import FieldCipher


class SqlCampaignStore:
    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self._engine, self._cipher = engine, cipher
        self.dnc = SqlDnc(engine, cipher)

    # --- campaigns -------------------------------------------------------------------------

    def save_campaign(self, stored: StoredCampaign, audit: Sequence[AuditRecord] = ()) -> None:
        """Insert or replace the campaign (its status included), with its audit entries."""
        status = stored.status
        row = {
            "id": stored.campaign.campaign_id,
            "name": stored.campaign.name,
            "source": stored.source,
            "state": status.state.value,
            "since": epoch_of(status.since),
            "first_started": epoch_of(status.first_started),
        }
        with storage_errors("save a campaign"), write_transaction(self._engine) as conn:
            upsert(conn, campaigns, [row])
            append_audit(conn, audit)

    def campaign(self, campaign_id: CampaignId) -> StoredCampaign | None:
        found = self._campaigns(select(campaigns).where(campaigns.c.id == campaign_id))
        return found[0] if found else None

    def campaigns(self) -> list[StoredCampaign]:
        return self._campaigns(select(campaigns).order_by(campaigns.c.id))

    def _campaigns(self, query: Any) -> list[StoredCampaign]:
        with storage_errors("read campaigns"), self._engine.connect() as conn:
            rows = list(conn.execute(query).mappings())
            return [
                StoredCampaign(
                    parse_campaign(r["source"], f"campaign {r['id']}"),
                    CampaignStatus(
                        CampaignState(r["state"]),
                        moment_of(r["since"]),
                        moment_of(r["first_started"]),
                    ),
                    r["source"],
                )
                for r in rows
            ]

    # --- dialing records -------------------------------------------------------------------

    def add_records(self, list_id: ListId, records: Sequence[DialingRecord]) -> int:
        unique = list({r.record_id: r for r in records}.values())
        if not unique:
            return 0
        seal, index = self._cipher.seal, self._cipher.index
        with storage_errors("add dialing records"), write_transaction(self._engine) as conn:
            ids = [r.record_id for r in unique]
            kept: dict[str, int] = {}
            for chunk in chunks(ids, 500):
                kept.update(
                    conn.execute(
                        select(campaign_records.c.record_id, campaign_records.c.position).where(
                            campaign_records.c.list_id == list_id,
                            campaign_records.c.record_id.in_(chunk),
                        )
                    ).all()
                )
            last = conn.execute(
                select(func.max(campaign_records.c.position)).where(
                    campaign_records.c.list_id == list_id
                )
            ).scalar_one()
            following = -1 if last is None else int(last)
            rows: list[dict[str, object]] = []
            phones: list[dict[str, object]] = []
            for r in unique:
                if r.record_id in kept:
                    position = kept[r.record_id]
                else:
                    following += 1
                    position = following
                rows.append(
                    {
                        "list_id": list_id,
                        "record_id": r.record_id,
                        "position": position,
                        "name": seal(r.name, "campaign_records.name"),
                        "phones": seal(json.dumps(list(r.phones)), "campaign_records.phones"),
                        "time_zone": r.time_zone,
                        "state": r.state,
                        "priority": r.priority,
                    }
                )
                phones.extend(
                    {"list_id": list_id, "record_id": r.record_id, "phone_index": key}
                    for key in {index(p) for p in r.phones}
                )
            for chunk in chunks(list(kept), 500):
                conn.execute(
                    delete(campaign_record_phones).where(
                        campaign_record_phones.c.list_id == list_id,
                        campaign_record_phones.c.record_id.in_(chunk),
                    )
                )
            upsert(conn, campaign_records, rows)
            conn.execute(insert(campaign_record_phones), phones)
        return len(unique)

    def records(self, list_id: ListId) -> list[DialingRecord]:
        query = (
            select(campaign_records)
            .where(campaign_records.c.list_id == list_id)
            .order_by(campaign_records.c.position)
        )
        opened = self._cipher.open
        with storage_errors("read dialing records"), self._engine.connect() as conn:
            return [
                DialingRecord(
                    RecordId(r["record_id"]),
                    tuple(json.loads(opened(r["phones"], "campaign_records.phones"))),
                    opened(r["name"], "campaign_records.name"),
                    r["time_zone"],
                    r["state"],
                    r["priority"],
                    r["position"],
                )
                for r in conn.execute(query).mappings()
            ]

    def list_sizes(self) -> dict[ListId, int]:
        """How many records each list holds."""
        query = select(campaign_records.c.list_id, func.count()).group_by(
            campaign_records.c.list_id
        )
        with storage_errors("count dialing records"), self._engine.connect() as conn:
            return {ListId(k): int(n) for k, n in conn.execute(query).all()}

    # --- progress, histories, calls --------------------------------------------------------

    def progress(self, campaign_id: CampaignId) -> dict[RecordId, RecordProgress]:
        query = select(campaign_progress).where(campaign_progress.c.campaign_id == campaign_id)
        with storage_errors("read record progress"), self._engine.connect() as conn:
            return {
                RecordId(r["record_id"]): RecordProgress(
                    r["attempts"],
                    moment_of(r["due_at"]),
                    bool(r["done"]),
                    None if r["last"] is None else DispositionCode(r["last"]),
                    r["passes"],
                )
                for r in conn.execute(query).mappings()
            }

    def histories(self, numbers: Sequence[str]) -> dict[str, NumberHistory]:
        by_key = {self._cipher.index(n): n for n in numbers}
        found: dict[str, NumberHistory] = {}
        with storage_errors("read number histories"), self._engine.connect() as conn:
            for chunk in chunks(list(by_key), 500):
                query = select(number_histories).where(number_histories.c.number_index.in_(chunk))
                for r in conn.execute(query).mappings():
                    number = by_key[r["number_index"]]
                    found[number] = NumberHistory(
                        number,
                        tuple(moment(float(t)) for t in r["attempts"]),
                        moment_of(r["last_abandoned_at"]),
                        moment_of(r["last_machine_at"]),
                    )
        return found

    def record_call(
        self, call: CampaignCall, progress: RecordProgress, history: NumberHistory
    ) -> None:
        """One transaction. A call already recorded (a retry after a lost answer) changes
        nothing: its effect is in already."""
        key = self._cipher.index(call.number)
        with storage_errors("record a campaign call"), write_transaction(self._engine) as conn:
            known = conn.execute(
                select(campaign_calls.c.call_id).where(campaign_calls.c.call_id == call.call_id)
            ).first()
            if known is not None:
                return
            conn.execute(insert(campaign_calls).values(self._call_row(call, key)))
            upsert(
                conn,
                campaign_progress,
                [
                    {
                        "campaign_id": call.campaign_id,
                        "record_id": call.record_id,
                        "attempts": progress.attempts,
                        "due_at": epoch_of(progress.due_at),
                        "done": progress.done,
                        "last": progress.last,
                        "passes": progress.passes,
                    }
                ],
            )
            upsert(
                conn,
                number_histories,
                [
                    {
                        "number_index": self._cipher.index(history.number),
                        "number": self._cipher.seal(history.number, "number_histories.number"),
                        "attempts": [t.timestamp() for t in history.attempts],
                        "last_abandoned_at": epoch_of(history.last_abandoned_at),
                        "last_machine_at": epoch_of(history.last_machine_at),
                    }
                ],
            )

    def _call_row(self, call: CampaignCall, key: str) -> dict[str, object]:
        return {
            "call_id": call.call_id,
            "campaign_id": call.campaign_id,
            "record_id": call.record_id,
            "number": self._cipher.seal(call.number, "campaign_calls.number"),
            "number_index": key,
            "dialled_at": call.dialled_at.timestamp(),
            "ended_at": call.ended_at.timestamp(),
            "disposition": call.disposition,
            "window_key": call.window,
            "answered_at": epoch_of(call.answered_at),
            "live": call.live,
            "connected_at": epoch_of(call.connected_at),
            "agent_id": call.agent_id,
            "interaction_id": call.interaction_id,
            "abandoned": call.abandoned,
            "message": call.message,
        }

    def calls(
        self,
        campaign_id: CampaignId,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[CampaignCall]:
        c = campaign_calls.c
        query = select(campaign_calls).where(c.campaign_id == campaign_id)
        if since is not None:
            query = query.where(c.dialled_at >= since.timestamp())
        if until is not None:
            query = query.where(c.dialled_at < until.timestamp())
        query = query.order_by(c.dialled_at, c.call_id)
        opened = self._cipher.open
        with storage_errors("read campaign calls"), self._engine.connect() as conn:
            return [
                CampaignCall(
                    call_id=r["call_id"],
                    campaign_id=CampaignId(r["campaign_id"]),
                    record_id=RecordId(r["record_id"]),
                    number=opened(r["number"], "campaign_calls.number"),
                    dialled_at=moment(r["dialled_at"]),
                    ended_at=moment(r["ended_at"]),
                    disposition=DispositionCode(r["disposition"]),
                    window=r["window_key"],
                    answered_at=moment_of(r["answered_at"]),
                    live=bool(r["live"]),
                    connected_at=moment_of(r["connected_at"]),
                    agent_id=None if r["agent_id"] is None else AgentId(r["agent_id"]),
                    interaction_id=(
                        None if r["interaction_id"] is None else InteractionId(r["interaction_id"])
                    ),
                    abandoned=bool(r["abandoned"]),
                    message=r["message"],
                )
                for r in conn.execute(query).mappings()
            ]

    # --- pacing decisions ------------------------------------------------------------------

    def record_decision(self, campaign_id: CampaignId, decision: PacingDecision) -> None:
        row = {
            "campaign_id": campaign_id,
            "at": decision.at,
            "decision": pacing_codec.dumps(decision),
        }
        with storage_errors("log a pacing decision"), write_transaction(self._engine) as conn:
            conn.execute(insert(pacing_decisions).values(row))

    def decisions(self, campaign_id: CampaignId, limit: int = 100) -> list[PacingDecision]:
        query = (
            select(pacing_decisions.c.decision)
            .where(pacing_decisions.c.campaign_id == campaign_id)
            .order_by(pacing_decisions.c.id.desc())
            .limit(limit)
        )
        with storage_errors("read pacing decisions"), self._engine.connect() as conn:
            return [pacing_codec.loads(text) for (text,) in conn.execute(query).all()]

    # --- do-not-call (campaign_dnc.py) -------------------------------------------------------

    def dnc_book(self, campaign_id: CampaignId) -> DncBook:
        return self.dnc.dnc_book(campaign_id)

    def add_dnc(
        self,
        entries: Sequence[DncEntry],
        campaign_id: CampaignId | None = None,
        *,
        added_at: datetime,
        audit: Sequence[AuditRecord] = (),
    ) -> int:
        """See `SqlDnc.add_dnc`."""
        return self.dnc.add_dnc(entries, campaign_id, added_at=added_at, audit=audit)

    def add_registry(
        self,
        copy: RegistryCopy,
        region: str,
        imported_at: datetime,
        audit: Sequence[AuditRecord] = (),
    ) -> int:
        """See `SqlDnc.add_registry`."""
        return self.dnc.add_registry(copy, region, imported_at, audit)

    def add_exemptions(
        self, exemptions: Iterable[Exemption], audit: Sequence[AuditRecord] = ()
    ) -> None:
        """See `SqlDnc.add_exemptions`."""
        self.dnc.add_exemptions(exemptions, audit)


_check: type[CampaignStore] = SqlCampaignStore
