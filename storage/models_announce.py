"""Announcements to lab rooms (one copy per room), their acknowledgements, and the federal relay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class Announcement(Base):
    """A broadcast from the federal room. Its text has a revision; copies catch up by edits."""

    __tablename__ = "announcements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    author: Mapped[str | None] = mapped_column(String(255), index=True)  # NULL once forgotten
    author_name: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(default=1)
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"states": [...], ...}
    # scheduled → sending → done; retracted (from any state)
    state: Mapped[str] = mapped_column(String(16), default="sending")
    room_id: Mapped[str] = mapped_column(String(255))  # where it was given (the federal room)
    language: Mapped[str] = mapped_column(String(8), default="de")  # of the progress message
    target_count: Mapped[int] = mapped_column(default=0)
    progress_row: Mapped[int | None]  # outbox row of the progress message
    progress_text: Mapped[str | None] = mapped_column(String(255))  # last shown
    created_at: Mapped[datetime]
    scheduled_for: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    retracted_at: Mapped[datetime | None]


class AnnouncementCopy(Base):
    """One target room of an announcement, and the outbox row that carries it there."""

    __tablename__ = "announcement_copies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )
    room_id: Mapped[str] = mapped_column(String(255), index=True)
    lab_id: Mapped[int | None] = mapped_column(Integer)
    outbox_id: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str | None] = mapped_column(String(255), index=True)  # known once sent
    revision: Mapped[int] = mapped_column(default=1)  # the text revision this copy shows
    redacted: Mapped[bool] = mapped_column(default=False)  # a redaction is queued

    __table_args__ = (UniqueConstraint("announcement_id", "room_id", name="uq_announcement_copies"),)


class AnnouncementAck(Base):
    """A reaction on a copy: that lab has read it."""

    __tablename__ = "announcement_acks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), index=True
    )
    copy_id: Mapped[int] = mapped_column(ForeignKey("announcement_copies.id", ondelete="CASCADE"))
    lab_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[str | None] = mapped_column(String(255), index=True)
    key: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(255), unique=True)  # the reaction
    at: Mapped[datetime]


class Question(Base):
    """`ask` in a lab room: forwarded to the federal room; closed with `answered`."""

    __tablename__ = "questions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lab_id: Mapped[int | None] = mapped_column(Integer, index=True)
    room_id: Mapped[str] = mapped_column(String(255))  # the lab room
    event_id: Mapped[str] = mapped_column(String(255))  # the question there
    federal_room_id: Mapped[str] = mapped_column(String(255))
    asker: Mapped[str | None] = mapped_column(String(255), index=True)
    asker_name: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | answered
    replies: Mapped[int] = mapped_column(default=0)  # relayed from the federal room
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index("ix_questions_state_created", "state", "created_at"),)


class RelayMessage(Base):
    """A message the bot relayed into `room_id` (outbox row `outbox_id`, event `event_id` once
    known), standing for `source_event_id` in `source_room_id`. A Matrix reply to it is relayed
    back as a reply to the source."""

    __tablename__ = "relay_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[str] = mapped_column(String(255), index=True)
    outbox_id: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str | None] = mapped_column(String(255), index=True)
    source_room_id: Mapped[str] = mapped_column(String(255))
    source_event_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
