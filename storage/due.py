"""The due-work repository: add, list, cancel and claim time-driven items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_due import DueItem, DueState


class DueRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.added: list[datetime] = []  # due times added in this transaction (re-arms the timer)

    async def add(
        self,
        kind: str,
        due_at: datetime,
        *,
        now: datetime,
        payload: dict[str, Any] | None = None,
        room_id: str | None = None,
        lab_id: int | None = None,
        owner: str | None = None,
        subject: str | None = None,
        recurrence: str | None = None,
        timezone: str = "Europe/Berlin",
    ) -> DueItem:
        """Queue an item due at `due_at`; a recurring one keeps its crontab and zone, and the
        firing code computes each next occurrence (commands/crontab.py)."""
        values: dict[str, Any] = {
            "kind": kind,
            "state": DueState.PENDING.value,
            "due_at": due_at,
            "room_id": room_id,
            "lab_id": lab_id,
            "owner": owner,
            "subject": subject,
            "payload": payload or {},
            "recurrence": recurrence,
            "timezone": timezone,
            "created_at": now,
            "fired_count": 0,
        }
        item_id = await self.session.scalar(insert(DueItem).values(**values).returning(DueItem.id))
        self.added.append(due_at)
        return DueItem(id=item_id, **values)

    async def get(self, item_id: int) -> DueItem | None:
        return await self.session.get(DueItem, item_id)

    async def pending(
        self,
        *,
        room_id: str | None = None,
        owner: str | None = None,
        subject: str | None = None,
        kind: str | None = None,
        limit: int = 100,
    ) -> list[DueItem]:
        stmt = select(DueItem).where(DueItem.state == DueState.PENDING)
        if room_id is not None:
            stmt = stmt.where(DueItem.room_id == room_id)
        if owner is not None:
            stmt = stmt.where(DueItem.owner == owner)
        if subject is not None:
            stmt = stmt.where(DueItem.subject == subject)
        if kind is not None:
            stmt = stmt.where(DueItem.kind == kind)
        stmt = stmt.order_by(DueItem.due_at, DueItem.id).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def cancel(self, item_id: int) -> bool:
        result = await self.session.execute(
            update(DueItem)
            .where(DueItem.id == item_id, DueItem.state == DueState.PENDING)
            .values(state=DueState.CANCELLED)
        )
        return bool(result.rowcount)

    async def cancel_subject(self, subject: str, kind: str | None = None) -> int:
        stmt = update(DueItem).where(DueItem.subject == subject, DueItem.state == DueState.PENDING)
        if kind is not None:
            stmt = stmt.where(DueItem.kind == kind)
        result = await self.session.execute(stmt.values(state=DueState.CANCELLED))
        return result.rowcount or 0

    async def reschedule(self, item_id: int, due_at: datetime) -> bool:
        result = await self.session.execute(
            update(DueItem)
            .where(DueItem.id == item_id, DueItem.state == DueState.PENDING)
            .values(due_at=due_at)
        )
        if result.rowcount:
            self.added.append(due_at)
        return bool(result.rowcount)

    async def next_due_at(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(DueItem.due_at)).where(DueItem.state == DueState.PENDING)
        )

    async def count_pending(self) -> int:
        return await self.session.scalar(
            select(func.count()).select_from(DueItem).where(DueItem.state == DueState.PENDING)
        ) or 0

    # -- engine internals -------------------------------------------------------------------

    async def claim(self, now: datetime, limit: int = 500) -> list[DueItem]:
        """Pending items due by now, oldest first, locked for this transaction on PostgreSQL."""
        stmt = (
            select(DueItem)
            .where(DueItem.state == DueState.PENDING, DueItem.due_at <= now)
            .order_by(DueItem.due_at, DueItem.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.scalars(stmt)).all())

    def advance(self, item: DueItem, now: datetime, next_due_at: datetime | None) -> None:
        """After firing: a recurring item moves to `next_due_at` (its next occurrence after now,
        computed by the caller), others are done. Occurrences missed while the process was down
        collapse into the one delivery just made."""
        item.fired_count += 1
        item.last_fired_at = now
        if item.recurrence and next_due_at is not None:
            item.due_at = next_due_at
        else:
            item.state = DueState.DONE

    def failed(self, item: DueItem, error: str) -> None:
        item.state = DueState.FAILED
        item.last_error = error[:2000]
