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
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.sender import Sender
from commands.context import Clock, NetworkSettings
from commands.duework import fire_due
from commands.i18n import Translator
from storage import Database

log = logging.getLogger(__name__)

JOB_ID = "due-work"
SAFETY_INTERVAL = 60  # seconds
# Wakes are at least this far apart: items due a few ms apart (1,000 over a minute) then fire a
# few at a time, sparing a transaction and a re-arm each; they are at most this much later.
WAKE_GAP = timedelta(milliseconds=200)


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
        self._woke_at: datetime | None = None  # when the last wake started
        self._lock = asyncio.Lock()
        # Room languages for firing, kept across wakes (one query per room, not per item) and
        # forgotten at every safety check, so a `lang` change shows within a minute.
        self._languages: dict[str, str] = {}

    async def start(self) -> None:
        """Arm for the earliest pending item (one indexed MIN query) and start the safety check."""
        await self.arm()
        self.scheduler.add_job(self.safety_check, "interval", seconds=SAFETY_INTERVAL, id="due-work-safety",
                               replace_existing=True)

    async def safety_check(self) -> None:
        self._languages.clear()
        await self.arm()

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
        if self._woke_at is not None:
            run_at = max(run_at, self._woke_at + WAKE_GAP)
        self.scheduler.add_job(
            self.wake, "date", run_date=run_at, id=JOB_ID, replace_existing=True,
            misfire_grace_time=None, coalesce=True, max_instances=2,  # the second waits on the lock
        )

    async def wake(self) -> None:
        """Fire everything due, batch by batch, until the next item lies in the future; arm for it.

        The loop matters: re-arming the job for an item that is already due (items a few ms apart,
        or a slow wake) would schedule it while this run still counts as the job's running
        instance, and APScheduler would skip it ("maximum number of running instances reached"),
        leaving everything due until the next safety check, up to 60 s late.
        """
        async with self._lock:
            self._woke_at = self.clock.now()
            while True:
                try:
                    fired = await fire_due(self.db, self.clock.now(), self.network(), self.translator,
                                           languages=self._languages)
                except Exception:
                    log.exception("firing due work failed; retrying at the next safety check")
                    return
                if fired.rows:
                    self.sender.deliver(fired.rows)
                if self.on_fired is not None and (fired.items or fired.failed):
                    self.on_fired(fired.items, fired.failed)
                if fired.more:
                    continue
                when = fired.next_due_at  # read in the firing transaction: no second one per wake
                now = self.clock.now()
                if when is None or when > now:
                    self._schedule(when)
                    return
                if not (fired.items or fired.failed):  # due but locked by another process: don't spin
                    self._schedule(now + timedelta(seconds=1))
                    return
