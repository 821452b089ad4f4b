"""Tables of the foundation: rooms, users, the outbox, handled events, the audit log."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stores timezone-aware UTC datetimes; SQLite hands back naive ones, so re-attach UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Meta(Base):
    """Key/value facts about this installation (e.g. its id, used in transaction ids)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Room(Base):
    __tablename__ = "rooms"
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(8))
    # Room creators: in room versions 12+ they outrank every power level.
    creators: Mapped[list[str] | None] = mapped_column(JSON)
    encrypted: Mapped[bool] = mapped_column(default=False)
    is_direct: Mapped[bool] = mapped_column(default=False)
    joined: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class OutboxRow(Base):
    """One Matrix event to send. Written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    room_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(64), default="m.room.message")
    content: Mapped[dict[str, Any]]
    purpose: Mapped[str] = mapped_column(String(32), default="reply")
    reference: Mapped[str | None] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime]
    created_at: Mapped[datetime]
    first_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    event_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_state_not_before", "state", "not_before"),)


class HandledEvent(Base):
    """Events already handled: a command is answered once even if the sync token was lost."""

    __tablename__ = "handled_events"
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    handled_at: Mapped[datetime] = mapped_column(index=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    room_id: Mapped[str | None] = mapped_column(String(255))
    lab_id: Mapped[int | None] = mapped_column(index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Lab(Base):
    __tablename__ = "labs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(2), index=True)  # Bundesland code, e.g. SN
    level: Mapped[str] = mapped_column(String(16), default="kommune")
    host: Mapped[str | None] = mapped_column(String(200))
    host_legal_form: Mapped[str | None] = mapped_column(String(80))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class LabRoom(Base):
    """A Matrix room linked to a lab; a lab may have several, a room belongs to one lab."""

    __tablename__ = "lab_rooms"
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id", ondelete="CASCADE"), index=True)
    linked_by: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime]


class RoleGrant(Base):
    """A role given explicitly: manager (network-wide, lab_id NULL) or coordinator of a lab."""

    __tablename__ = "role_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    role: Mapped[str] = mapped_column(String(16))
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("labs.id", ondelete="CASCADE"))
    granted_by: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("user_id", "role", "lab_id", name="uq_role_grants"),)


class Space(Base):
    """A bookable space of a lab: desks (workspace, shop) or a room booked whole (meeting)."""

    __tablename__ = "spaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default="workspace")
    capacity: Mapped[int]
    # weekday ("0" = Monday) -> [opens, closes] in minutes after local midnight, or null: closed
    hours: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("lab_id", "slug", name="uq_spaces_lab_slug"),)


class Closure(Base):
    __tablename__ = "closures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    first_day: Mapped[date]
    last_day: Mapped[date]  # inclusive
    reason: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class Booking(Base):
    """Desks in a space for a half-open interval [start_at, end_at) in UTC."""

    __tablename__ = "bookings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(String(255), index=True)  # NULL once anonymised
    room_id: Mapped[str | None] = mapped_column(String(255))  # where it was booked: notices go there
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    desks: Mapped[int]
    note: Mapped[str | None] = mapped_column(String(300))
    series_id: Mapped[int | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index("ix_bookings_space_start", "space_id", "start_at"),)

# Feature tables live in their own modules; importing them here registers them in Base.metadata.
from storage import models_announce as _models_announce  # noqa: E402,F401
from storage import models_due as _models_due  # noqa: E402,F401
from storage import models_experts as _models_experts  # noqa: E402,F401
from storage import models_milestones as _models_milestones  # noqa: E402,F401
