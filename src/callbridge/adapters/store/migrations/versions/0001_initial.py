"""Initial schema: queues, agents and their skills, dispositions, interactions, the event log.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "queues",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_queues"),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("presence", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("presence_since", UTC_DATETIME, nullable=False),
        sa.Column("idle_since", UTC_DATETIME, nullable=False),
        sa.Column("logged_in_at", UTC_DATETIME, nullable=True),
        sa.Column("busy_seconds", sa.Float(), nullable=False),
        sa.Column("busy_since", UTC_DATETIME, nullable=True),
        sa.Column("capacity", sa.JSON(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
        sa.UniqueConstraint("ordinal", name="uq_agents_ordinal"),
    )
    op.create_table(
        "agent_skills",
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("skill", sa.String(), nullable=False),
        sa.Column("proficiency", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name="fk_agent_skills_agent_id_agents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "skill", name="pk_agent_skills"),
    )
    op.create_index("ix_agent_skills_skill", "agent_skills", ["skill"])
    op.create_table(
        "dispositions",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_dispositions"),
    )
    op.create_table(
        "interactions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("from_address", sa.String(), nullable=False),
        sa.Column("to_address", sa.String(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("attached", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("queue_id", sa.String(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("extra_skills", sa.JSON(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("queue_entered_at", UTC_DATETIME, nullable=True),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("offer_deadline", UTC_DATETIME, nullable=True),
        sa.Column("callback_number", sa.String(), nullable=True),
        sa.Column("answered_at", UTC_DATETIME, nullable=True),
        sa.Column("ended_at", UTC_DATETIME, nullable=True),
        sa.Column("end_reason", sa.String(), nullable=True),
        sa.Column("last_agent_id", sa.String(), nullable=True),
        sa.Column("wrap_up_deadline", UTC_DATETIME, nullable=True),
        sa.Column("disposition", sa.String(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_interactions"),
    )
    op.create_index("ix_interactions_created_at", "interactions", ["created_at"])
    op.create_index("ix_interactions_state", "interactions", ["state"])
    op.create_index("ix_interactions_queue_id", "interactions", ["queue_id"])
    op.create_table(
        "interaction_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("interaction_id", sa.String(), nullable=True),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("queue_id", sa.String(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_interaction_events"),
        sqlite_autoincrement=True,
    )
    for column in ("interaction_id", "agent_id", "queue_id"):
        op.create_index(f"ix_interaction_events_{column}", "interaction_events", [column])
    op.create_table(
        "counters",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )


def downgrade() -> None:
    for table in (
        "counters",
        "interaction_events",
        "interactions",
        "dispositions",
        "agent_skills",
        "agents",
        "queues",
    ):
        op.drop_table(table)
