"""Screen-pop lookups and search.

A phone lookup reads the phone index by its key (one indexed query), then fetches the few
records it names by primary key. Email lookups go through the `email_index` blind indexes. Names,
companies, subjects and account and case numbers are stored in plain text and searched with a
case-insensitive "contains"; phones and emails are sealed, so search matches them whole only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, Connection, func, or_, select

from callbridge.adapters.crm.builtin.objects import normalise_phone
from callbridge.adapters.store.tables import (
    crm_accounts,
    crm_campaigns,
    crm_cases,
    crm_contacts,
    crm_leads,
    crm_phone_index,
)
from callbridge.domain.crm.records import (
    PHONE_TYPES,
    CrmMatch,
    LookupKey,
    RecordRef,
    RecordType,
)
from callbridge.services.security.crypto import FieldCipher

SEARCH_TYPES = (*PHONE_TYPES, RecordType.CASE, RecordType.CAMPAIGN)
_ORDER = {t: i for i, t in enumerate(SEARCH_TYPES)}


def lookup(
    conn: Connection, cipher: FieldCipher, region: str, key: LookupKey, value: str, limit: int
) -> list[CrmMatch]:
    text = value.strip()
    if not text or limit < 1:
        return []
    if key is LookupKey.PHONE:
        return by_phone(conn, cipher, region, text, PHONE_TYPES, limit)
    if key is LookupKey.EMAIL:
        return by_email(conn, cipher, text, PHONE_TYPES, limit)
    if key is LookupKey.ACCOUNT_NUMBER:
        query = select(crm_accounts.c.id, crm_accounts.c.name).where(
            crm_accounts.c.account_number == text
        )
        return [
            CrmMatch(RecordRef(RecordType.ACCOUNT, r.id), r.name, key)
            for r in conn.execute(query.order_by(crm_accounts.c.id).limit(limit))
        ]
    if key is LookupKey.CASE_NUMBER:
        return _cases(conn, crm_cases.c.case_number == text, key, limit)
    return search(conn, cipher, region, text, PHONE_TYPES, limit, names_only=True)


def by_phone(
    conn: Connection,
    cipher: FieldCipher,
    region: str,
    text: str,
    types: Sequence[RecordType],
    limit: int,
) -> list[CrmMatch]:
    e164 = normalise_phone(text, region)
    if e164 is None:
        return []
    index = crm_phone_index
    hits = conn.execute(
        select(index.c.record_type, index.c.record_id).where(
            index.c.phone_index == cipher.index(e164)
        )
    ).all()
    ids: dict[RecordType, list[str]] = defaultdict(list)
    for record_type, record_id in hits:
        ids[RecordType(record_type)].append(record_id)
    return _fetch(conn, ids, types, LookupKey.PHONE, limit)


def by_email(
    conn: Connection, cipher: FieldCipher, text: str, types: Sequence[RecordType], limit: int
) -> list[CrmMatch]:
    if "@" not in text:
        return []
    digest = cipher.index(text)
    ids: dict[RecordType, list[str]] = defaultdict(list)
    for type, table in ((RecordType.CONTACT, crm_contacts), (RecordType.LEAD, crm_leads)):
        if type in types:
            found = conn.execute(
                select(table.c.id).where(table.c.email_index == digest).limit(limit)
            ).scalars()
            ids[type].extend(found)
    return _fetch(conn, ids, types, LookupKey.EMAIL, limit)


def _fetch(
    conn: Connection,
    ids: dict[RecordType, list[str]],
    types: Sequence[RecordType],
    key: LookupKey,
    limit: int,
) -> list[CrmMatch]:
    """The named records, contacts before leads before accounts, by name within each."""
    out: list[CrmMatch] = []
    for type in PHONE_TYPES:
        if type in types and ids.get(type):
            out.extend(_by_ids(conn, type, ids[type], key))
    return out[:limit]


def _by_ids(
    conn: Connection, type: RecordType, ids: Iterable[str], key: LookupKey
) -> list[CrmMatch]:
    return _matches(conn, type, _id_in(type, list(ids)), key, limit=None)


def _id_in(type: RecordType, ids: list[str]) -> ColumnElement[bool]:
    table = {
        RecordType.CONTACT: crm_contacts,
        RecordType.LEAD: crm_leads,
        RecordType.ACCOUNT: crm_accounts,
        RecordType.CASE: crm_cases,
        RecordType.CAMPAIGN: crm_campaigns,
    }[type]
    return table.c.id.in_(ids)


def _matches(
    conn: Connection,
    type: RecordType,
    where: ColumnElement[bool],
    key: LookupKey,
    limit: int | None,
) -> list[CrmMatch]:
    if type is RecordType.CASE:
        return _cases(conn, where, key, limit)
    if type is RecordType.CONTACT:
        c, a = crm_contacts, crm_accounts
        query = (
            select(c.c.id, c.c.first_name, c.c.last_name, a.c.name.label("account_name"))
            .select_from(c.outerjoin(a, c.c.account_id == a.c.id))
            .where(where)
            .order_by(c.c.last_name, c.c.first_name, c.c.id)
        )
    elif type is RecordType.LEAD:
        ld = crm_leads
        query = (
            select(ld.c.id, ld.c.first_name, ld.c.last_name, ld.c.company.label("account_name"))
            .where(where)
            .order_by(ld.c.last_name, ld.c.first_name, ld.c.id)
        )
    else:
        table = crm_accounts if type is RecordType.ACCOUNT else crm_campaigns
        query = select(table.c.id, table.c.name).where(where).order_by(table.c.name, table.c.id)
    if limit is not None:
        query = query.limit(limit)
    out: list[CrmMatch] = []
    for row in conn.execute(query).mappings():
        if type in (RecordType.CONTACT, RecordType.LEAD):
            name = " ".join(p for p in (row["first_name"], row["last_name"]) if p)
            out.append(CrmMatch(RecordRef(type, row["id"]), name, key, row["account_name"]))
        else:
            out.append(CrmMatch(RecordRef(type, row["id"]), row["name"], key))
    return out


def _cases(
    conn: Connection, where: ColumnElement[bool], key: LookupKey, limit: int | None
) -> list[CrmMatch]:
    c, a = crm_cases, crm_accounts
    query = (
        select(c.c.id, c.c.case_number, c.c.subject, a.c.name.label("account_name"))
        .select_from(c.outerjoin(a, c.c.account_id == a.c.id))
        .where(where)
        .order_by(c.c.case_number)
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        CrmMatch(
            RecordRef(RecordType.CASE, r.id), f"{r.case_number} {r.subject}", key, r.account_name
        )
        for r in conn.execute(query)
    ]


def search(
    conn: Connection,
    cipher: FieldCipher,
    region: str,
    text: str,
    types: Sequence[RecordType],
    limit: int,
    *,
    names_only: bool = False,
) -> list[CrmMatch]:
    """Whole phone numbers and emails first (through the blind indexes), then records whose
    name, company, subject, account number or case number contains `text`."""
    text = text.strip()
    wanted = [t for t in SEARCH_TYPES if t in (types or SEARCH_TYPES)]
    if not text or limit < 1 or not wanted:
        return []
    found: list[CrmMatch] = []
    if not names_only:
        if "@" in text:
            found += by_email(conn, cipher, text, wanted, limit)
        elif sum(ch.isdigit() for ch in text) >= 7:
            found += by_phone(conn, cipher, region, text, wanted, limit)
    for type in wanted:
        found += _contains(conn, type, text, limit)
    seen: set[RecordRef] = set()
    out: list[CrmMatch] = []
    for match in found:
        if match.ref not in seen:
            seen.add(match.ref)
            out.append(match)
    return out[:limit]


def _contains(conn: Connection, type: RecordType, text: str, limit: int) -> list[CrmMatch]:
    if type is RecordType.CONTACT:
        c = crm_contacts
        full = func.coalesce(c.c.first_name, "") + " " + c.c.last_name
        return _matches(conn, type, full.icontains(text, autoescape=True), LookupKey.NAME, limit)
    if type is RecordType.LEAD:
        ld = crm_leads
        full = func.coalesce(ld.c.first_name, "") + " " + ld.c.last_name
        where = or_(
            full.icontains(text, autoescape=True),
            ld.c.company.icontains(text, autoescape=True),
        )
        return _matches(conn, type, where, LookupKey.NAME, limit)
    if type is RecordType.ACCOUNT:
        a = crm_accounts
        numbered = _matches(
            conn,
            type,
            a.c.account_number.icontains(text, autoescape=True),
            LookupKey.ACCOUNT_NUMBER,
            limit,
        )
        named = _matches(
            conn, type, a.c.name.icontains(text, autoescape=True), LookupKey.NAME, limit
        )
        return numbered + named
    if type is RecordType.CASE:
        cs = crm_cases
        numbered = _cases(
            conn, cs.c.case_number.icontains(text, autoescape=True), LookupKey.CASE_NUMBER, limit
        )
        named = _cases(conn, cs.c.subject.icontains(text, autoescape=True), LookupKey.NAME, limit)
        return numbered + named
    return _matches(
        conn, type, crm_campaigns.c.name.icontains(text, autoescape=True), LookupKey.NAME, limit
    )
