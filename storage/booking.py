"""Repositories for spaces, closures and bookings."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Booking, Closure, Space

# No booking is longer than a day (they lie within opening hours), which bounds index scans.
MAX_BOOKING = timedelta(days=1)


class SpaceRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self, *, lab_id: int, name: str, slug: str, kind: str, capacity: int,
        hours: dict[str, Any], now: datetime,
    ) -> Space:
        space = Space(lab_id=lab_id, name=name, slug=slug, kind=kind, capacity=capacity,
                      hours=hours, created_at=now)
        self.session.add(space)
        await self.session.flush()
        return space

    async def get(self, space_id: int) -> Space | None:
        return await self.session.get(Space, space_id)

    async def of_lab(self, lab_id: int) -> list[Space]:
        rows = await self.session.scalars(
            select(Space).where(Space.lab_id == lab_id).order_by(Space.name)
        )
        return list(rows.all())

    async def by_slug(self, lab_id: int, slug: str) -> Space | None:
        return await self.session.scalar(
            select(Space).where(Space.lab_id == lab_id, Space.slug == slug)
        )

    async def lock(self, space_id: int) -> None:
        """Serialise bookings of one space across processes: a PostgreSQL row lock until commit.
        SQLite allows one writer at a time anyway, so it is skipped there."""
        if self.session.get_bind().dialect.name == "sqlite":
            return
        await self.session.execute(select(Space.id).where(Space.id == space_id).with_for_update())

    async def set_hours(self, space_id: int, hours: dict[str, Any]) -> None:
        await self.session.execute(update(Space).where(Space.id == space_id).values(hours=hours))

    async def remove(self, space_id: int) -> None:
        await self.session.execute(delete(Space).where(Space.id == space_id))


class ClosureRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, space_id: int, first: date, last: date, reason: str | None, by: str, now: datetime
    ) -> Closure:
        closure = Closure(space_id=space_id, first_day=first, last_day=last, reason=reason,
                          created_by=by, created_at=now)
        self.session.add(closure)
        await self.session.flush()
        return closure

    async def of_space(self, space_id: int) -> list[tuple[date, date, str | None]]:
        rows = await self.session.execute(
            select(Closure.first_day, Closure.last_day, Closure.reason).where(Closure.space_id == space_id)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]

    async def covering(self, space_id: int, first: date, last: date) -> list[Closure]:
        """Closures of the space that touch the days first..last."""
        rows = await self.session.scalars(
            select(Closure).where(
                Closure.space_id == space_id, Closure.first_day <= last, Closure.last_day >= first
            )
        )
        return list(rows.all())


class BookingRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, *, space_id: int, user_id: str, room_id: str, start_at: datetime, end_at: datetime,
        desks: int, note: str | None, series_id: int | None, now: datetime,
    ) -> int:
        return await self.session.scalar(
            insert(Booking)
            .values(space_id=space_id, user_id=user_id, room_id=room_id, start_at=start_at,
                    end_at=end_at, desks=desks, note=note, series_id=series_id, created_at=now)
            .returning(Booking.id)
        )

    async def set_series(self, booking_ids: list[int], series_id: int) -> None:
        await self.session.execute(
            update(Booking).where(Booking.id.in_(booking_ids)).values(series_id=series_id)
        )

    async def get(self, booking_id: int) -> Booking | None:
        return await self.session.get(Booking, booking_id)

    async def overlapping(
        self, space_id: int, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime, int]]:
        """(start, end, desks) of active bookings that overlap [start, end)."""
        rows = await self.session.execute(
            select(Booking.start_at, Booking.end_at, Booking.desks).where(
                Booking.space_id == space_id,
                Booking.start_at >= start - MAX_BOOKING,
                Booking.start_at < end,
                Booking.end_at > start,
                Booking.cancelled_at.is_(None),
            )
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]

    async def active_in(
        self, space_ids: list[int], start: datetime, end: datetime, user_id: str | None = None
    ) -> list[Booking]:
        if not space_ids:
            return []
        stmt = select(Booking).where(
            Booking.space_id.in_(space_ids),
            Booking.start_at >= start - MAX_BOOKING,
            Booking.start_at < end,
            Booking.end_at > start,
            Booking.cancelled_at.is_(None),
        )
        if user_id is not None:
            stmt = stmt.where(Booking.user_id == user_id)
        return list((await self.session.scalars(stmt.order_by(Booking.start_at, Booking.id))).all())

    async def upcoming_of_user(self, user_id: str, now: datetime, limit: int = 50) -> list[Booking]:
        rows = await self.session.scalars(
            select(Booking)
            .where(Booking.user_id == user_id, Booking.end_at > now, Booking.cancelled_at.is_(None))
            .order_by(Booking.start_at)
            .limit(limit)
        )
        return list(rows.all())

    async def series_from(self, series_id: int, start: datetime) -> list[Booking]:
        rows = await self.session.scalars(
            select(Booking).where(
                Booking.series_id == series_id,
                Booking.start_at >= start,
                Booking.cancelled_at.is_(None),
            )
        )
        return list(rows.all())

    async def cancel(self, bookings: list[Booking], by: str, now: datetime) -> None:
        for booking in bookings:
            booking.cancelled_at = now
            booking.cancelled_by = by
        await self.session.flush()

    async def future_count(self, space_id: int, now: datetime) -> int:
        return await self.session.scalar(
            select(func.count()).select_from(Booking).where(
                Booking.space_id == space_id, Booking.end_at > now, Booking.cancelled_at.is_(None)
            )
        ) or 0

    async def next_series_id(self) -> int:
        current = await self.session.scalar(select(func.max(Booking.series_id)))
        return (current or 0) + 1
