"""The built-in CRM's objects and fields, with Salesforce's field names, and the checks a value
passes before it is written.

One catalogue drives validation, the row codec, the REST API and the reference docs: a field
named here is writable through `upsert_record`; any other name is refused, naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from sqlalchemy import Table

from callbridge.adapters.store.tables import (
    crm_accounts,
    crm_activities,
    crm_campaign_members,
    crm_campaigns,
    crm_cases,
    crm_contacts,
    crm_leads,
)
from callbridge.domain.crm.records import FieldValue, RecordType
from callbridge.domain.errors import InvalidInput


class Kind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"  # sealed free text (a case's description)
    PHONE = "phone"  # stored as E.164, sealed, in the phone index
    EMAIL = "email"  # sealed, with a blind index
    BOOL = "bool"
    REF = "ref"  # the id of another record


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str  # as Salesforce names it
    column: str
    kind: Kind = Kind.TEXT
    required: bool = False
    default: FieldValue = None
    ref: RecordType | None = None  # for REF fields

    @property
    def sealed(self) -> bool:
        return self.kind in (Kind.PHONE, Kind.EMAIL, Kind.LONG_TEXT)


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    type: RecordType
    table: Table
    fields: tuple[FieldSpec, ...]
    external_keys: tuple[str, ...]  # fields `upsert_record` may match on, besides Id

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def phones(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.kind is Kind.PHONE)


TEXT_MAX = 255
LONG_TEXT_MAX = 32_000
LEAD_CLOSED = ("Closed - Converted", "Closed - Not Converted")
CASE_CLOSED = "Closed"

ACCOUNT = ObjectSpec(
    RecordType.ACCOUNT,
    crm_accounts,
    (
        FieldSpec("Name", "name", required=True),
        FieldSpec("AccountNumber", "account_number"),
        FieldSpec("Phone", "phone", Kind.PHONE),
        FieldSpec("Industry", "industry"),
        FieldSpec("BillingCity", "billing_city"),
        FieldSpec("BillingCountry", "billing_country"),
    ),
    ("AccountNumber",),
)
CONTACT = ObjectSpec(
    RecordType.CONTACT,
    crm_contacts,
    (
        FieldSpec("FirstName", "first_name"),
        FieldSpec("LastName", "last_name", required=True),
        FieldSpec("AccountId", "account_id", Kind.REF, ref=RecordType.ACCOUNT),
        FieldSpec("Title", "title"),
        FieldSpec("Email", "email", Kind.EMAIL),
        FieldSpec("Phone", "phone", Kind.PHONE),
        FieldSpec("MobilePhone", "mobile_phone", Kind.PHONE),
        FieldSpec("DoNotCall", "do_not_call", Kind.BOOL, default=False),
    ),
    ("Email",),
)
LEAD = ObjectSpec(
    RecordType.LEAD,
    crm_leads,
    (
        FieldSpec("FirstName", "first_name"),
        FieldSpec("LastName", "last_name", required=True),
        FieldSpec("Company", "company", required=True),
        FieldSpec("Status", "status", default="Open - Not Contacted"),
        FieldSpec("Email", "email", Kind.EMAIL),
        FieldSpec("Phone", "phone", Kind.PHONE),
        FieldSpec("MobilePhone", "mobile_phone", Kind.PHONE),
        FieldSpec("DoNotCall", "do_not_call", Kind.BOOL, default=False),
    ),
    ("Email",),
)
CASE = ObjectSpec(
    RecordType.CASE,
    crm_cases,
    (
        FieldSpec("CaseNumber", "case_number"),  # numbered 00001001, 00001002... when not given
        FieldSpec("Subject", "subject", required=True),
        FieldSpec("Status", "status", default="New"),
        FieldSpec("Priority", "priority", default="Medium"),
        FieldSpec("ContactId", "contact_id", Kind.REF, ref=RecordType.CONTACT),
        FieldSpec("AccountId", "account_id", Kind.REF, ref=RecordType.ACCOUNT),
        FieldSpec("Description", "description", Kind.LONG_TEXT),
    ),
    ("CaseNumber",),
)
CAMPAIGN = ObjectSpec(
    RecordType.CAMPAIGN,
    crm_campaigns,
    (
        FieldSpec("Name", "name", required=True),
        FieldSpec("Status", "status", default="Planned"),
    ),
    ("Name",),
)
# ContactId and LeadId are one pair of columns (member_type, member_id); see member_values.
CAMPAIGN_MEMBER = ObjectSpec(
    RecordType.CAMPAIGN_MEMBER,
    crm_campaign_members,
    (
        FieldSpec("CampaignId", "campaign_id", Kind.REF, required=True, ref=RecordType.CAMPAIGN),
        FieldSpec("ContactId", "member_id", Kind.REF, ref=RecordType.CONTACT),
        FieldSpec("LeadId", "member_id", Kind.REF, ref=RecordType.LEAD),
        FieldSpec("Status", "status", default="Sent"),
    ),
    (),
)
# Tasks are written by log_activities only; listed for reading.
TASK = ObjectSpec(RecordType.TASK, crm_activities, (), ())

OBJECTS: dict[RecordType, ObjectSpec] = {
    o.type: o for o in (ACCOUNT, CONTACT, LEAD, CASE, CAMPAIGN, CAMPAIGN_MEMBER, TASK)
}
WRITABLE = tuple(t for t in OBJECTS if t is not RecordType.TASK)
READ_ONLY = ("Id", "CreatedDate", "LastModifiedDate")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def spec_of(type: RecordType) -> ObjectSpec:
    return OBJECTS[type]


def normalise_phone(value: str, region: str) -> str | None:
    """E.164 for a number that could exist (length and country), else None."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_value(spec: FieldSpec, value: FieldValue, region: str) -> FieldValue:
    """The value as it is stored (phones as E.164), or InvalidInput naming the field."""
    name = spec.name
    if value is None or (isinstance(value, str) and not value.strip()):
        if spec.required:
            raise InvalidInput(f"{name}: required", field=name)
        return False if spec.kind is Kind.BOOL else None
    if spec.kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise InvalidInput(f"{name}: must be true or false", field=name)
        return value
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: must be a string", field=name)
    text = value.strip()
    limit = LONG_TEXT_MAX if spec.kind is Kind.LONG_TEXT else TEXT_MAX
    if len(text) > limit or "\x00" in text:
        raise InvalidInput(f"{name}: at most {limit} characters, no NUL", field=name)
    if spec.kind is Kind.PHONE:
        phone = normalise_phone(text, region)
        if phone is None:
            raise InvalidInput(f"{name}: not a phone number: {text!r}", field=name)
        return phone
    if spec.kind is Kind.EMAIL and not _EMAIL.match(text):
        raise InvalidInput(f"{name}: not an email address", field=name)
    return text


def check_fields(
    obj: ObjectSpec, fields: Mapping[str, FieldValue], region: str, *, creating: bool
) -> dict[str, FieldValue]:
    """Field values by field name, checked and normalised; defaults filled in on create."""
    out: dict[str, FieldValue] = {}
    for name, value in fields.items():
        spec = obj.field(name)
        if spec is None:
            if name == "Id":
                continue  # matched on by the caller, never written
            known = ", ".join(f.name for f in obj.fields)
            raise InvalidInput(
                f"{name}: not a field of {obj.type.value} (fields: {known})", field=name
            )
        out[name] = check_value(spec, value, region)
    if creating:
        for spec in obj.fields:
            if spec.name not in out:
                if spec.required:
                    raise InvalidInput(f"{spec.name}: required", field=spec.name)
                if spec.default is not None:
                    out[spec.name] = spec.default
    return out
