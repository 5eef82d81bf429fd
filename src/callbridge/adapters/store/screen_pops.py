"""Screen pops as resolved for each interaction, and the agent's pick among several."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select, update

from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.rows import storage_errors, upsert
from callbridge.adapters.store.tables import screen_pops
from callbridge.domain.crm.records import CrmMatch, LookupKey, RecordRef, RecordType
from callbridge.domain.crm.screen_pop import Outcome, ScreenPop


def _match_json(m: CrmMatch) -> dict[str, Any]:
    return {
        "type": m.ref.type.value,
        "id": m.ref.id,
        "name": m.name,
        "matched_on": m.matched_on.value,
        "account_name": m.account_name,
    }


def _match(data: dict[str, Any]) -> CrmMatch:
    return CrmMatch(
        RecordRef(RecordType(data["type"]), data["id"]),
        data["name"],
        LookupKey(data["matched_on"]),
        data.get("account_name"),
    )


class ScreenPopStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(self, pop: ScreenPop, crm: str, at: float) -> None:
        """Keep the screen pop; the prefill (a phone or email) is not stored, it is derived."""
        row = {
            "interaction_id": pop.interaction_id,
            "crm": crm,
            "resolved_at": at,
            "outcome": pop.outcome.value,
            "matches": [_match_json(m) for m in pop.matches],
            "chosen_type": None if pop.chosen is None else pop.chosen.type.value,
            "chosen_id": None if pop.chosen is None else pop.chosen.id,
            "chosen_by": pop.chosen_by,
        }
        with storage_errors("save a screen pop"), write_transaction(self._engine) as conn:
            upsert(conn, screen_pops, [row])

    def get(self, interaction_id: str) -> ScreenPop | None:
        query = select(screen_pops).where(screen_pops.c.interaction_id == interaction_id)
        with storage_errors("read a screen pop"), self._engine.connect() as conn:
            row = conn.execute(query).mappings().one_or_none()
        if row is None:
            return None
        chosen = (
            None
            if row["chosen_id"] is None
            else RecordRef(RecordType(row["chosen_type"]), row["chosen_id"])
        )
        return ScreenPop(
            interaction_id=row["interaction_id"],
            outcome=Outcome(row["outcome"]),
            matches=tuple(_match(m) for m in row["matches"]),
            chosen=chosen,
            chosen_by=row["chosen_by"],
        )

    def choose(self, interaction_id: str, record: RecordRef, by: str) -> bool:
        with storage_errors("save a pick"), write_transaction(self._engine) as conn:
            result = conn.execute(
                update(screen_pops)
                .where(screen_pops.c.interaction_id == interaction_id)
                .values(chosen_type=record.type.value, chosen_id=record.id, chosen_by=by)
            )
            return result.rowcount == 1
