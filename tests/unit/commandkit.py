"""Running commands without Matrix: a dispatcher on a real database, a fixed clock and a
table of room state standing in for what the bot learns from sync."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from bot.i18n import translator
from commands import build_registry
from commands.context import FixedClock, NetworkSettings
from commands.dispatch import Dispatcher, IncomingMessage, Outcome
from storage import Database

BOT = "@labnetz:example.org"
ADMIN = "@alice:example.org"
FEDERAL = "!federal:example.org"


@dataclass
class StateTable:
    """Room state as the bot would have it from sync: who is joined where, at which level."""

    power: dict[tuple[str, str], int] = field(default_factory=dict)
    direct: set[str] = field(default_factory=set)
    members: dict[str, set[str]] = field(default_factory=dict)  # room -> joined users
    names: dict[str, str] = field(default_factory=dict)

    def join(self, room_id: str, user_id: str, level: int = 0) -> None:
        self.members.setdefault(room_id, set()).add(user_id)
        if level:
            self.power[(room_id, user_id)] = level

    def power_level(self, room_id: str, user_id: str) -> int:
        return self.power.get((room_id, user_id), 0)

    def is_direct(self, room_id: str) -> bool:
        return room_id in self.direct

    def joined_rooms_of(self, user_id: str) -> list[str]:
        return [room for room, users in self.members.items() if user_id in users]

    def users_with_level(self, room_id: str, level: int) -> list[str]:
        return sorted(u for (r, u), p in self.power.items() if r == room_id and p >= level)

    def room_name(self, room_id: str) -> str | None:
        return self.names.get(room_id)


@dataclass
class FakeRuntime:
    started_at: datetime

    def joined_rooms(self) -> int:
        return 3

    def seconds_since_sync(self) -> float | None:
        return 1.5


class Chat:
    """Sends bodies through the dispatcher and returns the outcome and the reply's texts."""

    _ids = itertools.count(1)

    def __init__(self, db: Database, clock: FixedClock, language: str = "de") -> None:
        self.db = db
        self.clock = clock
        self.state = StateTable()
        self.dispatcher = Dispatcher(
            db=db,
            registry=build_registry(),
            network=NetworkSettings(
                name="Open Gov Labs",
                language=language,
                timezone="Europe/Berlin",
                admins=frozenset({ADMIN}),
                command_prefix="!",
                federal_room_id=FEDERAL,
            ),
            state=self.state,
            clock=clock,
            runtime=FakeRuntime(clock.now()),
            translator_for=translator,
            bot_names=[BOT, "Labnetz", "labnetz"],
        )

    async def send(self, body: str, *, sender: str = "@bob:example.org", room: str = "!lab:example.org",
                   event_id: str | None = None) -> Outcome:
        event_id = event_id or f"$ev{next(self._ids)}"
        return await self.dispatcher.handle(
            IncomingMessage(event_id=event_id, room_id=room, sender=sender, body=body, sender_name="")
        )

    async def reply_of(self, outcome: Outcome) -> dict:
        assert outcome.outbox_ids, f"no reply queued: {outcome}"
        async with self.db.transaction() as store:
            row = await store.outbox.get(outcome.outbox_ids[0])
        assert row is not None
        return row.content
