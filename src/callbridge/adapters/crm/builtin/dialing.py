"""Dialing lists (a campaign's members, or a saved query) and the do-not-call list.

Nobody flagged DoNotCall, and no number on the CRM's do-not-call list, is ever handed to the
dialer: the flag on a contact or lead counts as a do-not-call entry of its own.

Saved queries, as `query:<name>`:
  leads_open           leads not closed (Status not "Closed - ..."), with a phone
  leads_new            leads with Status "Open - Not Contacted", with a phone
  contacts_open_cases  contacts with a case not Closed, with a phone
  contacts_all         every contact with a phone
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Select, exists, or_, select

from callbridge.adapters.crm.builtin.codec import Row, open_column, record_name
from callbridge.adapters.crm.builtin.objects import (
    CASE_CLOSED,
    CONTACT,
    LEAD,
    LEAD_CLOSED,
    ObjectSpec,
    normalise_phone,
)
from callbridge.adapters.store.rows import upsert
from callbridge.adapters.store.tables import (
    crm_accounts,
    crm_campaign_members,
    crm_campaigns,
    crm_cases,
    crm_contacts,
    crm_dnc,
    crm_leads,
)
from callbridge.domain.crm.records import (
    DialingListMember,
    DncEntry,
    FieldValue,
    RecordRef,
    RecordType,
)
from callbridge.domain.errors import InvalidInput, NotFound
from callbridge.services.security.crypto import FieldCipher

QUERY_PREFIX = "query:"
DNC_AD = f"{crm_dnc.name}.number"
CHUNK = 500


def _has_phone(table: Any) -> Any:
    return or_(table.c.phone.is_not(None), table.c.mobile_phone.is_not(None))


def _contacts() -> Select[Any]:
    c, a = crm_contacts, crm_accounts
    return select(c, a.c.name.label("account_name")).select_from(
        c.outerjoin(a, c.c.account_id == a.c.id)
    )


def _q_leads_open() -> tuple[ObjectSpec, Select[Any]]:
    ld = crm_leads
    return LEAD, select(ld).where(ld.c.status.not_in(LEAD_CLOSED), _has_phone(ld))


def _q_leads_new() -> tuple[ObjectSpec, Select[Any]]:
    ld = crm_leads
    return LEAD, select(ld).where(ld.c.status == "Open - Not Contacted", _has_phone(ld))


def _q_contacts_open_cases() -> tuple[ObjectSpec, Select[Any]]:
    c, cs = crm_contacts, crm_cases
    open_case = exists().where(cs.c.contact_id == c.c.id, cs.c.status != CASE_CLOSED)
    return CONTACT, _contacts().where(open_case, _has_phone(c))


def _q_contacts_all() -> tuple[ObjectSpec, Select[Any]]:
    return CONTACT, _contacts().where(_has_phone(crm_contacts))


SAVED_QUERIES: dict[str, Callable[[], tuple[ObjectSpec, Select[Any]]]] = {
    "leads_open": _q_leads_open,
    "leads_new": _q_leads_new,
    "contacts_open_cases": _q_contacts_open_cases,
    "contacts_all": _q_contacts_all,
}


def dialing_list(
    conn: Connection, cipher: FieldCipher, source: str, limit: int
) -> list[DialingListMember]:
    if source.startswith(QUERY_PREFIX):
        return _saved(conn, cipher, source.removeprefix(QUERY_PREFIX), limit)
    return _campaign(conn, cipher, source, limit)


def _saved(conn: Connection, cipher: FieldCipher, name: str, limit: int) -> list[DialingListMember]:
    make = SAVED_QUERIES.get(name)
    if make is None:
        known = ", ".join(QUERY_PREFIX + q for q in SAVED_QUERIES)
        raise InvalidInput(f"source: no saved query {name!r} (known: {known})", field="source")
    obj, query = make()
    table = obj.table
    query = query.where(table.c.do_not_call.is_(False)).order_by(table.c.created_at, table.c.id)
    out: list[DialingListMember] = []
    offset = 0
    while len(out) < limit:
        rows = list(conn.execute(query.limit(CHUNK).offset(offset)).mappings())
        if not rows:
            break
        offset += len(rows)
        out += _members(conn, cipher, [(obj, row, None) for row in rows])
    return out[:limit]


def _campaign(
    conn: Connection, cipher: FieldCipher, campaign_id: str, limit: int
) -> list[DialingListMember]:
    if (
        conn.execute(select(crm_campaigns.c.id).where(crm_campaigns.c.id == campaign_id)).first()
        is None
    ):
        raise NotFound(f"source: no campaign {campaign_id!r}", field="source")
    m = crm_campaign_members
    members = list(
        conn.execute(
            select(m.c.member_type, m.c.member_id, m.c.status)
            .where(m.c.campaign_id == campaign_id)
            .order_by(m.c.created_at, m.c.id)
        )
    )
    out: list[DialingListMember] = []
    for start in range(0, len(members), CHUNK):
        chunk = members[start : start + CHUNK]
        status = {r.member_id: r.status for r in chunk}
        rows: dict[str, tuple[ObjectSpec, Row]] = {}
        for obj, query in ((CONTACT, _contacts()), (LEAD, select(crm_leads))):
            ids = [r.member_id for r in chunk if r.member_type == obj.type.value]
            if ids:
                found = conn.execute(
                    query.where(obj.table.c.id.in_(ids), obj.table.c.do_not_call.is_(False))
                ).mappings()
                rows.update({row["id"]: (obj, row) for row in found})
        ordered = [(*rows[r.member_id], status[r.member_id]) for r in chunk if r.member_id in rows]
        out += _members(conn, cipher, ordered)
        if len(out) >= limit:
            break
    return out[:limit]


def _members(
    conn: Connection, cipher: FieldCipher, rows: Sequence[tuple[ObjectSpec, Row, str | None]]
) -> list[DialingListMember]:
    """The rows with a phone (Phone, else MobilePhone) that is not on the do-not-call list."""
    candidates: list[tuple[ObjectSpec, Row, str | None, str]] = []
    for obj, row, member_status in rows:
        phone = open_column(obj, row, "phone", cipher) or open_column(
            obj, row, "mobile_phone", cipher
        )
        if phone and phone.startswith("+"):
            candidates.append((obj, row, member_status, phone))
    blocked = _on_dnc(conn, [cipher.index(c[3]) for c in candidates])
    out: list[DialingListMember] = []
    for obj, row, member_status, phone in candidates:
        if cipher.index(phone) in blocked:
            continue
        fields: dict[str, FieldValue] = {
            "FirstName": row["first_name"],
            "LastName": row["last_name"],
        }
        if obj.type is RecordType.LEAD:
            fields |= {"Company": row["company"], "Status": row["status"]}
        else:
            fields |= {"Title": row["title"], "AccountName": row["account_name"]}
        if member_status is not None:
            fields["MemberStatus"] = member_status
        ref = RecordRef(obj.type, row["id"])
        out.append(DialingListMember(ref, record_name(obj.type, row), phone, fields))
    return out


def _on_dnc(conn: Connection, hashes: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(hashes), CHUNK):
        chunk = hashes[start : start + CHUNK]
        found.update(
            conn.execute(
                select(crm_dnc.c.number_index).where(crm_dnc.c.number_index.in_(chunk))
            ).scalars()
        )
    return found


def dnc_numbers(conn: Connection, cipher: FieldCipher, source: str) -> list[DncEntry]:
    """The do-not-call list, then the numbers of every contact and lead flagged DoNotCall
    (as of the record's last change), each number once."""
    entries: dict[str, DncEntry] = {}
    for row in conn.execute(select(crm_dnc).order_by(crm_dnc.c.added_at)).mappings():
        number = cipher.open(row["number"], DNC_AD)
        entries.setdefault(number, DncEntry(number, row["added_at"], row["source"]))
    for obj in (CONTACT, LEAD):
        table = obj.table
        flagged = conn.execute(
            select(table).where(table.c.do_not_call.is_(True)).order_by(table.c.updated_at)
        ).mappings()
        for row in flagged:
            for column in ("phone", "mobile_phone"):
                flagged_number = open_column(obj, row, column, cipher)
                if flagged_number and flagged_number.startswith("+"):
                    entry = DncEntry(flagged_number, row["updated_at"], source)
                    entries.setdefault(flagged_number, entry)
    return list(entries.values())


def add_dnc(
    conn: Connection, cipher: FieldCipher, region: str, entries: Sequence[DncEntry]
) -> None:
    rows: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        number = normalise_phone(entry.number, region)
        if number is None:
            raise InvalidInput(
                f"number: not a phone number: {entry.number!r}", field="number", index=i
            )
        rows.append(
            {
                "number_index": cipher.index(number),
                "number": cipher.seal(number, DNC_AD),
                "source": entry.source[:64] or "callbridge",
                "added_at": entry.added_at,
            }
        )
    existing = _on_dnc(conn, [r["number_index"] for r in rows])
    # An entry already there keeps its first date and source.
    upsert(conn, crm_dnc, [r for r in rows if r["number_index"] not in existing])
