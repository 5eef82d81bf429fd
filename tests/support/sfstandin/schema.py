"""The org's data model: the standard objects a contact center touches, plus our custom fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sfstandin.ids import KEY_PREFIXES

FieldType = Literal[
    "id", "string", "textarea", "phone", "email", "url", "boolean", "int", "double",
    "date", "datetime", "reference", "picklist", "combobox",
]  # fmt: skip

PHONE_TYPES = frozenset({"phone"})


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: FieldType = "string"
    label: str = ""
    required: bool = False
    default: Any = None
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    reference_to: tuple[str, ...] = ()
    length: int = 255

    @property
    def relationship_name(self) -> str | None:
        """`AccountId` -> `Account`, `WhoId` -> `Who`: the name used in SOQL dot paths."""
        if self.type != "reference":
            return None
        return self.name[:-2] if self.name.endswith("Id") else self.name.replace("__c", "__r")

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label or self.name,
            "length": self.length if self.type in {"string", "phone", "textarea", "email"} else 0,
            "nillable": not self.required and self.type != "boolean",
            "createable": self.createable,
            "updateable": self.updateable,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.external_id or self.name == "Id",
            "defaultedOnCreate": self.default is not None,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
        }


@dataclass(frozen=True)
class SObjectDef:
    name: str
    label: str
    fields: tuple[FieldDef, ...]
    createable: bool = True
    by_lower: dict[str, FieldDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_lower", {f.name.lower(): f for f in self.fields})

    @property
    def key_prefix(self) -> str:
        return KEY_PREFIXES[self.name]

    def field(self, name: str) -> FieldDef | None:
        """The field called `name`, matched case-insensitively as Salesforce does."""
        return self.by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        for f in self.fields:
            rel = f.relationship_name
            if rel is not None and rel.lower() == name.lower():
                return f
        return None

    @property
    def phone_fields(self) -> list[FieldDef]:
        return [f for f in self.fields if f.type in PHONE_TYPES]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label + "s",
            "keyPrefix": self.key_prefix,
            "createable": self.createable,
            "updateable": self.createable,
            "deletable": self.createable,
            "queryable": True,
            "searchable": True,
            "custom": False,
            "fields": [f.describe() for f in self.fields],
        }


def _ro(name: str, type_: FieldType = "string", **kw: Any) -> FieldDef:
    return FieldDef(name, type_, createable=False, updateable=False, **kw)


_SYSTEM = (
    _ro("Id", "id", label="Record ID", length=18),
    _ro("IsDeleted", "boolean", label="Deleted"),
    _ro("CreatedDate", "datetime", label="Created Date"),
    _ro("CreatedById", "reference", reference_to=("User",), label="Created By ID"),
    _ro("LastModifiedDate", "datetime", label="Last Modified Date"),
    _ro("LastModifiedById", "reference", reference_to=("User",), label="Last Modified By ID"),
    _ro("SystemModstamp", "datetime", label="System Modstamp"),
)
_OWNER = FieldDef("OwnerId", "reference", reference_to=("User",), label="Owner ID")
_WHO = ("Contact", "Lead")
_WHAT = ("Account", "Case", "Campaign", "Opportunity")


def _obj(name: str, label: str, *fields: FieldDef, owner: bool = True) -> SObjectDef:
    return SObjectDef(name, label, _SYSTEM + ((_OWNER,) if owner else ()) + fields)


def _ref(name: str, *targets: str, **kw: Any) -> FieldDef:
    return FieldDef(name, "reference", reference_to=targets, **kw)


def _bool(name: str, **kw: Any) -> FieldDef:
    return FieldDef(name, "boolean", default=False, **kw)


SCHEMA: dict[str, SObjectDef] = {
    o.name: o
    for o in (
        _obj(
            "User", "User",
            FieldDef("Username", required=True), FieldDef("Name", createable=False),
            FieldDef("FirstName"), FieldDef("LastName", required=True),
            FieldDef("Email", "email"), FieldDef("Phone", "phone"), _bool("IsActive"),
            owner=False,
        ),
        _obj(
            "Account", "Account",
            FieldDef("Name", required=True, label="Account Name"),
            FieldDef("Phone", "phone", label="Account Phone"), FieldDef("Fax", "phone"),
            FieldDef("Type", "picklist"), FieldDef("Industry", "picklist"),
            FieldDef("Website", "url"), FieldDef("AccountNumber"), FieldDef("BillingCity"),
            FieldDef("Description", "textarea", length=32000),
            FieldDef("CC_ExternalId__c", external_id=True),
        ),
        _obj(
            "Contact", "Contact",
            FieldDef("FirstName"), FieldDef("LastName", required=True),
            FieldDef("Name", createable=False, updateable=False, label="Full Name"),
            _ref("AccountId", "Account", label="Account ID"), FieldDef("Email", "email"),
            FieldDef("Title"), FieldDef("Phone", "phone", label="Business Phone"),
            FieldDef("MobilePhone", "phone"), FieldDef("HomePhone", "phone"),
            FieldDef("OtherPhone", "phone"), FieldDef("AssistantPhone", "phone"),
            FieldDef("Fax", "phone"), _bool("DoNotCall"), _bool("HasOptedOutOfEmail"),
            FieldDef("LeadSource", "picklist"), FieldDef("Description", "textarea", length=32000),
            FieldDef("CC_ExternalId__c", external_id=True),
        ),
        _obj(
            "Lead", "Lead",
            FieldDef("FirstName"), FieldDef("LastName", required=True),
            FieldDef("Name", createable=False, updateable=False, label="Full Name"),
            FieldDef("Company", required=True), FieldDef("Title"),
            FieldDef("Status", "picklist", required=True, default="Open - Not Contacted"),
            FieldDef("Phone", "phone"), FieldDef("MobilePhone", "phone"), FieldDef("Fax", "phone"),
            FieldDef("Email", "email"), _bool("DoNotCall"), _bool("HasOptedOutOfEmail"),
            _bool("IsConverted", createable=False, updateable=False),
            _ro("ConvertedContactId", "reference", reference_to=("Contact",)),
            _ro("ConvertedAccountId", "reference", reference_to=("Account",)),
            FieldDef("LeadSource", "picklist"), FieldDef("CC_ExternalId__c", external_id=True),
        ),
        _obj(
            "Case", "Case",
            _ro("CaseNumber", label="Case Number"), _ref("ContactId", "Contact"),
            _ref("AccountId", "Account"), FieldDef("Subject"),
            FieldDef("Description", "textarea", length=32000),
            FieldDef("Status", "picklist", default="New"), FieldDef("Origin", "picklist"),
            FieldDef("Priority", "picklist", default="Medium"),
            FieldDef("SuppliedPhone", "string", length=40), _bool("IsClosed", createable=False),
        ),
        _obj(
            "Campaign", "Campaign",
            FieldDef("Name", required=True), _bool("IsActive"), FieldDef("Status", "picklist"),
            FieldDef("Type", "picklist"), FieldDef("StartDate", "date"),
            FieldDef("EndDate", "date"), _ref("ParentId", "Campaign"),
            FieldDef("Description", "textarea", length=32000),
            FieldDef("Five9__Five9list__c", label="Five9 dialing list name"),
        ),
        _obj(
            "CampaignMember", "Campaign Member",
            _ref("CampaignId", "Campaign", required=True, updateable=False),
            _ref("LeadId", "Lead", updateable=False),
            _ref("ContactId", "Contact", updateable=False),
            FieldDef("Status", "picklist", default="Sent"),
            _bool("HasResponded", createable=False, updateable=False),
            _ro("Type", "picklist"), _ro("LeadOrContactId"),
            _ro("Phone", "phone"), _ro("MobilePhone", "phone"), _ro("Fax", "phone"),
            _bool("DoNotCall", createable=False, updateable=False), _ro("Email", "email"),
            _ro("FirstName"), _ro("LastName"), _ro("CompanyOrAccount"),
            owner=False,
        ),
        _obj(
            "Task", "Task",
            FieldDef("Subject", "combobox"),
            FieldDef("Status", "picklist", required=True, default="Not Started"),
            FieldDef("Priority", "picklist", required=True, default="Normal"),
            FieldDef("ActivityDate", "date", label="Due Date Only"),
            FieldDef("TaskSubtype", "picklist", updateable=False), FieldDef("Type", "picklist"),
            FieldDef("CallType", "picklist", length=40),
            FieldDef("CallDurationInSeconds", "int", label="Call Duration"),
            FieldDef("CallObject", label="Call Object Identifier"),
            FieldDef("CallDisposition", label="Call Result"),
            FieldDef("Description", "textarea", length=32000, label="Comments"),
            _ref("WhoId", *_WHO, label="Name ID"), _ref("WhatId", *_WHAT, label="Related To ID"),
            _ro("AccountId", "reference", reference_to=("Account",)),
            _bool("IsClosed", createable=False, updateable=False),
            _ro("CompletedDateTime", "datetime"),
            FieldDef("CC_SessionId__c", external_id=True, unique=True, label="CC Session Id"),
            FieldDef("CC_ANI__c"), FieldDef("CC_DNIS__c"), FieldDef("CC_Campaign__c"),
            FieldDef("CC_AgentId__c"), FieldDef("CC_HandleTimeSec__c", "double"),
        ),
    )
}  # fmt: skip

SEARCHABLE = ("Account", "Contact", "Lead", "Case", "Campaign")
"""Objects that SOSL searches when the query has no RETURNING clause."""


def sobject_def(name: str) -> SObjectDef | None:
    """The object called `name`, case-insensitively."""
    for known, sdef in SCHEMA.items():
        if known.lower() == name.lower():
            return sdef
    return None
