"""Labs, links, roles and the audit log through the dispatcher, in German."""

from __future__ import annotations

import pytest

from commands.context import FixedClock
from storage import Database
from tests.unit.commandkit import ADMIN, FEDERAL, Chat

LEIPZIG_ROOM, KOELN_ROOM = "!leipzig:example.org", "!koeln:example.org"
MANAGER = "@carla:example.org"


@pytest.fixture
def chat(db: Database, clock: FixedClock) -> Chat:
    chat = Chat(db, clock)
    chat.state.join(FEDERAL, MANAGER, 50)
    chat.state.join(LEIPZIG_ROOM, MANAGER)
    chat.state.join(KOELN_ROOM, MANAGER)
    chat.state.names.update({LEIPZIG_ROOM: "OGL Leipzig Raum", KOELN_ROOM: "OGL Köln Raum"})
    return chat


async def body(chat: Chat, text: str, **kwargs: str) -> str:
    return (await chat.reply_of(await chat.send(text, **kwargs)))["body"]


async def two_labs(chat: Chat) -> None:
    assert "angelegt" in await body(
        chat, '!labor anlegen "OGL Leipzig" --stadt Leipzig --land SN --traeger "Stadt Leipzig" --rechtsform Kommune',
        sender=MANAGER, room=LEIPZIG_ROOM,
    )
    assert "`ogl-koeln`" in await body(
        chat, "!lab create OGL Köln --city Köln --state NRW --level land", sender=MANAGER, room=KOELN_ROOM
    )
    assert "verknüpft" in await body(chat, "!labor verknuepfen ogl-leipzig", sender=MANAGER, room=LEIPZIG_ROOM)
    assert "verknüpft" in await body(chat, "!labor verknüpfen „OGL Köln“", sender=MANAGER, room=KOELN_ROOM)


async def test_manager_creates_and_links_labs_and_labs_lists_them_grouped(chat: Chat) -> None:
    await two_labs(chat)
    text = await body(chat, "!labore")
    assert "2 Labore" in text
    assert text.index("Nordrhein-Westfalen") < text.index("OGL Köln") < text.index("Sachsen") < text.index("OGL Leipzig")
    only = await body(chat, "!labore --land Sachsen")
    assert "OGL Leipzig" in only and "Köln" not in only


async def test_lab_info_shows_every_field(chat: Chat) -> None:
    await two_labs(chat)
    chat.state.join(LEIPZIG_ROOM, "@lea:example.org", 50)
    text = await body(chat, "!labor info", room=LEIPZIG_ROOM)
    for part in ("OGL Leipzig (`ogl-leipzig`)", "Stadt: Leipzig", "Bundesland: Sachsen (SN)", "Ebene: Kommune",
                 "Träger: Stadt Leipzig (Kommune)", "1 verknüpfter Raum: OGL Leipzig Raum",
                 "Koordination: @lea:example.org"):
        assert part in text, (part, text)
    assert "Ebene: Land" in await body(chat, "!labor info ogl-koeln")


async def test_member_without_grant_cannot_create_a_lab_and_the_refusal_is_audited(chat: Chat) -> None:
    outcome = await chat.send('!labor anlegen "OGL Kiel" --stadt Kiel --land SH', sender="@bob:example.org")
    text = (await chat.reply_of(outcome))["body"]
    assert outcome.result == "refused" and "Community-Manager:in des Bundesteams" in text
    async with chat.db.transaction() as store:
        assert await store.labs.count() == 0
        [entry] = await store.audit.recent()
        assert (entry.actor, entry.action, entry.outcome) == ("@bob:example.org", "lab create", "refused")


async def test_bad_lab_input_is_explained_and_nothing_is_stored(chat: Chat) -> None:
    text = await body(chat, '!labor anlegen "OGL X" --stadt X --land XY', sender=MANAGER)
    assert "„XY“ ist kein Bundesland-Kürzel" in text and "Verwendung" in text
    text = await body(chat, "!labor anlegen --stadt X --land SN", sender=MANAGER)
    assert "Ein Labor braucht einen Namen, eine Stadt und ein Bundesland." in text
    await two_labs(chat)
    assert "gibt es schon" in await body(chat, "!labor anlegen OGL Leipzig --stadt L --land SN", sender=MANAGER)
    assert "Meinten Sie ogl-leipzig" in await body(chat, "!labor info ogl-leipzg")
    async with chat.db.transaction() as store:
        assert await store.labs.count() == 2


async def test_power_level_grant_and_revoke_show_in_whoami(chat: Chat) -> None:
    await two_labs(chat)
    chat.state.join(LEIPZIG_ROOM, "@lea:example.org", 50)
    chat.state.join(LEIPZIG_ROOM, "@paul:example.org")
    assert "Koordination von OGL Leipzig" in await body(chat, "!werbinich", sender="@lea:example.org", room=LEIPZIG_ROOM)
    before = await body(chat, "!werbinich", sender="@paul:example.org", room=LEIPZIG_ROOM)
    assert "keine besondere Rolle" in before and "Ihre Labore: OGL Leipzig" in before
    granted = await body(chat, "!rolle vergeben @paul:example.org koordinator", sender=MANAGER, room=LEIPZIG_ROOM)
    assert "@paul:example.org koordiniert jetzt OGL Leipzig" in granted
    assert "Koordination von OGL Leipzig" in await body(chat, "!werbinich", sender="@paul:example.org", room=LEIPZIG_ROOM)
    await body(chat, "!rolle entziehen @paul:example.org koordinator --labor ogl-leipzig", sender=MANAGER)
    assert "keine besondere Rolle" in await body(chat, "!werbinich", sender="@paul:example.org", room=LEIPZIG_ROOM)
    log = await body(chat, "!protokoll --labor ogl-leipzig", sender=MANAGER)
    for action in ("rolle vergeben", "rolle entziehen", "labor verknuepfen", "labor anlegen"):
        assert action in log


async def test_only_admins_make_managers(chat: Chat) -> None:
    refused = await chat.send("!rolle vergeben @x:example.org manager", sender=MANAGER)
    assert refused.result == "refused" and "Administrator:in" in (await chat.reply_of(refused))["body"]
    assert "ist jetzt Community-Manager:in" in await body(chat, "!role grant @x:example.org manager", sender=ADMIN)
    assert "Community-Manager:in des Bundesteams" in await body(chat, "!werbinich", sender="@x:example.org")


async def test_unlink_removes_the_room_from_its_lab(chat: Chat) -> None:
    await two_labs(chat)
    outcome = await chat.send("!labor trennen", sender=MANAGER, room=KOELN_ROOM)
    assert "nicht mehr mit OGL Köln verknüpft" in (await chat.reply_of(outcome))["body"]
    assert outcome.signals == {"labs"}
    assert "0 verknüpfte Räume" in await body(chat, "!labor info ogl-koeln")
    assert "nicht mit einem Labor verknüpft" in await body(chat, "!labor trennen", sender=MANAGER, room=KOELN_ROOM)


async def test_a_lab_coordinator_cannot_link_a_room_to_another_lab(chat: Chat) -> None:
    await two_labs(chat)
    chat.state.join("!new:example.org", "@lea:example.org", 100)
    chat.state.join(LEIPZIG_ROOM, "@lea:example.org", 50)
    outcome = await chat.send("!labor verknuepfen ogl-koeln", sender="@lea:example.org", room="!new:example.org")
    assert outcome.result == "refused"
    ok = await chat.send("!labor verknuepfen ogl-leipzig", sender="@lea:example.org", room="!new:example.org")
    assert ok.result == "ok"


async def test_a_thousand_labs_fit_in_one_readable_message(chat: Chat, clock: FixedClock) -> None:
    from commands.geo import STATES

    codes = list(STATES)
    async with chat.db.transaction() as store:
        for i in range(1000):
            await store.labs.create(
                slug=f"open-government-lab-nummer-{i}", name=f"Open Government Lab Nummer {i}",
                city="Stadt", state=codes[i % 16], level="kommune", host=None, host_legal_form=None,
                timezone="Europe/Berlin", created_by=ADMIN, now=clock.now(),
            )
    content = await chat.reply_of(await chat.send("!labore"))
    size = len(content["body"].encode()) + len(content["formatted_body"].encode())
    assert size < 40_000, size
    assert "1000 Labore" in content["body"] and "weitere" in content["body"]
    assert "Ein Bundesland vollständig: `!labore --land SN`" in content["body"]
    saxony = (await chat.reply_of(await chat.send("!labore --land SN")))["body"]
    assert saxony.count("• ") == 62 and "weitere" not in saxony  # i % 16 == 12 for 62 of 1000


async def test_a_group_name_alone_offers_its_subcommands(chat: Chat) -> None:
    text = await body(chat, "!labor")
    assert "Meinten Sie !labor anlegen, !labor verknuepfen, !labor trennen, !labor info?" in text
    assert "!rolle vergeben" in await body(chat, "!rolle")
