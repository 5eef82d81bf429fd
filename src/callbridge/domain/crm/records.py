"""The vocabulary every CRM connector speaks: record types, records, screen-pop matches, the
activity an interaction leaves behind, dialing-list members, do-not-call entries, changes.

Field names follow Salesforce's where a contact-center team would expect them (Name, Phone,
MobilePhone, Email, AccountNumber, CaseNumber, Subject, CallType, CallDurationInSeconds,
CallDisposition, WhoId, WhatId), so that the built-in CRM and Salesforce look alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# JSON-shaped values, as a record's fields hold them.
FieldValue = str | int | float | bool | None


class RecordType(StrEnum):
    ACCOUNT = "Account"
    CONTACT = "Contact"
    LEAD = "Lead"
    CASE = "Case"
    TASK = "Task"
    CAMPAIGN = "Campaign"
    CAMPAIGN_MEMBER = "CampaignMember"


# Which record types a phone number can pop, in the order a screen pop prefers them.
PHONE_TYPES = (RecordType.CONTACT, RecordType.LEAD, RecordType.ACCOUNT)


class LookupKey(StrEnum):
    """What a screen pop can look a caller up by, besides the calling number."""

    PHONE = "phone"
    EMAIL = "email"
    ACCOUNT_NUMBER = "account_number"
    CASE_NUMBER = "case_number"
    NAME = "name"  # what a `search` hit matched on when it was the name (not a screen-pop key)


@dataclass(frozen=True, slots=True)
class RecordRef:
    type: RecordType
    id: str


@dataclass(frozen=True, slots=True)
class CrmRecord:
    ref: RecordRef
    name: str
    fields: dict[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CrmMatch:
    """One candidate for a screen pop: which record, its display name, and what matched."""

    ref: RecordRef
    name: str
    matched_on: LookupKey
    account_name: str | None = None  # the company a contact works for, to tell namesakes apart


class ActivityDirection(StrEnum):
    INBOUND = "Inbound"
    OUTBOUND = "Outbound"


@dataclass(frozen=True, slots=True)
class Activity:
    """What one interaction leaves in the CRM, before field mapping.

    `external_id` is the interaction id: connectors upsert on it, so delivering the same
    activity twice leaves one record.
    """

    external_id: str
    subject: str
    channel: str  # voice, chat, email, sms
    direction: ActivityDirection
    started_at: float
    ended_at: float
    duration_s: int
    customer_address: str  # the caller's number or address (E.164 for phones)
    queue: str | None = None
    agent: str | None = None
    disposition_code: str | None = None
    disposition_label: str | None = None
    notes: str | None = None
    who: RecordRef | None = None  # the contact or lead it was with
    what: RecordRef | None = None  # the account, case or campaign it was about
    recording_url: str | None = None
    end_reason: str | None = None
    # the interaction's attached data (what an IVR gathered): mappings draw on `attached.NAME`
    attached: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ActivityResult:
    external_id: str
    ok: bool
    record_id: str | None = None
    error: str | None = None
    retryable: bool = False  # worth delivering again later (a lock, a limit, an outage)


@dataclass(frozen=True, slots=True)
class DialingListMember:
    ref: RecordRef
    name: str
    phone: str  # E.164
    fields: dict[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DncEntry:
    number: str  # E.164
    added_at: float
    source: str  # "callbridge" or the CRM's name


@dataclass(frozen=True, slots=True)
class Change:
    """A record created, changed or deleted in the CRM since a cursor."""

    ref: RecordRef
    deleted: bool
    phones: tuple[str, ...] = ()  # E.164, as the record holds them now
    name: str = ""
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: list[Change]
    cursor: str  # pass back to get what changed after these


class ConnectorState(StrEnum):
    CONNECTED = "connected"
    DEGRADED = "degraded"  # answering, but slowly, with errors, or near its API budget
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class CrmHealth:
    state: ConnectorState
    detail: str = ""
    api_used: int | None = None  # API requests used of the daily allocation, if it has one
    api_max: int | None = None
