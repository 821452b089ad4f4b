"""Announcements and the relay through the dispatcher, in German: targets, copies, status, edit,
retract, questions. Delivery itself is simulated by marking outbox rows sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.i18n import translator
from commands.announce_work import markdown_html, refresh
from commands.context import FixedClock
from commands.duework import fire_due
from commands.relay import relay_reply
from storage import Database
from storage.models import OutboxRow
from tests.unit.commandkit import FEDERAL, Chat

MANAGER = "@carla:example.org"
LABS = [("OGL Leipzig", "SN", "kommune"), ("OGL Dresden", "SN", "land"), ("OGL Köln", "NW", "kommune"),
        ("OGL Bonn", "NW", "kommune"), ("OGL Jena", "TH", "bund")]


def room_of(index: int) -> str:
    return f"!lab{index}:example.org"


@pytest.fixture
async def chat(db: Database, clock: FixedClock) -> Chat:
    chat = Chat(db, clock)
    chat.state.join(FEDERAL, MANAGER, 50)
    async with db.transaction() as store:
        for index, (name, state, level) in enumerate(LABS):
            lab = await store.labs.create(slug=name.lower().replace(" ", "-").replace("ö", "oe"), name=name,
                                          city=name.split()[1], state=state, level=level, host=None,
                                          host_legal_form=None, timezone="Europe/Berlin",
                                          created_by=MANAGER, now=clock.now())
            await store.labs.link(room_of(index), lab.id, MANAGER, clock.now())
    return chat


async def body(chat: Chat, text: str, **kwargs: str) -> str:
    return (await chat.reply_of(await chat.send(text, **kwargs)))["body"]


async def copies(db: Database, reference: str) -> list[OutboxRow]:
    async with db.transaction() as store:
        return await store.outbox.by_reference(reference)


async def deliver_all(db: Database, clock: FixedClock) -> None:
    """What the sender would record: every pending row sent, with an event id."""
    async with db.transaction() as store:
        for row in await store.outbox.due(clock.now() + timedelta(days=1), limit=10_000):
            await store.outbox.mark_sent(row.id, f"$sent{row.id}", clock.now())


async def test_announce_by_state_makes_one_row_per_matching_room(chat: Chat, db: Database, clock: FixedClock) -> None:
    text = await body(chat, "!ankuendigen --land SN Das Netzwerktreffen ist **am Freitag**.", sender=MANAGER, room=FEDERAL)
    assert "Ankündigung #1 wird zugestellt (Räume: 2, Labore: 2)." in text
    rows = await copies(db, "announcement:1")
    assert sorted(r.room_id for r in rows) == [room_of(0), room_of(1)]
    content = rows[0].content
    assert content["body"] == "Ankündigung des Bundesteams (@carla:example.org)\n\nDas Netzwerktreffen ist **am Freitag**."
    assert "<strong>am Freitag</strong>" in content["formatted_body"]
    progress = await copies(db, "announcement-progress:1")
    assert progress[0].room_id == FEDERAL and progress[0].content["body"] == "Ankündigung #1: 0/2 zugestellt, 0 fehlgeschlagen"


async def test_filters_combine_and_dry_run_sends_nothing(chat: Chat, db: Database) -> None:
    dry = await body(chat, "!ankuendigen --probe --land SN,NW --ebene kommune Test", sender=MANAGER, room=FEDERAL)
    assert "Probelauf (Zielräume: 3, Labore: 3). Nichts wurde gesendet." in dry
    assert "OGL Leipzig (SN)" in dry and "OGL Bonn (NW)" in dry and "Dresden" not in dry
    assert await copies(db, "announcement:1") == []
    labs = await body(chat, "!ankuendigen --labore \"ogl-jena, OGL Bonn\" --probe Hallo", sender=MANAGER, room=FEDERAL)
    assert "Zielräume: 2," in labs
    everything = await body(chat, "!ankuendigen Alle zusammen", sender=MANAGER, room=FEDERAL)
    assert "(Räume: 5, Labore: 5)" in everything


async def test_announce_is_refused_outside_the_federal_room_and_for_members(chat: Chat, db: Database) -> None:
    chat.state.join(room_of(0), MANAGER)
    assert "nur im Raum des Bundesteams" in await body(chat, "!ankuendigen Hallo", sender=MANAGER, room=room_of(0))
    assert "Community-Manager:in" in await body(chat, "!ankuendigen Hallo", sender="@paul:example.org", room=FEDERAL)
    assert "Bundesland-Kürzel" in await body(chat, "!ankuendigen --land XX Hallo", sender=MANAGER, room=FEDERAL)
    assert "Was soll die Ankündigung sagen" in await body(chat, "!ankuendigen --land SN", sender=MANAGER, room=FEDERAL)
    assert await copies(db, "announcement:1") == []


async def test_progress_status_acknowledgements_edit_and_retract(chat: Chat, db: Database, clock: FixedClock) -> None:
    await body(chat, "!ankuendigen Erste Fassung", sender=MANAGER, room=FEDERAL)
    await deliver_all(db, clock)
    async with db.transaction() as store:
        assert await refresh(store, 1, now=clock.now(), translator_for=translator, default_language="de")
        edit = store.outbox.due_now(clock.now())
    assert edit[0].content["m.new_content"]["body"] == "Ankündigung #1: 5/5 zugestellt, 0 fehlgeschlagen. Fertig."
    async with db.transaction() as store:
        koeln = next(r for r in await copies(db, "announcement:1") if r.room_id == room_of(2))
        copy = await store.announcements.copy_by_event(room_of(2), koeln.event_id)
        assert copy is not None
        assert await store.announcements.add_ack(copy, "@koeln:example.org", "✅", "$react1", clock.now())
        assert not await store.announcements.add_ack(copy, "@koeln:example.org", "✅", "$react1", clock.now())
    status = await body(chat, "!ankuendigung status 1", sender=MANAGER, room=FEDERAL)
    assert "5 zugestellt, 0 fehlgeschlagen, 0 ausstehend; bestätigt von 1 von 5 Laboren." in status
    assert "OGL Köln: 1 zugestellt, 0 fehlgeschlagen, 0 ausstehend ✅" in status

    changed = await body(chat, "!ankuendigung aendern 1 Zweite Fassung\nmit Zeilenumbruch", sender=MANAGER, room=FEDERAL)
    assert "zugestellte Exemplare: 5" in changed
    edits = await copies(db, "announcement-edit:1")
    assert len(edits) == 5
    assert edits[0].content["m.relates_to"] == {"rel_type": "m.replace", "event_id": (await copies(db, "announcement:1"))[0].event_id}
    assert edits[0].content["m.new_content"]["body"].endswith("Zweite Fassung\nmit Zeilenumbruch")

    retracted = await body(chat, "!ankuendigung zurueckziehen 1", sender=MANAGER, room=FEDERAL)
    assert "entfernte Exemplare: 5" in retracted
    redactions = await copies(db, "announcement-retract:1")
    assert len(redactions) == 5 and all(r.event_type == "m.room.redaction" for r in redactions)
    assert "bereits zurückgezogen" in await body(chat, "!ankuendigung zurueckziehen 1", sender=MANAGER, room=FEDERAL)
    assert "zurückgezogen" in await body(chat, "!ankuendigungen", sender=MANAGER, room=FEDERAL)


async def test_retract_during_delivery_stops_pending_and_redacts_late_copies(
    chat: Chat, db: Database, clock: FixedClock
) -> None:
    await body(chat, "!ankuendigen --land NW Hallo", sender=MANAGER, room=FEDERAL)
    rows = await copies(db, "announcement:1")
    async with db.transaction() as store:
        await store.outbox.mark_sent(rows[0].id, "$first", clock.now())
    assert "entfernte Exemplare: 1, nicht mehr gesendet: 1" in await body(
        chat, "!ankuendigung zurueckziehen 1", sender=MANAGER, room=FEDERAL)
    async with db.transaction() as store:  # the second was in flight and got out after all
        await store.outbox.mark_sent(rows[1].id, "$late", clock.now())
    async with db.transaction() as store:
        await refresh(store, 1, now=clock.now(), translator_for=translator, default_language="de")
    redacts = sorted(r.content["redacts"] for r in await copies(db, "announcement-retract:1"))
    assert redacts == ["$first", "$late"]


async def test_markdown_is_escaped_and_rendered() -> None:
    assert markdown_html("<b>x</b> *kursiv*\n- eins\n- zwei") == "<p>&lt;b&gt;x&lt;/b&gt; <em>kursiv</em><br>- eins<br>- zwei</p>"
    assert markdown_html("- eins\n- [zwei](https://example.org)") == (
        '<ul><li>eins</li><li><a href="https://example.org">zwei</a></li></ul>')


async def test_question_is_relayed_and_replies_travel_both_ways(chat: Chat, db: Database, clock: FixedClock) -> None:
    chat.state.join(room_of(0), "@lea:example.org")
    out = await chat.send("!frage Wie beantragen wir Fördermittel?", sender="@lea:example.org", room=room_of(0),
                          event_id="$question")
    assert "Ihre Frage #1 wurde an das Bundesteam weitergeleitet" in (await chat.reply_of(out))["body"]
    forwarded = (await copies(db, "question:1"))[0]
    assert forwarded.room_id == FEDERAL
    assert "Frage #1 aus OGL Leipzig von @lea:example.org" in forwarded.content["body"]
    assert "Wie beantragen wir Fördermittel?" in forwarded.content["body"]

    async def reply(room: str, event_id: str, to: str, text: str, sender: str) -> str:
        async with db.transaction() as store:
            return await relay_reply(store, room_id=room, event_id=event_id, sender=sender, sender_name=sender,
                                     body=text, in_reply_to=to, now=clock.now(), network=chat.dispatcher.network,
                                     translator_for=translator)

    # Not sent yet: the reply waits for the event id; then it is found through the outbox row.
    assert await reply(FEDERAL, "$answer", "$unknown", "Antwort", MANAGER) == "wait"
    await deliver_all(db, clock)
    assert await reply(FEDERAL, "$answer", f"$sent{forwarded.id}", "So geht das.", MANAGER) == "relayed"
    back = (await copies(db, "question:1"))[-1]
    assert back.room_id == room_of(0)
    assert back.content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$question"}}
    assert "Antwort des Bundesteams (@carla:example.org) auf Frage #1" in back.content["body"]
    await deliver_all(db, clock)
    assert await reply(room_of(0), "$thanks", f"$sent{back.id}", "Danke!", "@lea:example.org") == "relayed"
    again = (await copies(db, "question:1"))[-1]
    assert again.room_id == FEDERAL and again.content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$answer"}}
    await deliver_all(db, clock)
    assert await reply(FEDERAL, "$other", "$not-relayed", "x", MANAGER) == "unknown"

    listing = await body(chat, "!fragen", sender=MANAGER, room=FEDERAL)
    assert "#1 OGL Leipzig, @lea:example.org, vor 0 Minuten (1 Antwort): Wie beantragen wir Fördermittel?" in listing
    assert "Frage #1 ist geschlossen" in await body(chat, "!beantwortet 1", sender=MANAGER, room=FEDERAL)
    assert "Keine offenen Fragen" in await body(chat, "!fragen", sender=MANAGER, room=FEDERAL)
    async with db.transaction() as store:
        digest = await store.due.pending(kind="questions-digest")
        assert len(digest) == 1 and digest[0].recurrence == "0 9 * * *"
        rows = (await store.session.scalars(select(OutboxRow).where(OutboxRow.purpose == "relay"))).all()
        assert len(rows) == 3


async def test_scheduled_announcement_fires_through_due_work_and_retract_cancels(
    chat: Chat, db: Database, clock: FixedClock
) -> None:
    planned = await body(chat, '!ankuendigen --um "morgen 9:00" --land SN Später', sender=MANAGER, room=FEDERAL)
    assert "Ankündigung #1 ist für 28.11.2026 09:00 geplant (Stand jetzt: Räume: 2, Labore: 2)." in planned
    assert "geplant" in await body(chat, "!ankuendigungen", sender=MANAGER, room=FEDERAL)
    assert "noch nichts gesendet" in await body(chat, "!ankuendigung status 1", sender=MANAGER, room=FEDERAL)
    assert "mit dem neuen Text" in await body(chat, "!ankuendigung aendern 1 Später, neu", sender=MANAGER, room=FEDERAL)
    network = chat.dispatcher.network
    early = await fire_due(db, clock.now() + timedelta(hours=22), network, translator)
    assert early.items == 0
    fired = await fire_due(db, clock.now() + timedelta(days=1), network, translator)
    assert fired.items == 1
    assert sorted(r.room_id for r in fired.rows if r.purpose == "announcement") == [room_of(0), room_of(1)]
    assert all(r.content["body"].endswith("Später, neu") for r in fired.rows if r.purpose == "announcement")
    assert any(r.purpose == "announcement-progress" and r.room_id == FEDERAL for r in fired.rows)

    await body(chat, '!ankuendigen --um "morgen 10:00" Noch später', sender=MANAGER, room=FEDERAL)
    assert "vor dem Versand abgesagt" in await body(chat, "!ankuendigung zurueckziehen 2", sender=MANAGER, room=FEDERAL)
    assert (await fire_due(db, clock.now() + timedelta(days=2), network, translator)).items == 0
    assert await copies(db, "announcement:2") == []
    assert "Vergangenheit" in await body(chat, '!ankuendigen --um "heute 8:00" x', sender=MANAGER, room=FEDERAL)


async def test_open_questions_are_listed_in_the_federal_room_every_morning(
    chat: Chat, db: Database, clock: FixedClock
) -> None:
    chat.state.join(room_of(3), "@ben:example.org")
    await chat.send("!frage Gibt es Vorlagen für Datenschutzhinweise?", sender="@ben:example.org", room=room_of(3))
    network = chat.dispatcher.network
    fired = await fire_due(db, datetime(2026, 11, 28, 8, 0, tzinfo=UTC), network, translator)  # 09:00 Berlin
    digest = [r for r in fired.rows if r.purpose == "questions-digest"]
    assert len(digest) == 1 and digest[0].room_id == FEDERAL
    assert "1 offene Frage aus den Laboren" in digest[0].content["body"]
    assert "#1 OGL Bonn, @ben:example.org, vor 23 Stunden (noch keine Antwort)" in digest[0].content["body"]
    assert "ist geschlossen" in await body(chat, "!beantwortet 1", sender="@ben:example.org", room=room_of(3))
    fired = await fire_due(db, datetime(2026, 11, 29, 8, 0, tzinfo=UTC), network, translator)
    assert fired.items == 1 and not [r for r in fired.rows if r.purpose == "questions-digest"]
