"""Outbound campaigns as a holder of personal data: dialing records, number histories, the
campaigns' ended calls, campaign do-not-call entries and consent / business-relationship
exemptions, all found by the number's blind index.

Erasure deletes the person's dialing records, number history and exemptions (an exemption is a
permission to call: without it the person is only called less), and overwrites the number in
the campaign's call log, which keeps the rest of each row: the compliance report must still
count the call. Do-not-call entries are kept on purpose, as for the internal list
(integration_personal.py): erasing one would let the person be called again.
"""

from __future__ import annotations

import json

from sqlalchemy import Engine, delete, select, update

from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.sealing import ERASED
from callbridge.adapters.store.tables import (
    campaign_calls,
    campaign_dnc,
    campaign_record_phones,
    campaign_records,
    dnc_exemptions,
    number_histories,
)
from callbridge.ports import JsonValue, PersonalDataHolder
from callbridge.services.security.crypto import FieldCipher


class CampaignRecords:
    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self._engine, self._cipher = engine, cipher

    @property
    def name(self) -> str:
        return "campaigns"

    def export(self, index_hash: str, address: str) -> JsonValue:
        opened = self._cipher.open
        records = (
            select(campaign_records)
            .join(
                campaign_record_phones,
                (campaign_record_phones.c.list_id == campaign_records.c.list_id)
                & (campaign_record_phones.c.record_id == campaign_records.c.record_id),
            )
            .where(campaign_record_phones.c.phone_index == index_hash)
        )
        calls = (
            select(campaign_calls)
            .where(campaign_calls.c.number_index == index_hash)
            .order_by(campaign_calls.c.dialled_at)
        )
        with self._engine.connect() as conn:
            out_records: list[JsonValue] = [
                {
                    "list_id": r["list_id"],
                    "record_id": r["record_id"],
                    "name": opened(r["name"], "campaign_records.name"),
                    "phones": json.loads(opened(r["phones"], "campaign_records.phones")),
                    "time_zone": r["time_zone"],
                    "state": r["state"],
                }
                for r in conn.execute(records).mappings()
            ]
            out_calls: list[JsonValue] = [
                {
                    "call_id": r["call_id"],
                    "campaign_id": r["campaign_id"],
                    "dialled_at": r["dialled_at"],
                    "disposition": r["disposition"],
                    "live": bool(r["live"]),
                    "abandoned": bool(r["abandoned"]),
                    "message": r["message"],
                }
                for r in conn.execute(calls).mappings()
            ]
            campaigns_dnc: list[JsonValue] = [
                str(cid)
                for (cid,) in conn.execute(
                    select(campaign_dnc.c.campaign_id).where(
                        campaign_dnc.c.number_index == index_hash
                    )
                ).all()
            ]
            exemptions: list[JsonValue] = [
                {"kind": kind, "since": since, "revoked_at": revoked}
                for kind, since, revoked in conn.execute(
                    select(
                        dnc_exemptions.c.kind, dnc_exemptions.c.since, dnc_exemptions.c.revoked_at
                    ).where(dnc_exemptions.c.number_index == index_hash)
                ).all()
            ]
            history = conn.execute(
                select(number_histories.c.attempts).where(
                    number_histories.c.number_index == index_hash
                )
            ).scalar()
        out: dict[str, JsonValue] = {
            "dialing_records": out_records,
            "calls": out_calls,
            "campaign_do_not_call": campaigns_dnc,
            "exemptions": exemptions,
            "attempts": list(history or []),
        }
        return out

    def in_use(self, index_hash: str, address: str) -> int:
        return 0  # a call in progress is recorded when it ends, by number: nothing to wait for

    def erase(self, index_hash: str, address: str) -> int:
        changed = 0
        with write_transaction(self._engine) as conn:
            owners = conn.execute(
                select(campaign_record_phones.c.list_id, campaign_record_phones.c.record_id).where(
                    campaign_record_phones.c.phone_index == index_hash
                )
            ).all()
            for list_id, record_id in set(owners):
                gone = conn.execute(
                    delete(campaign_records).where(
                        (campaign_records.c.list_id == list_id)
                        & (campaign_records.c.record_id == record_id)
                    )
                )
                changed += int(gone.rowcount)
            calls = conn.execute(
                update(campaign_calls)
                .where(campaign_calls.c.number_index == index_hash)
                .values(number=ERASED, number_index=ERASED)
            )
            changed += int(calls.rowcount)
            for table in (number_histories, dnc_exemptions):
                gone = conn.execute(delete(table).where(table.c.number_index == index_hash))
                changed += int(gone.rowcount)
        return changed


_check: type[PersonalDataHolder] = CampaignRecords
