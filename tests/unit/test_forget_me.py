"""`forget me` leaves nothing behind, and `mydata` exports everything.

The test gives one user data in EVERY table the personal-data registry names (and asserts it
did, so a newly registered table must be covered here), forgets them, and then scans every
text and JSON value of every table in the database (SQLite's search tables included) for the
user's Matrix id and display name.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, select, text

from commands.context import FixedClock
from storage import Database
from storage.experts import fold
from storage.models import Base, Booking, OutboxRow
from storage.models_announce import Question
from storage.personal import NO_PERSONAL_DATA, PERSONAL
from tests.unit.commandkit import ADMIN, FEDERAL, Chat

from .expertkit import LEIPZIG, say, send

NAME = "Alice Wunderlich"
BOB = "@bob:example.org"
ALICE_DM = "!alice-dm:example.org"


def needles() -> list[str]:
    return sorted({ADMIN, NAME, NAME.lower(), fold(NAME), json.dumps(NAME)[1:-1]})


async def everything(db: Database) -> dict[str, list[str]]:
    """table -> every non-null value of every row, as text."""
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        out: dict[str, list[str]] = {}
        for table in tables:
            rows = (await conn.execute(text(f'SELECT * FROM "{table}"'))).all()
            out[table] = [str(v) for row in rows for v in row if v is not None and not isinstance(v, bytes)]
        return out


def mentions(values: list[str]) -> list[str]:
    return [v for v in values if any(n in v or n in v.lower() for n in needles())]


async def give_alice_data_everywhere(chat: Chat, db: Database) -> None:
    say_ = lambda body, room=LEIPZIG: say(chat, body, ADMIN, room, NAME)  # noqa: E731
    chat.state.join(FEDERAL, ADMIN)
    chat.state.join(LEIPZIG, ADMIN)
    assert "angelegt" in await say_('!labor anlegen "OGL Leipzig" --stadt Leipzig --land SN', FEDERAL)  # labs
    assert "verknüpft" in await say_("!labor verknuepfen ogl-leipzig")  # lab_rooms
    await say_("!rolle vergeben @alice:example.org koordinator --labor ogl-leipzig")  # role_grants (both columns)
    await say_("!raum anlegen Coworking --kapazitaet 4")
    await say_("!raum schliessen Coworking 24.12.2026 Weihnachten")  # closures
    await say_(f'!buchen Coworking 01.12.2026 10-12 --notiz "{NAME} bringt Kaffee"')  # bookings
    await say_("!buchen Coworking 02.12.2026 10-12")
    await say_("!stornieren 2")  # bookings.cancelled_by
    await say_('!experte eintragen Jurist --themen "Vergaberecht" --info "Fragen Sie Alice Wunderlich"')
    await say_("!experte bestaetigen")  # experts, due_items (reconfirmation)
    await say_('!organisation anlegen "Tafel Leipzig" sozial --kontakt @alice:example.org')  # contact + created_by
    await say_("!organisation bestaetigen 2")
    chat.state.join(LEIPZIG, BOB)
    await say(chat, "!experte eintragen Design --themen UX", BOB, LEIPZIG, "Bob")
    await say(chat, "!experte bestaetigen", BOB, LEIPZIG, "Bob")
    await say_("!kontakt 3 Hallo Bob, hier ist Alice Wunderlich")  # expert_contacts, outbox DM to Bob
    await say(chat, "!antworten 1 Hallo zurück", BOB, LEIPZIG, "Bob")  # outbox DM to Alice (unresolved)
    await say_("!meinedaten")  # outbox file row addressed to Alice
    assert "angelegt" in await say_("!meilenstein anlegen „Konzept“ --faellig 15.01.2027")  # milestones
    await say_("!meilenstein erledigt 1")  # milestones.done_by
    assert "Erinnerung" in await say_(f"!erinnere morgen 9 Uhr; {NAME} anrufen")  # due_items with her name
    assert "1" in await say_("!ankuendigen Netzwerktreffen am Freitag", FEDERAL)  # announcements.author
    assert "#" in await say_("!frage Wie beantragen wir Fördermittel?")  # questions.asker
    async with db.transaction() as store:
        copy = (await store.announcements.copies(1))[0][0]
        await store.announcements.add_ack(copy, ADMIN, "✅", "$ack", chat.clock.now())  # announcement_acks
        await store.experts.direct_rooms.remember(ADMIN, ALICE_DM, chat.clock.now())  # direct_rooms
        await store.outbox.add(ALICE_DM, {"msgtype": "m.text", "body": "sent to Alice"}, now=chat.clock.now())
        # A direct room is named after its other member; room creators are user ids.
        await store.rooms.upsert(ALICE_DM, now=chat.clock.now(), name=NAME, is_direct=True, creators=[ADMIN])
        await store.rooms.upsert(LEIPZIG, now=chat.clock.now(), name="OGL Leipzig", creators=[ADMIN, BOB])


@pytest.fixture
def chat(db: Database, clock: FixedClock) -> Chat:
    return Chat(db, clock)


async def test_forget_me_leaves_no_trace_in_any_table(chat: Chat, db: Database) -> None:
    assert not set(Base.metadata.tables) - set(PERSONAL.tables) - NO_PERSONAL_DATA, "unclassified tables"
    await give_alice_data_everywhere(chat, db)
    before = await everything(db)
    uncovered = [t for t in PERSONAL.tables if not mentions(before.get(t, []))]
    assert not uncovered, f"give the user data in these registered tables too: {uncovered}"

    asked = await say(chat, "!vergiss mich", ADMIN, LEIPZIG, NAME)
    assert "`!vergiss mich --bestaetigen`" in asked and "Einträge im Expertenverzeichnis: 2 Einträge" in asked, asked
    assert mentions((await everything(db))["experts"]), "the first step must not delete anything"
    done = await send(chat, "!vergiss mich --bestaetigen", ADMIN, LEIPZIG, NAME)
    reply = await chat.reply_of(done)
    assert "Erledigt" in reply["body"] and reply["m.mentions"] == {}

    after = await everything(db)
    left = {table: mentions(values) for table, values in after.items() if mentions(values)}
    assert not left, left
    async with db.transaction() as store:
        # Occupancy stays right: the booking is kept, without its owner and note.
        booking = await store.session.get(Booking, 1)
        assert booking.user_id is None and booking.note is None and booking.cancelled_at is None
        # Her question stays counted in the federal team's list, without who asked or what.
        [question] = (await store.session.scalars(select(Question))).all()
        assert (question.asker, question.asker_name, question.text) == (None, None, "–")
        assert "Bob" in " ".join(after["experts"]) and "Tafel Leipzig" in " ".join(after["experts"])
        # Bob's copy of Alice's contact request went with her; Bob's own entry stays findable.
        assert (await store.experts.search(["design"], listed_since=chat.clock.now().replace(year=2020))).hits
    assert "keine Expert:in" in await say(chat, "!wer Tafel", BOB, LEIPZIG, "Bob")  # no contact: unlisted


async def test_mydata_sends_a_json_file_with_everything(chat: Chat, db: Database) -> None:
    await give_alice_data_everywhere(chat, db)
    summary = await say(chat, "!meinedaten", ADMIN, LEIPZIG, NAME)
    for part in ("Einträge im Expertenverzeichnis: 2 Einträge", "Buchungen: 2 Einträge", "Kontaktanfragen: 1 Eintrag",
                 "JSON-Datei per Direktnachricht"):
        assert part in summary, (part, summary)
    async with db.transaction() as store:
        rows = (await store.session.scalars(
            select(OutboxRow).where(OutboxRow.room_id == ADMIN, OutboxRow.purpose == "file").order_by(OutboxRow.id.desc())
        )).all()
    upload = rows[0].content["labnetz.upload"]
    assert rows[0].content["msgtype"] == "m.file" and upload["mimetype"] == "application/json"
    export = json.loads(upload["data"])
    assert export["user_id"] == ADMIN
    [person] = [e for e in export["tables"]["experts"] if e["kind"] == "person"]
    assert person["skills"] == "Vergaberecht" and person["user_id"] == ADMIN
    assert {"bookings", "expert_contacts", "role_grants", "labs", "due_items", "users"} <= set(export["tables"])
