"""Milestones of a lab (or of the whole network): a title, a local due day, an owner, offsets."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class MilestoneStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class Milestone(Base):
    """Due on a local day (the lab's zone, or the network's for network milestones).

    Notices are due-work items with subject "milestone:<id>"; overdue is derived, not stored.
    """

    __tablename__ = "milestones"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("labs.id", ondelete="CASCADE"))  # None: network
    title: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date]
    owner: Mapped[str | None] = mapped_column(String(255), index=True)
    # Days before the due day on which a notice goes out, e.g. [30, 7, 1].
    remind_days: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=MilestoneStatus.OPEN)
    # Which step of the 5-year programme a template created (None: added by hand).
    template_step: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("ix_milestones_lab_due", "lab_id", "due_on"),
        Index("ix_milestones_status_due", "status", "due_on"),
    )
