"""From sync responses to commands: membership, invites, messages, undecryptable events."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from nio import (
    AsyncClient,
    InviteMemberEvent,
    JoinResponse,
    MegolmEvent,
    ReactionEvent,
    RedactionEvent,
    RoomMessageText,
    SyncResponse,
)

from bot.client import TRANSPORT_ERRORS
from bot.mentions import command_text
from bot.metrics import Metrics
from bot.roomstate import RoomState, creators_in
from bot.sender import Sender
from commands.context import Clock
from commands.dispatch import Dispatcher, IncomingMessage
from commands.i18n import Translator
from commands.relay import relay_reply
from commands.reply import Reply
from storage import Database

log = logging.getLogger(__name__)

UNDECRYPTABLE_NOTICE_EVERY = 600.0  # seconds, per sender and room
# A reply to a relayed message that was sent a moment ago: its event id is recorded shortly.
RELAY_WAITS = (0.3, 0.6, 1.2, 2.5, 5.0)  # seconds


class _NotRelayed(Exception):
    pass


def strip_reply_fallback(body: str) -> str:
    """Replies carry the quoted original as '> ' lines first; the command follows them."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).strip()


class Router:
    def __init__(
        self,
        *,
        client: AsyncClient,
        state: RoomState,
        dispatcher: Dispatcher,
        db: Database,
        sender: Sender,
        clock: Clock,
        metrics: Metrics,
        allowed_servers: tuple[str, ...],
        translator_for: Callable[[str], Translator],
        network_language: str,
        network_name: str,
        prefix: str,
        on_labs_changed: Callable[[], None] | None = None,
        on_due_added: Callable[[datetime], None] | None = None,
        on_announce: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.on_announce = on_announce  # the announcement watcher's kick()
        self.on_labs_changed = on_labs_changed  # e.g. the Space manager's kick()
        self.on_due_added = on_due_added  # the due-work timer: re-arm if earlier
        self.dispatcher = dispatcher
        self.db = db
        self.sender = sender
        self.clock = clock
        self.metrics = metrics
        self.allowed_servers = allowed_servers
        self.translator_for = translator_for
        self.network_language = network_language
        self.network_name = network_name
        self.prefix = prefix
        self.state = state
        self._known_rooms: set[str] = set()
        self._undecryptable_noticed: dict[tuple[str, str], float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._greet: set[str] = set()  # joined on invite, greeted once sync shows the room

    async def load(self) -> None:
        """Creators of known rooms: their create events won't come again in incremental syncs."""
        async with self.db.transaction() as store:
            for room_id, creators in (await store.rooms.creators()).items():
                self.state.creators[room_id] = frozenset(creators)

    async def on_sync(self, resp: SyncResponse, first: bool) -> None:
        known_before = set(self._known_rooms)
        for room_id, info in resp.rooms.join.items():
            await self._remember_room(room_id, creators_in([*info.state, *info.timeline.events]))
        for room_id in self._greet & set(resp.rooms.join):
            self._greet.discard(room_id)
            await self._greet_room(room_id)
        for room_id in resp.rooms.leave:
            await self._forget_room(room_id)
        for room_id, info in resp.rooms.invite.items():
            self._on_invite(room_id, info.invite_state)
        if first:
            return  # history from before the first start is not answered
        for room_id, info in resp.rooms.join.items():
            if info.timeline.limited and room_id in known_before:
                log.warning("sync gap in %s: older events were skipped by the homeserver", room_id)
            for event in info.timeline.events:
                try:
                    await self._on_event(room_id, event)
                except Exception:
                    # One bad event must not stop the others (or the sync loop).
                    log.exception("handling %s in %s failed", getattr(event, "event_id", "?"), room_id)

    async def _on_event(self, room_id: str, event: object) -> None:
        sender = getattr(event, "sender", None)
        if sender is None or sender == self.client.user_id:
            return
        if isinstance(event, RoomMessageText):
            relates = event.source.get("content", {}).get("m.relates_to", {})
            if relates.get("rel_type") == "m.replace":
                return  # edits are not commands; the original already was one (or not)
            body = strip_reply_fallback(command_text(event.source.get("content", {}), event.body))
            reply_to = relates.get("m.in_reply_to", {}).get("event_id")
            if isinstance(reply_to, str) and not body.lstrip().startswith(self.prefix):
                # A reply to a relayed question or answer goes to the other side, also in a
                # two-person room where any other message would be a command.
                if await self._relay(room_id, event.event_id, sender, body, reply_to, RELAY_WAITS) != "unknown":
                    return
            message = IncomingMessage(
                event_id=event.event_id,
                room_id=room_id,
                sender=sender,
                body=body,
                sender_name=self.state.display_name(room_id, sender),
            )
            started = time.perf_counter()
            outcome = await self.dispatcher.handle(message)
            if outcome.command is not None or outcome.result == "unknown":
                self.metrics.command(outcome.command or "unknown", outcome.result, time.perf_counter() - started)
            if outcome.outbox_rows:
                self.sender.deliver(outcome.outbox_rows)
            if outcome.scheduled:
                self.sender.kick()
            if "labs" in outcome.signals and self.on_labs_changed is not None:
                self.on_labs_changed()
            if outcome.due_at is not None and self.on_due_added is not None:
                self.on_due_added(outcome.due_at)
            if "announce" in outcome.signals and self.on_announce is not None:
                self.on_announce()
        elif isinstance(event, ReactionEvent):
            await self._on_reaction(room_id, event, sender)
        elif isinstance(event, RedactionEvent) and event.redacts:
            async with self.db.transaction() as store:  # a withdrawn reaction is no acknowledgement
                await store.announcements.remove_ack(event.redacts)
        elif isinstance(event, MegolmEvent):
            await self._on_undecryptable(room_id, event)

    async def _relay(
        self, room_id: str, event_id: str, sender: str, body: str, reply_to: str, waits: tuple[float, ...]
    ) -> str:
        """A reply to a relayed message goes to the other side, once (the event is claimed).
        "relayed", "wait" (retried shortly, in the background) or "unknown" (not for the relay)."""
        now = self.clock.now()
        try:
            async with self.db.transaction() as store:
                if not await store.events.claim(event_id, room_id, now):
                    return "relayed"
                result = await relay_reply(
                    store, room_id=room_id, event_id=event_id, sender=sender,
                    sender_name=self.state.display_name(room_id, sender), body=body,
                    in_reply_to=reply_to, now=now, network=self.dispatcher.network,
                    translator_for=self.translator_for,
                )
                if result != "relayed":
                    raise _NotRelayed(result)
                rows = store.outbox.due_now(now)
        except _NotRelayed as outcome:
            if outcome.args[0] == "wait" and waits:
                self._spawn(self._relay_later(room_id, event_id, sender, body, reply_to, waits))
            return str(outcome.args[0])
        self.sender.deliver(rows)
        return "relayed"

    async def _relay_later(
        self, room_id: str, event_id: str, sender: str, body: str, reply_to: str, waits: tuple[float, ...]
    ) -> None:
        await asyncio.sleep(waits[0])
        if await self._relay(room_id, event_id, sender, body, reply_to, waits[1:]) == "wait" and len(waits) == 1:
            log.warning("reply %s in %s: the relayed message it answers was never recorded", event_id, room_id)

    async def _on_reaction(self, room_id: str, event: ReactionEvent, sender: str) -> None:
        """A reaction on a copy of an announcement is that lab's acknowledgement."""
        async with self.db.transaction() as store:
            copy = await store.announcements.copy_by_event(room_id, event.reacts_to)
            if copy is not None:
                await store.announcements.add_ack(copy, sender, event.key, event.event_id, self.clock.now())

    async def _on_undecryptable(self, room_id: str, event: MegolmEvent) -> None:
        log.warning("cannot decrypt %s from %s in %s", event.event_id, event.sender, room_id)
        self.metrics.undecryptable.inc()
        self._spawn(self._request_key(event))
        key = (event.sender, room_id)
        now = time.monotonic()
        last = self._undecryptable_noticed.get(key)
        if last is not None and now - last < UNDECRYPTABLE_NOTICE_EVERY:
            return
        self._undecryptable_noticed[key] = now
        async with self.db.transaction() as store:
            room = await store.rooms.get(room_id)
            tr = self.translator_for((room.language if room else None) or self.network_language)
            reply = Reply.text(
                tr.gettext(
                    "I could not decrypt your message: the key did not reach me. "
                    "Please send it again; if that does not help, leave and rejoin the room."
                )
            )
            reply.mentions.append(event.sender)
            await store.outbox.add(
                room_id, reply.content(in_reply_to=event.event_id), now=self.clock.now(), purpose="notice"
            )
            rows = store.outbox.due_now(self.clock.now())
        self.sender.deliver(rows)

    async def _request_key(self, event: MegolmEvent) -> None:
        try:
            await self.client.request_room_key(event)
        except Exception as err:  # a duplicate request raises; never worth more than a log line
            log.debug("room key request for %s not sent: %r", event.event_id, err)

    def _on_invite(self, room_id: str, invite_state: list[object]) -> None:
        inviter = None
        for event in invite_state:
            if (
                isinstance(event, InviteMemberEvent)
                and event.state_key == self.client.user_id
                and event.membership == "invite"
            ):
                inviter = event.sender
        if inviter is None:
            return
        server = inviter.split(":", 1)[1] if ":" in inviter else ""
        if server not in self.allowed_servers:
            log.info("ignoring invite to %s from %s (server not allowed)", room_id, inviter)
            self._spawn(self._reject(room_id))
            return
        self._spawn(self._join_and_greet(room_id, inviter))

    async def _reject(self, room_id: str) -> None:
        try:
            await self.client.room_leave(room_id)
        except TRANSPORT_ERRORS as err:
            log.warning("could not reject invite to %s: %r", room_id, err)

    async def _join_and_greet(self, room_id: str, inviter: str) -> None:
        delay = 1.0
        for _ in range(8):
            try:
                resp = await self.client.join(room_id)
            except TRANSPORT_ERRORS as err:
                resp = err
            if isinstance(resp, JoinResponse):
                break
            log.warning("joining %s failed (%s); retrying in %.0f s", room_id, resp, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60)
        else:
            return
        log.info("joined %s on invite from %s", room_id, inviter)
        if room_id in self.client.rooms:
            await self._greet_room(room_id)
        else:
            self._greet.add(room_id)

    async def _greet_room(self, room_id: str) -> None:
        reference = f"greeting:{room_id}"[:64]
        async with self.db.transaction() as store:
            if await store.outbox.by_reference(reference):
                return
            tr = self.translator_for(self.network_language)
            reply = Reply.text(
                tr.gettext("Hello! I am the bot of the {network} network."), network=self.network_name
            )
            reply.p(tr.gettext("`{help}` shows what I can do for you."), help=self.prefix + tr.gettext("help"))
            reply.p(
                tr.gettext("Is this a lab's room? Link it, so that it gets the lab's bookings and news: `{link}` (all labs: `{labs}`)."),
                link=self.prefix + tr.gettext("lab link <lab>"),
                labs=self.prefix + tr.gettext("labs"),
            )
            await store.outbox.add(
                room_id, reply.content(), now=self.clock.now(), purpose="greeting", reference=reference
            )
            rows = store.outbox.due_now(self.clock.now())
        self.sender.deliver(rows)

    async def _remember_room(self, room_id: str, creators: frozenset[str] | None) -> None:
        if creators is not None:
            self.state.creators[room_id] = creators
        elif room_id in self._known_rooms:
            return
        room = self.client.rooms.get(room_id)
        async with self.db.transaction() as store:
            await store.rooms.upsert(
                room_id,
                now=self.clock.now(),
                name=room.display_name if room else None,
                encrypted=room.encrypted if room else None,
                is_direct=self.state.is_direct(room_id),
                joined=True,
                creators=sorted(creators) if creators is not None else None,
            )
        self._known_rooms.add(room_id)

    async def _forget_room(self, room_id: str) -> None:
        self._known_rooms.discard(room_id)
        async with self.db.transaction() as store:
            await store.rooms.upsert(room_id, now=self.clock.now(), joined=False)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
