"""Spaces, closures and bookings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "spaces",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lab_id", sa.Integer, sa.ForeignKey("labs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("hours", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("lab_id", "slug", name="uq_spaces_lab_slug"),
    )
    op.create_index("ix_spaces_lab_id", "spaces", ["lab_id"])
    op.create_table(
        "closures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("space_id", sa.Integer, sa.ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("reason", sa.String(300)),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_closures_space_id", "closures", ["space_id"])
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("space_id", sa.Integer, sa.ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.String(255)),
        sa.Column("room_id", sa.String(255)),
        sa.Column("start_at", TS, nullable=False),
        sa.Column("end_at", TS, nullable=False),
        sa.Column("desks", sa.Integer, nullable=False),
        sa.Column("note", sa.String(300)),
        sa.Column("series_id", sa.Integer),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("cancelled_at", TS),
        sa.Column("cancelled_by", sa.String(255)),
    )
    op.create_index("ix_bookings_space_start", "bookings", ["space_id", "start_at"])
    op.create_index("ix_bookings_user_id", "bookings", ["user_id"])
    op.create_index("ix_bookings_series_id", "bookings", ["series_id"])


def downgrade() -> None:
    for table in ("bookings", "closures", "spaces"):
        op.drop_table(table)
