"""Repository of milestones: add, change, list by lab or network, the overdue ones across labs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Booking, Lab, LabRoom, Space
from storage.models_milestones import Milestone, MilestoneStatus


class MilestoneRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        lab_id: int | None,
        title: str,
        due_on: date,
        owner: str | None,
        remind_days: list[int],
        created_by: str,
        now: datetime,
        template_step: str | None = None,
    ) -> Milestone:
        milestone = Milestone(
            lab_id=lab_id, title=title, due_on=due_on, owner=owner, remind_days=list(remind_days),
            status=MilestoneStatus.OPEN.value, template_step=template_step, created_by=created_by,
            created_at=now,
        )
        self.session.add(milestone)
        await self.session.flush()
        return milestone

    async def get(self, milestone_id: int) -> Milestone | None:
        return await self.session.get(Milestone, milestone_id)

    async def lock(self, milestone_id: int) -> Milestone | None:
        """The row, locked until commit (PostgreSQL), so two changes to it don't interleave."""
        stmt = select(Milestone).where(Milestone.id == milestone_id).with_for_update()
        return await self.session.scalar(stmt)

    async def mark_done(self, milestone: Milestone, by: str, now: datetime) -> None:
        milestone.status = MilestoneStatus.DONE.value
        milestone.done_at = now
        milestone.done_by = by
        await self.session.flush()

    async def move(self, milestone: Milestone, due_on: date) -> None:
        milestone.due_on = due_on
        await self.session.flush()

    async def remove(self, milestone_id: int) -> None:
        await self.session.execute(delete(Milestone).where(Milestone.id == milestone_id))

    async def of_lab(self, lab_id: int | None, limit: int = 200) -> list[Milestone]:
        """A lab's milestones (None: the network's), by due day."""
        scope = Milestone.lab_id.is_(None) if lab_id is None else Milestone.lab_id == lab_id
        stmt = select(Milestone).where(scope).order_by(Milestone.due_on, Milestone.id).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def count_of_lab(self, lab_id: int | None) -> int:
        scope = Milestone.lab_id.is_(None) if lab_id is None else Milestone.lab_id == lab_id
        return await self.session.scalar(select(func.count()).select_from(Milestone).where(scope)) or 0

    async def open_due_by(
        self, last_day: date, *, lab_id: int | None = None, network: bool = False, limit: int = 200
    ) -> list[Milestone]:
        """Open milestones due on or before `last_day`: of one lab, of the network, of both, or all."""
        stmt = select(Milestone).where(
            Milestone.status == MilestoneStatus.OPEN.value, Milestone.due_on <= last_day
        )
        if lab_id is not None and network:
            stmt = stmt.where(or_(Milestone.lab_id == lab_id, Milestone.lab_id.is_(None)))
        elif lab_id is not None:
            stmt = stmt.where(Milestone.lab_id == lab_id)
        elif network:
            stmt = stmt.where(Milestone.lab_id.is_(None))
        stmt = stmt.order_by(Milestone.due_on, Milestone.id).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def count_open_due_by(self, last_day: date, lab_id: int | None = None) -> int:
        stmt = select(func.count()).select_from(Milestone).where(
            Milestone.status == MilestoneStatus.OPEN.value, Milestone.due_on <= last_day
        )
        if lab_id is not None:
            stmt = stmt.where(Milestone.lab_id == lab_id)
        return await self.session.scalar(stmt) or 0

    async def next_open(self, lab_id: int) -> Milestone | None:
        """The lab's open milestone with the earliest due day (overdue ones first)."""
        stmt = (
            select(Milestone)
            .where(Milestone.lab_id == lab_id, Milestone.status == MilestoneStatus.OPEN.value)
            .order_by(Milestone.due_on, Milestone.id)
            .limit(1)
        )
        return await self.session.scalar(stmt)

    async def template_steps(self, lab_id: int) -> list[str]:
        """Programme steps the lab already has from a template."""
        stmt = select(Milestone.template_step).where(
            Milestone.lab_id == lab_id, Milestone.template_step.is_not(None)
        )
        return [step for step in (await self.session.scalars(stmt)).all() if step]

    # --- reads for notices and the digest: one statement each, as a wake fires thousands ----

    async def notice_target(self, lab_id: int) -> tuple[str | None, list[str]]:
        """The lab's name and its linked rooms, in one statement."""
        rows = (await self.session.execute(
            select(Lab.name, LabRoom.room_id).outerjoin(LabRoom, LabRoom.lab_id == Lab.id)
            .where(Lab.id == lab_id).order_by(LabRoom.linked_at)
        )).all()
        if not rows:
            return None, []
        return rows[0][0], [room for _, room in rows if room is not None]

    async def lab_of_room(self, room_id: str) -> Lab | None:
        """The lab a room is linked to, in one statement."""
        return await self.session.scalar(select(Lab).join(LabRoom, LabRoom.lab_id == Lab.id)
                                         .where(LabRoom.room_id == room_id))

    async def lab_bookings(self, lab_id: int, start: datetime, end: datetime) -> list[tuple[datetime, str, int]]:
        """(start, space name, desks) of the lab's active bookings starting in [start, end)."""
        rows = await self.session.execute(
            select(Booking.start_at, Space.name, Booking.desks).join(Space, Space.id == Booking.space_id)
            .where(Space.lab_id == lab_id, Booking.start_at >= start, Booking.start_at < end,
                   Booking.cancelled_at.is_(None))
            .order_by(Booking.start_at)
        )
        return [(start_at, name, desks) for start_at, name, desks in rows.all()]

