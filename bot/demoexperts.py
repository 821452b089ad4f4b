"""Demo experts for `make demo`: two demo users enter themselves in the expert directory the way
anyone does, through Matrix, once the bot is up: `!experte eintragen …` (the bot shows what it
will store), then `!experte bestaetigen` (the consent). So `!wer kennt sich mit Datenschutz aus`
finds someone in the demo, and the two-step consent is the real one.

Idempotent: a user who is listed already is left alone on the next run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nio import AsyncClient, RoomMessageNotice, RoomSendResponse, SyncResponse

from storage import Database

# localpart, room alias localpart (an unencrypted lab room: the set-up client has no E2EE), entry
DEMO_EXPERTS = (
    ("ben", "ogl-koeln",
     '!experte eintragen Jurist --themen "Datenschutzrecht, Vergaberecht, IT-Recht" '
     '--info "Berät Initiativen und Verwaltungen zu DSGVO und Vergabe."'),
    ("clara", "ogl-leipzig",
     '!experte eintragen Designerin --themen "UX-Design, Barrierefreiheit, Service Design" '
     '--sprachen de,en --info "Gestaltet barrierefreie Formulare und Beteiligungsportale."'),
)
CONFIRM = "!experte bestaetigen"


async def _listed(database_url: str, user_id: str) -> bool:
    db = Database(database_url)
    try:
        async with db.transaction() as store:
            entry = await store.experts.of_user(user_id)
        return entry is not None and entry.status == "active"
    finally:
        await db.close()


async def _reply_to(client: AsyncClient, since: str, bot: str, event_id: str, timeout: float) -> tuple[str, str]:
    """Sync until the bot's reply to `event_id` arrives; returns (reply body, next since token)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = await client.sync(timeout=2000, since=since)
        if not isinstance(resp, SyncResponse):
            await asyncio.sleep(0.5)
            continue
        since = resp.next_batch
        for room in resp.rooms.join.values():
            for event in room.timeline.events:
                relates: dict[str, Any] = event.source.get("content", {}).get("m.relates_to", {})
                if (isinstance(event, RoomMessageNotice) and event.sender == bot
                        and relates.get("m.in_reply_to", {}).get("event_id") == event_id):
                    return event.body, since
    raise TimeoutError(f"no reply from {bot} within {timeout:.0f} s")


async def _until_bot_joined(client: AsyncClient, room_id: str, bot: str, timeout: float) -> str:
    """Sync until the bot is a joined member of the room (a message sent before it joined would
    never reach it); returns the since token to read replies from."""
    deadline = time.monotonic() + timeout
    since: str | None = None
    while time.monotonic() < deadline:
        resp = await client.sync(timeout=1000 if since else 0, since=since, full_state=since is None)
        if isinstance(resp, SyncResponse):
            since = resp.next_batch
            room = client.rooms.get(room_id)
            if room is not None and bot in room.users and bot not in room.invited_users:
                return since
        else:
            await asyncio.sleep(0.5)
    raise TimeoutError(f"{bot} has not joined {room_id} within {timeout:.0f} s")


async def enter_experts(login: Any, logout: Any, user_id_of: Any, rooms: dict[str, str], server_name: str,
                        bot: str, database_url: str, timeout: float = 30.0) -> list[str]:
    """Let each demo expert who is not listed yet join and confirm; returns who was entered.

    `login(localpart)` gives a set-up client, `logout(client)` ends it; `user_id_of(localpart)`
    gives the full Matrix id."""
    entered = []
    for localpart, alias, join in DEMO_EXPERTS:
        if await _listed(database_url, user_id_of(localpart)):
            continue
        room_id = rooms[f"#{alias}:{server_name}"]
        client: AsyncClient = await login(localpart)
        try:
            since = await _until_bot_joined(client, room_id, bot, timeout)
            for body in (join, CONFIRM):
                sent = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
                if not isinstance(sent, RoomSendResponse):
                    raise RuntimeError(f"{localpart} could not send {body!r}: {sent}")
                reply, since = await _reply_to(client, since, bot, sent.event_id, timeout)
                if body == CONFIRM and not reply.startswith("Vielen Dank"):
                    raise RuntimeError(f"{localpart}: unexpected answer to {body!r}: {reply[:120]}")
            entered.append(localpart)
        finally:
            await logout(client)
    return entered
