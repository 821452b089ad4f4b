"""Due work (reminders, notices, digests).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "due_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("room_id", sa.String(255)),
        sa.Column("lab_id", sa.Integer),
        sa.Column("owner", sa.String(255)),
        sa.Column("subject", sa.String(64)),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("recurrence", sa.String(120)),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("fired_count", sa.Integer, nullable=False),
        sa.Column("last_fired_at", TS),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_due_items_state_due_at", "due_items", ["state", "due_at"])
    op.create_index("ix_due_items_room_id", "due_items", ["room_id"])
    op.create_index("ix_due_items_owner", "due_items", ["owner"])
    op.create_index("ix_due_items_subject", "due_items", ["subject"])


def downgrade() -> None:
    op.drop_table("due_items")
