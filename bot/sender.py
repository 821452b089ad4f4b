"""Outbox delivery: deterministic transaction ids, bounded concurrency, backoff, results recorded.

Every outgoing event (replies included) is an outbox row committed before it is sent. The
transaction id is derived from the row's id, so a resend after a crash is de-duplicated by
the homeserver (it remembers transaction ids per device for 24 hours).

Two kinds of rows need Matrix I/O that a command cannot do, so they are resolved here:
- A row whose `room_id` is a user id ("@…") is a direct message: it goes to the bot's direct
  room with that user, created once and remembered in `direct_rooms` (a room with exactly the
  bot and the user is reused, which also covers a crash between creating and remembering it).
  The resolved room id is written back to the row before sending.
- A row whose content carries `labnetz.upload` ({"data", "filename", "mimetype"}) is a file:
  the data is uploaded, and the row's content is replaced by the `m.file` event (without the
  data) before sending. A retry then sends the same event with the same transaction id.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from nio import (
    AsyncClient,
    RoomCreateResponse,
    RoomMessagesError,
    RoomPreset,
    RoomRedactResponse,
    RoomSendResponse,
    UploadResponse,
)
from nio.exceptions import LocalProtocolError

from bot.client import TRANSPORT_ERRORS
from bot.config import DeliveryConfig
from commands.context import Clock
from commands.duework import late_variant
from storage import Database
from storage.models import OutboxRow

log = logging.getLogger(__name__)

# The homeserver keeps transaction ids for 24 hours; stay well inside that before resending.
TXN_MEMORY = timedelta(hours=23)
SENT_FLUSH_DELAY = 0.25  # seconds
FLUSH_ON_STOP = 5.0  # seconds the last record of sent rows may take when stopping
PERMANENT = {"M_FORBIDDEN", "M_NOT_FOUND", "M_BAD_JSON", "M_NOT_JSON", "M_TOO_LARGE", "M_UNKNOWN_TOKEN"}
# Broadcast rows wait behind everything else, so a reply is not queued behind 500 copies.
BULK_PURPOSES = frozenset({"announcement", "announcement-edit", "announcement-retract"})


class Slots:
    """A semaphore with two queues: a free slot goes to a waiting urgent row before a bulk one."""

    def __init__(self, size: int) -> None:
        self.free = size
        self._waiting: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (deque(), deque())

    async def acquire(self, bulk: bool) -> None:
        if self.free > 0 and not any(self._waiting):
            self.free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[bulk].append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # handed a slot just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        for queue in self._waiting:
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)
                    return
        self.free += 1


UPLOAD = "labnetz.upload"


def transaction_id(installation_id: str, row_id: int) -> str:
    return f"labnetz.{installation_id}.{row_id}"


class Sender:
    def __init__(
        self,
        client: AsyncClient,
        db: Database,
        clock: Clock,
        config: DeliveryConfig,
        *,
        on_result: Callable[[OutboxRow, str], None] | None = None,
        ready: asyncio.Event | None = None,
    ) -> None:
        self.client = client
        self.db = db
        self.clock = clock
        self.config = config
        self.on_result = on_result
        self.ready = ready  # set once the client knows its rooms (after the first sync)
        self._wake = asyncio.Event()
        self._limit = Slots(config.concurrency)
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._sent: dict[int, tuple[str, datetime]] = {}  # row id -> (event id, sent at)
        self._flush_task: asyncio.Task[None] | None = None
        self._direct_locks: dict[str, asyncio.Lock] = {}

    def kick(self) -> None:
        """New rows were committed: look for due rows now instead of at the next wake-up."""
        self._wake.set()

    def deliver(self, rows: list[OutboxRow]) -> None:
        """Fast path for rows just committed and due now (replies): no sweep query needed."""
        for row in rows:
            self._start(row)

    async def run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                next_due = await self._dispatch_due()
            except Exception:
                log.exception("outbox sweep failed")
                next_due = None
            timeout = 30.0
            if next_due is not None:
                timeout = max(0.05, min(timeout, (next_due - self.clock.now()).total_seconds()))
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            except TimeoutError:
                pass

    async def _dispatch_due(self) -> datetime | None:
        now = self.clock.now()
        async with self.db.transaction() as store:
            rows = [r for r in await store.outbox.due(now, limit=200) if r.id not in self._in_flight]
            # Recorded before sending: after 24 h a resend is no longer de-duplicated.
            await store.outbox.started([r.id for r in rows], now)
            next_due = await store.outbox.next_due_at(exclude=self._in_flight | {r.id for r in rows})
        for row in rows:
            if row.first_attempt_at is None:
                row.first_attempt_at = now
            self._start(row)
        if len(rows) == 200:
            self._wake.set()
        return next_due

    def _start(self, row: OutboxRow) -> None:
        if row.id in self._in_flight or self._stopping:
            return
        self._in_flight.add(row.id)
        task = asyncio.create_task(self._deliver(row))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, row: OutboxRow) -> None:
        try:
            if self.ready is not None:
                await self.ready.wait()
            await self._limit.acquire(row.purpose in BULK_PURPOSES)
            try:
                await self._attempt(row)
            finally:
                self._limit.release()
        except Exception:
            log.exception("delivery of outbox row %s crashed", row.id)
            await self._retry(row, "internal error", counted=True)
        finally:
            if row.id not in self._sent:  # sent rows stay "in flight" until recorded
                self._in_flight.discard(row.id)

    async def _attempt(self, row: OutboxRow) -> None:
        txn = transaction_id(self.db.installation_id, row.id)
        now = self.clock.now()
        if row.first_attempt_at is not None and now - row.first_attempt_at > TXN_MEMORY:
            await self._confirm_old(row, txn)
            return
        try:
            if row.room_id.startswith("@") and not await self._resolve_direct(row):
                return
            if UPLOAD in row.content and not await self._upload(row):
                return
            content = await self._late_checked(row, now)
            if row.event_type == "m.room.redaction":
                resp = await self.client.room_redact(
                    row.room_id, row.content["redacts"], row.content.get("reason"), tx_id=txn
                )
            else:
                resp = await self.client.room_send(
                    row.room_id, row.event_type, content, tx_id=txn, ignore_unverified_devices=True
                )
        except TRANSPORT_ERRORS as err:
            # The homeserver may or may not have the event; resending with the same id is safe.
            await self._retry(row, f"transport: {err!r}", counted=False)
            return
        except LocalProtocolError as err:  # e.g. a room the bot has left: nothing was sent
            await self._retry(row, f"local: {err}", counted=True)
            return
        if isinstance(resp, (RoomSendResponse, RoomRedactResponse)):
            self._sent[row.id] = (resp.event_id, self.clock.now())
            self._schedule_flush()
            self._report(row, "sent")
            return
        code = getattr(resp, "status_code", None) or "unknown"
        message = f"{code}: {getattr(resp, 'message', resp)}"
        if code == "M_LIMIT_EXCEEDED":
            wait_ms = getattr(resp, "retry_after_ms", None) or 1000
            async with self.db.transaction() as store:
                await store.outbox.defer(
                    row.id, message, self.clock.now() + timedelta(milliseconds=wait_ms)
                )
            self._report(row, "throttled")
            self._wake.set()
            return
        if code in PERMANENT:
            await self._fail(row, message)
            return
        await self._retry(row, message, counted=True)

    async def _late_checked(self, row: OutboxRow, now: datetime) -> dict[str, Any]:
        """The content to send now: a due row that only gets out after its due time (the
        homeserver was down) becomes its late variant, kept in the row so that a retry sends
        the same; otherwise the row's content without the variant."""
        content, late = late_variant(row.content, now)
        if late:
            async with self.db.transaction() as store:
                await store.outbox.set_content(row.id, content)
            row.content = content
        return content

    async def _resolve_direct(self, row: OutboxRow) -> bool:
        """Point a row addressed to a user at the bot's direct room with them."""
        user_id = row.room_id
        lock = self._direct_locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            room_id = await self._direct_room(user_id)
        if room_id is None:
            await self._retry(row, f"cannot open a direct room with {user_id}", counted=True)
            return False
        async with self.db.transaction() as store:
            await store.outbox.set_room(row.id, room_id)
        row.room_id = room_id
        return True

    async def _direct_room(self, user_id: str) -> str | None:
        async with self.db.transaction() as store:
            known = await store.experts.direct_rooms.of_user(user_id)
        if known is not None:
            room = self.client.rooms.get(known)
            if room is None or user_id in room.users or user_id in room.invited_users:
                return known  # not synced yet, or the user is still there
        me = self.client.user_id
        for room in self.client.rooms.values():
            members = set(room.users) | set(room.invited_users)
            if members == {me, user_id} and room.room_id != known:
                await self._remember_direct(user_id, room.room_id)
                return room.room_id
        resp = await self.client.room_create(
            is_direct=True, invite=[user_id], preset=RoomPreset.trusted_private_chat
        )
        if not isinstance(resp, RoomCreateResponse):
            log.warning("creating a direct room with %s failed: %s", user_id, resp)
            return None
        await self._remember_direct(user_id, resp.room_id)
        return resp.room_id

    async def _remember_direct(self, user_id: str, room_id: str) -> None:
        async with self.db.transaction() as store:
            await store.experts.direct_rooms.remember(user_id, room_id, self.clock.now())

    async def _upload(self, row: OutboxRow) -> bool:
        """Upload a file row's data and turn the row into its `m.file` event (kept in the row)."""
        spec = row.content[UPLOAD]
        data = spec["data"].encode("utf-8")
        room = self.client.rooms.get(row.room_id)
        encrypt = bool(room and room.encrypted)
        resp, keys = await self.client.upload(
            io.BytesIO(data), content_type=spec.get("mimetype", "application/octet-stream"),
            filename=spec["filename"], encrypt=encrypt, filesize=len(data),
        )
        if not isinstance(resp, UploadResponse):
            await self._retry(row, f"upload failed: {resp}", counted=True)
            return False
        content = {k: v for k, v in row.content.items() if k != UPLOAD}
        content.setdefault("body", spec["filename"])
        content["msgtype"] = "m.file"
        content["info"] = {"mimetype": spec.get("mimetype", "application/octet-stream"), "size": len(data)}
        if encrypt and keys:
            content["file"] = {**keys, "url": resp.content_uri}
        else:
            content["url"] = resp.content_uri
        async with self.db.transaction() as store:
            await store.outbox.set_content(row.id, content)
        row.content = content
        return True

    async def _retry(self, row: OutboxRow, error: str, *, counted: bool) -> None:
        attempts = row.attempts + (1 if counted else 0)
        if counted and attempts >= self.config.max_attempts:
            await self._fail(row, error)
            return
        delay = min(self.config.retry_base_seconds * 2 ** max(attempts - 1, 0), self.config.retry_max_seconds)
        when = self.clock.now() + timedelta(seconds=delay)
        async with self.db.transaction() as store:
            if counted:
                await store.outbox.mark_retry(row.id, error, when)
            else:
                await store.outbox.defer(row.id, error, when)
        self._report(row, "retry")
        self._wake.set()

    async def _fail(self, row: OutboxRow, error: str) -> None:
        log.warning("outbox row %s to %s failed for good: %s", row.id, row.room_id, error)
        async with self.db.transaction() as store:
            await store.outbox.mark_failed(row.id, error)
        self._report(row, "failed")

    async def _confirm_old(self, row: OutboxRow, txn: str) -> None:
        """After 24 h a resend would not be de-duplicated: find the event, or give up loudly."""
        try:
            resp = await self.client.room_messages(row.room_id, start=None, limit=200)
        except TRANSPORT_ERRORS as err:
            await self._retry(row, f"transport: {err!r}", counted=False)
            return
        if isinstance(resp, RoomMessagesError):
            await self._fail(row, f"unconfirmed after 24 h and history unreadable: {resp}")
            return
        for event in resp.chunk:
            unsigned = event.source.get("unsigned", {})
            if unsigned.get("transaction_id") == txn:
                async with self.db.transaction() as store:
                    await store.outbox.mark_sent(row.id, event.event_id, self.clock.now())
                self._report(row, "sent")
                return
        await self._fail(row, "unconfirmed after 24 h: not resent, to avoid a duplicate")

    def _schedule_flush(self) -> None:
        """Record sent rows a moment later, in one transaction: the write then doesn't compete
        with the homeserver delivering the reply. A crash before it only means a resend with
        the same transaction id, which the homeserver de-duplicates."""
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush_sent(delay=SENT_FLUSH_DELAY))

    async def _flush_sent(self, delay: float = 0.0) -> None:
        if delay:
            await asyncio.sleep(delay)
        while self._sent:
            batch, self._sent = self._sent, {}
            try:
                async with self.db.transaction() as store:
                    await store.outbox.mark_sent_many(batch)
            except Exception:
                log.exception("recording %d sent rows failed; retrying", len(batch))
                self._sent = {**batch, **self._sent}
                await asyncio.sleep(1.0)
                continue
            self._in_flight.difference_update(batch)

    def _report(self, row: OutboxRow, result: str) -> None:
        if self.on_result is not None:
            self.on_result(row, result)

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop taking new rows and let deliveries in flight finish."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        try:  # without its database the flush would retry forever; an unrecorded row is resent
            await asyncio.wait_for(self._flush_sent(), timeout=FLUSH_ON_STOP)  # with its id: no duplicate
        except TimeoutError:
            log.warning("stopping without recording %d sent rows; they are resent (de-duplicated) at start", len(self._sent))
