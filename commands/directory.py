"""What every command looks up, kept in memory: which room belongs to which lab, who holds
which granted role, each room's language, the list of labs.

Commands are handled one at a time, and every command that changes one of these raises a
signal ("labs", "roles", "language") that drops the cached part after its commit. Only one
process is active at a time (see DESIGN.md, scale path), so nothing else writes behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from storage import Store


@dataclass(frozen=True)
class LabView:
    """A lab as handlers read it (a snapshot: changes go through the repositories)."""

    id: int
    slug: str
    name: str
    city: str
    state: str
    level: str
    host: str | None
    host_legal_form: str | None
    timezone: str


@dataclass(frozen=True)
class SpaceView:
    id: int
    lab_id: int
    name: str
    slug: str
    kind: str
    capacity: int
    hours: dict[str, Any]


class Directory:
    def __init__(self) -> None:
        self._room_lab: dict[str, int] | None = None
        self._grants: dict[str, list[tuple[str, int | None]]] | None = None
        self._languages: dict[str, str | None] = {}
        self._listing: list[tuple[str, str, str, str]] | None = None
        self._names: dict[int, str] | None = None
        self._labs: dict[int, LabView] = {}
        self._spaces: dict[int, list[SpaceView]] = {}
        self._closures: dict[int, list[tuple[date, date, str | None]]] = {}

    def invalidate(self, signals: Iterable[str]) -> None:
        for signal in signals:
            if signal == "labs":
                self._room_lab = None
                self._listing = None
                self._names = None
                self._labs.clear()
            elif signal == "spaces":
                self._spaces.clear()
                self._closures.clear()
            elif signal == "roles":
                self._grants = None
            elif signal == "language":
                self._languages.clear()

    async def labs_of_rooms(self, store: Store, room_ids: Iterable[str]) -> dict[str, int]:
        if self._room_lab is None:
            self._room_lab = dict(await store.labs.all_links())
        links = self._room_lab
        return {room: links[room] for room in room_ids if room in links}

    async def grants_of(self, store: Store, user_id: str) -> list[tuple[str, int | None]]:
        if self._grants is None:
            grants: dict[str, list[tuple[str, int | None]]] = {}
            for grant in await store.grants.all():
                grants.setdefault(grant.user_id, []).append((grant.role, grant.lab_id))
            self._grants = grants
        return self._grants.get(user_id, [])

    async def language(self, store: Store, room_id: str) -> str | None:
        if room_id not in self._languages:
            if len(self._languages) > 50_000:
                self._languages.clear()
            self._languages[room_id] = await store.rooms.language(room_id)
        return self._languages[room_id]

    async def listing(self, store: Store) -> list[tuple[str, str, str, str]]:
        if self._listing is None:
            self._listing = await store.labs.listing()
        return self._listing

    async def lab_names(self, store: Store, lab_ids: Iterable[int]) -> dict[int, str]:
        if self._names is None:
            self._names = await store.labs.names(None)
        names = self._names
        return {lab_id: names[lab_id] for lab_id in lab_ids if lab_id in names}

    async def lab(self, store: Store, lab_id: int) -> LabView | None:
        if lab_id not in self._labs:
            lab = await store.labs.get(lab_id)
            if lab is None:
                return None
            self._labs[lab_id] = LabView(
                id=lab.id, slug=lab.slug, name=lab.name, city=lab.city, state=lab.state,
                level=lab.level, host=lab.host, host_legal_form=lab.host_legal_form,
                timezone=lab.timezone,
            )
        return self._labs[lab_id]

    async def spaces_of(self, store: Store, lab_id: int) -> list[SpaceView]:
        if lab_id not in self._spaces:
            self._spaces[lab_id] = [
                SpaceView(id=s.id, lab_id=s.lab_id, name=s.name, slug=s.slug, kind=s.kind,
                          capacity=s.capacity, hours=dict(s.hours))
                for s in await store.spaces.of_lab(lab_id)
            ]
        return self._spaces[lab_id]

    async def closed(self, store: Store, space_id: int, day: date) -> list[str | None]:
        """Reasons of the space's closures that cover the day (empty: open)."""
        if space_id not in self._closures:
            self._closures[space_id] = await store.closures.of_space(space_id)
        return [reason for first, last, reason in self._closures[space_id] if first <= day <= last]


def directory_of(ctx: Any) -> Directory:
    """The dispatcher's directory; a throw-away one (no caching) where a handler runs alone."""
    return ctx.directory if ctx.directory is not None else Directory()
