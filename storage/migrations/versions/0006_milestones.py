"""Milestones of labs and of the network.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lab_id", sa.Integer, sa.ForeignKey("labs.id", ondelete="CASCADE")),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("remind_days", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("template_step", sa.String(32)),
        sa.Column("created_by", sa.String(255)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("done_at", TS),
        sa.Column("done_by", sa.String(255)),
    )
    op.create_index("ix_milestones_lab_due", "milestones", ["lab_id", "due_on"])
    op.create_index("ix_milestones_status_due", "milestones", ["status", "due_on"])
    op.create_index("ix_milestones_owner", "milestones", ["owner"])


def downgrade() -> None:
    op.drop_table("milestones")
