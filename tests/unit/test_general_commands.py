"""help, ping, whoami, lang and status through the dispatcher, on a real database."""

from __future__ import annotations

import pytest

from commands.context import FixedClock
from storage import Database
from tests.unit.commandkit import ADMIN, FEDERAL, Chat


@pytest.fixture
def chat(sqlite_db: Database, clock: FixedClock) -> Chat:
    return Chat(sqlite_db, clock)


async def test_ping_is_answered_with_pong_as_a_notice_in_reply(chat: Chat) -> None:
    outcome = await chat.send("!ping", event_id="$p1")
    content = await chat.reply_of(outcome)
    assert outcome.result == "ok"
    assert content["msgtype"] == "m.notice"
    assert content["body"] == "pong"
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$p1"}}
    assert content["m.mentions"] == {"user_ids": ["@bob:example.org"]}
    assert content["format"] == "org.matrix.custom.html"


@pytest.mark.parametrize("body", ["!PING", "!Ping", "labnetz: ping", "Labnetz, ping", "@labnetz:example.org: ping"])
async def test_prefix_and_mentions_are_recognised_case_insensitively(chat: Chat, body: str) -> None:
    content = await chat.reply_of(await chat.send(body))
    assert content["body"] == "pong"


async def test_plain_text_in_a_group_room_is_ignored_but_in_a_dm_it_is_a_command(chat: Chat) -> None:
    outcome = await chat.send("ping")
    assert outcome.result == "ignored" and outcome.outbox_ids == []
    chat.state.direct.add("!dm:example.org")
    content = await chat.reply_of(await chat.send("ping", room="!dm:example.org"))
    assert content["body"] == "pong"


async def test_the_same_event_is_never_answered_twice(chat: Chat) -> None:
    first = await chat.send("!ping", event_id="$same")
    second = await chat.send("!ping", event_id="$same")
    assert first.result == "ok" and len(first.outbox_ids) == 1
    assert second.result == "duplicate" and second.outbox_ids == []
    async with chat.db.transaction() as store:
        assert (await store.outbox.counts())["pending"] == 1


async def test_german_help_lists_german_names_and_is_formal(chat: Chat) -> None:
    content = await chat.reply_of(await chat.send("!hilfe"))
    body = content["body"]
    assert "Befehle von Open Gov Labs" in body
    assert "!hilfe [Befehl]" in body and "!werbinich" in body and "!sprache de|en" not in body
    assert "Sie" in body
    # Status needs a manager: a plain user doesn't see it.
    assert "!status" not in body


async def test_help_for_one_command_shows_usage_example_and_role(chat: Chat) -> None:
    body = (await chat.reply_of(await chat.send("!hilfe werbinich")))["body"]
    assert "!werbinich" in body and "whoami" in body and "alle" in body


async def test_unknown_command_suggests_the_closest(chat: Chat) -> None:
    outcome = await chat.send("!hilfee")
    body = (await chat.reply_of(outcome))["body"]
    assert outcome.result == "unknown"
    assert "„hilfee“" in body and "Meinten Sie !hilfe" in body


async def test_english_room_gets_english_help_after_lang_en(chat: Chat) -> None:
    chat.state.power[("!lab:example.org", "@mod:example.org")] = 50
    reply = await chat.reply_of(await chat.send("!sprache en", sender="@mod:example.org"))
    assert reply["body"] == "From now on I answer in this room in English."
    body = (await chat.reply_of(await chat.send("!help")))["body"]
    assert "Commands of Open Gov Labs" in body and "!help [command]" in body
    back = await chat.reply_of(await chat.send("!lang de", sender="@mod:example.org"))
    assert back["body"] == "Ab jetzt antworte ich in diesem Raum auf Deutsch."


async def test_lang_is_refused_for_a_plain_member_and_nothing_changes(chat: Chat) -> None:
    outcome = await chat.send("!sprache en")
    body = (await chat.reply_of(outcome))["body"]
    assert outcome.result == "refused"
    assert "Koordinator:in eines Labors" in body and "nichts geändert" in body
    async with chat.db.transaction() as store:
        room = await store.rooms.get("!lab:example.org")
        assert room is None or room.language is None
        [entry] = await store.audit.recent()
        assert (entry.action, entry.outcome, entry.actor) == ("lang", "refused", "@bob:example.org")


async def test_lang_with_a_bad_language_shows_usage_and_changes_nothing(chat: Chat) -> None:
    outcome = await chat.send("!sprache fr", sender=ADMIN)
    body = (await chat.reply_of(outcome))["body"]
    assert outcome.result == "bad_arguments"
    assert "„fr“ gibt es nicht" in body and "Verwendung: `!sprache de|en`" in body
    async with chat.db.transaction() as store:
        assert await store.audit.recent() == []


async def test_whoami_shows_admin_and_manager_roles(chat: Chat) -> None:
    body = (await chat.reply_of(await chat.send("!werbinich", sender=ADMIN)))["body"]
    assert "Administrator:in" in body
    chat.state.power[(FEDERAL, "@carla:example.org")] = 50
    body = (await chat.reply_of(await chat.send("!whoami", sender="@carla:example.org")))["body"]
    assert "Community-Manager:in des Bundesteams" in body
    body = (await chat.reply_of(await chat.send("!whoami")))["body"]
    assert "keine besondere Rolle" in body


async def test_status_counts_pending_deliveries_for_managers_only(chat: Chat) -> None:
    refused = await chat.send("!status")
    assert refused.result == "refused"
    outcome = await chat.send("!status", sender=ADMIN)
    body = (await chat.reply_of(outcome))["body"]
    assert "Status von Open Gov Labs" in body
    # The refusal's reply and this command's reply wait in the outbox (this one is not yet counted).
    assert "Zustellungen: 1 ausstehend, 0 gesendet, 0 fehlgeschlagen" in body
    assert "3 Räume" in body


async def test_user_input_is_escaped_in_html(chat: Chat) -> None:
    content = await chat.reply_of(await chat.send("!<b>x</b>"))
    assert "<b>x</b>" not in content["formatted_body"]
    assert "&lt;b&gt;x&lt;/b&gt;" in content["formatted_body"]


async def test_unknown_flag_is_a_usage_error(chat: Chat) -> None:
    outcome = await chat.send("!ping --laut")
    body = (await chat.reply_of(outcome))["body"]
    assert outcome.result == "bad_arguments" and "Unbekannte Option „--laut“" in body
