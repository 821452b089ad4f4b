"""Due work: reminders, notices, digests and reconfirmations that fall due at a time.

The table is the source of truth; the process keeps only the next due time in memory.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class DueState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"  # its handler raised: kept for the operator, never retried silently


class DueItem(Base):
    __tablename__ = "due_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))  # the handler's name, e.g. "reminder"
    state: Mapped[str] = mapped_column(String(12), default=DueState.PENDING)
    due_at: Mapped[datetime]
    room_id: Mapped[str | None] = mapped_column(String(255), index=True)
    lab_id: Mapped[int | None] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(255), index=True)  # who created it
    subject: Mapped[str | None] = mapped_column(String(64), index=True)  # e.g. "milestone:12"
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recurrence: Mapped[str | None] = mapped_column(String(120))  # crontab "m h dom mon dow"
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    created_at: Mapped[datetime]
    fired_count: Mapped[int] = mapped_column(default=0)
    last_fired_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_due_items_state_due_at", "state", "due_at"),)
