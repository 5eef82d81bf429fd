"""Outbound campaigns: campaigns, their dialing records and progress, number histories, ended
calls, pacing decisions; do-not-call with dates, campaign lists, registry copies, exemptions.

The internal `dnc` table gains `effective_at` (existing entries: their `added_at`) and
`expires_at`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

UTC_DATETIME = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable first, filled, then NOT NULL: SQLite copies `dnc` for the last step (it has no
    # foreign keys in or out, so the copy loses nothing).
    with op.batch_alter_table("dnc") as batch:
        batch.add_column(sa.Column("effective_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("expires_at", UTC_DATETIME, nullable=True))
    op.execute("UPDATE dnc SET effective_at = added_at")
    with op.batch_alter_table("dnc") as batch:
        batch.alter_column("effective_at", existing_type=UTC_DATETIME, nullable=False)

    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("since", UTC_DATETIME, nullable=True),
        sa.Column("first_started", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "campaign_records",
        sa.Column("list_id", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("phones", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("list_id", "record_id", name=op.f("pk_campaign_records")),
    )
    op.create_table(
        "campaign_record_phones",
        sa.Column("list_id", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("phone_index", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id", "record_id"],
            ["campaign_records.list_id", "campaign_records.record_id"],
            name=op.f("fk_campaign_record_phones_list_id_campaign_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "list_id", "record_id", "phone_index", name=op.f("pk_campaign_record_phones")
        ),
    )
    op.create_index(
        op.f("ix_campaign_record_phones_phone_index"),
        "campaign_record_phones",
        ["phone_index"],
        unique=False,
    )
    op.create_table(
        "campaign_progress",
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("last", sa.String(), nullable=True),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "record_id", name=op.f("pk_campaign_progress")),
    )
    op.create_table(
        "number_histories",
        sa.Column("number_index", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("attempts", sa.JSON(), nullable=False),
        sa.Column("last_abandoned_at", UTC_DATETIME, nullable=True),
        sa.Column("last_machine_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("number_index", name=op.f("pk_number_histories")),
    )
    op.create_table(
        "campaign_calls",
        sa.Column("call_id", sa.String(), nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("number_index", sa.String(), nullable=False),
        sa.Column("dialled_at", UTC_DATETIME, nullable=False),
        sa.Column("ended_at", UTC_DATETIME, nullable=False),
        sa.Column("disposition", sa.String(), nullable=False),
        sa.Column("window_key", sa.String(), nullable=False),
        sa.Column("answered_at", UTC_DATETIME, nullable=True),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("connected_at", UTC_DATETIME, nullable=True),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("interaction_id", sa.String(), nullable=True),
        sa.Column("abandoned", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_campaign_calls")),
    )
    op.create_index(
        "ix_campaign_calls_campaign", "campaign_calls", ["campaign_id", "dialled_at"], unique=False
    )
    op.create_index(
        op.f("ix_campaign_calls_number_index"), "campaign_calls", ["number_index"], unique=False
    )
    op.create_table(
        "pacing_decisions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pacing_decisions")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_pacing_decisions_campaign", "pacing_decisions", ["campaign_id", "id"], unique=False
    )
    op.create_table(
        "campaign_dnc",
        sa.Column("campaign_id", sa.String(), nullable=False),
        sa.Column("number_index", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("added_at", UTC_DATETIME, nullable=False),
        sa.Column("effective_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "number_index", name=op.f("pk_campaign_dnc")),
    )
    op.create_table(
        "dnc_registry_copies",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("obtained_at", UTC_DATETIME, nullable=False),
        sa.Column("imported_at", UTC_DATETIME, nullable=False),
        sa.Column("numbers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnc_registry_copies")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "dnc_registry_numbers",
        sa.Column("copy_id", ID, nullable=False),
        sa.Column("number_index", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["dnc_registry_copies.id"],
            name=op.f("fk_dnc_registry_numbers_copy_id_dnc_registry_copies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("copy_id", "number_index", name=op.f("pk_dnc_registry_numbers")),
    )
    op.create_table(
        "dnc_exemptions",
        sa.Column("number_index", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("since", UTC_DATETIME, nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("number_index", "kind", "since", name=op.f("pk_dnc_exemptions")),
    )


def downgrade() -> None:
    for table in (
        "dnc_exemptions",
        "dnc_registry_numbers",
        "dnc_registry_copies",
        "campaign_dnc",
        "pacing_decisions",
        "campaign_calls",
        "number_histories",
        "campaign_progress",
        "campaign_record_phones",
        "campaign_records",
        "campaigns",
    ):
        op.drop_table(table)
    with op.batch_alter_table("dnc") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("effective_at")
