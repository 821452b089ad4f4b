"""Introductions between requesters and experts, and the bot's direct rooms with users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_experts import DirectRoom, ExpertContact


class ContactRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, *, expert_id: int, requester: str, requester_name: str | None, requester_room: str,
        message: str, now: datetime,
    ) -> ExpertContact:
        contact = ExpertContact(expert_id=expert_id, requester=requester, requester_name=requester_name,
                                requester_room=requester_room, message=message, created_at=now, replies=0)
        self.session.add(contact)
        await self.session.flush()
        return contact

    async def get(self, contact_id: int) -> ExpertContact | None:
        return await self.session.get(ExpertContact, contact_id)

    async def count_since(self, requester: str, since: datetime) -> int:
        return await self.session.scalar(
            select(func.count()).select_from(ExpertContact).where(
                ExpertContact.requester == requester, ExpertContact.created_at >= since
            )
        ) or 0


class DirectRoomRepo:
    """Written by the sender when it creates a direct room; read to address a user."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_user(self, user_id: str) -> str | None:
        return await self.session.scalar(select(DirectRoom.room_id).where(DirectRoom.user_id == user_id))

    async def remember(self, user_id: str, room_id: str, now: datetime) -> None:
        await self.session.execute(delete(DirectRoom).where(DirectRoom.user_id == user_id))
        self.session.add(DirectRoom(user_id=user_id, room_id=room_id, created_at=now))
        await self.session.flush()
