"""Labs, linked rooms and role grants.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "labs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("slug", sa.String(80), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("city", sa.String(120), nullable=False),
        sa.Column("state", sa.String(2), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("host", sa.String(200)),
        sa.Column("host_legal_form", sa.String(80)),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_labs_state", "labs", ["state"])
    op.create_table(
        "lab_rooms",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("lab_id", sa.Integer, sa.ForeignKey("labs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("linked_by", sa.String(255), nullable=False),
        sa.Column("linked_at", TS, nullable=False),
    )
    op.create_index("ix_lab_rooms_lab_id", "lab_rooms", ["lab_id"])
    op.create_table(
        "role_grants",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("lab_id", sa.Integer, sa.ForeignKey("labs.id", ondelete="CASCADE")),
        sa.Column("granted_by", sa.String(255), nullable=False),
        sa.Column("granted_at", TS, nullable=False),
        sa.UniqueConstraint("user_id", "role", "lab_id", name="uq_role_grants"),
    )
    op.create_index("ix_role_grants_user_id", "role_grants", ["user_id"])


def downgrade() -> None:
    for table in ("role_grants", "lab_rooms", "labs"):
        op.drop_table(table)
