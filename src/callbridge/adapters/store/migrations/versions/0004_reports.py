"""Reports: the event log is read by time window, so its `at` column gets an index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_interaction_events_at"), "interaction_events", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_interaction_events_at"), table_name="interaction_events")
