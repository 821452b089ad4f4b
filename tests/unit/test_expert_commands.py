"""The expert directory through the dispatcher, in German: consent, fuzzy search, ranking,
introductions, organisations and reconfirmation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.i18n import translator
from commands.categories import (
    DEFAULT_SETTINGS,
    ExpertSettings,
    parse_category_spec,
    parse_query,
    topic_text,
)
from commands.context import FixedClock
from commands.duework import fire_due
from storage import Database
from storage.models import OutboxRow
from tests.unit.commandkit import ADMIN, Chat

from .expertkit import DRESDEN, KOELN, LEIPZIG, LOBBY, expert, say, send, three_labs

ANNA, BEN, CARL, PIA = "@anna:example.org", "@ben:example.org", "@carl:example.org", "@pia:example.org"
JOIN = '!experte eintragen Jurist --themen "Datenschutzrecht, Vergaberecht"'


@pytest.fixture
async def chat(db: Database, clock: FixedClock) -> Chat:
    chat = Chat(db, clock)
    await three_labs(chat)
    return chat


async def dms(db: Database, user: str) -> list[dict]:
    async with db.transaction() as store:
        rows = await store.session.scalars(select(OutboxRow).where(OutboxRow.room_id == user).order_by(OutboxRow.id))
        return [row.content for row in rows]


def test_filler_words_are_dropped_and_category_words_recognised() -> None:
    query = parse_query("kennt sich mit Datenschutz aus?", DEFAULT_SETTINGS)
    assert query.words == ["datenschutz"] and query.categories == []
    query = parse_query("who knows about UX and Barrierefreiheit", DEFAULT_SETTINGS)
    assert query.words == ["barrierefreiheit"] and query.categories == ["designer"]
    assert parse_query("gibt es jemand für Anwälte", DEFAULT_SETTINGS).categories == ["lawyer"]
    assert topic_text("wer kennt sich mit Datenschutz aus?", DEFAULT_SETTINGS) == "Datenschutz"
    assert topic_text("who knows about UX and Barrierefreiheit", DEFAULT_SETTINGS) == "UX Barrierefreiheit"


def test_categories_extend_from_config() -> None:
    settings = ExpertSettings.with_extra(("mentor | Mentor:in | Mentor | Coach, Begleitung",))
    assert settings.category("Coach").key == "mentor" and settings.category("Mentorin").key == "mentor"
    assert settings.category("Programmierer").key == "developer"
    with pytest.raises(ValueError, match="key"):
        parse_category_spec("Mentor")


async def test_nothing_is_found_before_consent_and_found_with_typos_after(chat: Chat, db: Database) -> None:
    chat.state.join(LEIPZIG, ANNA)
    shown = await say(chat, JOIN, ANNA, LEIPZIG, "Anna Schmidt")
    for part in ("Das wird über Sie gespeichert (Eintrag #1)", "Kategorie: Jurist:in",
                 "Themen: Datenschutzrecht, Vergaberecht", "Labor: OGL Leipzig", "Bundesland: Sachsen",
                 "Sichtbarkeit: Netzwerk", "Matrix-ID bleibt verborgen", "`!experte bestaetigen`"):
        assert part in shown, (part, shown)
    assert "keine Expert:in" in await say(chat, "!wer kennt sich mit Datenschutz aus", BEN, LOBBY, "Ben")
    assert "ab jetzt gelistet" in await say(chat, "!experte bestaetigen", ANNA, LEIPZIG, "Anna Schmidt")
    found = await say(chat, "!wer kennt sich mit Datenschutz aus", BEN, LOBBY, "Ben")
    assert found.startswith("1 Treffer für „Datenschutz“:"), found  # the topic, without the filler words
    assert "#1 Anna Schmidt: Jurist:in · Datenschutzrecht, Vergaberecht · OGL Leipzig · Sachsen" in found
    assert ANNA not in found
    typo = await say(chat, "!experte suchen Datenshutz", BEN, LOBBY, "Ben")
    assert "#1 Anna Schmidt" in typo and "auch gesucht nach" in typo
    assert "#1 Anna Schmidt" in await say(chat, "!wer ist Anwalt", BEN, LOBBY, "Ben")
    assert "#1 Anna Schmidt" in await say(chat, "!who knows about vergabe", BEN, LOBBY, "Ben")
    assert (await say(chat, "!wer kennt sich mit Denkmalschutz aus", BEN, LOBBY, "Ben")).startswith(
        "Zu „Denkmalschutz“ ist keine Expert:in")
    assert "mindestens 3 Buchstaben" in await say(chat, "!wer kennt sich aus", BEN, LOBBY, "Ben")


async def test_ranking_prefers_the_askers_lab_then_bundesland_then_network(chat: Chat) -> None:
    koeln = await expert(chat, CARL, "Carl Köln", KOELN, JOIN)
    dresden = await expert(chat, PIA, "Pia Dresden", DRESDEN, JOIN)
    leipzig = await expert(chat, ANNA, "Anna Leipzig", LEIPZIG, JOIN)
    chat.state.join(LEIPZIG, BEN)
    found = await say(chat, "!wer kennt sich mit Vergaberecht aus", BEN, LEIPZIG, "Ben")
    assert found.index(f"#{leipzig} ") < found.index(f"#{dresden} ") < found.index(f"#{koeln} "), found
    chat.state.join(KOELN, "@kim:example.org")
    found = await say(chat, "!wer kennt sich mit Vergaberecht aus", "@kim:example.org", KOELN, "Kim")
    assert found.index(f"#{koeln} ") < found.index(f"#{leipzig} ")
    # Text relevance comes first: a matching skill beats a lab neighbour matching only the about text.
    await expert(chat, "@ole:example.org", "Ole", LEIPZIG, '!experte eintragen Design --info "kenne Vergaberecht ein wenig"')
    found = await say(chat, "!wer kennt sich mit Vergaberecht aus", BEN, LEIPZIG, "Ben")
    assert found.index(f"#{koeln} ") < found.index("Ole")
    only = await say(chat, "!experte suchen Vergaberecht --land NW", BEN, LEIPZIG, "Ben")
    assert f"#{koeln} " in only and f"#{leipzig} " not in only


async def test_contact_delivers_a_dm_without_revealing_the_experts_id_and_is_limited(chat: Chat, db: Database) -> None:
    anna = await expert(chat, ANNA, "Anna Schmidt", LEIPZIG, JOIN)
    reply = await say(chat, f"!kontakt {anna} Hallo, wir brauchen Rat zur Vergabe.", BEN, LOBBY, "Ben Becker")
    assert "Direktnachricht an #1 (Anna Schmidt)" in reply and ANNA not in reply
    assert "heute noch 9 Kontaktanfragen" in reply
    [dm] = [c for c in await dms(db, ANNA) if "Kontaktanfrage" in c["body"]]
    assert "Von Ben Becker (@ben:example.org)" in dm["body"] and "Hallo, wir brauchen Rat zur Vergabe." in dm["body"]
    assert "`!antworten 1 <Text>`" in dm["body"]
    answered = await say(chat, "!antworten 1 Gern, rufen Sie mich an.", ANNA, "!anna-dm:example.org", "Anna Schmidt")
    assert "Direktnachricht an die anfragende Person" in answered
    [back] = await dms(db, BEN)
    assert "Antwort von Anna Schmidt (#1)" in back["body"] and ANNA not in back["body"]
    assert "keine Kontaktanfrage #1 an Sie" in await say(chat, "!antworten 1 Ich bin es nicht", BEN, LOBBY)
    for _ in range(9):
        await send(chat, f"!kontakt {anna} noch eine Frage", BEN, LOBBY, "Ben Becker")
    limited = await say(chat, f"!kontakt {anna} zu viel", BEN, LOBBY, "Ben Becker")
    assert "Grenze von 10 Kontaktanfragen" in limited
    assert len([c for c in await dms(db, ANNA) if "Kontaktanfrage" in c["body"]]) == 10


async def test_a_public_expert_shows_the_matrix_id(chat: Chat) -> None:
    anna = await expert(chat, ANNA, "Anna Schmidt", LEIPZIG, JOIN + " --oeffentlich")
    assert ANNA in await say(chat, "!wer Datenschutzrecht", BEN)
    assert f"Matrix: {ANNA}" in await say(chat, f"!experte zeigen {anna}", BEN)


async def test_confidential_organisation_needs_its_contact_and_never_shows_place(chat: Chat, db: Database) -> None:
    chat.state.join(LEIPZIG, "@lea:example.org", 50)
    added = await say(chat, '!organisation anlegen "Frauenhaus Leipzig" sozial --kontakt @maria:example.org --vertraulich',
                      "@lea:example.org", LEIPZIG, "Lea")
    assert "Organisation #1 „Frauenhaus Leipzig“ ist eingetragen" in added
    [invite] = await dms(db, "@maria:example.org")
    assert "`!organisation bestaetigen 1`" in invite["body"]
    assert "keine Expert:in" in await say(chat, "!wer Frauenhaus", BEN)
    assert "keine Organisation #1 mit Ihnen" in await say(chat, "!organisation bestaetigen 1", BEN)
    assert "ab jetzt gelistet" in await say(chat, "!organisation bestaetigen 1", "@maria:example.org")
    for query in ("!wer Frauenhaus", "!experte suchen soziale Organisation", "!experte suchen --kategorie sozial"):
        found = await say(chat, query, BEN)
        assert "#1 Frauenhaus Leipzig" in found and "vertrauliche Organisation" in found, (query, found)
        assert "Sachsen" not in found and "OGL Leipzig" not in found and "maria" not in found
    shown = await say(chat, "!experte zeigen 1", BEN)
    assert "Sachsen" not in shown and "maria" not in shown and "Labor" not in shown
    refused = await say(chat, '!organisation anlegen "Tafel" sozial --kontakt @x:example.org', BEN, LEIPZIG)
    assert "Koordinator:in eines Labors" in refused and "nichts geändert" in refused


async def test_reconfirmation_is_asked_after_six_months_and_unconfirmed_entries_hide(
    chat: Chat, db: Database, clock: FixedClock
) -> None:
    anna = await expert(chat, ANNA, "Anna Schmidt", LEIPZIG, JOIN)
    clock.advance(days=181)
    assert (await fire_due(db, clock.now(), chat.dispatcher.network, translator)).items == 0
    clock.advance(days=2)
    assert (await fire_due(db, clock.now(), chat.dispatcher.network, translator)).items == 1
    [question] = [c for c in await dms(db, ANNA) if "noch" in c["body"]]
    assert "Stimmt Ihr Eintrag #1" in question["body"] and "`!experte bestaetigen`" in question["body"]
    assert f"#{anna} Anna Schmidt" in await say(chat, "!wer Vergaberecht", BEN)
    clock.advance(days=30)
    assert "keine Expert:in" in await say(chat, "!wer Vergaberecht", BEN)  # hidden ...
    assert "Derzeit nicht gelistet" in await say(chat, f"!experte zeigen {anna}", ANNA)  # ... not deleted
    assert "erneut bestätigt" in await say(chat, "!experte bestaetigen", ANNA)
    assert f"#{anna} Anna Schmidt" in await say(chat, "!wer Vergaberecht", BEN)
    async with db.transaction() as store:
        [pending] = await store.due.pending(subject=f"expert:{anna}")
        assert pending.due_at == clock.now() + timedelta(days=182)


async def test_update_leave_and_categories(chat: Chat) -> None:
    anna = await expert(chat, ANNA, "Anna Schmidt", LEIPZIG, JOIN)
    assert "Sie sind bereits als #1 gelistet" in await say(chat, JOIN, ANNA, LEIPZIG)
    changed = await say(chat, '!experte aendern --themen "IT-Recht"', ANNA, LEIPZIG, "Anna Schmidt")
    assert "Themen: IT-Recht" in changed
    assert "keine Expert:in" in await say(chat, "!wer Vergaberecht", BEN)
    assert f"#{anna} Anna Schmidt" in await say(chat, "!wer IT-Recht", BEN)
    listing = await say(chat, "!kategorien", BEN)
    assert "Jurist:in (`lawyer`): 1 gelistet" in listing and "Stiftung (`foundation`): 0 gelistet" in listing
    assert "Kategorie „Zauberei“ gibt es nicht" in await say(chat, "!experte eintragen Zauberei", BEN)
    assert "vollständig gelöscht" in await say(chat, "!experte austragen", ANNA)
    assert "keine Expert:in" in await say(chat, "!wer IT-Recht", BEN)
    assert "keinen Eintrag" in await say(chat, "!experte austragen", ANNA)


async def test_english_replies(db: Database, clock: FixedClock) -> None:
    chat = Chat(db, clock, language="en")
    assert "This is what will be stored" in await say(chat, "!expert join developer --skills Python", ADMIN)
    assert "listed from now on" in await say(chat, "!expert confirm", ADMIN)
    assert "Software developer · Python" in await say(chat, "!expert find pyton", "@x:example.org")
