"""Firing due work: turn due items into outbox rows, in one transaction.

Features register a handler per item kind with `@due_handler("reminder")`. A wake (see
bot/duework.py) calls `fire_due`, which claims the due items, lets each handler write its
outbox rows through `FireContext.send`, and advances the items, all in the same transaction.
So an item is never lost (a crash rolls the whole wake back, and the next wake fires it) and
never sent twice (the outbox delivers each row once, by its transaction id).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from commands.context import NetworkSettings
from commands.crontab import next_occurrence
from commands.i18n import Translator
from commands.reply import Reply
from storage import Database, Store
from storage.models import OutboxRow
from storage.models_due import DueItem

log = logging.getLogger(__name__)

# An item fired later than this after its due time is marked late ("verspätet").
LATE_AFTER = timedelta(seconds=60)
# A row fired on time may still reach the room late (homeserver down): it then carries its late
# variant under this key, {"after": ISO time, "content": {...}}, and the sender sends that one
# instead once `after` has passed (see `late_variant`).
LATE_VARIANT = "labnetz.late"


def late_variant(content: dict[str, Any], now: datetime) -> tuple[dict[str, Any], bool]:
    """The content to send at `now`: the row's late variant once its time has passed, else the
    content without the variant. The flag says whether the late variant was chosen."""
    variant = content.get(LATE_VARIANT)
    if variant is None:
        return content, False
    if now > datetime.fromisoformat(variant["after"]):
        return dict(variant["content"]), True
    return {k: v for k, v in content.items() if k != LATE_VARIANT}, False

DueHandler = Callable[["FireContext", DueItem], Awaitable[None]]
_HANDLERS: dict[str, DueHandler] = {}


def due_handler(kind: str) -> Callable[[DueHandler], DueHandler]:
    """Register the handler that fires items of `kind`."""

    def register(handler: DueHandler) -> DueHandler:
        if kind in _HANDLERS and _HANDLERS[kind] is not handler:
            raise ValueError(f"two handlers for due kind {kind!r}")
        _HANDLERS[kind] = handler
        return handler

    return register


def handler_kinds() -> set[str]:
    return set(_HANDLERS)


@dataclass
class FireContext:
    """What a due handler gets: the transaction's store, the time, and a way to send."""

    store: Store
    now: datetime
    network: NetworkSettings
    translator: Callable[[str], Translator]
    item: DueItem | None = None
    scheduled_for: datetime | None = None  # the due time this firing is for
    late: bool = False
    rows: list[OutboxRow] = field(default_factory=list)
    _languages: dict[str, str] = field(default_factory=dict)

    async def language_of(self, room_id: str) -> str:
        """The room's language, else the network's."""
        if room_id not in self._languages:
            language = await self.store.rooms.language(room_id)
            self._languages[room_id] = language or self.network.language
        return self._languages[room_id]

    async def tr_for(self, room_id: str) -> Translator:
        return self.translator(await self.language_of(room_id))

    async def send(
        self,
        room_id: str,
        content: Reply | dict[str, Any],
        *,
        purpose: str = "due",
        not_before: datetime | None = None,
        late: Reply | dict[str, Any] | None = None,
    ) -> OutboxRow:
        """Queue a message. Its reference names the item and the firing, for tracing.

        `late` is the same message marked late: sent instead if the row only reaches the
        homeserver more than LATE_AFTER after the due time (the homeserver was down)."""
        if isinstance(content, Reply):
            content = content.content()
        if isinstance(late, Reply):
            late = late.content()
        if late is not None and not self.late and self.scheduled_for is not None:
            content = {**content, LATE_VARIANT: {"after": (self.scheduled_for + LATE_AFTER).isoformat(),
                                                 "content": late}}
        assert self.item is not None
        reference = f"due:{self.item.id}:{self.item.fired_count}"
        row = await self.store.outbox.add(
            room_id, content, now=self.now, purpose=purpose, reference=reference, not_before=not_before
        )
        self.rows.append(row)
        return row


@dataclass
class Fired:
    rows: list[OutboxRow]  # outbox rows due now: hand them to the sender
    items: int  # items fired
    failed: int  # items whose handler raised
    more: bool  # the batch was full: call again
    next_due_at: datetime | None = None  # the earliest pending item after the batch (same transaction)


class _HandlerFailed(Exception):
    def __init__(self, item_id: int, error: str) -> None:
        super().__init__(error)
        self.item_id = item_id
        self.error = error


async def fire_due(
    db: Database,
    now: datetime,
    network: NetworkSettings,
    translator: Callable[[str], Translator],
    *,
    limit: int = 500,
    languages: dict[str, str] | None = None,
) -> Fired:
    """Fire up to `limit` due items in one transaction.

    A handler that raises rolls the transaction back; the batch is then fired again with that
    item marked failed, so one bad item never blocks (or half-sends) the others.
    """
    broken: dict[int, str] = {}
    while True:
        try:
            return await _fire_batch(db, now, network, translator, limit, broken, languages)
        except _HandlerFailed as failure:
            log.error("due item %s failed: %s", failure.item_id, failure.error)
            broken[failure.item_id] = failure.error


async def _fire_batch(
    db: Database,
    now: datetime,
    network: NetworkSettings,
    translator: Callable[[str], Translator],
    limit: int,
    broken: dict[int, str],
    languages: dict[str, str] | None = None,
) -> Fired:
    fired = failed = 0
    async with db.transaction() as store:
        items = await store.due.claim(now, limit)
        fire = FireContext(store=store, now=now, network=network, translator=translator)
        if languages is not None:
            fire._languages = languages  # the caller's cache of room languages, kept across wakes
        for item in items:
            handler = _HANDLERS.get(item.kind)
            if handler is None:
                broken.setdefault(item.id, f"no handler for kind {item.kind!r}")
            if item.id in broken:
                store.due.failed(item, broken[item.id])
                failed += 1
                continue
            fire.item = item
            fire.scheduled_for = item.due_at
            fire.late = now - item.due_at > LATE_AFTER
            try:
                await handler(fire, item)
            except Exception as err:  # a bug in one handler must not block the others
                log.exception("due item %s (%s) raised", item.id, item.kind)
                raise _HandlerFailed(item.id, f"{type(err).__name__}: {err}") from err
            following = None
            if item.recurrence:  # occurrences missed while down collapse into this delivery
                following = next_occurrence(item.recurrence, item.timezone, max(now, item.due_at))
            store.due.advance(item, now, following)
            fired += 1
        rows = [row for row in fire.rows if row.not_before <= now]
        more = len(items) == limit
        next_due = None if more else await store.due.next_due_at()
    return Fired(rows=rows, items=fired, failed=failed, more=more, next_due_at=next_due)
