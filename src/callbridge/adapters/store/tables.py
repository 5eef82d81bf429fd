"""The schema, as SQLAlchemy Core tables on one MetaData.

The migrations in `migrations/versions/` create exactly this; a test compares the two on SQLite
and PostgreSQL. Change a table here only together with a new migration.

Times are timezone-aware UTC timestamps in the database and float epoch seconds in Python: the
`UtcDateTime` column type converts, through the codec's `to_datetime` / `from_datetime`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from callbridge.adapters.store.codec import from_datetime, to_datetime

# Deterministic constraint and index names, so migrations can name what they alter.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[float]):
    """Float epoch seconds in Python, `timestamp with time zone` (UTC) in the database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: Dialect) -> datetime | None:
        return None if value is None else to_datetime(value)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> float | None:
        return None if value is None else from_datetime(value)


# SQLite only autoincrements an INTEGER PRIMARY KEY, not a BIGINT one.
EventId = BigInteger().with_variant(Integer(), "sqlite")

queues = Table(
    "queues",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    # the whole definition (requirements, escalation, overflow, wrap-up...): codec.queue_config
    Column("config", JSON, nullable=False),
)

agents = Table(
    "agents",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("ordinal", Integer, nullable=False, unique=True),
    Column("presence", String, nullable=False),
    Column("reason", String),
    Column("presence_since", UtcDateTime, nullable=False),
    Column("idle_since", UtcDateTime, nullable=False),
    Column("logged_in_at", UtcDateTime),
    Column("busy_seconds", Float, nullable=False),
    Column("busy_since", UtcDateTime),
    Column("capacity", JSON, nullable=False),  # {"voice": 1, "chat": 3, ...}
    Column("groups", JSON, nullable=False),  # sorted list of group names
)

agent_skills = Table(
    "agent_skills",
    metadata,
    Column(
        "agent_id",
        String,
        ForeignKey("agents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("skill", String, primary_key=True, index=True),
    Column("proficiency", Integer, nullable=False),
)

dispositions = Table(
    "dispositions",
    metadata,
    Column("code", String, primary_key=True),
    Column("label", String, nullable=False),
)

# No foreign keys to queues or agents: an interaction's history outlives a removed queue.
interactions = Table(
    "interactions",
    metadata,
    Column("id", String, primary_key=True),
    Column("channel", String, nullable=False),
    Column("direction", String, nullable=False),
    Column("from_address", String, nullable=False),
    Column("to_address", String, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("attached", JSON, nullable=False),
    Column("state", String, nullable=False, index=True),
    Column("queue_id", String, index=True),
    Column("priority", Integer, nullable=False),
    Column("extra_skills", JSON, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("queue_entered_at", UtcDateTime),
    Column("agent_id", String),
    Column("offer_deadline", UtcDateTime),
    Column("callback_number", String),
    Column("answered_at", UtcDateTime),
    Column("ended_at", UtcDateTime),
    Column("end_reason", String),
    Column("last_agent_id", String),
    Column("wrap_up_deadline", UtcDateTime),
    Column("disposition", String),
    Column("notes", Text),
    Column("escalation_level", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    # Blind indexes (keyed hashes) of the encrypted addresses, for lookups and privacy requests.
    Column("from_index", String, index=True),
    Column("to_index", String, index=True),
    Column("callback_index", String, index=True),
)

# Append-only: rows are inserted, never updated or deleted. The id orders the log.
interaction_events = Table(
    "interaction_events",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),  # reports read a window of time
    Column("kind", String, nullable=False),
    Column("interaction_id", String, index=True),
    Column("agent_id", String, index=True),
    Column("queue_id", String, index=True),
    Column("payload", JSON, nullable=False),
    # SQLite: AUTOINCREMENT, so an id is never handed out twice
    sqlite_autoincrement=True,
)

counters = Table(
    "counters",
    metadata,
    Column("name", String, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

NEXT_SEQ = "next_seq"
AUDIT_COUNT = "audit_count"  # entries ever appended: a deleted last entry shows as a gap

# --- security --------------------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", String, primary_key=True),
    Column("username", String, nullable=False, unique=True),
    Column("display_name", String, nullable=False),
    Column("password_hash", String, nullable=False),
    Column("roles", JSON, nullable=False),  # list of role names
    Column("teams", JSON),  # list of agent groups a supervisor is limited to; null: all
    Column("queues", JSON),  # list of queue ids a supervisor is limited to; null: all
    Column("agent_id", String, unique=True),  # the agent this user works as
    Column("mfa_secret", String),  # TOTP secret, encrypted
    Column("mfa_enabled", Boolean, nullable=False),
    Column("mfa_required", Boolean),  # null: as the roles say
    Column("sip_digest", String),  # SIP digest HA1 values (JSON), encrypted; null: no SIP phone
    Column("disabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("password_changed_at", UtcDateTime, nullable=False),
)

roles = Table(
    "roles",
    metadata,
    Column("name", String, primary_key=True),
    Column("description", String, nullable=False),
    Column("permissions", JSON, nullable=False),  # list of permission names
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("code_hash", String, primary_key=True),
    Column(
        "user_id", String, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("used_at", UtcDateTime),
)

# Sessions and tokens are stored as SHA-256 hashes of the secret the client holds.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String, primary_key=True),
    Column(
        "user_id", String, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),  # absolute timeout
    Column("mfa_passed", Boolean, nullable=False),
    Column("source", String, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String, primary_key=True),  # the public part of the token
    Column(
        "user_id", String, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("name", String, nullable=False),
    Column("secret_hash", String, nullable=False),
    Column("permissions", JSON, nullable=False),  # list of permission names
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("username", String, nullable=False, index=True),
    Column("source", String, nullable=False, index=True),
    sqlite_autoincrement=True,
)

lockouts = Table(
    "lockouts",
    metadata,
    Column("kind", String, primary_key=True),  # "account" or "address"
    Column("subject", String, primary_key=True),  # the username or the source address
    Column("locked_at", UtcDateTime, nullable=False),
    Column("until", UtcDateTime, nullable=False),
    Column("failures", Integer, nullable=False),
)

# Append-only and hash-chained: each entry's hash covers its fields and the previous hash.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", String, nullable=False),
    Column("action", String, nullable=False),
    Column("object_type", String, nullable=False),
    Column("object_id", String, nullable=False),
    Column("source", String, nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Column("prev_hash", String, nullable=False),
    Column("hash", String, nullable=False),
    sqlite_autoincrement=True,
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String, primary_key=True),
    Column("url", String, nullable=False),
    Column("secret", String, nullable=False),  # encrypted
    Column("events", JSON, nullable=False),  # event kinds; empty list: all
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# --- the built-in CRM ------------------------------------------------------------------------
# Phone numbers, email addresses and free text are sealed (FieldCipher); `*_index` columns hold
# their blind-index hashes. crm_phone_index maps every phone hash to the records that carry it,
# which is what a screen pop reads.


def _crm_times() -> list[Column[Any]]:
    return [
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    ]


crm_accounts = Table(
    "crm_accounts",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("account_number", String, index=True),
    Column("phone", String),
    Column("industry", String),
    Column("billing_city", String),
    Column("billing_country", String),
    *_crm_times(),
)

crm_contacts = Table(
    "crm_contacts",
    metadata,
    Column("id", String, primary_key=True),
    Column("account_id", String, ForeignKey("crm_accounts.id", ondelete="SET NULL"), index=True),
    Column("first_name", String),
    Column("last_name", String, nullable=False),
    Column("title", String),
    Column("email", String),
    Column("email_index", String, index=True),
    Column("phone", String),
    Column("mobile_phone", String),
    Column("do_not_call", Boolean, nullable=False),
    *_crm_times(),
)

crm_leads = Table(
    "crm_leads",
    metadata,
    Column("id", String, primary_key=True),
    Column("first_name", String),
    Column("last_name", String, nullable=False),
    Column("company", String, nullable=False),
    Column("status", String, nullable=False),
    Column("email", String),
    Column("email_index", String, index=True),
    Column("phone", String),
    Column("mobile_phone", String),
    Column("do_not_call", Boolean, nullable=False),
    *_crm_times(),
)

crm_cases = Table(
    "crm_cases",
    metadata,
    Column("id", String, primary_key=True),
    Column("case_number", String, nullable=False, unique=True),
    Column("subject", String, nullable=False),
    Column("status", String, nullable=False),
    Column("priority", String, nullable=False),
    Column("contact_id", String, ForeignKey("crm_contacts.id", ondelete="SET NULL"), index=True),
    Column("account_id", String, ForeignKey("crm_accounts.id", ondelete="SET NULL"), index=True),
    Column("description", Text),  # sealed
    *_crm_times(),
)

crm_campaigns = Table(
    "crm_campaigns",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("status", String, nullable=False),
    *_crm_times(),
)

crm_campaign_members = Table(
    "crm_campaign_members",
    metadata,
    Column("id", String, primary_key=True),
    Column(
        "campaign_id",
        String,
        ForeignKey("crm_campaigns.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("member_type", String, nullable=False),  # Contact or Lead
    Column("member_id", String, nullable=False),
    Column("status", String, nullable=False),
    *_crm_times(),
    UniqueConstraint("campaign_id", "member_id", name="uq_crm_campaign_members_campaign_member"),
)

# Tasks: the activities interactions leave. external_id is the interaction id (upserts).
crm_activities = Table(
    "crm_activities",
    metadata,
    Column("id", String, primary_key=True),
    Column("external_id", String, nullable=False, unique=True),
    Column("subject", String, nullable=False),
    Column("channel", String, nullable=False),
    Column("direction", String, nullable=False),
    Column("status", String, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
    Column("duration_s", Integer, nullable=False),
    Column("customer_address", String),  # sealed
    Column("customer_index", String, index=True),
    Column("queue", String),
    Column("agent", String),
    Column("disposition", String),
    Column("notes", Text),  # sealed
    Column("who_type", String),
    Column("who_id", String, index=True),
    Column("what_type", String),
    Column("what_id", String, index=True),
    Column("recording_url", String),
    Column("fields", Text, nullable=False),  # the mapped fields as JSON, sealed
    *_crm_times(),
)

crm_phone_index = Table(
    "crm_phone_index",
    metadata,
    Column("phone_index", String, primary_key=True),
    Column("record_type", String, primary_key=True),
    Column("record_id", String, primary_key=True),
)

crm_dnc = Table(
    "crm_dnc",
    metadata,
    Column("number_index", String, primary_key=True),
    Column("number", String, nullable=False),  # sealed
    Column("source", String, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
)

# Every create, change and delete in the built-in CRM, in order: the `changes` cursor is an id.
crm_changes = Table(
    "crm_changes",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("record_type", String, nullable=False),
    Column("record_id", String, nullable=False),
    Column("deleted", Boolean, nullable=False),
    sqlite_autoincrement=True,
)

# --- the integration core: screen pops, the activity outbox, dialing lists, do-not-call -------

screen_pops = Table(
    "screen_pops",
    metadata,
    Column("interaction_id", String, primary_key=True),
    Column("crm", String, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=False),
    Column("outcome", String, nullable=False),  # single, multiple, none
    Column("matches", JSON, nullable=False),  # [{type, id, name, matched_on, account_name}]
    Column("chosen_type", String),
    Column("chosen_id", String),
    Column("chosen_by", String),
)

# Written in the same transaction as the interaction closing; a worker delivers it.
crm_outbox = Table(
    "crm_outbox",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("interaction_id", String, nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("activity", Text, nullable=False),  # the Activity as JSON, sealed
    Column("status", String, nullable=False, index=True),  # pending, unresolved, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False, index=True),
    Column("delivered_at", UtcDateTime),
    Column("record_id", String),
    Column("last_error", String),
    sqlite_autoincrement=True,
)

dialing_lists = Table(
    "dialing_lists",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("source", String, nullable=False),  # a campaign id or query:<name>
    Column("crm", String, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("synced_at", UtcDateTime),
)

dialing_list_members = Table(
    "dialing_list_members",
    metadata,
    Column("list_id", String, ForeignKey("dialing_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("record_type", String, primary_key=True),
    Column("record_id", String, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("name", String, nullable=False),
    Column("phone", String, nullable=False),  # sealed
    Column("phone_index", String, nullable=False, index=True),
    Column("fields", Text, nullable=False),  # JSON, sealed
)

# Callbridge's own do-not-call list, synced with the CRM's both ways.
dnc = Table(
    "dnc",
    metadata,
    Column("number_index", String, primary_key=True),
    Column("number", String, nullable=False),  # sealed
    Column("source", String, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Column("pushed_at", UtcDateTime),  # when it was written to the CRM; null: not yet
    # blocking from (added_at unless recorded ahead) until (null: for good); 0006
    Column("effective_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
)

# Cursors of the sync loops (CRM changes, DNC pulls), by name.
crm_sync_state = Table(
    "crm_sync_state",
    metadata,
    Column("name", String, primary_key=True),
    Column("cursor", String, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# The Salesforce connector's local phone index (decisions §0.5): phone hash -> record.
remote_phone_index = Table(
    "remote_phone_index",
    metadata,
    Column("crm", String, primary_key=True),
    Column("phone_index", String, primary_key=True),
    Column("record_type", String, primary_key=True),
    Column("record_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("account_name", String),
    # a record's rows, found when it changes or is deleted
    Index("ix_remote_phone_index_record", "crm", "record_type", "record_id"),
)

# --- outbound campaigns (0006) ---------------------------------------------------------------
# Phone numbers and names are sealed; `*_index` columns hold the numbers' blind-index hashes.

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("source", Text, nullable=False),  # the campaign file as written; parsed on read
    Column("state", String, nullable=False),
    Column("since", UtcDateTime),
    Column("first_started", UtcDateTime),
)

# The records of the dialing lists campaigns dial (CSV uploads, CRM lists), by list.
campaign_records = Table(
    "campaign_records",
    metadata,
    Column("list_id", String, primary_key=True),
    Column("record_id", String, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("name", String, nullable=False),  # sealed
    Column("phones", Text, nullable=False),  # JSON list of E.164 numbers, sealed
    Column("time_zone", String),
    Column("state", String),
    Column("priority", Integer, nullable=False),
)

# Each record's numbers by blind index: privacy requests find the records through it.
campaign_record_phones = Table(
    "campaign_record_phones",
    metadata,
    Column("list_id", String, primary_key=True),
    Column("record_id", String, primary_key=True),
    Column("phone_index", String, primary_key=True, index=True),
    ForeignKeyConstraint(
        ["list_id", "record_id"],
        ["campaign_records.list_id", "campaign_records.record_id"],
        ondelete="CASCADE",
    ),
)

campaign_progress = Table(
    "campaign_progress",
    metadata,
    Column("campaign_id", String, primary_key=True),
    Column("record_id", String, primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("due_at", UtcDateTime),
    Column("done", Boolean, nullable=False),
    Column("last", String),
    Column("passes", Integer, nullable=False),
)

# What happened on a number over every campaign (attempt limits, the UK redial rules).
number_histories = Table(
    "number_histories",
    metadata,
    Column("number_index", String, primary_key=True),
    Column("number", String, nullable=False),  # sealed
    Column("attempts", JSON, nullable=False),  # epoch seconds, oldest first
    Column("last_abandoned_at", UtcDateTime),
    Column("last_machine_at", UtcDateTime),
)

campaign_calls = Table(
    "campaign_calls",
    metadata,
    Column("call_id", String, primary_key=True),
    Column("campaign_id", String, nullable=False),
    Column("record_id", String, nullable=False),
    Column("number", String, nullable=False),  # sealed
    Column("number_index", String, nullable=False, index=True),
    Column("dialled_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
    Column("disposition", String, nullable=False),
    Column("window_key", String, nullable=False),  # the regulatory window it counts in
    Column("answered_at", UtcDateTime),
    Column("live", Boolean, nullable=False),
    Column("connected_at", UtcDateTime),
    Column("agent_id", String),
    Column("interaction_id", String),
    Column("abandoned", Boolean, nullable=False),
    Column("message", Text),
    # a campaign's calls by time: the compliance report and the pacer's estimates
    Index("ix_campaign_calls_campaign", "campaign_id", "dialled_at"),
)

pacing_decisions = Table(
    "pacing_decisions",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("campaign_id", String, nullable=False),
    Column("at", Float, nullable=False),  # the pacer's clock, as the decision carries it
    Column("decision", Text, nullable=False),  # JSON (adapters/store/pacing_codec.py)
    Index("ix_pacing_decisions_campaign", "campaign_id", "id"),
    sqlite_autoincrement=True,
)

# A campaign's own do-not-call list (a client's suppression list).
campaign_dnc = Table(
    "campaign_dnc",
    metadata,
    Column("campaign_id", String, primary_key=True),
    Column("number_index", String, primary_key=True),
    Column("number", String, nullable=False),  # sealed
    Column("source", String, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
)

# Copies of the national registry as imported; only the newest copy keeps its numbers.
dnc_registry_copies = Table(
    "dnc_registry_copies",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("name", String, nullable=False),
    Column("region", String, nullable=False),
    Column("obtained_at", UtcDateTime, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("numbers", Integer, nullable=False),  # how many the copy held
    sqlite_autoincrement=True,
)

dnc_registry_numbers = Table(
    "dnc_registry_numbers",
    metadata,
    Column(
        "copy_id",
        EventId,
        ForeignKey("dnc_registry_copies.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("number_index", String, primary_key=True),
    Column("number", String, nullable=False),  # sealed
)

# Consent and established business relationships: they lift the registry block for a number.
dnc_exemptions = Table(
    "dnc_exemptions",
    metadata,
    Column("number_index", String, primary_key=True),
    Column("kind", String, primary_key=True),
    Column("since", UtcDateTime, primary_key=True),
    Column("number", String, nullable=False),  # sealed
    Column("revoked_at", UtcDateTime),
)

# The center's business hours by name, which IVR flows' hours steps may name; edited on the
# admin page. `definition` is the schedule as JSON, in the flow language's own shape.
business_hours = Table(
    "business_hours",
    metadata,
    Column("name", String, primary_key=True),
    Column("definition", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
