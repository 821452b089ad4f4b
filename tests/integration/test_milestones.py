"""Milestones through a real Synapse, in German, as a lab coordinator would use them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

from nio import AsyncClient

from bot.devbot import BotProcess

from .matrix_helpers import ask, invite_and_join, joined_room_with_bot, start_bot_with_federal_room
from .test_labs import set_power

MakeBot = Callable[..., BotProcess]
MakeUser = Callable[..., tuple[str, str]]
NioClient = Callable[..., Awaitable[AsyncClient]]


async def test_a_coordinator_adds_and_lists_milestones_in_german(
    make_bot: MakeBot, database_url: str, make_user: MakeUser, nio_client: NioClient
) -> None:
    manager = await nio_client(*make_user("carla"))
    bot, federal = await start_bot_with_federal_room(make_bot, database_url, manager)
    leipzig = await joined_room_with_bot(bot, manager)
    await ask(manager, federal, "!labor anlegen OGL Leipzig --stadt Leipzig --land SN")
    await ask(manager, leipzig, "!labor verknuepfen ogl-leipzig")

    lea = await nio_client(*make_user("lea"))
    await invite_and_join(manager, lea, leipzig)
    await set_power(manager, leipzig, lea.user_id, 50)
    await asyncio.sleep(1)  # the bot sees the new power level through sync

    added = await ask(lea, leipzig, "!meilenstein anlegen „Konzept“ --faellig 15.01.2027")
    assert "Meilenstein #1 für OGL Leipzig angelegt: Konzept, fällig am 15.01.2027." in added.replace("**", "")
    assert f"Verantwortlich: {lea.user_id}" in added
    assert "Hinweise um 09:00 Uhr: 30d, 7d, 1d vorher, am Fälligkeitstag" in added

    listing = await ask(lea, leipzig, "!meilensteine")
    assert listing.startswith("Meilensteine von OGL Leipzig")
    assert re.search(r"#1 15\.01\.2027 Konzept: (offen, fällig in \d+ Tagen?|heute fällig|seit \d+ Tagen? überfällig)",
                     listing), listing

    programme = await ask(lea, leipzig, "!meilenstein vorlage --beginn 01.03.2027")
    assert "Das 5-Jahres-Programm von OGL Leipzig ab 01.03.2027:" in programme
    assert "01.09.2027: Konzept (Blaupause) und lokale Akteure identifiziert" in programme
    assert "01.03.2032: Ende der 5-jährigen Laufzeit" in programme

    assert "ist erledigt" in await ask(lea, leipzig, "!meilenstein erledigt 1")
    assert "erledigt am" in await ask(lea, leipzig, "!meilensteine")
    assert "Der Wochenbericht ist eingeschaltet: montags um 09:00 Uhr" in await ask(lea, leipzig, "!wochenbericht an")

    # A plain member may list, not change; the refusal says which role is needed.
    paul = await nio_client(*make_user("paul"))
    await invite_and_join(manager, paul, leipzig)
    refused = await ask(paul, leipzig, "!meilenstein entfernen 2")
    assert "Koordinator:in eines Labors" in refused, refused
    assert "nichts geändert" in refused
    assert "Konzept (Blaupause)" in await ask(paul, leipzig, "!meilensteine")
