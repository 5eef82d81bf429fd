"""Finding records: SOSL for phones on an index miss and for free-text search, SOQL for an
email address, an account number or a case number."""

from __future__ import annotations

import re
from collections.abc import Sequence

from simple_salesforce.format import format_soql

from callbridge.adapters.crm.salesforce.client import SalesforceClient
from callbridge.adapters.crm.salesforce.mapping import MATCH_FIELDS, known_type, to_match
from callbridge.adapters.crm.salesforce.payload import Json, record_type
from callbridge.domain.crm.records import PHONE_TYPES, CrmMatch, LookupKey, RecordType

_SOSL_RESERVED = re.compile(r"([?&|!{}\[\]()^~*:\\\"'+\-])")
SEARCHABLE = (RecordType.CONTACT, RecordType.LEAD, RecordType.ACCOUNT, RecordType.CASE)


def escape_sosl(term: str) -> str:
    """A search term with SOSL's reserved characters backslash-escaped."""
    return _SOSL_RESERVED.sub(r"\\\1", term.strip())


def returning(types: Sequence[RecordType], limit: int | None = None) -> str:
    parts = [f"{t.value}({', '.join(MATCH_FIELDS[t])})" for t in types if t in MATCH_FIELDS]
    return " RETURNING " + ", ".join(parts) + ("" if limit is None else f" LIMIT {limit}")


def phone_sosl(e164: str) -> str:
    """The screen-pop search (contract §3.5): digits only, in phone fields."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    # converted leads live on as their contact: only the contact should pop
    spec = returning(PHONE_TYPES).replace("Company)", "Company WHERE IsConverted = false)", 1)
    return f"FIND {{{digits}}} IN PHONE FIELDS" + spec


def search_sosl(term: str, types: Sequence[RecordType], limit: int) -> str:
    chosen = [t for t in (types or SEARCHABLE) if t in MATCH_FIELDS]
    return f"FIND {{{escape_sosl(term)}}} IN ALL FIELDS" + returning(chosen, limit)


def matches(records: Sequence[Json], matched_on: LookupKey) -> list[CrmMatch]:
    found = []
    for record in records:
        kind = known_type(record_type(record))
        match = to_match(kind, record, matched_on) if kind is not None else None
        if match is not None:
            found.append(match)
    return found


def by_phone(client: SalesforceClient, e164: str, limit: int) -> list[CrmMatch]:
    return _ordered(matches(client.search(phone_sosl(e164)), LookupKey.PHONE))[:limit]


def by_field(client: SalesforceClient, key: LookupKey, value: str, limit: int) -> list[CrmMatch]:
    """Email (contacts, then leads), account number or case number, by exact value."""
    wanted: list[tuple[RecordType, str]] = {
        LookupKey.EMAIL: [(RecordType.CONTACT, "Email"), (RecordType.LEAD, "Email")],
        LookupKey.ACCOUNT_NUMBER: [(RecordType.ACCOUNT, "AccountNumber")],
        LookupKey.CASE_NUMBER: [(RecordType.CASE, "CaseNumber")],
    }.get(key, [])
    found: list[CrmMatch] = []
    for kind, field in wanted:
        if len(found) >= limit:
            break
        soql = format_soql(
            f"SELECT {', '.join(MATCH_FIELDS[kind])} FROM {kind.value} "  # noqa: S608
            f"WHERE {field} = {{}} ORDER BY Name LIMIT {{:literal}}",
            value.strip(),
            str(limit - len(found)),
        )
        if kind is RecordType.CASE:
            soql = soql.replace("ORDER BY Name", "ORDER BY CaseNumber")
        for record in client.query(soql):
            match = to_match(kind, record, key)
            if match is not None:
                found.append(match)
    return found[:limit]


def search(
    client: SalesforceClient, text: str, types: Sequence[RecordType], limit: int
) -> list[CrmMatch]:
    term = text.strip()
    if len(term) < 2:  # SOSL refuses shorter terms
        return []
    digits = sum(ch.isdigit() for ch in term)
    key = (
        LookupKey.EMAIL
        if "@" in term
        else LookupKey.PHONE
        if digits >= 7 and digits >= len(term) // 2
        else LookupKey.NAME
    )
    return matches(client.search(search_sosl(term, types, limit)), key)[:limit]


def _ordered(found: list[CrmMatch]) -> list[CrmMatch]:
    rank = {kind: i for i, kind in enumerate(PHONE_TYPES)}
    return sorted(found, key=lambda m: rank.get(m.ref.type, len(rank)))
