"""Helpers for the expert directory tests: a chat with two labs in two Bundesländer."""

from __future__ import annotations

import itertools

from commands.dispatch import IncomingMessage, Outcome
from tests.unit.commandkit import ADMIN, FEDERAL, Chat

LEIPZIG, DRESDEN, KOELN = "!leipzig:example.org", "!dresden:example.org", "!koeln:example.org"
LOBBY = "!lobby:example.org"  # a room of no lab
_ids = itertools.count(1)


async def send(chat: Chat, text: str, sender: str, room: str = LOBBY, name: str = "") -> Outcome:
    return await chat.dispatcher.handle(IncomingMessage(
        event_id=f"$x{next(_ids)}", room_id=room, sender=sender, body=text, sender_name=name))


async def say(chat: Chat, text: str, sender: str, room: str = LOBBY, name: str = "") -> str:
    return (await chat.reply_of(await send(chat, text, sender, room, name)))["body"]


async def three_labs(chat: Chat) -> None:
    """OGL Leipzig and OGL Dresden (Sachsen), OGL Köln (NRW), each with a linked room."""
    for room in (LEIPZIG, DRESDEN, KOELN, FEDERAL):
        chat.state.join(room, ADMIN)
    for room, create in (
        (LEIPZIG, '!labor anlegen "OGL Leipzig" --stadt Leipzig --land SN'),
        (DRESDEN, '!labor anlegen "OGL Dresden" --stadt Dresden --land SN'),
        (KOELN, '!labor anlegen "OGL Köln" --stadt Köln --land NW'),
    ):
        assert "angelegt" in await say(chat, create, ADMIN, FEDERAL)
        slug = create.split('"')[1].lower().replace(" ", "-").replace("ö", "oe")
        assert "verknüpft" in await say(chat, f"!labor verknuepfen {slug}", ADMIN, room)


async def expert(chat: Chat, user: str, name: str, room: str, join: str) -> int:
    """Join and confirm; the entry's id."""
    chat.state.join(room, user)
    joined = await say(chat, join, user, room, name)
    assert "Noch ist nichts gelistet" in joined, joined
    confirmed = await say(chat, "!experte bestaetigen", user, room, name)
    assert "ab jetzt gelistet" in confirmed, confirmed
    return int(joined.split("Eintrag #", 1)[1].split(")", 1)[0])
