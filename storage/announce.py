"""Repositories for announcements (copies, acknowledgements) and the federal relay (questions)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Lab, LabRoom, OutboxRow
from storage.models_announce import (
    Announcement,
    AnnouncementAck,
    AnnouncementCopy,
    Question,
    RelayMessage,
)


def copy_reference(announcement_id: int) -> str:
    return f"announcement:{announcement_id}"


class AnnouncementRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, **values: Any) -> Announcement:
        announcement = Announcement(**values)
        self.session.add(announcement)
        await self.session.flush()
        return announcement

    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.session.get(Announcement, announcement_id)

    async def recent(self, limit: int = 10) -> list[Announcement]:
        stmt = select(Announcement).order_by(Announcement.id.desc()).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def in_state(self, state: str) -> list[int]:
        stmt = select(Announcement.id).where(Announcement.state == state)
        return list((await self.session.scalars(stmt)).all())

    async def targets(
        self,
        *,
        states: Iterable[str] = (),
        levels: Iterable[str] = (),
        lab_ids: Iterable[int] = (),
        exclude_room: str | None = None,
    ) -> list[tuple[str, int, str, str]]:
        """(room id, lab id, lab name, Bundesland) of every linked lab room that matches."""
        stmt = (
            select(LabRoom.room_id, Lab.id, Lab.name, Lab.state)
            .join(Lab, Lab.id == LabRoom.lab_id)
            .order_by(Lab.state, Lab.name, LabRoom.room_id)
        )
        states, levels, lab_ids = list(states), list(levels), list(lab_ids)
        if states:
            stmt = stmt.where(Lab.state.in_(states))
        if levels:
            stmt = stmt.where(Lab.level.in_(levels))
        if lab_ids:
            stmt = stmt.where(Lab.id.in_(lab_ids))
        if exclude_room:
            stmt = stmt.where(LabRoom.room_id != exclude_room)
        return list((await self.session.execute(stmt)).tuples().all())

    async def add_copies(self, announcement_id: int, copies: list[dict[str, Any]]) -> None:
        """Copies as dicts (room_id, lab_id, outbox_id, revision): one multi-row INSERT."""
        if copies:
            await self.session.execute(
                insert(AnnouncementCopy),
                [{"announcement_id": announcement_id, "event_id": None, "redacted": False, **c} for c in copies],
            )

    async def copies(self, announcement_id: int) -> list[tuple[AnnouncementCopy, str, str | None]]:
        """(copy, outbox state, outbox event id) of every copy."""
        stmt = (
            select(AnnouncementCopy, OutboxRow.state, OutboxRow.event_id)
            .join(OutboxRow, OutboxRow.id == AnnouncementCopy.outbox_id)
            .where(AnnouncementCopy.announcement_id == announcement_id)
            .order_by(AnnouncementCopy.id)
        )
        return list((await self.session.execute(stmt)).tuples().all())

    async def delivery_counts(self, announcement_id: int) -> dict[str, int]:
        """Outbox states of the copies: {"pending": n, "sent": n, "failed": n}. One grouped query."""
        stmt = (
            select(OutboxRow.state, func.count())
            .join(AnnouncementCopy, AnnouncementCopy.outbox_id == OutboxRow.id)
            .where(AnnouncementCopy.announcement_id == announcement_id)
            .group_by(OutboxRow.state)
        )
        counts = {"pending": 0, "sent": 0, "failed": 0}
        for state, count in (await self.session.execute(stmt)).all():
            counts[state] = count
        return counts

    async def cancel_pending(self, announcement_id: int, reason: str) -> int:
        """Pending copies are not sent any more (rows already in flight may still go out)."""
        outbox_ids = select(AnnouncementCopy.outbox_id).where(
            AnnouncementCopy.announcement_id == announcement_id
        )
        result = await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(outbox_ids), OutboxRow.state == "pending")
            .values(state="failed", last_error=reason)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    async def copy_by_event(self, room_id: str, event_id: str) -> AnnouncementCopy | None:
        """The copy that is `event_id` in `room_id`, also when its event id is not copied over yet."""
        copy = await self.session.scalar(
            select(AnnouncementCopy).where(
                AnnouncementCopy.event_id == event_id, AnnouncementCopy.room_id == room_id
            )
        )
        if copy is not None:
            return copy
        return await self.session.scalar(
            select(AnnouncementCopy)
            .join(OutboxRow, OutboxRow.id == AnnouncementCopy.outbox_id)
            .where(
                AnnouncementCopy.room_id == room_id,
                AnnouncementCopy.event_id.is_(None),
                OutboxRow.event_id == event_id,
            )
        )

    async def add_ack(self, copy: AnnouncementCopy, user_id: str, key: str, event_id: str, now: datetime) -> bool:
        if await self.session.scalar(select(AnnouncementAck.id).where(AnnouncementAck.event_id == event_id)):
            return False
        self.session.add(
            AnnouncementAck(
                announcement_id=copy.announcement_id, copy_id=copy.id, lab_id=copy.lab_id,
                user_id=user_id, key=key[:64], event_id=event_id, at=now,
            )
        )
        await self.session.flush()
        return True

    async def remove_ack(self, reaction_event_id: str) -> bool:
        """The reaction was redacted: its acknowledgement goes too."""
        result = await self.session.execute(delete(AnnouncementAck).where(AnnouncementAck.event_id == reaction_event_id))
        return bool(result.rowcount)

    async def acked_labs(self, announcement_id: int) -> dict[int | None, int]:
        """lab id → number of acknowledging reactions."""
        stmt = (
            select(AnnouncementAck.lab_id, func.count())
            .where(AnnouncementAck.announcement_id == announcement_id)
            .group_by(AnnouncementAck.lab_id)
        )
        return dict((await self.session.execute(stmt)).tuples().all())


class QuestionRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, **values: Any) -> Question:
        question = Question(**values)
        self.session.add(question)
        await self.session.flush()
        return question

    async def get(self, question_id: int) -> Question | None:
        return await self.session.get(Question, question_id)

    async def open(self, lab_id: int | None = None, limit: int = 50) -> list[Question]:
        stmt = select(Question).where(Question.state == "open").order_by(Question.created_at).limit(limit)
        if lab_id is not None:
            stmt = stmt.where(Question.lab_id == lab_id)
        return list((await self.session.scalars(stmt)).all())

    async def count_open(self) -> int:
        return await self.session.scalar(
            select(func.count()).select_from(Question).where(Question.state == "open")
        ) or 0

    async def add_relay(
        self, question_id: int, room_id: str, outbox_id: int, source_room_id: str,
        source_event_id: str, now: datetime,
    ) -> None:
        self.session.add(
            RelayMessage(
                question_id=question_id, room_id=room_id, outbox_id=outbox_id,
                source_room_id=source_room_id, source_event_id=source_event_id, created_at=now,
            )
        )
        await self.session.flush()

    async def relay_by_event(self, room_id: str, event_id: str) -> RelayMessage | None:
        """The relayed message that is `event_id` in `room_id`; its event id is filled in from the
        outbox row when it was not copied over yet."""
        found = await self.session.scalar(
            select(RelayMessage).where(RelayMessage.event_id == event_id, RelayMessage.room_id == room_id)
        )
        if found is not None:
            return found
        found = await self.session.scalar(
            select(RelayMessage)
            .join(OutboxRow, OutboxRow.id == RelayMessage.outbox_id)
            .where(
                RelayMessage.room_id == room_id,
                RelayMessage.event_id.is_(None),
                OutboxRow.event_id == event_id,
            )
        )
        if found is not None:
            found.event_id = event_id
            await self.session.flush()
        return found

    async def unsent_relays(self, room_id: str) -> int:
        """Relayed messages in the room whose event id is not recorded yet (sent, not flushed)."""
        return await self.session.scalar(
            select(func.count())
            .select_from(RelayMessage)
            .join(OutboxRow, OutboxRow.id == RelayMessage.outbox_id)
            .where(
                RelayMessage.room_id == room_id,
                RelayMessage.event_id.is_(None),
                OutboxRow.event_id.is_(None),
                OutboxRow.state == "pending",
            )
        ) or 0
