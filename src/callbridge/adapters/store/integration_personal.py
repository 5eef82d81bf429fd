"""The integration core's tables as a holder of personal data: the activity outbox (the
customer's address and the agent's notes, until and after delivery) and dialing-list members.

The outbox has no blind index, so a request reads its rows and compares keyed hashes of the
decrypted addresses; requests are rare and the outbox is scanned in pages. Do-not-call entries
are kept on purpose: erasing one would let the person be called again, which is the opposite
of what they asked; the export lists them.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, delete, select, update

from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.outbox import COLUMN, activity_from_json, activity_json
from callbridge.adapters.store.sealing import ERASED
from callbridge.adapters.store.tables import crm_outbox, dialing_list_members, dnc
from callbridge.ports import JsonValue, PersonalDataHolder
from callbridge.services.security.crypto import FieldCipher

PAGE = 500


class IntegrationRecords:
    def __init__(self, engine: Engine, cipher: FieldCipher) -> None:
        self._engine, self._cipher = engine, cipher

    @property
    def name(self) -> str:
        return "crm_integration"

    def _outbox_matches(self, index_hash: str) -> list[tuple[int, dict[str, Any]]]:
        found: list[tuple[int, dict[str, Any]]] = []
        last = 0
        with self._engine.connect() as conn:
            while True:
                rows = conn.execute(
                    select(crm_outbox.c.id, crm_outbox.c.activity)
                    .where(crm_outbox.c.id > last)
                    .order_by(crm_outbox.c.id)
                    .limit(PAGE)
                ).all()
                if not rows:
                    return found
                for row_id, sealed in rows:
                    last = row_id
                    data = json.loads(self._cipher.open(sealed, COLUMN))
                    address = data.get("customer_address") or ""
                    if address != ERASED and self._cipher.index(address) == index_hash:
                        found.append((row_id, data))

    def export(self, index_hash: str, address: str) -> JsonValue:
        members = self._members(index_hash)
        with self._engine.connect() as conn:
            on_dnc = conn.execute(
                select(dnc.c.added_at).where(dnc.c.number_index == index_hash)
            ).first()
        out: dict[str, JsonValue] = {
            "crm_activities_queued": [data for _, data in self._outbox_matches(index_hash)],
            "dialing_lists": members,
            "do_not_call": on_dnc is not None,
        }
        return out

    def _members(self, index_hash: str) -> list[JsonValue]:
        query = select(
            dialing_list_members.c.list_id,
            dialing_list_members.c.record_type,
            dialing_list_members.c.record_id,
            dialing_list_members.c.name,
        ).where(dialing_list_members.c.phone_index == index_hash)
        with self._engine.connect() as conn:
            return [
                {"list_id": r[0], "record_type": r[1], "record_id": r[2], "name": r[3]}
                for r in conn.execute(query).all()
            ]

    def in_use(self, index_hash: str, address: str) -> int:
        return 0  # nothing here is written back by live state

    def erase(self, index_hash: str, address: str) -> int:
        matches = self._outbox_matches(index_hash)
        changed = 0
        with write_transaction(self._engine) as conn:
            for row_id, data in matches:
                activity = activity_from_json(data)
                erased = activity_json(activity) | {
                    "customer_address": ERASED,
                    "notes": None if activity.notes is None else ERASED,
                }
                sealed = self._cipher.seal(json.dumps(erased, sort_keys=True), COLUMN)
                conn.execute(
                    update(crm_outbox).where(crm_outbox.c.id == row_id).values(activity=sealed)
                )
                changed += 1
            gone = conn.execute(
                delete(dialing_list_members).where(dialing_list_members.c.phone_index == index_hash)
            )
            changed += int(gone.rowcount)
        return changed


_check: type[PersonalDataHolder] = IntegrationRecords
