"""The due-work timer: one APScheduler job armed at the next due time.

Nothing pending is loaded into memory: the worker asks the database for the earliest due time,
arms one date job for it, and on waking lets `commands.duework.fire_due` turn the due items into
outbox rows (in one transaction) which go straight to the sender. A command that adds an earlier
item re-arms the job (`nudge`), and a safety check re-reads the next due time every minute, so
an item added by another path is never left waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.sender import Sender
from commands.context import Clock, NetworkSettings
from commands.duework import fire_due
from commands.i18n import Translator
from storage import Database

log = logging.getLogger(__name__)

JOB_ID = "due-work"
SAFETY_INTERVAL = 60  # seconds


class DueWorker:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        scheduler: AsyncIOScheduler,
        sender: Sender,
        network: Callable[[], NetworkSettings],
        translator: Callable[[str], Translator],
        *,
        on_fired: Callable[[int, int], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.scheduler = scheduler
        self.sender = sender
        self.network = network
        self.translator = translator
        self.on_fired = on_fired  # (fired, failed) for metrics
        self.armed_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Arm for the earliest pending item (one indexed MIN query) and start the safety check."""
        await self.arm()
        self.scheduler.add_job(self.arm, "interval", seconds=SAFETY_INTERVAL, id="due-work-safety",
                               replace_existing=True)

    async def arm(self) -> None:
        async with self.db.transaction() as store:
            when = await store.due.next_due_at()
        self._schedule(when)

    def nudge(self, when: datetime) -> None:
        """A command added or moved an item due at `when`: wake earlier if needed."""
        if self.armed_at is None or when < self.armed_at:
            self._schedule(when)

    def _schedule(self, when: datetime | None) -> None:
        self.armed_at = when
        if when is None:
            if self.scheduler.get_job(JOB_ID) is not None:
                self.scheduler.remove_job(JOB_ID)
            return
        run_at = max(when, self.clock.now())
        self.scheduler.add_job(
            self.wake, "date", run_date=run_at, id=JOB_ID, replace_existing=True,
            misfire_grace_time=None, coalesce=True,
        )

    async def wake(self) -> None:
        """Fire everything due, batch by batch, then arm for the next item."""
        async with self._lock:
            while True:
                try:
                    fired = await fire_due(self.db, self.clock.now(), self.network(), self.translator)
                except Exception:
                    log.exception("firing due work failed; retrying at the next safety check")
                    return
                if fired.rows:
                    self.sender.deliver(fired.rows)
                if self.on_fired is not None and (fired.items or fired.failed):
                    self.on_fired(fired.items, fired.failed)
                if not fired.more:
                    break
            await self.arm()
