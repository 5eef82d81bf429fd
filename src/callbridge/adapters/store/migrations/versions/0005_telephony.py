"""Telephony: a user's SIP digest credentials (the HA1 values, sealed) for registering a phone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a server default: SQLite adds it in place, no table copy.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("sip_digest", sa.String(), nullable=True))


def downgrade() -> None:
    # Not in batch mode: SQLite (3.35 and later) drops the column in place. A batch copy would
    # drop and recreate `users`, and with foreign keys on, that deletes every session and token.
    op.drop_column("users", "sip_digest")
