"""What a handler gets: who asks, where, in which language, at what time, and the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from commands.i18n import Translator
from commands.roles import Principal
from storage import Store


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock for tests: stands still until told to move."""

    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class Runtime(Protocol):
    """Facts about the running process that `status` reports (the bot layer provides them)."""

    started_at: datetime

    def joined_rooms(self) -> int: ...

    def seconds_since_sync(self) -> float | None: ...


@dataclass(frozen=True)
class NetworkSettings:
    name: str
    language: str
    timezone: str
    admins: frozenset[str]
    command_prefix: str = "!"
    federal_room_id: str | None = None
    public_url: str = ""
    experts: Any = None  # commands.categories.ExpertSettings (the [experts] config section)


@dataclass
class Context:
    sender: str
    room_id: str
    event_id: str
    tr: Translator
    clock: Clock
    store: Store
    principal: Principal
    network: NetworkSettings
    registry: Any  # commands.registry.Registry (kept loose to avoid an import cycle)
    runtime: Runtime
    translator_for: Callable[[str], Translator]
    sender_name: str = ""
    is_direct: bool = False
    lab_id: int | None = None  # the lab this room is linked to
    state: Any = None  # commands.access.MatrixState: cached room state, no homeserver requests
    directory: Any = None  # commands.directory.Directory: lookups kept in memory
    # Things the bot layer should react to after commit, e.g. "labs" (Space, caches).
    signals: set[str] = field(default_factory=set)

    @property
    def language(self) -> str:
        return self.tr.language

    def _(self, message: str) -> str:
        return self.tr.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.tr.ngettext(singular, plural, n)

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def prefix(self) -> str:
        return self.network.command_prefix

    async def audit(self, action: str, outcome: str = "ok", **detail: Any) -> None:
        await self.store.audit.record(
            at=self.now(),
            actor=self.sender,
            action=action,
            outcome=outcome,
            room_id=self.room_id,
            lab_id=self.lab_id,
            detail=detail,
        )
