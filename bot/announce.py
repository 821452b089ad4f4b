"""Watches broadcasts in progress: edits the progress message at most every 2 s, catches late
copies up with edits and retractions, and marks the announcement done.

It is woken by the sender's results (a copy sent, failed or retried) and by announcement
commands. Each look costs one grouped count over the announcement's copies, so 500 rooms
are as cheap as 5; everything it queues goes through the outbox like any other message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.sender import Sender
from commands.announce_work import BULK_PURPOSES, PROGRESS_PURPOSE, refresh
from commands.context import Clock
from commands.i18n import Translator
from storage import Database
from storage.models import OutboxRow

log = logging.getLogger(__name__)

PROGRESS_EVERY = 2.0  # seconds between two looks (and so between two progress edits)
WATCHED = BULK_PURPOSES | {PROGRESS_PURPOSE}


class AnnouncementWatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        sender: Sender,
        translator_for: Callable[[str], Translator],
        default_language: str,
    ) -> None:
        self.db = db
        self.clock = clock
        self.sender = sender
        self.translator_for = translator_for
        self.default_language = default_language
        self.active: set[int] = set()
        self._touched: set[int] = set()
        self._wake = asyncio.Event()
        self._last_look = 0.0

    async def load(self) -> None:
        """Broadcasts a previous run left unfinished (e.g. killed halfway)."""
        async with self.db.transaction() as store:
            self.active.update(await store.announcements.in_state("sending"))
        if self.active:
            self._wake.set()

    def on_result(self, row: OutboxRow, result: str) -> None:
        if row.purpose not in WATCHED or not row.reference:
            return
        try:
            announcement_id = int(row.reference.rsplit(":", 1)[1])
        except (IndexError, ValueError):
            return
        self.active.add(announcement_id)
        self._touched.add(announcement_id)
        self._wake.set()

    def kick(self) -> None:
        """An announcement command committed: look at the running broadcasts again."""
        asyncio.get_running_loop().create_task(self.load())

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.active:
                pause = self._last_look + PROGRESS_EVERY - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                self._last_look = time.monotonic()
                try:
                    await self._look()
                except Exception:
                    log.exception("looking at announcements %s failed", sorted(self.active))

    async def _look(self) -> None:
        self._touched = set()
        watched = sorted(self.active)
        finished: list[int] = []
        now = self.clock.now()
        async with self.db.transaction() as store:
            for announcement_id in watched:
                if await refresh(store, announcement_id, now=now, translator_for=self.translator_for,
                                 default_language=self.default_language):
                    finished.append(announcement_id)
            rows = store.outbox.due_now(now)
        # Results that came in during the look may need one more.
        self.active.difference_update(set(finished) - self._touched)
        self.sender.deliver(rows)
