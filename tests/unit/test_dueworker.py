"""The due-work timer on a real APScheduler and the real clock: a dense stream of items, each
a few milliseconds after the last, is fired as it falls due, not left for the safety check."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.duework import DueWorker
from bot.i18n import translator
from commands.context import NetworkSettings, SystemClock
from commands.duework import FireContext, due_handler
from storage import Database
from storage.models_due import DueItem

NETWORK = NetworkSettings(name="Labnetz", language="de", timezone="Europe/Berlin", admins=frozenset())


@due_handler("test_stream")
async def _stream(fire: FireContext, item: DueItem) -> None:
    await fire.send("!stream:example.org", {"msgtype": "m.notice", "body": item.payload["n"]})


class CollectingSender:
    """Stands in for bot.sender.Sender: records when each fired row was handed over."""

    def __init__(self) -> None:
        self.handed: dict[str, float] = {}

    def deliver(self, rows: list) -> None:
        for row in rows:
            self.handed[row.content["body"]] = time.time()


async def test_a_dense_stream_fires_on_time_without_waiting_for_the_safety_check(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/stream.db")
    await db.migrate()
    count, step = 300, 0.004  # 300 items, 4 ms apart: a wake can't keep up item by item
    start = datetime.now(UTC) + timedelta(seconds=1)
    due = {str(n): start + timedelta(seconds=n * step) for n in range(count)}
    async with db.transaction() as store:
        for n, at in due.items():
            await store.due.add("test_stream", at, now=datetime.now(UTC), payload={"n": n})
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.start()
    sender = CollectingSender()
    worker = DueWorker(db, SystemClock(), scheduler, sender, network=lambda: NETWORK,  # type: ignore[arg-type]
                       translator=translator)
    try:
        await worker.start()
        deadline = time.monotonic() + 20  # far below the 60 s safety check
        while len(sender.handed) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        scheduler.shutdown(wait=False)
        await db.close()
    assert len(sender.handed) == count, f"only {len(sender.handed)} of {count} fired before the safety check"
    assert all(sender.handed[n] >= due[n].timestamp() - 0.001 for n in due)  # none early
