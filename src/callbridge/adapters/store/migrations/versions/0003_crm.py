"""The CRM: the built-in CRM's objects, its phone index and change log; screen pops, the
activity outbox, dialing lists, do-not-call, sync cursors and Salesforce's local phone index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

UTC_DATETIME = sa.DateTime(timezone=True)


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_accounts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("account_number", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("industry", sa.String(), nullable=True),
        sa.Column("billing_city", sa.String(), nullable=True),
        sa.Column("billing_country", sa.String(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_accounts")),
    )
    op.create_index(
        op.f("ix_crm_accounts_account_number"), "crm_accounts", ["account_number"], unique=False
    )
    op.create_table(
        "crm_activities",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("ended_at", UTC_DATETIME, nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("customer_address", sa.String(), nullable=True),
        sa.Column("customer_index", sa.String(), nullable=True),
        sa.Column("queue", sa.String(), nullable=True),
        sa.Column("agent", sa.String(), nullable=True),
        sa.Column("disposition", sa.String(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("who_type", sa.String(), nullable=True),
        sa.Column("who_id", sa.String(), nullable=True),
        sa.Column("what_type", sa.String(), nullable=True),
        sa.Column("what_id", sa.String(), nullable=True),
        sa.Column("recording_url", sa.String(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_activities")),
        sa.UniqueConstraint("external_id", name=op.f("uq_crm_activities_external_id")),
    )
    op.create_index(
        op.f("ix_crm_activities_customer_index"), "crm_activities", ["customer_index"], unique=False
    )
    op.create_index(op.f("ix_crm_activities_what_id"), "crm_activities", ["what_id"], unique=False)
    op.create_index(op.f("ix_crm_activities_who_id"), "crm_activities", ["who_id"], unique=False)
    op.create_table(
        "crm_campaigns",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_campaigns")),
    )
    op.create_table(
        "crm_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("record_type", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_changes")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "crm_dnc",
        sa.Column("number_index", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("added_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("number_index", name=op.f("pk_crm_dnc")),
    )
    op.create_table(
        "crm_leads",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("first_name", sa.String(), nullable=True),
        sa.Column("last_name", sa.String(), nullable=False),
        sa.Column("company", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("email_index", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("mobile_phone", sa.String(), nullable=True),
        sa.Column("do_not_call", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_leads")),
    )
    op.create_index(op.f("ix_crm_leads_email_index"), "crm_leads", ["email_index"], unique=False)
    op.create_table(
        "crm_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("interaction_id", sa.String(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("activity", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("delivered_at", UTC_DATETIME, nullable=True),
        sa.Column("record_id", sa.String(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_outbox")),
        sa.UniqueConstraint("interaction_id", name=op.f("uq_crm_outbox_interaction_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_crm_outbox_next_attempt_at"), "crm_outbox", ["next_attempt_at"], unique=False
    )
    op.create_index(op.f("ix_crm_outbox_status"), "crm_outbox", ["status"], unique=False)
    op.create_table(
        "crm_phone_index",
        sa.Column("phone_index", sa.String(), nullable=False),
        sa.Column("record_type", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "phone_index", "record_type", "record_id", name=op.f("pk_crm_phone_index")
        ),
    )
    op.create_table(
        "crm_sync_state",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("cursor", sa.String(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_crm_sync_state")),
    )
    op.create_table(
        "dialing_lists",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("crm", sa.String(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("synced_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialing_lists")),
    )
    op.create_table(
        "dnc",
        sa.Column("number_index", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("added_at", UTC_DATETIME, nullable=False),
        sa.Column("pushed_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("number_index", name=op.f("pk_dnc")),
    )
    op.create_table(
        "remote_phone_index",
        sa.Column("crm", sa.String(), nullable=False),
        sa.Column("phone_index", sa.String(), nullable=False),
        sa.Column("record_type", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("account_name", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint(
            "crm", "phone_index", "record_type", "record_id", name=op.f("pk_remote_phone_index")
        ),
    )
    op.create_index(
        "ix_remote_phone_index_record",
        "remote_phone_index",
        ["crm", "record_type", "record_id"],
        unique=False,
    )
    op.create_table(
        "screen_pops",
        sa.Column("interaction_id", sa.String(), nullable=False),
        sa.Column("crm", sa.String(), nullable=False),
        sa.Column("resolved_at", UTC_DATETIME, nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("matches", sa.JSON(), nullable=False),
        sa.Column("chosen_type", sa.String(), nullable=True),
        sa.Column("chosen_id", sa.String(), nullable=True),
        sa.Column("chosen_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("interaction_id", name=op.f("pk_screen_pops")),
    )
    op.create_table(
        "crm_campaign_members",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("member_type", sa.String(), nullable=False),
        sa.Column("member_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["crm_campaigns.id"],
            name=op.f("fk_crm_campaign_members_campaign_id_crm_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_campaign_members")),
        sa.UniqueConstraint(
            "campaign_id", "member_id", name="uq_crm_campaign_members_campaign_member"
        ),
    )
    op.create_index(
        op.f("ix_crm_campaign_members_campaign_id"),
        "crm_campaign_members",
        ["campaign_id"],
        unique=False,
    )
    op.create_table(
        "crm_contacts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("first_name", sa.String(), nullable=True),
        sa.Column("last_name", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("email_index", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("mobile_phone", sa.String(), nullable=True),
        sa.Column("do_not_call", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["crm_accounts.id"],
            name=op.f("fk_crm_contacts_account_id_crm_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_contacts")),
    )
    op.create_index(
        op.f("ix_crm_contacts_account_id"), "crm_contacts", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_crm_contacts_email_index"), "crm_contacts", ["email_index"], unique=False
    )
    op.create_table(
        "dialing_list_members",
        sa.Column("list_id", sa.String(), nullable=False),
        sa.Column("record_type", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("phone_index", sa.String(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["dialing_lists.id"],
            name=op.f("fk_dialing_list_members_list_id_dialing_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "list_id", "record_type", "record_id", name=op.f("pk_dialing_list_members")
        ),
    )
    op.create_index(
        op.f("ix_dialing_list_members_phone_index"),
        "dialing_list_members",
        ["phone_index"],
        unique=False,
    )
    op.create_table(
        "crm_cases",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("case_number", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("contact_id", sa.String(), nullable=True),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["crm_accounts.id"],
            name=op.f("fk_crm_cases_account_id_crm_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["crm_contacts.id"],
            name=op.f("fk_crm_cases_contact_id_crm_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_cases")),
        sa.UniqueConstraint("case_number", name=op.f("uq_crm_cases_case_number")),
    )
    op.create_index(op.f("ix_crm_cases_account_id"), "crm_cases", ["account_id"], unique=False)
    op.create_index(op.f("ix_crm_cases_contact_id"), "crm_cases", ["contact_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_crm_cases_contact_id"), table_name="crm_cases")
    op.drop_index(op.f("ix_crm_cases_account_id"), table_name="crm_cases")
    op.drop_table("crm_cases")
    op.drop_index(op.f("ix_dialing_list_members_phone_index"), table_name="dialing_list_members")
    op.drop_table("dialing_list_members")
    op.drop_index(op.f("ix_crm_contacts_email_index"), table_name="crm_contacts")
    op.drop_index(op.f("ix_crm_contacts_account_id"), table_name="crm_contacts")
    op.drop_table("crm_contacts")
    op.drop_index(op.f("ix_crm_campaign_members_campaign_id"), table_name="crm_campaign_members")
    op.drop_table("crm_campaign_members")
    op.drop_table("screen_pops")
    op.drop_index("ix_remote_phone_index_record", table_name="remote_phone_index")
    op.drop_table("remote_phone_index")
    op.drop_table("dnc")
    op.drop_table("dialing_lists")
    op.drop_table("crm_sync_state")
    op.drop_table("crm_phone_index")
    op.drop_index(op.f("ix_crm_outbox_status"), table_name="crm_outbox")
    op.drop_index(op.f("ix_crm_outbox_next_attempt_at"), table_name="crm_outbox")
    op.drop_table("crm_outbox")
    op.drop_index(op.f("ix_crm_leads_email_index"), table_name="crm_leads")
    op.drop_table("crm_leads")
    op.drop_table("crm_dnc")
    op.drop_table("crm_changes")
    op.drop_table("crm_campaigns")
    op.drop_index(op.f("ix_crm_activities_who_id"), table_name="crm_activities")
    op.drop_index(op.f("ix_crm_activities_what_id"), table_name="crm_activities")
    op.drop_index(op.f("ix_crm_activities_customer_index"), table_name="crm_activities")
    op.drop_table("crm_activities")
    op.drop_index(op.f("ix_crm_accounts_account_number"), table_name="crm_accounts")
    op.drop_table("crm_accounts")
