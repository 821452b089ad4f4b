"""Experts and organisations: entries, search vocabulary, introductions, direct rooms.

Search: the words of all entries (expert_terms) are indexed by trigram, with an FTS5 table
(trigram tokenizer) on SQLite and a pg_trgm GIN index on PostgreSQL; expert_postings leads
from a word to the entries using it. One repository method hides the difference.

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

TS = sa.DateTime(timezone=True)
RANK_INDEX = ("ix_expert_postings_rank", "term_id", "weight", "listed_at DESC", "expert_id", "lab_id", "state", "category")
LAB_INDEX = ("ix_expert_postings_lab", "term_id", "lab_id", "weight", "listed_at DESC", "expert_id", "state", "category")
STATE_INDEX = ("ix_expert_postings_state", "term_id", "state", "weight", "listed_at DESC", "expert_id", "lab_id", "category")


def upgrade() -> None:
    op.create_table(
        "experts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("user_id", sa.String(255)),
        sa.Column("contact_id", sa.String(255)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("skills", sa.Text, nullable=False),
        sa.Column("languages", sa.String(80), nullable=False),
        sa.Column("about", sa.Text),
        sa.Column("lab_id", sa.Integer, sa.ForeignKey("labs.id", ondelete="SET NULL")),
        sa.Column("state", sa.String(2)),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("confidential", sa.Boolean, nullable=False),
        sa.Column("accepts_requests", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(255)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("consented_at", TS),
        sa.Column("confirmed_at", TS),
        sa.Column("search_keys", sa.Text, nullable=False),
        sa.Column("search_about", sa.Text, nullable=False),
    )
    op.create_index("ix_experts_user_id", "experts", ["user_id"])
    op.create_index("ix_experts_contact_id", "experts", ["contact_id"])
    op.create_index("ix_experts_category", "experts", ["category"])
    op.create_index("ix_experts_lab_id", "experts", ["lab_id"])
    op.create_index("ix_experts_status_confirmed", "experts", ["status", "confirmed_at"])
    op.create_table(
        "expert_terms",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("term", sa.String(120), nullable=False, unique=True),
        sa.Column("uses", sa.Integer, nullable=False),
    )
    op.create_table(
        "expert_postings",
        sa.Column("term_id", sa.Integer, sa.ForeignKey("expert_terms.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("expert_id", sa.Integer, sa.ForeignKey("experts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("weight", sa.Integer, nullable=False),
        sa.Column("listed_at", TS),
        sa.Column("lab_id", sa.Integer),
        sa.Column("state", sa.String(2)),
        sa.Column("category", sa.String(40), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_expert_postings_expert_id", "expert_postings", ["expert_id"])
    # Search, staged by proximity: the network's newest entries at the top weight, and all of a
    # word's entries in a lab or Bundesland; each holds every column a search reads.
    for name, *columns in (RANK_INDEX, LAB_INDEX, STATE_INDEX):
        op.create_index(name, "expert_postings", [sa.text(c) if " " in c else c for c in columns])
    op.create_table(
        "expert_contacts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("expert_id", sa.Integer, sa.ForeignKey("experts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("requester", sa.String(255), nullable=False),
        sa.Column("requester_name", sa.String(255)),
        sa.Column("requester_room", sa.String(255), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("replies", sa.Integer, nullable=False),
    )
    op.create_index("ix_expert_contacts_expert_id", "expert_contacts", ["expert_id"])
    op.create_index("ix_expert_contacts_requester_created", "expert_contacts", ["requester", "created_at"])
    op.create_table(
        "direct_rooms",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_direct_rooms_room_id", "direct_rooms", ["room_id"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_expert_terms_trgm ON expert_terms USING gin (term gin_trgm_ops)")
    else:
        # rowid = expert_terms.id; kept in step by storage/experts.py.
        op.execute("CREATE VIRTUAL TABLE expert_terms_fts USING fts5(term, tokenize='trigram')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS expert_terms_fts")
    for table in ("direct_rooms", "expert_contacts", "expert_postings", "expert_terms", "experts"):
        op.drop_table(table)
