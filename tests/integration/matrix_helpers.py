"""Small nio helpers for integration tests: log in, create rooms, send, wait for replies.

The waits sync the client themselves, so a test needs no background sync task. Every
message a client receives after its login is buffered, so a reply that arrives while
the test is doing something else is still found by the next wait.

The helpers at the end drive the bot (`bot/devbot.py`): a room with it (joined and greeted),
a command and the bot's reply to it (`ask`, `command_reply`), the federal room set-up, and a
bot and user on a homeserver of the test's own.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateError,
    RoomMessageNotice,
    RoomMessagesResponse,
    RoomMessageText,
    RoomSendResponse,
)

from bot.devbot import BotProcess
from bot.devserver import LocalSynapse

MessageEvent = RoomMessageText | RoomMessageNotice


@dataclass
class _Inbox:
    """What one client has received, per room; `taken` marks events already returned."""

    events: dict[str, list[MessageEvent]] = field(default_factory=dict)
    taken: dict[str, set[int]] = field(default_factory=dict)
    undecryptable: dict[str, int] = field(default_factory=dict)


_inboxes: weakref.WeakKeyDictionary[AsyncClient, _Inbox] = weakref.WeakKeyDictionary()


def inbox(client: AsyncClient) -> _Inbox:
    """The client's buffer; registering the callbacks only once per client."""
    box = _inboxes.get(client)
    if box is None:
        box = _Inbox()
        _inboxes[client] = box

        async def on_message(room: MatrixRoom, event: Any) -> None:
            if event.sender != client.user_id:
                box.events.setdefault(room.room_id, []).append(event)

        async def on_undecryptable(room: MatrixRoom, event: Any) -> None:
            box.undecryptable[room.room_id] = box.undecryptable.get(room.room_id, 0) + 1

        client.add_event_callback(on_message, (RoomMessageText, RoomMessageNotice))
        client.add_event_callback(on_undecryptable, MegolmEvent)
    return box


async def login_client(
    hs_url: str,
    user_id: str,
    password: str,
    store_dir: Path,
    encryption: bool = False,
) -> AsyncClient:
    store_dir.mkdir(parents=True, exist_ok=True)
    config = AsyncClientConfig(
        # nio would otherwise sleep and retry silently on M_LIMIT_EXCEEDED.
        max_limit_exceeded=0,
        max_timeouts=2,
        encryption_enabled=encryption,
        store_sync_tokens=False,
    )
    client = AsyncClient(hs_url, user_id, store_path=str(store_dir), config=config)
    resp = await client.login(password, device_name="labnetz-test")
    if not isinstance(resp, LoginResponse):
        await client.close()
        raise AssertionError(f"login of {user_id} failed: {resp}")
    await _sync_checked(client, timeout=0, full_state=True)
    if encryption and client.should_upload_keys:
        await client.keys_upload()
    # Registered after the first sync so only messages from now on count as new.
    inbox(client)
    return client


# Synapse's default of 10 timeline events per sync drops replies when a test sends bursts.
SYNC_FILTER = {"room": {"timeline": {"limit": 200}}, "presence": {"not_types": ["*"]}}


async def _sync_checked(client: AsyncClient, **kwargs: Any) -> None:
    resp = await client.sync(sync_filter=SYNC_FILTER, **kwargs)
    if not hasattr(resp, "next_batch"):
        raise AssertionError(f"sync of {client.user_id} failed: {resp}")


async def sync_once(client: AsyncClient, timeout: int = 0) -> None:
    """One sync, plus the E2EE bookkeeping a real client does after each sync."""
    inbox(client)
    await _sync_checked(client, timeout=timeout)
    if client.olm is not None:
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()


async def create_room(
    client: AsyncClient,
    invite: list[str],
    encrypted: bool = False,
    name: str | None = None,
    direct: bool = False,
    alias: str | None = None,
) -> str:
    initial_state: list[dict[str, Any]] = []
    if encrypted:
        initial_state.append(
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        )
    resp = await client.room_create(
        name=name,
        alias=alias,
        invite=invite,
        is_direct=direct,
        initial_state=initial_state,
    )
    if isinstance(resp, RoomCreateError):
        raise AssertionError(f"room_create failed: {resp}")
    # nio only knows (and can encrypt for) rooms it has seen in a sync.
    deadline = time.monotonic() + 10
    while resp.room_id not in client.rooms:
        if time.monotonic() > deadline:
            raise AssertionError(f"created room {resp.room_id} never showed up in sync")
        await sync_once(client, timeout=500)
    return str(resp.room_id)


async def join_room(client: AsyncClient, room: str) -> str:
    """Join by id or alias (accepting a pending invite) and sync until nio knows the room."""
    resp = await client.join(room)
    if isinstance(resp, JoinError):
        raise AssertionError(f"{client.user_id} could not join {room}: {resp}")
    room_id = str(resp.room_id)
    deadline = time.monotonic() + 10
    while room_id not in client.rooms:
        if time.monotonic() > deadline:
            raise AssertionError(f"joined room {room_id} never showed up in sync")
        await sync_once(client, timeout=500)
    return room_id


async def send_text(client: AsyncClient, room_id: str, body: str, notice: bool = False) -> str:
    room = client.rooms.get(room_id)
    if client.olm is not None and room is not None and room.encrypted and client.should_query_keys:
        # Members who joined since our last send need their devices known first.
        await client.keys_query()
    content = {"msgtype": "m.notice" if notice else "m.text", "body": body}
    resp = await client.room_send(
        room_id, "m.room.message", content, ignore_unverified_devices=True
    )
    if not isinstance(resp, RoomSendResponse):
        raise AssertionError(f"send to {room_id} failed: {resp}")
    return str(resp.event_id)


def _take(box: _Inbox, room_id: str, predicate: Callable[[Any], bool]) -> MessageEvent | None:
    events = box.events.get(room_id, [])
    taken = box.taken.setdefault(room_id, set())
    for index, event in enumerate(events):
        if index not in taken and predicate(event):
            taken.add(index)
            return event
    return None


async def wait_for_message(
    client: AsyncClient,
    room_id: str,
    predicate: Callable[[Any], bool] = lambda event: True,
    timeout: float = 15.0,
) -> MessageEvent:
    """The first not yet returned message from someone else in the room matching predicate.

    Events that don't match stay available for later waits, so the order in which a
    test asks for replies need not match the order in which they arrive.
    """
    box = inbox(client)
    deadline = time.monotonic() + timeout
    while True:
        found = _take(box, room_id, predicate)
        if found is not None:
            return found
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            seen = [f"{e.sender}: {e.body!r}" for e in box.events.get(room_id, [])]
            raise AssertionError(
                f"no matching message in {room_id} within {timeout} s; "
                f"seen {seen}; undecryptable {box.undecryptable.get(room_id, 0)}"
            )
        await sync_once(client, timeout=int(min(1000, max(remaining * 1000, 1))))


async def wait_for_join(
    client: AsyncClient, room_id: str, user_id: str, timeout: float = 15
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        room = client.rooms.get(room_id)
        if room is not None and user_id in room.users and user_id not in room.invited_users:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{user_id} did not join {room_id} within {timeout} s")
        await sync_once(client, timeout=1000)


async def wait_for_invite(client: AsyncClient, room_id: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while room_id not in client.invited_rooms and room_id not in client.rooms:
        if time.monotonic() > deadline:
            raise AssertionError(f"{client.user_id} got no invite to {room_id}")
        await sync_once(client, timeout=1000)


async def close_all(clients: list[AsyncClient]) -> None:
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


# --- the bot ---------------------------------------------------------------------------------


def replies_to(event_id: str) -> Callable[[object], bool]:
    """A predicate for `wait_for_message`: the message is a reply to `event_id`."""

    def match(event: object) -> bool:
        relates = getattr(event, "source", {}).get("content", {}).get("m.relates_to", {})
        return relates.get("m.in_reply_to", {}).get("event_id") == event_id

    return match


async def command_reply(client: AsyncClient, room_id: str, body: str, timeout: float = 15.0) -> MessageEvent:
    """Send `body` (a command) and return the reply to it."""
    return await wait_for_message(client, room_id, replies_to(await send_text(client, room_id, body)), timeout=timeout)


async def ask(client: AsyncClient, room_id: str, body: str, timeout: float = 20.0) -> str:
    """Send a command and return the text of the bot's reply to it."""
    return (await command_reply(client, room_id, body, timeout=timeout)).body


async def room_bodies(client: AsyncClient, room_id: str, sender: str) -> list[str]:
    """Every message body `sender` has in the room, read back from Synapse (oldest first)."""
    resp = await client.room_messages(room_id, limit=500)
    assert isinstance(resp, RoomMessagesResponse), resp
    bodies = []
    for event in reversed(resp.chunk):
        if event.sender == sender and not isinstance(event, MegolmEvent) and hasattr(event, "body"):
            bodies.append(event.body)
    return bodies


async def joined_room_with_bot(bot: BotProcess, user: AsyncClient, encrypted: bool = False) -> str:
    """A fresh room the bot was invited to, joined and greeted."""
    room = await create_room(user, invite=[bot.user_id], encrypted=encrypted)
    greeting = await wait_for_message(user, room, lambda e: e.sender == bot.user_id, timeout=30)
    assert "Guten Tag! Ich bin der Bot des Netzwerks Open Gov Labs." in greeting.body
    assert "!labor verknuepfen <Labor>" in greeting.body  # the next step for a lab's room
    return room


async def invite_and_join(inviter: AsyncClient, member: AsyncClient, room_id: str) -> None:
    """`inviter` invites `member` to the room, and `member` joins."""
    await inviter.room_invite(room_id, member.user_id)
    await join_room(member, room_id)


async def start_bot_with_federal_room(
    make_bot: Callable[..., BotProcess], database_url: str, manager: AsyncClient
) -> tuple[BotProcess, str]:
    """The federal room "Bundesteam", created by `manager` (its moderator, so a community
    manager), and a bot configured with it: invited first, so it joins at start without a
    greeting race, then started. Returns the bot and the room id."""
    federal = await create_room(manager, invite=[], name="Bundesteam")
    bot = make_bot(database_url, federal_room=federal)
    await manager.room_invite(federal, bot.user_id)
    bot.start()
    return bot, federal


@asynccontextmanager
async def bot_in_room_on(
    hs: LocalSynapse, bot: BotProcess, user_id: str, password: str, store_dir: Path
) -> AsyncIterator[tuple[AsyncClient, str]]:
    """For a test on a homeserver of its own: start `bot`, log the user in and give both a room
    (joined and greeted); yields (the user's client, the room). Closes the client and stops the
    bot afterwards."""
    bot.start()
    user = await login_client(hs.url, user_id, password, store_dir)
    try:
        room = await joined_room_with_bot(bot, user)
        yield user, room
    finally:
        await user.close()
        bot.stop()
