"""The ports: what services need from the outside world, as typed Protocols.

Adapters implement these (SQLAlchemy store, in-memory or Redis bus); tests swap in fakes here
and nowhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from callbridge.domain.agents import Agent
from callbridge.domain.crm.records import (
    Activity,
    ActivityResult,
    ChangePage,
    CrmHealth,
    CrmMatch,
    CrmRecord,
    DialingListMember,
    DncEntry,
    FieldValue,
    LookupKey,
    RecordRef,
    RecordType,
)
from callbridge.domain.dialer.attempts import NumberHistory, RecordProgress
from callbridge.domain.dialer.campaigns import Campaign, CampaignStatus
from callbridge.domain.dialer.decisions import PacingDecision
from callbridge.domain.dialer.dnc import DncBook
from callbridge.domain.dialer.ids import CampaignId, ListId, RecordId
from callbridge.domain.dialer.lists import DialingRecord
from callbridge.domain.events import Event
from callbridge.domain.ids import AgentId, DispositionCode, InteractionId, QueueId
from callbridge.domain.interactions import Interaction, InteractionState
from callbridge.domain.live import Disposition
from callbridge.domain.queues import Queue
from callbridge.domain.security.accounts import ApiToken, CustomRole, Lockout, Session, User

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One row of the append-only interaction event log."""

    id: int
    at: float
    kind: str
    interaction_id: InteractionId | None
    agent_id: AgentId | None
    queue_id: QueueId | None
    payload: dict[str, JsonValue]


@dataclass(frozen=True, slots=True)
class StoredState:
    """Everything the live center is rebuilt from at start."""

    queues: list[Queue]
    agents: list[Agent]
    dispositions: list[Disposition]
    interactions: list[Interaction]  # open ones, and ended ones still in wrap-up
    next_seq: int


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry to append: who did what to which object, when, from where, and the
    object before and after (None where it did not exist)."""

    at: float
    actor: str
    action: str
    object_type: str
    object_id: str
    source: str
    before: JsonValue = None
    after: JsonValue = None


@dataclass(slots=True)
class Changes:
    """What one use case changed: written in one transaction, events included."""

    events: list[Event] = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)
    removed_queues: list[QueueId] = field(default_factory=list)
    dispositions: list[Disposition] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    next_seq: int | None = None
    audit: list[AuditRecord] = field(default_factory=list)  # appended in the same transaction
    outbox: list[Activity] = field(default_factory=list)  # closed interactions, for the CRM
    at: float | None = None  # when the change was made (the outbox rows' time)


class Store(Protocol):
    def load(self) -> StoredState:
        """The state to rebuild the live center from."""
        ...

    def commit(self, changes: Changes) -> list[StoredEvent]:
        """Write state and events atomically; return the events as logged (with ids)."""
        ...

    def get_interaction(self, interaction_id: InteractionId) -> Interaction | None:
        """Any interaction, open or closed."""
        ...

    def list_interactions(
        self,
        *,
        state: InteractionState | None = None,
        queue_id: QueueId | None = None,
        limit: int = 100,
    ) -> list[Interaction]:
        """Newest first."""
        ...

    def find_interactions(self, address: str, limit: int = 100) -> list[Interaction]:
        """Interactions from, to or to be called back at a phone number or email address,
        newest first; any common formatting of the number finds the same ones."""
        ...

    def events(
        self,
        *,
        interaction_id: InteractionId | None = None,
        agent_id: AgentId | None = None,
        after_id: int = 0,
        limit: int = 1000,
        since: float | None = None,
        until: float | None = None,
    ) -> list[StoredEvent]:
        """The event log in id order, optionally for one interaction or agent, and only events
        dated from `since` to `until` (both included)."""
        ...

    def get_disposition(self, code: DispositionCode) -> Disposition | None: ...

    def ping(self) -> None:
        """Raise StorageError unless the database answers now."""
        ...

    def close(self) -> None: ...


class PersonalDataHolder(Protocol):
    """One place that holds personal data about customers, found by phone number or email.

    A privacy request asks every holder the composition root lists: the interaction store
    first; the CRM's activities and call recordings plug in the same way. Holders with blind
    indexes look the subject up by `index_hash`; others (a remote CRM) by `address`.
    """

    @property
    def name(self) -> str:
        """The holder's section in an export file and in erasure counts."""
        ...

    def export(self, index_hash: str, address: str) -> JsonValue:
        """Everything held about the subject, decrypted, as JSON."""
        ...

    def in_use(self, index_hash: str, address: str) -> int:
        """How many of the subject's records cannot be erased yet (an interaction still open)."""
        ...

    def erase(self, index_hash: str, address: str) -> int:
        """Overwrite the subject's personal data in every record no longer in use; how many
        records were changed."""
        ...


class EventBus(Protocol):
    def publish(self, events: Sequence[StoredEvent]) -> None:
        """Hand logged events over for delivery to every subscriber, in order, without blocking.

        Called right after the transaction that logged them has committed.
        """
        ...

    def subscribe(self) -> AsyncIterator[StoredEvent]:
        """Events published from now on, until the iterator is closed."""
        ...


class IdFactory(Protocol):
    def __call__(self) -> str:
        """A new unique id."""
        ...


class AccountStore(Protocol):
    """Users, custom roles, sessions, API tokens, recovery codes, failed logins and lockouts.

    Every method that takes `audit` appends those records in the same transaction as its change.
    """

    def save_user(self, user: User, audit: Sequence[AuditRecord] = ()) -> None: ...
    def get_user(self, user_id: str) -> User | None: ...
    def get_user_by_username(self, username: str) -> User | None: ...
    def get_user_by_agent(self, agent_id: str) -> User | None: ...
    def list_users(self) -> list[User]: ...
    def count_users(self) -> int: ...
    def save_role(self, role: CustomRole, audit: Sequence[AuditRecord] = ()) -> None: ...
    def delete_role(self, name: str, audit: Sequence[AuditRecord] = ()) -> None: ...
    def list_roles(self) -> list[CustomRole]: ...
    def replace_recovery_codes(
        self, user_id: str, code_hashes: Sequence[str], audit: Sequence[AuditRecord] = ()
    ) -> None: ...
    def use_recovery_code(self, user_id: str, code_hash: str, at: float) -> bool:
        """Mark an unused code used, atomically; False if there is no such unused code."""
        ...

    def unused_recovery_codes(self, user_id: str) -> int: ...
    def save_session(self, session: Session, audit: Sequence[AuditRecord] = ()) -> None: ...
    def get_session(self, token_hash: str) -> Session | None: ...
    def delete_sessions(
        self,
        *,
        token_hash: str | None = None,
        user_id: str | None = None,
        before: float | None = None,
    ) -> int: ...
    def save_token(self, token: ApiToken, audit: Sequence[AuditRecord] = ()) -> None: ...
    def get_token(self, token_id: str) -> ApiToken | None: ...
    def list_tokens(self, user_id: str | None = None) -> list[ApiToken]: ...
    def touch(
        self, *, token_id: str | None = None, session_hash: str | None = None, at: float
    ) -> None:
        """Record use: a token's last_used_at or a session's last_seen_at."""
        ...

    def record_failure(
        self, username: str, source: str, at: float, since: float
    ) -> tuple[int, int]:
        """Log a failed login; the failures since `since` for the account and the address."""
        ...

    def clear_failures(self, username: str) -> None: ...
    def lock(self, lockout: Lockout, audit: Sequence[AuditRecord] = ()) -> None: ...
    def lockouts(self, now: float) -> list[Lockout]:
        """Lockouts still in force at `now`."""
        ...

    def unlock(
        self, kind: str, subject: str, audit: Sequence[AuditRecord] = (), *, clear_failures: bool
    ) -> bool: ...
    def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Audit records for actions that change nothing else."""
        ...


class Crm(Protocol):
    """A CRM: the built-in one or Salesforce. One contract-test suite runs over every one."""

    name: str

    def lookup(self, key: LookupKey, value: str, limit: int = 10) -> list[CrmMatch]:
        """Records matching a phone number (any format; compared as E.164), an email address,
        an account number or a case number. Contacts and leads first."""
        ...

    def get_record(self, ref: RecordRef) -> CrmRecord | None: ...

    def search(
        self, text: str, types: Sequence[RecordType] = (), limit: int = 20
    ) -> list[CrmMatch]:
        """Records whose name, phone, email or number contains `text`."""
        ...

    def log_activities(self, activities: Sequence[MappedActivity]) -> list[ActivityResult]:
        """Write activities in batches, upserting on their external id: delivering one twice
        leaves one record. One result per activity, in order."""
        ...

    def upsert_record(
        self, type: RecordType, fields: Mapping[str, FieldValue], external_key: str | None = None
    ) -> RecordRef:
        """Create a record, or update the one whose `external_key` field holds the same value."""
        ...

    def dialing_list(self, source: str, limit: int = 10_000) -> list[DialingListMember]:
        """Members of a campaign (its id) or the rows of a saved query (`query:<name>`), with
        a phone number to dial."""
        ...

    def dnc_numbers(self) -> list[DncEntry]:
        """Every number the CRM says not to call."""
        ...

    def add_dnc(self, entries: Sequence[DncEntry]) -> None:
        """Mark numbers do-not-call in the CRM."""
        ...

    def changes(self, cursor: str | None) -> ChangePage:
        """Records changed or deleted after `cursor` (None: from the beginning)."""
        ...

    def health(self) -> CrmHealth: ...


@dataclass(frozen=True, slots=True)
class MappedActivity:
    """An activity with the CRM fields the field mapping made of it."""

    activity: Activity
    fields: dict[str, FieldValue]


# --- outbound campaigns ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredCampaign:
    """A campaign as kept: the checked definition, its start/pause/stop status, and the campaign
    file it was made from (YAML text, shown back to the supervisor as written)."""

    campaign: Campaign
    status: CampaignStatus
    source: str


@dataclass(frozen=True, slots=True)
class CampaignCall:
    """One dial of a campaign, as it ended. The compliance report and the pacer's estimates are
    read from these: `live` when a person (not a machine) answered; `abandoned` when a live
    answer got no agent within the grace (then `message` is the abandon message as played);
    `window` the regulatory window the call counts in (the profile's `window_of`)."""

    call_id: str
    campaign_id: CampaignId
    record_id: RecordId
    number: str  # E.164
    dialled_at: datetime
    ended_at: datetime
    disposition: DispositionCode
    window: str
    answered_at: datetime | None = None
    live: bool = False
    connected_at: datetime | None = None
    agent_id: AgentId | None = None
    interaction_id: InteractionId | None = None
    abandoned: bool = False
    message: str | None = None


class CampaignStore(Protocol):
    """Campaigns, the records they dial and what happened on each number. Phone numbers are
    personal data: stored sealed, found by their blind index."""

    def save_campaign(self, stored: StoredCampaign) -> None:
        """Insert or replace the campaign (its status included)."""
        ...

    def campaign(self, campaign_id: CampaignId) -> StoredCampaign | None: ...

    def campaigns(self) -> list[StoredCampaign]: ...

    def add_records(self, list_id: ListId, records: Sequence[DialingRecord]) -> int:
        """Append records to a dialing list (made on first use); returns how many were added.
        A record id already in the list is replaced, keeping its place."""
        ...

    def records(self, list_id: ListId) -> list[DialingRecord]:
        """The list's records in load order."""
        ...

    def progress(self, campaign_id: CampaignId) -> dict[RecordId, RecordProgress]:
        """Every record the campaign has tried, and where it stands."""
        ...

    def histories(self, numbers: Sequence[str]) -> dict[str, NumberHistory]:
        """What happened on each of these numbers, over every campaign (absent: never dialled)."""
        ...

    def record_call(
        self, call: CampaignCall, progress: RecordProgress, history: NumberHistory
    ) -> None:
        """The ended call, the record's progress and the number's history after it: one
        transaction, so a crash never counts a call without its effect."""
        ...

    def calls(
        self,
        campaign_id: CampaignId,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[CampaignCall]:
        """The campaign's ended calls dialled in [since, until), oldest first."""
        ...

    def dnc_book(self, campaign_id: CampaignId) -> DncBook:
        """The do-not-call entries that bear on the campaign: the internal list (with effective
        and expiry dates), the campaign's own list, the latest national registry copy and the
        consent / business-relationship exemptions."""
        ...

    def record_decision(self, campaign_id: CampaignId, decision: PacingDecision) -> None:
        """Log one pacing decision with its inputs and reason."""
        ...

    def decisions(self, campaign_id: CampaignId, limit: int = 100) -> list[PacingDecision]:
        """The newest decisions first."""
        ...
