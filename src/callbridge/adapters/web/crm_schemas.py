"""Request and response bodies of the built-in CRM's REST API.

Record bodies are JSON objects of Salesforce-named fields (`{"LastName": "Doe", "Phone":
"(415) 555-0100"}`); the CRM itself checks them against its object catalogue, so an unknown
field, a missing required one or a bad phone number comes back as 422 naming the field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from callbridge.domain.crm.records import CrmMatch, CrmRecord, DncEntry, FieldValue, RecordType

# A record's fields as a JSON object of scalars.
FieldsIn = Annotated[
    dict[Annotated[str, Field(max_length=64)], FieldValue],
    Field(
        max_length=64,
        description='Salesforce-named fields, e.g. {"FirstName": "Jane", "LastName": '
        '"Doe", "Phone": "(415) 555-0100"}. See docs/reference/crm-api.md for each '
        "object's fields.",
        examples=[{"FirstName": "Jane", "LastName": "Doe", "Phone": "(415) 555-0100"}],
    ),
]


class CrmObject(StrEnum):
    """The objects the REST API lists, creates, changes and deletes, by their path."""

    ACCOUNTS = "accounts"
    CONTACTS = "contacts"
    LEADS = "leads"
    CASES = "cases"
    CAMPAIGNS = "campaigns"

    @property
    def record_type(self) -> RecordType:
        return {
            CrmObject.ACCOUNTS: RecordType.ACCOUNT,
            CrmObject.CONTACTS: RecordType.CONTACT,
            CrmObject.LEADS: RecordType.LEAD,
            CrmObject.CASES: RecordType.CASE,
            CrmObject.CAMPAIGNS: RecordType.CAMPAIGN,
        }[self]


class RecordOut(BaseModel):
    type: str = Field(description="Account, Contact, Lead, Case, Campaign, CampaignMember, Task")
    id: str
    name: str
    fields: dict[str, FieldValue]

    @classmethod
    def of(cls, record: CrmRecord) -> RecordOut:
        return cls(
            type=record.ref.type.value, id=record.ref.id, name=record.name, fields=record.fields
        )


class CrmMatchOut(BaseModel):
    type: str
    id: str
    name: str
    matched_on: str = Field(description="phone, email, account_number, case_number or name")
    account_name: str | None = Field(description="A contact's account, a lead's company.")

    @classmethod
    def of(cls, m: CrmMatch) -> CrmMatchOut:
        return cls(
            type=m.ref.type.value,
            id=m.ref.id,
            name=m.name,
            matched_on=m.matched_on.value,
            account_name=m.account_name,
        )


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ContactId: str | None = Field(default=None, min_length=1, max_length=64)
    LeadId: str | None = Field(default=None, min_length=1, max_length=64)
    Status: str | None = Field(default=None, min_length=1, max_length=255)


class DncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    numbers: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=1000, description="Phone numbers in any common format."
    )
    source: str = Field(default="callbridge", min_length=1, max_length=64)


class DncOut(BaseModel):
    number: str = Field(description="E.164")
    added_at: float
    source: str

    @classmethod
    def of(cls, entry: DncEntry) -> DncOut:
        return cls(number=entry.number, added_at=entry.added_at, source=entry.source)


class DialingMemberOut(BaseModel):
    type: str
    id: str
    name: str
    phone: str = Field(description="E.164")
    fields: dict[str, FieldValue]
