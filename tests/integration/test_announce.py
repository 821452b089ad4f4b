"""Announcements to 50 lab rooms and the federal relay, through a real Synapse, in German.

Each lab room's messages are read back from Synapse: exactly one copy per room, also after the
bot was killed with -9 halfway through a broadcast and restarted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from nio import (
    AsyncClient,
    RedactedEvent,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomRedactResponse,
    RoomSendResponse,
)

from bot.devbot import BotProcess
from storage import Database

from .matrix_helpers import ask, create_room, replies_to, send_text, sync_once, wait_for_message

MakeBot = Callable[..., BotProcess]
MakeUser = Callable[..., tuple[str, str]]
NioClient = Callable[..., Awaitable[AsyncClient]]

STATES = ("SN", "BY", "NW")
LABS = 50  # lab rooms; every third is in Sachsen


async def seed_labs(url: str, rooms: list[str], manager: str) -> dict[str, str]:
    """One lab per room, spread over three Bundesländer: the test is not about lab set-up."""
    db = Database(url)
    await db.migrate()
    now = datetime.now(UTC)
    state_of: dict[str, str] = {}
    async with db.transaction() as store:
        for index, room in enumerate(rooms):
            state = STATES[index % len(STATES)]
            lab = await store.labs.create(slug=f"ogl-{index}", name=f"OGL {index}", city=f"Stadt {index}",
                                          state=state, level="kommune", host=None, host_legal_form=None,
                                          timezone="Europe/Berlin", created_by=manager, now=now)
            await store.labs.link(room, lab.id, manager, now)
            state_of[room] = state
    await db.close()
    return state_of


async def bot_events(client: AsyncClient, room: str, bot: str) -> list:
    resp = await client.room_messages(room, limit=200)
    assert isinstance(resp, RoomMessagesResponse), resp
    return [e for e in reversed(resp.chunk) if e.sender == bot]


async def all_events(client: AsyncClient, rooms: list[str], bot: str) -> dict[str, list]:
    """The bot's events in every room, read from Synapse ten rooms at a time."""
    found: dict[str, list] = {}
    for start in range(0, len(rooms), 10):
        batch = rooms[start:start + 10]
        for room, events in zip(batch, await asyncio.gather(*(bot_events(client, r, bot) for r in batch)), strict=True):
            found[room] = events
    return found


def copies_of(events: list, text: str) -> list:
    return [e for e in events if not isinstance(e, RedactedEvent) and text in getattr(e, "body", "")
            and e.source["content"].get("m.relates_to", {}).get("rel_type") != "m.replace"]


async def wait_done(client: AsyncClient, federal: str, announcement: int, total: int, timeout: float = 60) -> None:
    done = f"Ankündigung #{announcement}: {total}/{total} zugestellt, 0 fehlgeschlagen. Fertig."
    await wait_for_message(client, federal, lambda e: done in e.body, timeout=timeout)


async def count_sent(url: str, reference: str) -> tuple[int, int]:
    db = Database(url)
    try:
        async with db.transaction() as store:
            rows = await store.outbox.by_reference(reference)
        return sum(r.state == "sent" for r in rows), len(rows)
    finally:
        await db.close()


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


async def test_broadcast_to_50_rooms_exactly_once_with_kill_acknowledgements_edit_and_retract(
    make_bot: MakeBot, database_url: str, make_user: MakeUser, nio_client: NioClient
) -> None:
    manager = await nio_client(*make_user("carla"))
    bot = make_bot(database_url)
    federal = await create_room(manager, invite=[bot.user_id], name="Bundesteam")
    rooms: list[str] = []
    for start in range(0, LABS, 10):
        created = await asyncio.gather(*(manager.room_create(name=f"OGL {i}", invite=[bot.user_id])
                                         for i in range(start, min(start + 10, LABS))))
        assert all(isinstance(resp, RoomCreateResponse) for resp in created), created
        rooms += [resp.room_id for resp in created]
    state_of = await seed_labs(database_url, rooms, manager.user_id)
    bot.federal_room = federal
    bot.start()

    async def all_joined() -> bool:
        await sync_once(manager, timeout=500)
        return all(bot.user_id in manager.rooms[r].users and bot.user_id not in manager.rooms[r].invited_users
                   for r in [federal, *rooms])
    await until(all_joined, timeout=60)

    # Only the Saxon rooms.
    saxon = [r for r in rooms if state_of[r] == "SN"]
    probe = await ask(manager, federal, "!ankuendigen --probe --land SN Test")
    assert f"Zielräume: {len(saxon)}" in probe and "Nichts wurde gesendet" in probe
    reply = await ask(manager, federal, "!ankuendigen --land SN Treffen der **sächsischen** Labore am Freitag")
    assert f"Ankündigung #1 wird zugestellt (Räume: {len(saxon)}, Labore: {len(saxon)})." in reply
    await wait_done(manager, federal, 1, len(saxon))
    # The author reads the reply first, then the progress message (edited as copies go out).
    bodies = [getattr(e, "body", "") for e in await bot_events(manager, federal, bot.user_id)]
    reply_at = next(i for i, b in enumerate(bodies) if "Ankündigung #1 wird zugestellt" in b)
    progress_at = next(i for i, b in enumerate(bodies) if b.startswith("Ankündigung #1: "))
    assert reply_at < progress_at, bodies
    events = await all_events(manager, rooms, bot.user_id)
    for room in rooms:
        found = copies_of(events[room], "sächsischen")
        assert len(found) == (1 if room in saxon else 0), (room, state_of[room], len(found))
    first = copies_of(events[saxon[0]], "sächsischen")[0]
    assert first.body.startswith("Ankündigung des Bundesteams (")
    assert "<strong>sächsischen</strong>" in first.source["content"]["formatted_body"]

    # All 50; killed with -9 about halfway, then restarted. One at a time, to catch it halfway.
    bot.stop()
    bot.delivery_concurrency = 1
    bot.start()
    await send_text(manager, federal, "!ankuendigen Bundesweiter Aktionstag im Mai")
    await until(lambda: _at_least(database_url, "announcement:2", 15), timeout=30)
    bot.kill()
    sent, total = await count_sent(database_url, "announcement:2")
    assert total == LABS and sent < LABS, (sent, total)
    bot.delivery_concurrency = 8
    bot.start()
    await wait_done(manager, federal, 2, LABS)
    copies: dict[str, str] = {}
    events = await all_events(manager, rooms, bot.user_id)
    for room in rooms:
        found = copies_of(events[room], "Aktionstag")
        assert len(found) == 1, (room, len(found))
        copies[room] = found[0].event_id

    # Reactions in four rooms are four labs' acknowledgements; one is withdrawn again (redacted).
    reactions = []
    for room in rooms[:4]:
        resp = await manager.room_send(room, "m.reaction", {"m.relates_to": {
            "rel_type": "m.annotation", "event_id": copies[room], "key": "✅"}})
        assert isinstance(resp, RoomSendResponse), resp
        reactions.append(resp.event_id)

    async def acks(n: int) -> bool:
        return f"bestätigt von {n} von 50 Laboren" in await ask(manager, federal, "!ankuendigung status 2")
    await until(lambda: acks(4), timeout=20)
    assert isinstance(await manager.room_redact(rooms[3], reactions[3]), RoomRedactResponse)
    await until(lambda: acks(3), timeout=20)
    status = await ask(manager, federal, "!ankuendigung status 2")
    assert "50 zugestellt, 0 fehlgeschlagen, 0 ausstehend" in status and "✅" in status

    # Edit: every copy gets an m.replace with the new text.
    assert "zugestellte Exemplare: 50" in await ask(manager, federal, "!ankuendigung aendern 2 Aktionstag verschoben auf Juni")
    await until(lambda: _at_least(database_url, "announcement-edit:2", LABS), timeout=30)
    events = await all_events(manager, rooms, bot.user_id)
    for room in rooms:
        edits = [e for e in events[room]
                 if e.source.get("content", {}).get("m.relates_to", {}).get("event_id") == copies[room]]
        assert len(edits) == 1, room
        assert edits[0].source["content"]["m.new_content"]["body"].endswith("Aktionstag verschoben auf Juni")

    # Retract: every copy is redacted.
    assert "entfernte Exemplare: 50" in await ask(manager, federal, "!ankuendigung zurueckziehen 2")
    await until(lambda: _at_least(database_url, "announcement-retract:2", LABS), timeout=30)
    events = await all_events(manager, rooms, bot.user_id)
    for room in rooms:
        by_id = {e.event_id: e for e in events[room]}
        assert isinstance(by_id[copies[room]], RedactedEvent), room
    assert "zurückgezogen" in await ask(manager, federal, "!ankuendigungen")
    bot.stop()  # before the database fixture drops a PostgreSQL database under it


async def _at_least(url: str, reference: str, n: int) -> bool:
    return (await count_sent(url, reference))[0] >= n


async def test_questions_are_relayed_both_ways_from_an_encrypted_lab_room(
    make_bot: MakeBot, database_url: str, make_user: MakeUser, nio_client: NioClient
) -> None:
    manager = await nio_client(*make_user("carla"))
    lea = await nio_client(*make_user("lea"), encryption=True)
    bot = make_bot(database_url)
    federal = await create_room(manager, invite=[bot.user_id], name="Bundesteam")
    lab_room = await create_room(lea, invite=[bot.user_id], encrypted=True, name="OGL Leipzig")
    await seed_labs(database_url, [lab_room], manager.user_id)
    bot.federal_room = federal
    bot.start()
    await wait_for_message(lea, lab_room, lambda e: e.sender == bot.user_id, timeout=30)  # the greeting

    question = await send_text(lea, lab_room, "!frage Wie beantragen wir Fördermittel für Workshops?")
    confirm = await wait_for_message(lea, lab_room, replies_to(question), timeout=20)
    assert "Ihre Frage #1 wurde an das Bundesteam weitergeleitet" in confirm.body and confirm.decrypted
    forwarded = await wait_for_message(manager, federal, lambda e: "Frage #1 aus OGL 0" in e.body, timeout=20)
    assert lea.user_id in forwarded.body and "Fördermittel für Workshops" in forwarded.body

    # The team answers with a Matrix reply; it reaches the lab room as a reply to the question.
    answer = await manager.room_send(federal, "m.room.message", {
        "msgtype": "m.text", "body": "> <@bot> Frage #1\n\nÜber das Landesprogramm, Formular B.",
        "m.relates_to": {"m.in_reply_to": {"event_id": forwarded.event_id}}})
    assert isinstance(answer, RoomSendResponse), answer
    relayed = await wait_for_message(lea, lab_room, replies_to(question), timeout=20)
    assert "Antwort des Bundesteams" in relayed.body and "Über das Landesprogramm, Formular B." in relayed.body
    assert "> <@bot>" not in relayed.body and relayed.decrypted

    # The lab replies to that; it reaches the federal room as a reply to the team's answer.
    resp = await lea.room_send(lab_room, "m.room.message", {
        "msgtype": "m.text", "body": "Danke, und bis wann?",
        "m.relates_to": {"m.in_reply_to": {"event_id": relayed.event_id}}}, ignore_unverified_devices=True)
    assert isinstance(resp, RoomSendResponse), resp
    back = await wait_for_message(manager, federal, replies_to(answer.event_id), timeout=20)
    assert "OGL 0" in back.body and "Danke, und bis wann?" in back.body

    listing = await ask(manager, federal, "!fragen")
    assert "#1 OGL 0" in listing and "(1 Antwort)" in listing
    assert "Frage #1 ist geschlossen" in await ask(manager, federal, "!beantwortet 1")
    assert "Keine offenen Fragen" in await ask(manager, federal, "!fragen")
    bot.stop()

