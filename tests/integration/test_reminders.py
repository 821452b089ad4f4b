"""Reminders through a real Synapse, in German: on time, recurring, after kill -9, through an outage."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from nio import AsyncClient, RoomGetEventResponse
from sqlalchemy import select

from bot.devbot import BotProcess
from bot.devserver import LocalSynapse
from commands.duework import LATE_VARIANT
from storage import Database
from storage.models import OutboxRow

from .matrix_helpers import (
    ask,
    bot_in_room_on,
    replies_to,
    room_bodies,
    send_text,
    wait_for_message,
)

MakeBot = Callable[..., BotProcess]
MakeUser = Callable[..., tuple[str, str]]
NioClient = Callable[..., Awaitable[AsyncClient]]
BotAndUser = Callable[..., Awaitable[tuple[BotProcess, AsyncClient, str]]]
BERLIN = ZoneInfo("Europe/Berlin")


async def server_ts(client: AsyncClient, room: str, event_id: str) -> int:
    resp = await client.room_get_event(room, event_id)
    assert isinstance(resp, RoomGetEventResponse), resp
    return int(resp.event.server_timestamp)


def reminder_id(reply: str) -> int:
    found = re.search(r"#(\d+)", reply)
    assert found, reply
    return int(found[1])


def reminder_from(bot: BotProcess, text: str) -> Callable[[object], bool]:
    def match(event: object) -> bool:
        body = getattr(event, "body", "")
        return getattr(event, "sender", "") == bot.user_id and "Erinnerung" in body and text in body

    return match


async def wait_quiet(client: AsyncClient, room: str, seconds: float) -> None:
    """Let the room settle, so that a second copy would have arrived."""
    await asyncio.sleep(seconds)


async def test_a_reminder_in_five_seconds_arrives_about_five_seconds_later(
    bot_and_user: BotAndUser
) -> None:
    bot, user, room = await bot_and_user("anna")

    command = await send_text(user, room, "!erinnere in 5 Sekunden; Test")
    reply = (await wait_for_message(user, room, replies_to(command), timeout=20)).body
    assert reply.startswith("Erinnerung #") and reply.endswith(": Test"), reply
    fired = await wait_for_message(user, room, reminder_from(bot, "Test"), timeout=30)
    assert fired.body == "⏰ Erinnerung: Test"
    assert fired.source["content"]["m.mentions"] == {"user_ids": [user.user_id]}
    assert LATE_VARIANT not in fired.source["content"]  # the late form stays in the outbox
    delay = (fired.server_timestamp - await server_ts(user, room, command)) / 1000
    assert 5.0 <= delay <= 8.0, f"arrived {delay:.2f} s after the command"


async def test_a_weekly_reminder_shows_the_next_monday_and_can_be_cancelled(
    bot_and_user: BotAndUser
) -> None:
    bot, user, room = await bot_and_user("bert")

    before = datetime.now(BERLIN)
    reply = await ask(user, room, "!erinnere jeden Montag 9 Uhr; Jour fixe")
    after = datetime.now(BERLIN)
    expected = set()
    for now in (before, after):  # the bot's clock read between the two
        monday = now.date() + timedelta(days=(0 - now.weekday()) % 7)
        if datetime.combine(monday, datetime.min.time().replace(hour=9), tzinfo=BERLIN) <= now:
            monday += timedelta(days=7)
        expected.add(f"Mo {monday:%d.%m.%Y} 09:00")
    ident = reminder_id(reply)
    assert any(reply == f"Wiederkehrende Erinnerung #{ident} (jeden Montag 9 Uhr), nächste am {when}: Jour fixe"
               for when in expected), reply

    listing = await ask(user, room, "!erinnerungen")
    assert "1 ausstehende Erinnerung" in listing
    assert any(f"#{ident} nächste {when} (jeden Montag 9 Uhr): Jour fixe" in listing for when in expected), listing

    cancelled = await ask(user, room, f"!erinnerung loeschen {ident}")
    assert cancelled == f"Erinnerung #{ident} gelöscht: Jour fixe"
    listing = await ask(user, room, "!erinnerungen")
    assert listing.startswith("Dieser Raum hat keine ausstehenden Erinnerungen."), listing
    again = await ask(user, room, f"!erinnerung loeschen {ident}")
    assert again == f"Dieser Raum hat keine ausstehende Erinnerung #{ident}."


async def test_bad_input_gets_clear_german_errors(bot_and_user: BotAndUser) -> None:
    bot, user, room = await bot_and_user("carla")
    missing = await ask(user, room, "!erinnere morgen 9 Uhr Antrag")
    assert missing.startswith("Bitte trennen Sie Zeitpunkt und Text mit „;“"), missing
    no_date = await ask(user, room, "!erinnere 31.02.2027; Antrag")
    assert no_date.startswith("Das Datum „31.02.2027“ gibt es nicht."), no_date
    listing = await ask(user, room, "!erinnerungen")
    assert listing.startswith("Dieser Raum hat keine ausstehenden Erinnerungen."), listing


async def test_a_reminder_due_while_the_bot_was_killed_comes_once_marked_late(
    bot_and_user: BotAndUser, database_url: str
) -> None:
    """kill -9, the reminder falls due during the downtime, restart: exactly one late copy.

    The downtime must exceed the 60 s after which a firing counts as late. Rather than wait that
    long, the test moves the due time back by two minutes while the bot is dead, which is what
    the database looks like after a two-minute outage.
    """
    bot, user, room = await bot_and_user("dora")
    reply = await ask(user, room, "!erinnere in 1 Minute; Nach dem Absturz")
    ident = reminder_id(reply)
    bot.kill()

    db = Database(database_url)
    try:
        async with db.transaction() as store:
            await store.due.reschedule(ident, datetime.now(UTC) - timedelta(minutes=2))
        bot.start()
        fired = await wait_for_message(user, room, reminder_from(bot, "Nach dem Absturz"), timeout=60)
        assert fired.body.startswith("⏰ Erinnerung (verspätet, fällig war "), fired.body
        assert fired.body.endswith("): Nach dem Absturz")
        await wait_quiet(user, room, 5)
        bodies = await room_bodies(user, room, bot.user_id)
        assert sum("Nach dem Absturz" in b and b.startswith("⏰") for b in bodies) == 1, bodies
        async with db.transaction() as store:
            item = await store.due.get(ident)
        assert item is not None and item.state == "done" and item.fired_count == 1
    finally:
        await db.close()


async def test_a_reminder_due_while_the_homeserver_is_down_arrives_once(
    make_bot: MakeBot, tmp_path: Path
) -> None:
    with LocalSynapse(directory=tmp_path / "hs-reminder-outage") as hs:
        bot = make_bot(f"sqlite+aiosqlite:///{tmp_path}/outage.db", hs=hs)
        uid = hs.register("outage-anna", "pw-outage-anna")
        async with bot_in_room_on(hs, bot, uid, "pw-outage-anna", tmp_path / "outage-store") as (user, room):
            reply = await ask(user, room, "!erinnere in 5 Sekunden; Trotz Ausfall")
            ident = reminder_id(reply)
            hs.stop()
            stopped = time.monotonic()
            await asyncio.sleep(12)  # due after 5 s: the firing happens while Synapse is down
            assert bot.running, f"the bot exited during the outage:\n{bot.log_tail()}"
            db = Database(f"sqlite+aiosqlite:///{tmp_path}/outage.db")
            try:
                async with db.transaction() as store:
                    item = await store.due.get(ident)
                assert item is not None and item.state == "done", item  # fired during the outage
                # It was fired on time, so its row carries the late form for a long outage. As in
                # the kill test, make the outage look two minutes long instead of waiting for it.
                async with db.transaction() as store:
                    rows = (await store.session.scalars(select(OutboxRow).where(
                        OutboxRow.purpose == "reminder", OutboxRow.room_id == room))).all()
                    assert len(rows) == 1 and LATE_VARIANT in rows[0].content, rows
                    variant = rows[0].content[LATE_VARIANT]
                    rows[0].content = {**rows[0].content, LATE_VARIANT: {
                        **variant, "after": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}}
            finally:
                await db.close()
            hs.start()
            fired = await wait_for_message(user, room, reminder_from(bot, "Trotz Ausfall"), timeout=60)
            assert fired.server_timestamp / 1000 > time.time() - (time.monotonic() - stopped)
            assert fired.body.startswith("⏰ Erinnerung (verspätet, fällig war "), fired.body
            assert LATE_VARIANT not in fired.source["content"], fired.source["content"]
            await wait_quiet(user, room, 5)
            bodies = await room_bodies(user, room, bot.user_id)
            assert sum("Trotz Ausfall" in b and b.startswith("⏰") for b in bodies) == 1, bodies
