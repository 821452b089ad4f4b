"""Reminders through the dispatcher and the due-work engine, in German, on a fixed clock.

The clock starts on Friday 2026-11-27 10:00 in Berlin; firing is `fire_due` at a chosen time,
as the bot's timer would call it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.i18n import translator
from commands.context import FixedClock
from commands.duework import LATE_VARIANT, fire_due
from storage import Database
from storage.models_due import DueState
from tests.unit.commandkit import Chat

ROOM = "!lab:example.org"
OTHER = "!other:example.org"
BOB, EVE, MOD = "@bob:example.org", "@eve:example.org", "@mod:example.org"


@pytest.fixture
def chat(db: Database, clock: FixedClock) -> Chat:
    chat = Chat(db, clock)
    for room in (ROOM, OTHER):
        chat.state.join(room, BOB)
        chat.state.join(room, EVE)
        chat.state.join(room, MOD, 50)
    return chat


async def say(chat: Chat, body: str, sender: str = BOB, room: str = ROOM) -> str:
    return (await chat.reply_of(await chat.send(body, sender=sender, room=room)))["body"]


async def fire(chat: Chat, at: datetime) -> list[dict]:
    """Fire what is due at `at`; the contents of the messages the engine queued."""
    fired = await fire_due(chat.db, at, chat.dispatcher.network, translator)
    return [row.content for row in fired.rows]


async def pending(chat: Chat) -> list:
    async with chat.db.transaction() as store:
        return await store.due.pending(kind="reminder")


async def test_one_off_is_stored_and_fires_once_in_the_room(chat: Chat, clock: FixedClock) -> None:
    reply = await say(chat, "!erinnere in 5 Sekunden; Test")
    [item] = await pending(chat)
    assert reply == f"Erinnerung #{item.id} für Fr 27.11.2026 10:00: Test"
    assert item.due_at == clock.now() + timedelta(seconds=5)
    assert (item.room_id, item.owner, item.recurrence, item.timezone) == (ROOM, BOB, None, "Europe/Berlin")
    assert await fire(chat, clock.now() + timedelta(seconds=4)) == []
    [message] = await fire(chat, clock.now() + timedelta(seconds=5))
    assert message["body"] == "⏰ Erinnerung: Test"
    assert message["formatted_body"] == "<p>⏰ <strong>Erinnerung:</strong> Test</p>"
    assert message["m.mentions"] == {"user_ids": [BOB]}
    # Fired on time, it carries its late form for a homeserver outage, sent after 10:01:05.
    late = message[LATE_VARIANT]
    assert late["after"] == (clock.now() + timedelta(seconds=65)).isoformat()
    assert late["content"]["body"] == "⏰ Erinnerung (verspätet, fällig war Fr 27.11.2026 10:00): Test"
    assert late["content"]["m.mentions"] == {"user_ids": [BOB]}
    assert await fire(chat, clock.now() + timedelta(minutes=5)) == []
    assert await pending(chat) == []


async def test_late_firing_is_marked_late_with_the_due_time(chat: Chat, clock: FixedClock) -> None:
    await say(chat, "!erinnere morgen 9 Uhr; Förderantrag abschicken")
    [message] = await fire(chat, datetime(2026, 11, 28, 11, 30, tzinfo=UTC))  # down from 9:00 to 12:30
    assert message["body"] == "⏰ Erinnerung (verspätet, fällig war Sa 28.11.2026 09:00): Förderantrag abschicken"
    assert LATE_VARIANT not in message  # already late: nothing to swap


async def test_english_room_gets_english(chat: Chat, clock: FixedClock) -> None:
    await say(chat, "!sprache en", sender=MOD)
    reply = await say(chat, "!remind every monday 09:00; jour fixe")
    [item] = await pending(chat)
    assert reply == f"Recurring reminder #{item.id} (every monday 09:00), next on Mon 30.11.2026 09:00: jour fixe"
    [message] = await fire(chat, item.due_at)
    assert message["body"] == f"⏰ Reminder: jour fixe\nNext time: Mon 07.12.2026 09:00 (#{item.id})"


async def test_weekly_lists_its_next_occurrence_and_moves_on(chat: Chat, clock: FixedClock) -> None:
    reply = await say(chat, "!erinnere jeden Montag 9 Uhr; Jour fixe")
    [item] = await pending(chat)
    assert reply == f"Wiederkehrende Erinnerung #{item.id} (jeden Montag 9 Uhr), nächste am Mo 30.11.2026 09:00: Jour fixe"
    assert item.recurrence == "0 9 * * mon"
    await say(chat, "!erinnere übermorgen 14 Uhr; Aufräumen", sender=EVE)
    listing = await say(chat, "!erinnerungen")
    assert listing.splitlines()[:3] == [
        "2 ausstehende Erinnerungen",
        f"• #{item.id + 1} So 29.11.2026 14:00: Aufräumen",
        f"• #{item.id} nächste Mo 30.11.2026 09:00 (jeden Montag 9 Uhr): Jour fixe",
    ]
    [sunday] = await fire(chat, datetime(2026, 11, 29, 13, 0, tzinfo=UTC))
    assert sunday["body"] == "⏰ Erinnerung: Aufräumen" and sunday["m.mentions"] == {"user_ids": [EVE]}
    [message] = await fire(chat, datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    assert message["body"] == f"⏰ Erinnerung: Jour fixe\nNächstes Mal: Mo 07.12.2026 09:00 (#{item.id})"
    assert f"• #{item.id} nächste Mo 07.12.2026 09:00 (jeden Montag 9 Uhr): Jour fixe" in await say(
        chat, "!erinnerungen")
    assert "keine ausstehenden" in await say(chat, "!erinnerungen", room=OTHER)  # per room


async def test_cancel_by_author_or_moderator_only(chat: Chat) -> None:
    await say(chat, "!erinnere morgen 9 Uhr; A")
    await say(chat, "!erinnere morgen 10 Uhr; B")
    first, second = await pending(chat)
    assert await say(chat, f"!erinnerung loeschen {first.id}", sender=EVE) == (
        f"Erinnerung #{first.id} kann nur löschen, wer sie angelegt hat, oder Koordinator:innen dieses Raums.")
    assert await say(chat, f"!erinnerung loeschen {first.id}", room=OTHER) == (
        f"Dieser Raum hat keine ausstehende Erinnerung #{first.id}.")
    assert await say(chat, f"!erinnerung löschen #{first.id}") == f"Erinnerung #{first.id} gelöscht: A"
    assert await say(chat, f"!reminder cancel {second.id}", sender=MOD) == f"Erinnerung #{second.id} gelöscht: B"
    assert await pending(chat) == []
    assert await fire(chat, datetime(2026, 11, 29, tzinfo=UTC)) == []
    async with chat.db.transaction() as store:
        assert (await store.due.get(first.id)).state == DueState.CANCELLED


@pytest.mark.parametrize(("body", "first_line"), [
    ("!erinnere morgen 9 Uhr Antrag", "Bitte trennen Sie Zeitpunkt und Text mit „;“."),
    ("!erinnere 31.02.2027; Antrag", "Das Datum „31.02.2027“ gibt es nicht."),
    ("!erinnere heute 8 Uhr; Antrag", "27.11.2026 08:00 liegt bereits in der Vergangenheit."),
    ("!erinnere morgen 9 Uhr;", "Woran soll ich erinnern? Schreiben Sie den Text hinter das „;“."),
    ("!erinnere ; Antrag", "Wann? Schreiben Sie den Zeitpunkt vor das „;“."),
    ("!erinnere irgendwann; Antrag", "„irgendwann“ habe ich nicht als Zeitpunkt oder Wiederholung verstanden. "
                                     "Beispiele: in 10 Minuten, morgen 9 Uhr, jeden Montag 9 Uhr, "
                                     "jeden 1. des Monats 10 Uhr."),
    ("!erinnere cron 0 9 31 2 *; Nie", "„cron 0 9 31 2 *“ kommt nie vor."),
    ("!erinnerung loeschen", "Welche Erinnerung? Geben Sie ihre Nummer an, z. B. #12 (siehe `!erinnerungen`)."),
])
async def test_bad_input_is_explained_and_nothing_stored(chat: Chat, body: str, first_line: str) -> None:
    reply = await say(chat, body)
    assert reply.splitlines()[0] == first_line
    assert "Verwendung: `!erinnere" in reply or "Verwendung: `!erinnerung" in reply
    assert await pending(chat) == []


async def test_lab_zone_decides_the_wall_clock(chat: Chat, clock: FixedClock) -> None:
    """A lab room uses its lab's zone: 09:00 in Lisbon is 09:00 UTC in winter."""
    async with chat.db.transaction() as store:
        lab = await store.labs.create(
            slug="lab-lissabon", name="Lab Lissabon", city="Lissabon", state="BE", level="kommune",
            host="Partnerverein", host_legal_form="e. V.", timezone="Europe/Lisbon",
            created_by=BOB, now=clock.now(),
        )
        await store.labs.link(ROOM, lab.id, BOB, clock.now())
    chat.dispatcher.directory.invalidate({"labs"})
    reply = await say(chat, "!erinnere jeden Montag 9 Uhr; Reunião")
    [item] = await pending(chat)
    assert (item.timezone, item.lab_id, item.due_at) == ("Europe/Lisbon", lab.id, datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    assert "nächste am Mo 30.11.2026 09:00" in reply


@pytest.mark.parametrize(("start", "rule", "firings"), [
    # spring forward (2027-03-28): 09:00 local is 08:00 UTC before, 07:00 UTC after
    (datetime(2027, 3, 26, 12, 0, tzinfo=UTC), "täglich 9 Uhr",
     ["2027-03-27 08:00", "2027-03-28 07:00", "2027-03-29 07:00"]),
    # fall back (2027-10-31): 07:00 UTC before, 08:00 UTC after
    (datetime(2027, 10, 29, 12, 0, tzinfo=UTC), "every day 09:00",
     ["2027-10-30 07:00", "2027-10-31 08:00", "2027-11-01 08:00"]),
    # weekly across both changes: Sundays 18:00
    (datetime(2027, 3, 20, 12, 0, tzinfo=UTC), "jeden Sonntag 18 Uhr",
     ["2027-03-21 17:00", "2027-03-28 16:00", "2027-04-04 16:00"]),
    (datetime(2027, 10, 23, 12, 0, tzinfo=UTC), "sonntags 18 Uhr",
     ["2027-10-24 16:00", "2027-10-31 17:00", "2027-11-07 17:00"]),
])
async def test_recurring_reminders_keep_local_time_across_dst(
    chat: Chat, clock: FixedClock, start: datetime, rule: str, firings: list[str]
) -> None:
    clock.current = start
    await say(chat, f"!erinnere {rule}; Stand-up")
    for expected in firings:
        [item] = await pending(chat)
        assert item.due_at.strftime("%Y-%m-%d %H:%M") == expected
        clock.current = item.due_at
        [message] = await fire(chat, item.due_at)
        assert message["body"].startswith("⏰ Erinnerung: Stand-up")  # on time, not late
    [item] = await pending(chat)
    assert item.fired_count == len(firings)


async def test_missed_recurrences_come_once_late_and_then_resume(chat: Chat, clock: FixedClock) -> None:
    await say(chat, "!erinnere jeden Werktag 8:30; Stand-up")
    [message] = await fire(chat, datetime(2026, 12, 3, 12, 0, tzinfo=UTC))  # down Mon–Thu morning
    assert message["body"].startswith("⏰ Erinnerung (verspätet, fällig war Mo 30.11.2026 08:30): Stand-up")
    assert message["body"].endswith("Nächstes Mal: Fr 04.12.2026 08:30 (#1)")
    [item] = await pending(chat)
    assert (item.fired_count, item.due_at) == (1, datetime(2026, 12, 4, 7, 30, tzinfo=UTC))


async def test_adding_a_reminder_re_arms_the_timer(chat: Chat, clock: FixedClock) -> None:
    outcome = await chat.send("!erinnere in 10 Sekunden; Jetzt", sender=BOB, room=ROOM)
    assert outcome.due_at == clock.now() + timedelta(seconds=10)
