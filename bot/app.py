"""The Labnetz process: wires storage, commands, Matrix, delivery, scheduling and web together."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from nio import JoinResponse

from bot.announce import AnnouncementWatcher
from bot.client import TRANSPORT_ERRORS, MatrixConnection
from bot.config import Config
from bot.duework import DueWorker
from bot.i18n import translator
from bot.metrics import Metrics
from bot.roomstate import RoomState
from bot.router import Router
from bot.sender import Sender
from bot.space import SpaceManager
from bot.web import WebServer, build_app
from commands import build_registry
from commands.categories import ExpertSettings
from commands.context import Clock, NetworkSettings, SystemClock
from commands.dispatch import Dispatcher
from commands.milestone_notices import ensure_recurring
from storage import Database

log = logging.getLogger(__name__)

HANDLED_EVENTS_KEPT = timedelta(days=30)


class Runtime:
    """What `status` reports about this process."""

    def __init__(self, connection: MatrixConnection, started_at: datetime) -> None:
        self.connection = connection
        self.started_at = started_at

    def joined_rooms(self) -> int:
        return len(self.connection.client.rooms)

    def seconds_since_sync(self) -> float | None:
        return self.connection.seconds_since_sync()


class Labnetz:
    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.db = Database(config.database.url, echo=config.database.echo)
        self.metrics = Metrics()
        self.connection = MatrixConnection(config.matrix, on_request=self.metrics.request)
        self.web: WebServer | None = None
        self.scheduler = AsyncIOScheduler(timezone=config.network.timezone)
        self._stop = asyncio.Event()
        self.failed: BaseException | None = None

    def _watch(self, task: asyncio.Task[None]) -> None:
        """A core task that ends on its own is a bug: stop loudly rather than run deaf."""
        if task.cancelled() or self._stop.is_set():
            return
        error = task.exception()
        log.critical("core task %s ended unexpectedly: %r", task.get_name(), error, exc_info=error)
        self.failed = error or RuntimeError(f"task {task.get_name()} ended")
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()

    def health(self) -> tuple[bool, dict[str, object]]:
        since = self.connection.seconds_since_sync()
        logged_in = self.connection.client.logged_in
        fresh = since is not None and since < self.connection.sync_timeout_ms / 1000 + 60
        return logged_in and fresh, {
            "logged_in": logged_in,
            "seconds_since_sync": None if since is None else round(since, 1),
            "device_id": self.connection.device_id,
        }

    async def run(self) -> None:
        cfg = self.config
        if not await self.db.claim_process():
            log.critical("another Labnetz process is running on this database (%s); stop it first: "
                         "two would deliver the same messages twice", cfg.database.url.split("@")[-1])
            self.failed = RuntimeError("database in use by another Labnetz process")
            await self.db.close()
            return
        await self.db.migrate()
        if cfg.web.enabled:
            self.web = WebServer(
                build_app(self.metrics, self.health, db=self.db, clock=self.clock,
                          language=cfg.network.language),
                cfg.web.host, cfg.web.port,
            )
            await self.web.start()
        await self.connection.login()
        await self.connection.ensure_display_name()
        client = self.connection.client
        network = NetworkSettings(
            name=cfg.network.name,
            language=cfg.network.language,
            timezone=cfg.network.timezone,
            admins=frozenset(cfg.network.admins),
            command_prefix=cfg.matrix.command_prefix,
            federal_room_id=cfg.network.federal_room if cfg.network.federal_room.startswith("!") else None,
            public_url=cfg.web.public_url,
            experts=ExpertSettings.with_extra(
                cfg.experts.categories, contacts_per_day=cfg.experts.contacts_per_day,
                reconfirm_days=cfg.experts.reconfirm_days, grace_days=cfg.experts.grace_days,
            ),
        )
        watcher: AnnouncementWatcher | None = None

        def on_result(row: object, result: str) -> None:
            self.metrics.deliveries.labels(result).inc()
            if watcher is not None:
                watcher.on_result(row, result)  # type: ignore[arg-type]

        sender = Sender(client, self.db, self.clock, cfg.delivery, on_result=on_result,
                        ready=self.connection.synced)
        watcher = AnnouncementWatcher(self.db, self.clock, sender, translator, cfg.network.language)
        state = RoomState(client)
        localpart = cfg.matrix.user_id[1:].split(":", 1)[0]
        dispatcher = Dispatcher(
            db=self.db,
            registry=build_registry(),
            network=network,
            state=state,
            clock=self.clock,
            runtime=Runtime(self.connection, self.clock.now()),
            translator_for=translator,
            bot_names=[cfg.matrix.user_id, cfg.matrix.display_name, localpart],
        )
        space = (
            SpaceManager(
                client,
                self.db,
                network_name=cfg.network.name,
                language=cfg.network.language,
                server_name=cfg.matrix.user_id.split(":", 1)[1],
                admins=cfg.network.admins,
            )
            if cfg.network.space
            else None
        )
        due = DueWorker(
            self.db,
            self.clock,
            self.scheduler,
            sender,
            network=lambda: dispatcher.network,
            translator=translator,
            on_fired=self._count_fired,
        )
        router = Router(
            client=client,
            state=state,
            dispatcher=dispatcher,
            db=self.db,
            sender=sender,
            clock=self.clock,
            metrics=self.metrics,
            allowed_servers=cfg.matrix.allowed_servers,
            translator_for=translator,
            network_language=cfg.network.language,
            network_name=cfg.network.name,
            prefix=cfg.matrix.command_prefix,
            on_labs_changed=space.kick if space else None,
            on_due_added=due.nudge,
            on_announce=watcher.kick,
        )
        await router.load()
        await watcher.load()
        self.metrics.watch_sync(self.connection.seconds_since_sync)
        self.scheduler.add_job(self._prune, "interval", hours=6, next_run_time=datetime.now(UTC))
        self.scheduler.add_job(self._refresh_gauges, "interval", seconds=15, next_run_time=datetime.now(UTC))
        self.scheduler.start()
        async with self.db.transaction() as store:  # singleton recurring items (one indexed query)
            await ensure_recurring(store, self.clock.now(), network)
        await due.start()
        tasks = [
            asyncio.create_task(sender.run(), name="sender"),
            asyncio.create_task(self.connection.sync_forever(router.on_sync), name="sync"),
            asyncio.create_task(watcher.run(), name="announcements"),
        ]
        if space is not None:
            tasks.append(asyncio.create_task(space.run(), name="space"))  # never ends on its own
        for task in tasks:
            task.add_done_callback(self._watch)
        if cfg.network.federal_room:
            tasks.append(asyncio.create_task(self._join_federal_room(dispatcher), name="federal-room"))
        log.info("Labnetz is running as %s (device %s)", cfg.matrix.user_id, self.connection.device_id)
        try:
            await self._stop.wait()
        finally:
            log.info("stopping")
            self.connection.stop()
            await sender.drain()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.scheduler.shutdown(wait=False)
            if self.web:
                await self.web.stop()
            await self.connection.close()
            await self.db.close()

    async def _join_federal_room(self, dispatcher: Dispatcher) -> None:
        room = self.config.network.federal_room
        delay = 1.0
        while True:
            try:
                resp = await self.connection.client.join(room)
            except TRANSPORT_ERRORS as err:
                resp = err
            if isinstance(resp, JoinResponse):
                dispatcher.network = replace(dispatcher.network, federal_room_id=resp.room_id)
                log.info("joined the federal room %s (%s)", room, resp.room_id)
                return
            log.warning("cannot join the federal room %s yet (%s); retrying in %.0f s", room, resp, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 300)

    def _count_fired(self, fired: int, failed: int) -> None:
        self.metrics.due_fired.labels("ok").inc(fired)
        self.metrics.due_fired.labels("failed").inc(failed)

    async def _prune(self) -> None:
        async with self.db.transaction() as store:
            await store.events.prune(self.clock.now() - HANDLED_EVENTS_KEPT)

    async def _refresh_gauges(self) -> None:
        async with self.db.transaction() as store:
            self.metrics.set_outbox(await store.outbox.counts())
            self.metrics.due_pending.set(await store.due.count_pending())
