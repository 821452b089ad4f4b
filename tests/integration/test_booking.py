"""Booking desks through a real Synapse, in German, as lab members would."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from nio import AsyncClient

from bot.devbot import BotProcess
from storage import Database

from .matrix_helpers import ask, join_room, joined_room_with_bot

MakeBot = Callable[..., BotProcess]
MakeUser = Callable[..., tuple[str, str]]
NioClient = Callable[..., Awaitable[AsyncClient]]
BERLIN = ZoneInfo("Europe/Berlin")
STATE = "SN"


def is_holiday(day: date) -> bool:
    return day in holidays.country_holidays("DE", subdiv=STATE, years=day.year)


def german(day: date) -> str:
    return day.strftime("%d.%m.%Y")


async def test_booking_in_german_end_to_end(
    make_bot: MakeBot, database_url: str, make_user: MakeUser, nio_client: NioClient
) -> None:
    coordinator = await nio_client(*make_user("koordination"))
    bot = make_bot(database_url, admins=[coordinator.user_id])
    bot.start()
    room = await joined_room_with_bot(bot, coordinator)
    await ask(coordinator, room, f"!labor anlegen OGL Leipzig --stadt Leipzig --land {STATE}")
    await ask(coordinator, room, "!labor verknuepfen ogl-leipzig")
    added = await ask(coordinator, room, "!raum anlegen Coworking --kapazitaet 10")
    assert "Raum **Coworking**" in added or "Coworking" in added

    member = await nio_client(*make_user("mitglied"))
    await coordinator.room_invite(room, member.user_id)
    await join_room(member, room)

    today = datetime.now(BERLIN).date()
    word, day = next((w, today + timedelta(days=n)) for w, n in (("morgen", 1), ("übermorgen", 2))
                     if not is_holiday(today + timedelta(days=n)))
    booked = await ask(member, room, f"!buchen Coworking {word} 14-16 --plaetze 3")
    assert f"Gebucht: Coworking, {german(day)}, 14:00–16:00, 3 Plätze" in booked
    first_id = re.search(r"#(\d+)", booked).group(1)
    assert "7 von 10 Plätzen frei" in await ask(member, room, f"!frei Coworking {word} 14-16")

    # Refused, each with its reason, and nothing stored.
    assert "Nur 7 von 10 Plätzen sind dann frei" in await ask(member, room, f"!buchen Coworking {word} 14-16 --plaetze 8")
    assert "außerhalb" in await ask(member, room, f"!buchen Coworking {word} 21-23")
    next_holiday = min(d for d in holidays.country_holidays("DE", subdiv=STATE, years=[today.year, today.year + 1],
                                                             language="de") if d > today)
    name = holidays.country_holidays("DE", subdiv=STATE, years=next_holiday.year, language="de")[next_holiday]
    refused = await ask(member, room, f"!buchen Coworking {german(next_holiday)} 10-12")
    assert "Feiertag" in refused and name in refused
    yesterday = today - timedelta(days=1)
    assert "Vergangenheit" in await ask(member, room, f"!buchen Coworking {yesterday.isoformat()} 10-12")
    mine = await ask(member, room, "!buchungen meine")
    assert mine.count("#") == 1 and f"#{first_id}" in mine

    # A weekly series over 6 weeks with one closure inside: 5 booked, 1 conflict.
    start = today + timedelta(days=3)
    while any(is_holiday(start + timedelta(weeks=k)) for k in range(6)):
        start += timedelta(days=1)
    closed = start + timedelta(weeks=2)
    assert "geschlossen" in await ask(coordinator, room, f"!raum schliessen Coworking {german(closed)} Workshop")
    series = await ask(member, room,
                       f"!buchen Coworking {german(start)} 10-12 --woechentlich --bis {german(start + timedelta(weeks=5))}")
    assert "5 von 6 Terminen gebucht" in series
    assert "1 Konflikt" in series and german(closed) in series and "Workshop" in series

    # Cancelling restores availability.
    assert "Storniert" in await ask(member, room, f"!stornieren #{first_id}")
    assert "10 von 10 Plätzen frei" in await ask(member, room, f"!frei Coworking {word} 14-16")

    # `heute` lists today's bookers (booked directly: the test may run after the lab closes).
    db = Database(database_url)
    await db.migrate()
    async with db.transaction() as store:
        lab = await store.labs.by_slug("ogl-leipzig")
        space = await store.spaces.by_slug(lab.id, "coworking")
        begin = datetime.combine(today, datetime.min.time(), BERLIN).replace(hour=9).astimezone(UTC)
        await store.bookings.add(space_id=space.id, user_id=member.user_id, room_id=room, start_at=begin,
                                 end_at=begin + timedelta(hours=3), desks=1, note=None, series_id=None,
                                 now=datetime.now(UTC))
    await db.close()
    heute = await ask(coordinator, room, "!heute")
    assert "Heute in OGL Leipzig" in heute and "09:00–12:00" in heute and "mitglied" in heute
