"""Milestone notices, the weekly overdue summary and the lab digest, fired by the due-work engine
on a fixed clock: each notice at 09:00 local on its day (across the DST changes of 2027), late ones
once and marked, daily while overdue, and never again after `done`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.i18n import translator
from commands.context import FixedClock, NetworkSettings
from commands.digest import DIGEST_SECTIONS, DigestContext, digest_section
from commands.duework import LATE_AFTER, LATE_VARIANT, fire_due
from commands.milestone_notices import SUMMARY, ensure_recurring
from commands.reply import Reply
from storage import Database
from tests.unit.commandkit import ADMIN, FEDERAL, Chat

LEIPZIG, LEIPZIG_2, KOELN = "!leipzig:example.org", "!leipzig-2:example.org", "!koeln:example.org"
COORD, KOELN_COORD = "@lea:example.org", "@kim:example.org"
NETWORK = NetworkSettings(name="Open Gov Labs", language="de", timezone="Europe/Berlin",
                          admins=frozenset({ADMIN}), federal_room_id=FEDERAL)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
async def chat(db: Database, clock: FixedClock) -> Chat:
    chat = Chat(db, clock)
    for room in (LEIPZIG, LEIPZIG_2, KOELN, FEDERAL):
        chat.state.join(room, ADMIN)
    chat.state.join(LEIPZIG, COORD, 50)
    chat.state.join(KOELN, KOELN_COORD, 50)
    await ok(chat, '!labor anlegen "OGL Leipzig" --stadt Leipzig --land SN', sender=ADMIN)
    await ok(chat, "!labor verknuepfen ogl-leipzig", sender=ADMIN)
    await ok(chat, "!labor verknuepfen ogl-leipzig", sender=ADMIN, room=LEIPZIG_2)
    await ok(chat, '!labor anlegen "OGL Köln" --stadt Köln --land NW', sender=ADMIN, room=KOELN)
    await ok(chat, "!labor verknuepfen ogl-koeln", sender=ADMIN, room=KOELN)
    return chat


async def ok(chat: Chat, text: str, *, sender: str = COORD, room: str = LEIPZIG) -> str:
    outcome = await chat.send(text, sender=sender, room=room)
    body = (await chat.reply_of(outcome))["body"]
    assert outcome.result == "ok", (text, body)
    return body


async def fire_at(db: Database, now: datetime) -> list[tuple[str, str]]:
    fired = await fire_due(db, now, NETWORK, translator)
    return [(row.room_id, row.content["body"]) for row in fired.rows]


async def run(db: Database, clock: FixedClock, until: datetime) -> list[tuple[datetime, str, str]]:
    """Fire every item at exactly its due time, up to `until`: (time, room, body) of each message."""
    sent: list[tuple[datetime, str, str]] = []
    while True:
        async with db.transaction() as store:
            next_at = await store.due.next_due_at()
        if next_at is None or next_at > until:
            clock.current = until
            return sent
        clock.current = next_at
        sent += [(next_at, room, body) for room, body in await fire_at(db, next_at)]


async def test_offsets_fire_at_nine_local_across_the_spring_change(chat: Chat, db: Database, clock: FixedClock) -> None:
    clock.current = utc(2027, 2, 1, 9)
    await ok(chat, "!meilenstein anlegen Konzept --faellig 5.4.2027 --erinnern 30d,7d,1d")
    sent = await run(db, clock, utc(2027, 4, 7, 12))
    leipzig = [(at, body.splitlines()[0]) for at, room, body in sent if room == LEIPZIG]
    assert leipzig == [
        (utc(2027, 3, 6, 8), "OGL Leipzig: Meilenstein #1 Konzept ist in 30 Tagen fällig, am 05.04.2027."),  # CET
        (utc(2027, 3, 29, 7), "OGL Leipzig: Meilenstein #1 Konzept ist in 7 Tagen fällig, am 05.04.2027."),  # CEST
        (utc(2027, 4, 4, 7), "OGL Leipzig: Meilenstein #1 Konzept ist in 1 Tag fällig, am 05.04.2027."),
        (utc(2027, 4, 5, 7), "OGL Leipzig: Meilenstein #1 Konzept ist heute fällig (05.04.2027)."),
        (utc(2027, 4, 6, 7), "OGL Leipzig: Meilenstein #1 Konzept ist seit 1 Tag überfällig (fällig am 05.04.2027)."),
        (utc(2027, 4, 7, 7), "OGL Leipzig: Meilenstein #1 Konzept ist seit 2 Tagen überfällig (fällig am 05.04.2027)."),
    ]
    assert len([s for s in sent if s[1] == LEIPZIG_2]) == 6  # every linked room of the lab
    assert all("Verspätet" not in body for _, _, body in sent)
    assert "@lea:example.org" in sent[0][2] and "meilenstein erledigt 1" in sent[-1][2]


async def test_daily_overdue_notices_keep_nine_local_across_the_autumn_change(
    chat: Chat, db: Database, clock: FixedClock
) -> None:
    clock.current = utc(2027, 10, 1, 9)
    await ok(chat, "!meilenstein anlegen Satzung --faellig 30.10.2027 --erinnern 1d", room=LEIPZIG)
    sent = await run(db, clock, utc(2027, 11, 1, 12))
    assert [at for at, room, _ in sent if room == LEIPZIG] == [
        utc(2027, 10, 29, 7),  # 1 day before, 09:00 CEST
        utc(2027, 10, 30, 7),  # the due day
        utc(2027, 10, 31, 8),  # overdue, 09:00 CET: the clocks went back that night
        utc(2027, 11, 1, 8),
    ]


async def test_daily_overdue_notices_stop_after_done(chat: Chat, db: Database, clock: FixedClock) -> None:
    await ok(chat, "!meilenstein anlegen Satzung --faellig 1.12.2026 --erinnern keine")
    assert len(await run(db, clock, utc(2026, 12, 3, 12))) == 2 * 3  # due day and two overdue days, two rooms
    await ok(chat, "!meilenstein erledigt 1")
    assert await run(db, clock, utc(2026, 12, 20, 12)) == []
    async with db.transaction() as store:
        assert await store.due.pending(subject="milestone:1") == []


async def test_moving_an_overdue_milestone_restarts_its_notices(chat: Chat, db: Database, clock: FixedClock) -> None:
    await ok(chat, "!meilenstein anlegen Satzung --faellig 1.12.2026 --erinnern keine")
    await run(db, clock, utc(2026, 12, 2, 12))
    await ok(chat, "!meilenstein verschieben 1 --faellig 10.12.2026")
    sent = await run(db, clock, utc(2026, 12, 10, 12))
    assert [(at, body.splitlines()[0]) for at, room, body in sent if room == LEIPZIG] == [
        (utc(2026, 12, 10, 8), "OGL Leipzig: Meilenstein #1 Satzung ist heute fällig (10.12.2026).")
    ]


async def test_notices_missed_while_down_arrive_once_marked_late(chat: Chat, db: Database, clock: FixedClock) -> None:
    await ok(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027 --erinnern 7d,1d")
    sent = await fire_at(db, utc(2027, 1, 14, 11))  # down from before the 7-day notice until after the 1-day one
    assert [room for room, _ in sent] == [LEIPZIG, LEIPZIG_2]
    assert "ist in 1 Tag fällig" in sent[0][1] and "Verspätet: Dieser Hinweis war für 14.01.2027 09:00 fällig." in sent[0][1]
    assert await fire_at(db, utc(2027, 1, 14, 11, 1)) == []  # never twice
    later = await fire_at(db, utc(2027, 1, 20, 10))  # down across the due day
    assert len(later) == 2 and "seit 5 Tagen überfällig" in later[0][1] and "Verspätet" in later[0][1]
    async with db.transaction() as store:
        [following] = await store.due.pending(subject="milestone:1")
    assert following.due_at == utc(2027, 1, 21, 8) and following.payload["stage"] == "overdue"


async def test_a_late_overdue_notice_before_nine_is_not_followed_by_another_that_day(
    chat: Chat, db: Database, clock: FixedClock
) -> None:
    await ok(chat, "!meilenstein anlegen Satzung --faellig 1.12.2026 --erinnern keine")
    sent = await fire_at(db, utc(2026, 12, 3, 7, 30))  # back at 08:30, before that day's 09:00
    assert len(sent) == 2 and "seit 2 Tagen überfällig" in sent[0][1] and "Verspätet" in sent[0][1]
    async with db.transaction() as store:
        [following] = await store.due.pending(subject="milestone:1")
    assert following.due_at == utc(2026, 12, 4, 8)


async def test_network_milestone_notices_go_to_the_federal_room(chat: Chat, db: Database, clock: FixedClock) -> None:
    await ok(chat, "!meilenstein anlegen Förderaufruf --faellig 1.12.2026 --erinnern keine", sender=ADMIN, room=FEDERAL)
    [(room, body)] = await fire_at(db, utc(2026, 12, 1, 8))
    assert room == FEDERAL and body.startswith("Netzwerk: Meilenstein #1 Förderaufruf ist heute fällig")


async def test_weekly_summary_lists_overdue_milestones_across_labs(chat: Chat, db: Database, clock: FixedClock) -> None:
    await ok(chat, "!meilenstein anlegen Satzung --faellig 1.11.2026")
    await ok(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027")
    await ok(chat, "!meilenstein anlegen Erledigtes --faellig 2.11.2026")
    await ok(chat, "!meilenstein erledigt 3")
    await ok(chat, "!meilenstein anlegen Beschluss --faellig 20.11.2026", sender=KOELN_COORD, room=KOELN)
    await ok(chat, "!meilenstein anlegen Förderaufruf --faellig 25.11.2026", sender=ADMIN, room=FEDERAL)
    for _ in range(2):  # at every start-up: still one summary
        async with db.transaction() as store:
            await ensure_recurring(store, clock.now(), NETWORK)
    async with db.transaction() as store:
        [summary] = await store.due.pending(kind=SUMMARY)
    assert summary.due_at == utc(2026, 11, 30, 8) and summary.recurrence == "0 9 * * 1"
    sent = await fire_at(db, utc(2026, 11, 30, 8))
    [body] = [body for room, body in sent if room == FEDERAL and body.startswith("Wochenübersicht")]
    assert body.splitlines() == [
        "Wochenübersicht: 3 Meilensteine sind überfällig",
        "• Netzwerk: #5 25.11.2026 Förderaufruf: seit 5 Tagen überfällig",
        "• OGL Köln: #4 20.11.2026 Beschluss: seit 10 Tagen überfällig",
        "• OGL Leipzig: #1 01.11.2026 Satzung: seit 29 Tagen überfällig",
    ]
    async with db.transaction() as store:
        [summary] = await store.due.pending(kind=SUMMARY)
    assert summary.due_at == utc(2026, 12, 7, 8)  # next Monday


async def test_summary_moves_with_the_network_zone(db: Database, clock: FixedClock) -> None:
    async with db.transaction() as store:
        await ensure_recurring(store, clock.now(), NETWORK)
    lisbon = NetworkSettings(name="x", language="de", timezone="Europe/Lisbon", admins=frozenset())
    async with db.transaction() as store:
        await ensure_recurring(store, clock.now(), lisbon)
    async with db.transaction() as store:
        [summary] = await store.due.pending(kind=SUMMARY)
    assert summary.timezone == "Europe/Lisbon" and summary.due_at == utc(2026, 11, 30, 9)


async def test_weekly_digest_lists_milestones_and_bookings_per_day(chat: Chat, db: Database, clock: FixedClock) -> None:
    await ok(chat, "!raum anlegen Coworking --kapazitaet 6")
    await ok(chat, "!buchen Coworking 30.11. 10-12 --plaetze 2")
    await ok(chat, "!buchen Coworking 30.11. 14-16")
    await ok(chat, "!buchen Coworking 2.12. 9-17")
    await ok(chat, "!buchen Coworking 8.12. 9-17")  # next week
    await ok(chat, "!meilenstein anlegen Satzung --faellig 1.11.2026")
    await ok(chat, "!meilenstein anlegen Konzept --faellig 20.12.2026")
    await ok(chat, "!meilenstein anlegen Später --faellig 15.01.2027")
    await ok(chat, "!wochenbericht an")

    @digest_section("test-requests", 30)
    async def requests_section(ctx: DigestContext) -> Reply:
        return Reply().h("Offene Anfragen von {lab}", lab=ctx.lab.name)

    try:
        sent = await fire_at(db, utc(2026, 11, 30, 8))
    finally:
        DIGEST_SECTIONS[:] = [p for p in DIGEST_SECTIONS if p.name != "test-requests"]
    [body] = [body for room, body in sent if room == LEIPZIG and body.startswith("Wochenbericht")]
    assert body.splitlines() == [
        "Wochenbericht von OGL Leipzig, 30.11.–06.12.2026",
        "Meilensteine in den nächsten 4 Wochen",
        "• #1 01.11.2026 Satzung: seit 29 Tagen überfällig",
        "• #2 20.12.2026 Konzept: offen, fällig in 20 Tagen",
        "Buchungen dieser Woche",
        "• Mo 30.11.: Coworking: 2 Buchungen, 3 Plätze",
        "• Mi 02.12.: Coworking: 1 Buchung, 1 Platz",
        "Offene Anfragen von OGL Leipzig",
        "Offene Fragen an das Bundesteam",  # the relay's section (order 40)
        "Keine.",
    ]
    assert not [room for room, body in sent if body.startswith("Wochenbericht") and room != LEIPZIG]
    async with db.transaction() as store:
        [digest] = await store.due.pending(kind="digest")
    assert digest.due_at == utc(2026, 12, 7, 8)


async def test_weekly_digest_lists_the_labs_open_questions(chat: Chat, db: Database, clock: FixedClock) -> None:
    await ok(chat, "!wochenbericht an")
    await ok(chat, "!frage Wie beantragen wir Fördermittel für das Reallabor?")
    sent = await fire_at(db, utc(2026, 11, 30, 8))
    [body] = [body for room, body in sent if room == LEIPZIG and body.startswith("Wochenbericht")]
    lines = body.splitlines()
    assert lines[lines.index("Offene Fragen an das Bundesteam") + 1] == (
        "• #1, gestellt vor 2 Tagen: Wie beantragen wir Fördermittel für das Reallabor?"
    )


async def test_a_notice_fired_on_time_carries_its_late_form_for_a_homeserver_outage(
    chat: Chat, db: Database, clock: FixedClock
) -> None:
    """Fired at 09:00 but held up by the homeserver: the sender sends the late form after 09:01."""
    clock.current = utc(2027, 1, 10, 9)
    await ok(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027 --erinnern 1d")
    fired = await fire_due(db, utc(2027, 1, 14, 8), NETWORK, translator)  # 09:00 Berlin, on time
    [content] = [row.content for row in fired.rows if row.room_id == LEIPZIG]
    assert "Verspätet" not in content["body"]
    late = content[LATE_VARIANT]
    assert late["after"] == (utc(2027, 1, 14, 8) + LATE_AFTER).isoformat()
    assert late["content"]["body"].startswith(content["body"].split("\n")[0])
    assert late["content"]["body"].endswith("Verspätet: Dieser Hinweis war für 14.01.2027 09:00 fällig.")
