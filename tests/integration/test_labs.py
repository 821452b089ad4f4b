"""Labs, rooms and roles through a real Synapse, in German, as the federal team would use them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from nio import AsyncClient, RoomGetStateEventResponse

from bot.devbot import BotProcess

from .matrix_helpers import ask, invite_and_join, joined_room_with_bot, start_bot_with_federal_room

MakeBot = Callable[..., BotProcess]
MakeUser = Callable[..., tuple[str, str]]
NioClient = Callable[..., Awaitable[AsyncClient]]


async def set_power(client: AsyncClient, room: str, user: str, level: int) -> None:
    current = await client.room_get_state_event(room, "m.room.power_levels")
    assert isinstance(current, RoomGetStateEventResponse), current
    content = dict(current.content)
    content["users"] = {**content.get("users", {}), user: level}
    resp = await client.room_put_state(room, "m.room.power_levels", content)
    assert hasattr(resp, "event_id"), resp


def requests_by_endpoint(bot: BotProcess) -> dict[str, float]:
    counts: dict[str, float] = {}
    for line in bot.metrics().splitlines():
        if line.startswith("labnetz_homeserver_requests_total{"):
            endpoint = line.split('endpoint="', 1)[1].split('"', 1)[0]
            counts[endpoint] = float(line.rsplit(" ", 1)[1])
    return counts


async def test_labs_rooms_and_roles_end_to_end(
    make_bot: MakeBot, database_url: str, make_user: MakeUser, nio_client: NioClient
) -> None:
    manager = await nio_client(*make_user("carla"))
    bot, federal = await start_bot_with_federal_room(make_bot, database_url, manager)
    leipzig = await joined_room_with_bot(bot, manager)
    koeln = await joined_room_with_bot(bot, manager)

    # A manager (moderator of the federal room) creates two labs in two Bundesländer.
    created = await ask(manager, federal,
                        '!labor anlegen "OGL Leipzig" --stadt Leipzig --land SN --traeger "Stadt Leipzig" --rechtsform Eigenbetrieb')
    assert "Labor OGL Leipzig mit der Kennung ogl-leipzig angelegt" in created.replace("`", "")
    assert "ogl-koeln" in await ask(manager, federal, "!labor anlegen OGL Köln --stadt Köln --land NW --ebene land")
    linked = await ask(manager, leipzig, "!labor verknuepfen ogl-leipzig")
    assert "Dieser Raum ist jetzt mit OGL Leipzig verknüpft." in linked and "Bundesland: Sachsen (SN)" in linked
    assert "verknüpft" in await ask(manager, koeln, "!labor verknüpfen „OGL Köln“")

    listing = await ask(manager, federal, "!labore")
    assert "2 Labore" in listing
    assert listing.index("Nordrhein-Westfalen") < listing.index("OGL Köln") < listing.index("Sachsen")
    info = await ask(manager, federal, "!labor info ogl-leipzig")
    for part in ("OGL Leipzig (`ogl-leipzig`)", "Stadt: Leipzig", "Bundesland: Sachsen (SN)", "Ebene: Kommune",
                 "Träger: Stadt Leipzig (Eigenbetrieb)", "1 verknüpfter Raum"):
        assert part in info, (part, info)

    # A member without a grant is refused; nothing is created.
    paul = await nio_client(*make_user("paul"))
    await invite_and_join(manager, paul, leipzig)
    refused = await ask(paul, leipzig, "!labor anlegen OGL Kiel --stadt Kiel --land SH")
    assert "Community-Manager:in des Bundesteams" in refused and "nichts geändert" in refused
    assert "2 Labore" in await ask(paul, leipzig, "!labore")

    # Power level 50 in a lab room makes a coordinator of that lab.
    lea = await nio_client(*make_user("lea"))
    await invite_and_join(manager, lea, leipzig)
    await set_power(manager, leipzig, lea.user_id, 50)
    await asyncio.sleep(1)  # let the bot see the power levels and go quiet before counting
    before = requests_by_endpoint(bot)
    whoami = await ask(lea, leipzig, "!werbinich")
    await asyncio.sleep(1)
    after = requests_by_endpoint(bot)
    assert "Koordination von OGL Leipzig" in whoami
    spent = {k: after.get(k, 0) - before.get(k, 0) for k in after if k != "sync"}
    assert {k: v for k, v in spent.items() if v} == {"send": 1}, spent  # the reply, nothing else

    # A grant makes a plain member a coordinator; a revoke takes it away.
    assert "keine besondere Rolle" in await ask(paul, leipzig, "!werbinich")
    assert "koordiniert jetzt OGL Leipzig" in await ask(manager, leipzig, f"!rolle vergeben {paul.user_id} koordinator")
    assert "Koordination von OGL Leipzig" in await ask(paul, leipzig, "!werbinich")
    assert "nicht mehr" in await ask(manager, federal, f"!rolle entziehen {paul.user_id} koordinator --labor ogl-leipzig")
    assert "keine besondere Rolle" in await ask(paul, leipzig, "!werbinich")

    # Unlinking takes the room out of its lab.
    assert "nicht mehr mit OGL Köln verknüpft" in await ask(manager, koeln, "!labor trennen")
    assert "0 verknüpfte Räume" in await ask(manager, federal, "!labor info ogl-koeln")

    audit = await ask(manager, federal, "!protokoll --anzahl 50")
    for line in (
        "`labor anlegen` ausgeführt slug=ogl-leipzig",
        "`labor anlegen` ausgeführt slug=ogl-koeln",
        f"{paul.user_id}: `labor anlegen` abgelehnt",
        "`labor verknuepfen` ausgeführt slug=ogl-leipzig",
        f"`rolle vergeben` ausgeführt user={paul.user_id}",
        f"`rolle entziehen` ausgeführt user={paul.user_id}",
        "`labor trennen` ausgeführt slug=ogl-koeln",
    ):
        assert line in audit, (line, audit)
