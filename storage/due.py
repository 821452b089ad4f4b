"""The due-work repository: add, list, cancel and claim time-driven items."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_due import DueItem, DueState

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # crontab numbering, 7 = Sunday


def _weekdays(field: str) -> str:
    """A crontab day-of-week field in APScheduler's terms.

    APScheduler 3 counts weekdays from Monday = 0, crontab from Sunday = 0 (and 7), and its
    `from_crontab` does not convert. Numbers are therefore turned into names here.
    """
    if field == "*":
        return "*"
    names: list[str] = []
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            low, high = base.split("-", 1)
            if not (low.isdigit() and high.isdigit()):
                names.append(part)  # names such as mon-fri are understood as they are
                continue
            first, last = int(low), int(high)
        elif base.isdigit():
            first = last = int(base)
            if step_text:
                last = 6
        else:
            names.append(part)
            continue
        if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last and step > 0):
            raise ValueError(f"bad day of week {part!r}")
        names.extend(_WEEKDAYS[day] for day in range(first, last + 1, step))
    return ",".join(dict.fromkeys(names))


def cron_trigger(recurrence: str, timezone: str) -> CronTrigger:
    """A trigger for a 5-field crontab ("m h dom mon dow") in the given IANA zone."""
    fields = recurrence.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab has 5 fields, not {len(fields)}: {recurrence!r}")
    minute, hour, day, month, day_of_week = fields
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(day_of_week),
        timezone=ZoneInfo(timezone),
    )


def next_occurrence(recurrence: str, timezone: str, after: datetime) -> datetime:
    """The first occurrence of a crontab strictly after `after`, computed in local time.

    The trigger works in the item's zone, so 09:00 stays 09:00 local across daylight-saving changes.
    """
    trigger = cron_trigger(recurrence, timezone)
    found = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    if found is None:  # a crontab always has a next occurrence; guard against a bad expression
        raise ValueError(f"recurrence {recurrence!r} has no next occurrence")
    return found.astimezone(ZoneInfo("UTC"))


def valid_recurrence(recurrence: str) -> bool:
    try:
        cron_trigger(recurrence, "UTC")
    except (ValueError, KeyError):
        return False
    return True


class DueRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.added: list[datetime] = []  # due times added in this transaction (re-arms the timer)

    async def add(
        self,
        kind: str,
        due_at: datetime | None,
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
        """Queue an item. With a recurrence and no due time, the first occurrence after now is used."""
        if due_at is None:
            if recurrence is None:
                raise ValueError("an item needs a due time or a recurrence")
            due_at = next_occurrence(recurrence, timezone, now)
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

    def advance(self, item: DueItem, now: datetime) -> None:
        """After firing: a recurring item moves to its next occurrence after now, others are done.

        Occurrences missed while the process was down collapse into the one delivery just made.
        """
        item.fired_count += 1
        item.last_fired_at = now
        if item.recurrence:
            item.due_at = next_occurrence(item.recurrence, item.timezone, max(now, item.due_at))
        else:
            item.state = DueState.DONE

    def failed(self, item: DueItem, error: str) -> None:
        item.state = DueState.FAILED
        item.last_error = error[:2000]
