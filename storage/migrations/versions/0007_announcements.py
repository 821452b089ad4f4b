"""Announcements, their copies and acknowledgements; questions and the relay's event mapping.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("author", sa.String(255)),
        sa.Column("author_name", sa.String(255)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("filters", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("target_count", sa.Integer, nullable=False),
        sa.Column("progress_row", sa.Integer),
        sa.Column("progress_text", sa.String(255)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("scheduled_for", TS),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("retracted_at", TS),
    )
    op.create_index("ix_announcements_author", "announcements", ["author"])
    op.create_table(
        "announcement_copies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("announcement_id", sa.Integer,
                  sa.ForeignKey("announcements.id", ondelete="CASCADE"), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("lab_id", sa.Integer),
        sa.Column("outbox_id", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(255)),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("redacted", sa.Boolean, nullable=False),
        sa.UniqueConstraint("announcement_id", "room_id", name="uq_announcement_copies"),
    )
    op.create_index("ix_announcement_copies_announcement_id", "announcement_copies", ["announcement_id"])
    op.create_index("ix_announcement_copies_room_id", "announcement_copies", ["room_id"])
    op.create_index("ix_announcement_copies_event_id", "announcement_copies", ["event_id"])
    op.create_table(
        "announcement_acks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("announcement_id", sa.Integer,
                  sa.ForeignKey("announcements.id", ondelete="CASCADE"), nullable=False),
        sa.Column("copy_id", sa.Integer,
                  sa.ForeignKey("announcement_copies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("lab_id", sa.Integer),
        sa.Column("user_id", sa.String(255)),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False, unique=True),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_announcement_acks_announcement_id", "announcement_acks", ["announcement_id"])
    op.create_index("ix_announcement_acks_user_id", "announcement_acks", ["user_id"])
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lab_id", sa.Integer),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("federal_room_id", sa.String(255), nullable=False),
        sa.Column("asker", sa.String(255)),
        sa.Column("asker_name", sa.String(255)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("replies", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("answered_at", TS),
        sa.Column("answered_by", sa.String(255)),
    )
    op.create_index("ix_questions_lab_id", "questions", ["lab_id"])
    op.create_index("ix_questions_asker", "questions", ["asker"])
    op.create_index("ix_questions_state_created", "questions", ["state", "created_at"])
    op.create_table(
        "relay_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("question_id", sa.Integer,
                  sa.ForeignKey("questions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("outbox_id", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(255)),
        sa.Column("source_room_id", sa.String(255), nullable=False),
        sa.Column("source_event_id", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_relay_messages_question_id", "relay_messages", ["question_id"])
    op.create_index("ix_relay_messages_room_id", "relay_messages", ["room_id"])
    op.create_index("ix_relay_messages_event_id", "relay_messages", ["event_id"])


def downgrade() -> None:
    op.drop_table("relay_messages")
    op.drop_table("questions")
    op.drop_table("announcement_acks")
    op.drop_table("announcement_copies")
    op.drop_table("announcements")
