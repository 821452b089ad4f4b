"""The expert directory through a real Synapse, in German, as the issue's acceptance describes:
consent, fuzzy search, ranking by lab, introductions by direct message, a confidential
organisation, the data export as a file, and forget me."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

from nio import AsyncClient
from sqlalchemy import inspect, text

from bot.devbot import BotProcess
from storage import Database

from .matrix_helpers import (
    ask,
    create_room,
    invite_and_join,
    join_room,
    joined_room_with_bot,
    sync_once,
    wait_for_message,
)

MakeBot = Callable[..., BotProcess]
MakeUser = Callable[..., tuple[str, str]]
NioClient = Callable[..., Awaitable[AsyncClient]]
JOIN = '!experte eintragen Jurist --themen "Datenschutzrecht, Vergaberecht"'


async def direct_room_from(client: AsyncClient, bot: BotProcess, timeout: float = 30) -> str:
    """Accept the bot's invitation to a direct room (or find the one already joined)."""
    deadline = time.monotonic() + timeout
    while True:
        for room_id, room in list(client.invited_rooms.items()):
            if bot.user_id in (room.inviter, *room.users):
                return await join_room(client, room_id)
        for room_id, room in client.rooms.items():
            if set(room.users) == {client.user_id, bot.user_id}:
                return room_id
        assert time.monotonic() < deadline, f"{client.user_id} got no direct room from the bot"
        await sync_once(client, timeout=1000)


async def test_expert_directory_end_to_end(
    make_bot: MakeBot, database_url: str, make_user: MakeUser, nio_client: NioClient
) -> None:
    manager = await nio_client(*make_user("carla"))
    federal = await create_room(manager, invite=[], name="Bundesteam")
    bot = make_bot(database_url, federal_room=federal)
    await manager.room_invite(federal, bot.user_id)
    bot.start()
    leipzig = await joined_room_with_bot(bot, manager)
    koeln = await joined_room_with_bot(bot, manager)
    assert "angelegt" in await ask(manager, federal, '!labor anlegen "OGL Leipzig" --stadt Leipzig --land SN')
    assert "angelegt" in await ask(manager, federal, '!labor anlegen "OGL Köln" --stadt Köln --land NW')
    assert "verknüpft" in await ask(manager, leipzig, "!labor verknuepfen ogl-leipzig")
    assert "verknüpft" in await ask(manager, koeln, "!labor verknuepfen ogl-koeln")
    anna, ben, kai = [await nio_client(*make_user(n)) for n in ("anna", "ben", "kai")]
    for member in (anna, ben):
        await invite_and_join(manager, member, leipzig)
    await invite_and_join(manager, kai, koeln)

    # An expert joins as a lawyer; nothing is found before the confirmation.
    shown = await ask(anna, leipzig, JOIN)
    assert "Das wird über Sie gespeichert" in shown and "Noch ist nichts gelistet" in shown
    assert "keine Expert:in" in await ask(ben, leipzig, "!wer kennt sich mit Datenschutz aus")
    assert "ab jetzt gelistet" in await ask(anna, leipzig, "!experte bestaetigen")
    # Kai in Köln has the same skills: an equal match, but not in Ben's lab.
    await ask(kai, koeln, JOIN)
    assert "ab jetzt gelistet" in await ask(kai, koeln, "!experte bestaetigen")

    found = await ask(ben, leipzig, "!wer kennt sich mit Datenschutz aus")
    assert "2 Treffer" in found and found.index("#1 ") < found.index("#2 "), found
    assert anna.user_id not in found and kai.user_id not in found
    typo = await ask(ben, leipzig, "!experte suchen Datenshutz")
    assert "#1 " in typo and "OGL Leipzig" in typo
    assert (await ask(kai, koeln, "!wer Datenschutz")).index("#2 ") < (await ask(kai, koeln, "!wer Datenschutz")).index("#1 ")

    # Contact: a direct message to the expert with the requester's name and room.
    sent = await ask(ben, leipzig, "!kontakt 1 Guten Tag, wir haben eine Frage zur Vergabe.")
    assert "Direktnachricht an #1" in sent and anna.user_id not in sent
    anna_dm = await direct_room_from(anna, bot)
    intro = await wait_for_message(anna, anna_dm, lambda e: "Kontaktanfrage #1" in e.body, timeout=30)
    assert ben.user_id in intro.body and "Guten Tag, wir haben eine Frage zur Vergabe." in intro.body
    assert "OGL Leipzig" in intro.body or leipzig in intro.body
    # The expert answers in the direct room (no prefix needed there); it is relayed to Ben.
    answered = await ask(anna, anna_dm, "antworten 1 Gern, schreiben Sie mir Ihre Fragen.")
    assert "Direktnachricht an die anfragende Person" in answered
    ben_dm = await direct_room_from(ben, bot)
    relayed = await wait_for_message(ben, ben_dm, lambda e: "Antwort von" in e.body, timeout=30)
    assert "Gern, schreiben Sie mir Ihre Fragen." in relayed.body and anna.user_id not in relayed.body

    # A confidential organisation: its contact confirms by DM; found by category, no place or contact.
    maria = await nio_client(*make_user("maria"))
    added = await ask(manager, leipzig,
                      f'!organisation anlegen "Frauenhaus Leipzig" sozial --kontakt {maria.user_id} --vertraulich')
    assert "Organisation #3" in added
    maria_dm = await direct_room_from(maria, bot)
    await wait_for_message(maria, maria_dm, lambda e: "organisation bestaetigen 3" in e.body, timeout=30)
    assert "ab jetzt gelistet" in await ask(maria, maria_dm, "organisation bestaetigen 3")
    org = await ask(ben, leipzig, "!experte suchen --kategorie sozial")
    assert "Frauenhaus Leipzig" in org and "vertrauliche Organisation" in org
    assert "Sachsen" not in org and "OGL Leipzig" not in org and maria.user_id not in org

    # mydata: a JSON file in the direct room, plus a summary.
    summary = await ask(anna, leipzig, "!meinedaten")
    assert "Einträge im Expertenverzeichnis: 1 Eintrag" in summary
    deadline = time.monotonic() + 30
    file_event = None
    while file_event is None:
        resp = await anna.room_messages(anna_dm, limit=50)
        file_event = next((e for e in resp.chunk if e.source.get("content", {}).get("msgtype") == "m.file"), None)
        assert time.monotonic() < deadline, "no data file arrived"
        if file_event is None:
            await sync_once(anna, timeout=1000)
    content = file_event.source["content"]
    assert content["body"] == "labnetz-data.json" and content["url"].startswith("mxc://")
    download = await anna.download(mxc=content["url"])
    export = json.loads(download.body)
    assert export["user_id"] == anna.user_id and export["tables"]["experts"][0]["skills"] == "Datenschutzrecht, Vergaberecht"

    # forget me: two steps, then nothing about Anna is left in any table.
    assert "`!vergiss mich --bestaetigen`" in await ask(anna, leipzig, "!vergiss mich")
    assert "Erledigt" in await ask(anna, leipzig, "!vergiss mich --bestaetigen")
    assert "#1 " not in await ask(ben, leipzig, "!wer kennt sich mit Datenschutz aus")
    db = Database(database_url)
    try:
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            for table in tables:
                for row in (await conn.execute(text(f'SELECT * FROM "{table}"'))).all():
                    for value in row:
                        if isinstance(value, str | dict | list):
                            assert anna.user_id not in json.dumps(value) and anna.user_id not in str(value), (table, row)
    finally:
        await db.close()
