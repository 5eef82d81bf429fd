"""Dialing lists from campaign members or a saved SOQL query, and do-not-call both ways
(contract §4.3: honour DoNotCall, skip converted leads, numbers as E.164)."""

from __future__ import annotations

from collections.abc import Sequence

from simple_salesforce.format import format_soql

from callbridge.adapters.crm.salesforce.changes import PHONE_FIELDS
from callbridge.adapters.crm.salesforce.client import SalesforceClient
from callbridge.adapters.crm.salesforce.errors import SalesforceError
from callbridge.adapters.crm.salesforce.mapping import (
    chunks,
    display_name,
    known_type,
    record_errors,
)
from callbridge.adapters.crm.salesforce.payload import (
    Json,
    flag,
    is_record_id,
    objects,
    parse_datetime,
    record_type,
    scalars,
    text,
)
from callbridge.domain.crm.records import DialingListMember, DncEntry, RecordRef, RecordType
from callbridge.domain.errors import InvalidInput
from callbridge.services.security.crypto import normalise_address

PEOPLE = (RecordType.CONTACT, RecordType.LEAD)  # what DoNotCall is a field of
DNC_LEAD = {"LastName": "Do not call", "Company": "Do-not-call request"}
_MEMBER_SOQL = (
    "SELECT Id, CampaignId, ContactId, LeadId, Status, "
    "Contact.Name, Contact.Phone, Contact.MobilePhone, Contact.DoNotCall, "
    "Lead.Name, Lead.Phone, Lead.MobilePhone, Lead.DoNotCall, Lead.IsConverted "
    "FROM CampaignMember WHERE CampaignId = {} ORDER BY Id LIMIT {:literal}"
)


def e164(raw: str | None, region: str) -> str | None:
    number = normalise_address(raw, region) if raw else ""
    return number if number.startswith("+") else None


def campaign_members(
    client: SalesforceClient, campaign_id: str, limit: int, region: str
) -> list[DialingListMember]:
    if not is_record_id(campaign_id):
        raise InvalidInput(f"not a Salesforce campaign id: {campaign_id!r}", field="source")
    soql = format_soql(_MEMBER_SOQL, campaign_id, str(limit))
    members = []
    for row in client.query(soql):
        person = "Contact" if text(row, "ContactId") else "Lead"
        record_id = text(row, f"{person}Id")
        if record_id is None or flag(row, f"{person}.DoNotCall"):
            continue
        if person == "Lead" and flag(row, "Lead.IsConverted"):
            continue
        phone = e164(text(row, f"{person}.Phone"), region) or e164(
            text(row, f"{person}.MobilePhone"), region
        )
        if phone is None:
            continue
        members.append(
            DialingListMember(
                RecordRef(RecordType(person), record_id),
                text(row, f"{person}.Name") or "",
                phone,
                {
                    "CampaignMemberId": text(row, "Id"),
                    "CampaignId": campaign_id,
                    "Status": text(row, "Status"),
                },
            )
        )
    return members


def query_members(
    client: SalesforceClient, soql: str, limit: int, region: str
) -> list[DialingListMember]:
    """The rows of a saved SOQL query: each needs an Id and a phone field; DoNotCall is
    honoured when selected."""
    if not soql.strip().lower().startswith("select "):
        raise InvalidInput("a dialing-list query is a SOQL SELECT", field="source")
    members: list[DialingListMember] = []
    for row in client.query(soql):
        if len(members) >= limit:
            break
        kind = known_type(record_type(row))
        record_id = text(row, "Id")
        if kind is None or record_id is None or flag(row, "DoNotCall"):
            continue
        if kind is RecordType.LEAD and flag(row, "IsConverted"):
            continue
        fields = PHONE_FIELDS.get(kind, ("Phone", "MobilePhone"))
        phone = next((p for f in fields if (p := e164(text(row, f), region))), None)
        if phone is not None:
            members.append(
                DialingListMember(
                    RecordRef(kind, record_id), display_name(kind, row), phone, scalars(row)
                )
            )
    return members


def dnc_numbers(client: SalesforceClient, region: str) -> list[DncEntry]:
    """Every number of a contact or lead marked DoNotCall."""
    entries: dict[str, DncEntry] = {}
    for kind in PEOPLE:
        person, phones = kind.value, PHONE_FIELDS[kind]
        soql = (
            f"SELECT Id, {', '.join(phones)}, SystemModstamp FROM {person} "  # noqa: S608
            "WHERE DoNotCall = true ORDER BY SystemModstamp ASC"
        )
        for row in client.query(soql):
            stamp = text(row, "SystemModstamp")
            at = parse_datetime(stamp) if stamp else 0.0
            for name in phones:
                number = e164(text(row, name), region)
                if number and number not in entries:
                    entries[number] = DncEntry(number, at, "salesforce")
    return list(entries.values())


def mark_do_not_call(client: SalesforceClient, refs: Sequence[RecordRef]) -> None:
    """Set DoNotCall on contacts and leads, 200 per request. Records deleted in the
    meantime are skipped; any other refusal is an error."""
    people = list(dict.fromkeys(r for r in refs if r.type in PEOPLE))
    for chunk in chunks(people):
        body = {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": r.type.value}, "id": r.id, "DoNotCall": True} for r in chunk
            ],
        }
        answer = objects(client.rest("composite/sobjects", "PATCH", body=body), "collections")
        if len(answer) != len(chunk):
            raise SalesforceError(f"Salesforce answered {len(answer)} results for {len(chunk)}")
        refused = [_refusal(ref, a) for ref, a in zip(chunk, answer, strict=True)]
        problems = [p for p in refused if p]
        if problems:
            raise SalesforceError(
                "Salesforce refused do-not-call on " + "; ".join(problems[:5]),
                refused=len(problems),
            )


def create_dnc_leads(
    client: SalesforceClient, numbers: Sequence[str]
) -> list[tuple[RecordRef, str, str, str]]:
    """A lead marked DoNotCall for each number: (ref, name, company, number) of each made."""
    made: list[tuple[RecordRef, str, str, str]] = []
    for chunk in chunks(numbers):
        body = {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Lead"}, **DNC_LEAD, "Phone": n, "DoNotCall": True}
                for n in chunk
            ],
        }
        answer = objects(
            client.rest("composite/sobjects", "POST", body=body, idempotent=False), "collections"
        )
        for number, entry in zip(chunk, answer, strict=False):
            record_id = text(entry, "id")
            if entry.get("success") is not True or record_id is None:
                raise SalesforceError(
                    f"Salesforce refused a do-not-call lead: {record_errors(entry)[1]}"
                )
            ref = RecordRef(RecordType.LEAD, record_id)
            made.append((ref, DNC_LEAD["LastName"], DNC_LEAD["Company"], number))
    return made


def _refusal(ref: RecordRef, entry: Json) -> str | None:
    if entry.get("success") is True:
        return None
    errors = objects(entry.get("errors") or [], "errors")
    codes = [text(e, "statusCode") or "" for e in errors]
    if codes and all(c in ("ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY") for c in codes):
        return None
    return f"{ref.type.value} {ref.id}: {', '.join(codes) or 'refused'}"
