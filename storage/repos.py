"""Repositories: the only place that knows the tables. One `Store` per transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.announce import AnnouncementRepo, QuestionRepo
from storage.booking import BookingRepo, ClosureRepo, SpaceRepo
from storage.due import DueRepo
from storage.experts import ExpertRepo
from storage.labs import GrantRepo, LabRepo
from storage.milestones import MilestoneRepo
from storage.models import AuditEntry, DeliveryState, HandledEvent, OutboxRow, Room, User

# PostgreSQL returns the new id with the INSERT; SQLite's driver knows it without a fetch.
_OUTBOX_INSERT = {True: insert(OutboxRow.__table__).returning(OutboxRow.__table__.c.id),
                  False: insert(OutboxRow.__table__)}
_CLAIM = {postgres: insert_(HandledEvent.__table__).on_conflict_do_nothing(index_elements=["event_id"])
          for postgres, insert_ in ((True, pg_insert), (False, sqlite_insert))}


class OutboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.added: list[OutboxRow] = []  # rows queued in this transaction

    def due_now(self, now: datetime) -> list[OutboxRow]:
        """Rows queued in this transaction that are due already.

        The caller hands them to the sender right after commit, sparing it a sweep query.
        """
        return [row for row in self.added if row.not_before <= now]

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
        """Queue an event. A row due now counts as attempted now: the sender gets it at once."""
        due = not_before or now
        values: dict[str, Any] = {
            "room_id": room_id,
            "event_type": event_type,
            "content": content,
            "purpose": purpose,
            "reference": reference,
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "not_before": due,
            "created_at": now,
            "first_attempt_at": now if due <= now else None,
        }
        # A prepared Core INSERT … RETURNING: this is on every command's path, and building the
        # statement per call (or an ORM flush) costs more than running it.
        postgres = self.session.get_bind().dialect.name == "postgresql"
        result = await self.session.execute(_OUTBOX_INSERT[postgres], values)
        row_id = result.scalar_one() if postgres else result.inserted_primary_key[0]
        row = OutboxRow(id=row_id, **values)
        self.added.append(row)
        return row

    async def add_many(
        self,
        messages: list[tuple[str, dict[str, Any]]],
        *,
        now: datetime,
        event_type: str = "m.room.message",
        purpose: str = "reply",
        reference: str | None = None,
    ) -> list[OutboxRow]:
        """Queue (room id, content) pairs due now, in one multi-row INSERT (a broadcast's copies)."""
        if not messages:
            return []
        common: dict[str, Any] = {
            "event_type": event_type, "purpose": purpose, "reference": reference,
            "state": DeliveryState.PENDING.value, "attempts": 0, "not_before": now,
            "created_at": now, "first_attempt_at": now,
        }
        values = [{"room_id": room_id, "content": content, **common} for room_id, content in messages]
        stmt = insert(OutboxRow).returning(OutboxRow.id, sort_by_parameter_order=True)
        ids = (await self.session.scalars(stmt, values)).all()
        rows = [OutboxRow(id=row_id, **value) for row_id, value in zip(ids, values, strict=True)]
        self.added.extend(rows)
        return rows

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

    async def next_due_at(self, exclude: set[int] | None = None) -> datetime | None:
        stmt = select(func.min(OutboxRow.not_before)).where(
            OutboxRow.state == DeliveryState.PENDING
        )
        if exclude:
            stmt = stmt.where(OutboxRow.id.not_in(exclude))
        return await self.session.scalar(stmt)

    async def started(self, row_ids: list[int], now: datetime) -> None:
        """Note the first attempt: after 24 h the homeserver forgets the transaction id."""
        if not row_ids:
            return
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(row_ids), OutboxRow.first_attempt_at.is_(None))
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

    async def mark_sent_many(self, sent: dict[int, tuple[str, datetime]]) -> None:
        """`mark_sent` for many rows (row id -> (event id, sent at)) in one executemany."""
        if not sent:
            return
        table = OutboxRow.__table__
        stmt = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(state=DeliveryState.SENT.value, event_id=bindparam("sent_event_id"), sent_at=bindparam("sent_when"),
                    attempts=table.c.attempts + 1, last_error=None)
        )
        conn = await self.session.connection()
        await conn.execute(stmt, [{"row_id": row_id, "sent_event_id": event_id, "sent_when": when}
                                  for row_id, (event_id, when) in sent.items()])

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

    async def set_room(self, row_id: int, room_id: str) -> None:
        """A direct message's room, once the sender has resolved the user id it was addressed to."""
        await self.session.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(room_id=room_id))

    async def set_content(self, row_id: int, content: dict[str, Any]) -> None:
        await self.session.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(content=content))

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
        creators: list[str] | None = None,
    ) -> Room:
        room = await self.get(room_id)
        if room is None:
            room = Room(room_id=room_id, created_at=now, updated_at=now)
            room.encrypted = bool(encrypted)
            room.is_direct = bool(is_direct)
            room.joined = True if joined is None else joined
            room.name = name
            room.creators = creators
            self.session.add(room)
        else:
            for field, value in (
                ("name", name),
                ("encrypted", encrypted),
                ("is_direct", is_direct),
                ("joined", joined),
                ("creators", creators),
            ):
                if value is not None:
                    setattr(room, field, value)
            room.updated_at = now
        await self.session.flush()
        return room

    async def language(self, room_id: str) -> str | None:
        """The room's language setting (a plain column read: this is on every command's path)."""
        return await self.session.scalar(select(Room.language).where(Room.room_id == room_id))

    async def set_language(self, room_id: str, language: str, now: datetime) -> Room:
        room = await self.upsert(room_id, now=now)
        room.language = language
        await self.session.flush()
        return room

    async def creators(self) -> dict[str, list[str]]:
        rows = await self.session.execute(
            select(Room.room_id, Room.creators).where(Room.creators.is_not(None))
        )
        return {room_id: creators for room_id, creators in rows.all()}

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
        """Record the event as handled; False when it already was. One statement on both backends,
        built once (this is on every command's path)."""
        stmt = _CLAIM[self.session.get_bind().dialect.name == "postgresql"]
        conn = await self.session.connection()
        result = await conn.execute(stmt, {"event_id": event_id, "room_id": room_id, "handled_at": now})
        return bool(result.rowcount)

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
    ) -> int:
        """The new entry's id. A Core INSERT: every change and refusal writes one."""
        return await self.session.scalar(
            insert(AuditEntry)
            .values(at=at, actor=actor, action=action, outcome=outcome, room_id=room_id,
                    lab_id=lab_id, detail=detail or {})
            .returning(AuditEntry.id)
        )

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
        self.labs = LabRepo(session)
        self.grants = GrantRepo(session)
        self.spaces = SpaceRepo(session)
        self.closures = ClosureRepo(session)
        self.bookings = BookingRepo(session)
        self.due = DueRepo(session)
        self.milestones = MilestoneRepo(session)
        self.experts = ExpertRepo(session)
        self.announcements, self.questions = AnnouncementRepo(session), QuestionRepo(session)
