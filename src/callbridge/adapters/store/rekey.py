"""Re-encrypting stored personal data under the primary key, and finding where a key is used.

`reseal` walks each table in primary-key order, a few hundred rows per batch, each batch its own
short write transaction, so the server keeps working while it runs. Rows in a batch are locked
while they are re-sealed (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the write transaction is
exclusive), so a concurrent write by the server waits for the batch instead of being overwritten
by an older copy of the row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine, String, Table, Text, and_, cast, func, select, tuple_, update
from sqlalchemy.types import JSON

from callbridge.adapters.store.engine import write_transaction
from callbridge.adapters.store.sealing import (
    ERASED,
    INTERACTION_MAP,
    INTERACTION_TEXT,
    interaction_ad,
    map_payload,
)
from callbridge.adapters.store.tables import (
    campaign_calls,
    campaign_dnc,
    campaign_records,
    crm_accounts,
    crm_activities,
    crm_cases,
    crm_contacts,
    crm_dnc,
    crm_leads,
    crm_outbox,
    dialing_list_members,
    dnc,
    dnc_exemptions,
    dnc_registry_numbers,
    interaction_events,
    interactions,
    metadata,
    number_histories,
    remote_phone_index,
    users,
    webhooks,
)
from callbridge.services.security.crypto import PREFIX, FieldCipher

BATCH_SIZE = 500

# A row in, the columns to change out (empty: nothing to do).
Resealer = Callable[[Mapping[Any, Any], FieldCipher], dict[str, object]]


def _reseal_value(cipher: FieldCipher, value: str, ad: str) -> str:
    # The erasure marker stays plain, so an erased value reads as erased to anyone.
    return value if value == ERASED else cipher.reseal(value, ad)


def _interaction(row: Mapping[Any, Any], cipher: FieldCipher) -> dict[str, object]:
    changed: dict[str, object] = {}
    for column in INTERACTION_TEXT:
        value = row[column]
        if value is not None:
            new = _reseal_value(cipher, value, interaction_ad(column))
            if new != value:
                changed[column] = new
    attached = row[INTERACTION_MAP]
    if isinstance(attached, dict):
        ad = interaction_ad(INTERACTION_MAP)
        new_map = {
            k: _reseal_value(cipher, v, ad) if isinstance(v, str) else v
            for k, v in attached.items()
        }
        if new_map != attached:
            changed[INTERACTION_MAP] = new_map
    return changed


def _event(row: Mapping[Any, Any], cipher: FieldCipher) -> dict[str, object]:
    payload = row["payload"]
    if not isinstance(payload, dict):
        return {}
    new = map_payload(payload, lambda value, ad: _reseal_value(cipher, value, ad))
    return {"payload": new} if new != payload else {}


def _text_columns(table: Table, *columns: str) -> Resealer:
    """A resealer for plain text columns sealed with "<table>.<column>" as associated data."""

    def reseal_row(row: Mapping[Any, Any], cipher: FieldCipher) -> dict[str, object]:
        changed: dict[str, object] = {}
        for column in columns:
            value = row[column]
            if value is not None:
                new = _reseal_value(cipher, value, f"{table.name}.{column}")
                if new != value:
                    changed[column] = new
        return changed

    return reseal_row


# Every table with sealed values, and how to re-seal a row of it. A new table with sealed values
# joins here, or `keys retire` will refuse to drop a key its values still need.
SEALED: tuple[tuple[Table, Resealer], ...] = (
    (interactions, _interaction),
    (interaction_events, _event),
    (users, _text_columns(users, "mfa_secret", "sip_digest")),
    (webhooks, _text_columns(webhooks, "secret")),
    # the built-in CRM (adapters/crm/builtin)
    (crm_accounts, _text_columns(crm_accounts, "phone")),
    (crm_contacts, _text_columns(crm_contacts, "email", "phone", "mobile_phone")),
    (crm_leads, _text_columns(crm_leads, "email", "phone", "mobile_phone")),
    (crm_cases, _text_columns(crm_cases, "description")),
    (crm_activities, _text_columns(crm_activities, "customer_address", "notes", "fields")),
    (crm_dnc, _text_columns(crm_dnc, "number")),
    # the integration core and the Salesforce connector's phone index
    (crm_outbox, _text_columns(crm_outbox, "activity")),
    (dialing_list_members, _text_columns(dialing_list_members, "phone", "fields")),
    (dnc, _text_columns(dnc, "number")),
    (remote_phone_index, _text_columns(remote_phone_index, "name", "account_name")),
    # outbound campaigns (adapters/store/campaigns.py)
    (campaign_records, _text_columns(campaign_records, "name", "phones")),
    (number_histories, _text_columns(number_histories, "number")),
    (campaign_calls, _text_columns(campaign_calls, "number")),
    (campaign_dnc, _text_columns(campaign_dnc, "number")),
    (dnc_registry_numbers, _text_columns(dnc_registry_numbers, "number")),
    (dnc_exemptions, _text_columns(dnc_exemptions, "number")),
)


def reseal(
    engine: Engine,
    cipher: FieldCipher,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Re-seal every value not under the cipher's primary key (plain values included); the
    number of rows changed, by table. `progress(table, scanned, changed)` after each batch."""
    counts: dict[str, int] = {}
    for table, resealer in SEALED:
        counts[table.name] = _reseal_table(engine, cipher, table, resealer, batch_size, progress)
    return counts


def _reseal_table(
    engine: Engine,
    cipher: FieldCipher,
    table: Table,
    resealer: Resealer,
    batch_size: int,
    progress: Callable[[str, int, int], None] | None,
) -> int:
    keys = list(table.primary_key.columns)
    # a composite key pages by row value: (a, b) > (last a, last b)
    key = keys[0] if len(keys) == 1 else tuple_(*keys)
    last: tuple[object, ...] | None = None
    scanned = changed = 0
    while True:
        query = select(table).order_by(*keys).limit(batch_size).with_for_update()
        if last is not None:
            query = query.where(key > (last[0] if len(keys) == 1 else tuple_(*last)))
        with write_transaction(engine) as conn:
            rows = list(conn.execute(query).mappings())
            for row in rows:
                values = resealer(row, cipher)
                if values:
                    match = and_(*(k == row[k.name] for k in keys))
                    conn.execute(update(table).where(match).values(values))
                    changed += 1
        if not rows:
            return changed
        scanned += len(rows)
        last = tuple(rows[-1][k.name] for k in keys)
        if progress is not None:
            progress(table.name, scanned, changed)


def key_usage(engine: Engine, key_ids: list[str]) -> dict[str, int]:
    """How many stored values each key seals (counted by row and column), over every text and
    JSON column of every table.

    Deliberately broader than SEALED: a key is only safe to retire if nothing anywhere, in a
    table this module knows or not, was sealed with it.
    """
    usage = dict.fromkeys(key_ids, 0)
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | Text | JSON):
                    continue
                text = cast(column, Text) if isinstance(column.type, JSON) else column
                for kid in key_ids:
                    marker = f"{PREFIX}{kid}:"
                    count = conn.execute(
                        select(func.count()).where(text.contains(marker, autoescape=True))
                    ).scalar_one()
                    usage[kid] += count
    return usage
