"""Repositories: the only place that knows the tables. One `Store` per transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, DeliveryState, HandledEvent, OutboxRow, Room, User


class OutboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        room_id: str,
        content: dict[str, Any],
        *,
        now: datetime,
        event_type: str = "m.room.message",
        purpose: str = "reply",
        reference: str | None = None,
        not_before: datetime | None = None,
    ) -> OutboxRow:
        row = OutboxRow(
            room_id=room_id,
            event_type=event_type,
            content=content,
            purpose=purpose,
            reference=reference,
            state=DeliveryState.PENDING,
            attempts=0,
            not_before=not_before or now,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, row_id: int) -> OutboxRow | None:
        return await self.session.get(OutboxRow, row_id)

    async def due(self, now: datetime, limit: int = 100) -> list[OutboxRow]:
        stmt = (
            select(OutboxRow)
            .where(OutboxRow.state == DeliveryState.PENDING, OutboxRow.not_before <= now)
            .order_by(OutboxRow.not_before, OutboxRow.id)
            .limit(limit)
        )
        return list((await self.session.scalars(stmt)).all())

    async def next_due_at(self) -> datetime | None:
        stmt = select(func.min(OutboxRow.not_before)).where(
            OutboxRow.state == DeliveryState.PENDING
        )
        return await self.session.scalar(stmt)

    async def started(self, row_id: int, now: datetime) -> None:
        """Note the first attempt: after 24 h the homeserver forgets the transaction id."""
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id, OutboxRow.first_attempt_at.is_(None))
            .values(first_attempt_at=now)
        )

    async def mark_sent(self, row_id: int, event_id: str, now: datetime) -> None:
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id)
            .values(
                state=DeliveryState.SENT,
                event_id=event_id,
                sent_at=now,
                attempts=OutboxRow.attempts + 1,
                last_error=None,
            )
        )

    async def mark_retry(self, row_id: int, error: str, not_before: datetime) -> None:
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id)
            .values(attempts=OutboxRow.attempts + 1, last_error=error, not_before=not_before)
        )

    async def defer(self, row_id: int, error: str, not_before: datetime) -> None:
        """Wait without spending an attempt (rate limits are not failures)."""
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id)
            .values(last_error=error, not_before=not_before)
        )

    async def mark_failed(self, row_id: int, error: str) -> None:
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id)
            .values(state=DeliveryState.FAILED, attempts=OutboxRow.attempts + 1, last_error=error)
        )

    async def counts(self) -> dict[str, int]:
        stmt = select(OutboxRow.state, func.count()).group_by(OutboxRow.state)
        counts = {state.value: 0 for state in DeliveryState}
        for state, count in (await self.session.execute(stmt)).all():
            counts[state] = count
        return counts

    async def by_reference(self, reference: str) -> list[OutboxRow]:
        stmt = select(OutboxRow).where(OutboxRow.reference == reference).order_by(OutboxRow.id)
        return list((await self.session.scalars(stmt)).all())


class RoomRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, room_id: str) -> Room | None:
        return await self.session.get(Room, room_id)

    async def upsert(
        self,
        room_id: str,
        *,
        now: datetime,
        name: str | None = None,
        encrypted: bool | None = None,
        is_direct: bool | None = None,
        joined: bool | None = None,
    ) -> Room:
        room = await self.get(room_id)
        if room is None:
            room = Room(room_id=room_id, created_at=now, updated_at=now)
            room.encrypted = bool(encrypted)
            room.is_direct = bool(is_direct)
            room.joined = True if joined is None else joined
            room.name = name
            self.session.add(room)
        else:
            for field, value in (
                ("name", name),
                ("encrypted", encrypted),
                ("is_direct", is_direct),
                ("joined", joined),
            ):
                if value is not None:
                    setattr(room, field, value)
            room.updated_at = now
        await self.session.flush()
        return room

    async def set_language(self, room_id: str, language: str, now: datetime) -> Room:
        room = await self.upsert(room_id, now=now)
        room.language = language
        await self.session.flush()
        return room

    async def count_joined(self) -> int:
        return await self.session.scalar(
            select(func.count()).select_from(Room).where(Room.joined.is_(True))
        ) or 0


class UserRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: str) -> User | None:
        return await self.session.get(User, user_id)

    async def seen(self, user_id: str, display_name: str | None, now: datetime) -> User:
        user = await self.get(user_id)
        if user is None:
            user = User(user_id=user_id, display_name=display_name, first_seen=now, last_seen=now)
            self.session.add(user)
        else:
            user.last_seen = now
            if display_name:
                user.display_name = display_name
        await self.session.flush()
        return user

    async def count(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(User)) or 0


class HandledEventRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, event_id: str, room_id: str, now: datetime) -> bool:
        """Record the event as handled; False when it already was (within this transaction's view)."""
        if await self.session.get(HandledEvent, event_id) is not None:
            return False
        self.session.add(HandledEvent(event_id=event_id, room_id=room_id, handled_at=now))
        try:
            await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def prune(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(HandledEvent).where(HandledEvent.handled_at < before)
        )
        return result.rowcount or 0


class AuditRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        outcome: str,
        room_id: str | None = None,
        lab_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        entry = AuditEntry(
            at=at,
            actor=actor,
            action=action,
            outcome=outcome,
            room_id=room_id,
            lab_id=lab_id,
            detail=detail or {},
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def recent(self, limit: int = 20, lab_id: int | None = None) -> list[AuditEntry]:
        stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if lab_id is not None:
            stmt = stmt.where(AuditEntry.lab_id == lab_id)
        return list((await self.session.scalars(stmt)).all())


class Store:
    """The repositories of one transaction, as handed to command handlers."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.outbox = OutboxRepo(session)
        self.rooms = RoomRepo(session)
        self.users = UserRepo(session)
        self.events = HandledEventRepo(session)
        self.audit = AuditRepo(session)
