"""Foundation: meta, rooms, users, outbox, handled events, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "rooms",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(255)),
        sa.Column("language", sa.String(8)),
        sa.Column("creators", sa.JSON),
        sa.Column("encrypted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_direct", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("joined", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("display_name", sa.String(255)),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("first_attempt_at", TS),
        sa.Column("sent_at", TS),
        sa.Column("event_id", sa.String(255)),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_outbox_state_not_before", "outbox", ["state", "not_before"])
    op.create_index("ix_outbox_reference", "outbox", ["reference"])
    op.create_table(
        "handled_events",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("handled_at", TS, nullable=False),
    )
    op.create_index("ix_handled_events_handled_at", "handled_events", ["handled_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("room_id", sa.String(255)),
        sa.Column("lab_id", sa.Integer),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_lab_id", "audit_log", ["lab_id"])


def downgrade() -> None:
    for table in ("audit_log", "handled_events", "outbox", "users", "rooms", "meta"):
        op.drop_table(table)
