"""Repositories for labs, their linked rooms, and role grants."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Lab, LabRoom, RoleGrant


class LabRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        *,
        slug: str,
        name: str,
        city: str,
        state: str,
        level: str,
        host: str | None,
        host_legal_form: str | None,
        timezone: str,
        created_by: str,
        now: datetime,
    ) -> Lab:
        lab = Lab(
            slug=slug,
            name=name,
            city=city,
            state=state,
            level=level,
            host=host,
            host_legal_form=host_legal_form,
            timezone=timezone,
            created_by=created_by,
            created_at=now,
        )
        self.session.add(lab)
        await self.session.flush()
        return lab

    async def get(self, lab_id: int) -> Lab | None:
        return await self.session.get(Lab, lab_id)

    async def by_slug(self, slug: str) -> Lab | None:
        return await self.session.scalar(select(Lab).where(Lab.slug == slug))

    async def by_name(self, name: str) -> Lab | None:
        return await self.session.scalar(select(Lab).where(func.lower(Lab.name) == name.lower()))

    async def all(self, state: str | None = None) -> list[Lab]:
        stmt = select(Lab).order_by(Lab.state, Lab.name)
        if state is not None:
            stmt = stmt.where(Lab.state == state)
        return list((await self.session.scalars(stmt)).all())

    async def listing(self, state: str | None = None) -> list[tuple[str, str, str, str]]:
        """(state, name, slug, city) of every lab, ordered: just the columns a list shows."""
        stmt = select(Lab.state, Lab.name, Lab.slug, Lab.city).order_by(Lab.state, Lab.name)
        if state is not None:
            stmt = stmt.where(Lab.state == state)
        return list((await self.session.execute(stmt)).tuples().all())

    async def names(self, lab_ids: Iterable[int] | None) -> dict[int, str]:
        """id → name of the given labs (None: of all labs)."""
        stmt = select(Lab.id, Lab.name)
        if lab_ids is not None:
            ids = list(set(lab_ids))
            if not ids:
                return {}
            stmt = stmt.where(Lab.id.in_(ids))
        return dict((await self.session.execute(stmt)).tuples().all())

    async def many(self, lab_ids: Iterable[int]) -> dict[int, Lab]:
        ids = list(set(lab_ids))
        if not ids:
            return {}
        labs = await self.session.scalars(select(Lab).where(Lab.id.in_(ids)))
        return {lab.id: lab for lab in labs}

    async def count(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(Lab)) or 0

    # --- linked rooms ----------------------------------------------------------------

    async def lab_of_room(self, room_id: str) -> int | None:
        return await self.session.scalar(select(LabRoom.lab_id).where(LabRoom.room_id == room_id))

    async def labs_of_rooms(self, room_ids: Iterable[str]) -> dict[str, int]:
        """room id → lab id for those of the rooms that are linked (one indexed query)."""
        ids = list(room_ids)
        if not ids:
            return {}
        rows = await self.session.execute(
            select(LabRoom.room_id, LabRoom.lab_id).where(LabRoom.room_id.in_(ids))
        )
        return dict(rows.tuples().all())

    async def rooms(self, lab_id: int) -> list[str]:
        rows = await self.session.scalars(
            select(LabRoom.room_id).where(LabRoom.lab_id == lab_id).order_by(LabRoom.linked_at)
        )
        return list(rows.all())

    async def all_links(self) -> list[tuple[str, int]]:
        rows = await self.session.execute(select(LabRoom.room_id, LabRoom.lab_id))
        return list(rows.tuples().all())

    async def link(self, room_id: str, lab_id: int, by: str, now: datetime) -> None:
        self.session.add(LabRoom(room_id=room_id, lab_id=lab_id, linked_by=by, linked_at=now))
        await self.session.flush()

    async def unlink(self, room_id: str) -> int | None:
        lab_id = await self.lab_of_room(room_id)
        if lab_id is not None:
            await self.session.execute(delete(LabRoom).where(LabRoom.room_id == room_id))
        return lab_id


class GrantRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_user(self, user_id: str) -> list[tuple[str, int | None]]:
        """(role, lab id) of the user's grants: read on every command, so only two columns."""
        rows = await self.session.execute(
            select(RoleGrant.role, RoleGrant.lab_id).where(RoleGrant.user_id == user_id)
        )
        return list(rows.tuples().all())

    async def find(self, user_id: str, role: str, lab_id: int | None) -> RoleGrant | None:
        stmt = select(RoleGrant).where(RoleGrant.user_id == user_id, RoleGrant.role == role)
        stmt = stmt.where(RoleGrant.lab_id.is_(None) if lab_id is None else RoleGrant.lab_id == lab_id)
        return await self.session.scalar(stmt)

    async def grant(
        self, user_id: str, role: str, lab_id: int | None, by: str, now: datetime
    ) -> RoleGrant | None:
        """The new grant, or None when the user already had it."""
        if await self.find(user_id, role, lab_id) is not None:
            return None
        grant = RoleGrant(user_id=user_id, role=role, lab_id=lab_id, granted_by=by, granted_at=now)
        self.session.add(grant)
        await self.session.flush()
        return grant

    async def revoke(self, user_id: str, role: str, lab_id: int | None) -> bool:
        grant = await self.find(user_id, role, lab_id)
        if grant is None:
            return False
        await self.session.delete(grant)
        await self.session.flush()
        return True

    async def all(self, lab_id: int | None = None) -> list[RoleGrant]:
        stmt = select(RoleGrant).order_by(RoleGrant.role, RoleGrant.lab_id, RoleGrant.user_id)
        if lab_id is not None:
            stmt = stmt.where(RoleGrant.lab_id == lab_id)
        return list((await self.session.scalars(stmt)).all())
