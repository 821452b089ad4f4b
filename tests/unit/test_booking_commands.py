"""Spaces and bookings through the dispatcher, in German, on a fixed clock (Fri 27.11.2026, 10:00).

Every test checks the reply and what the database holds afterwards: a refused booking must
leave the bookings table as it was.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from commands.context import FixedClock
from commands.dispatch import Outcome
from storage import Database
from storage.models import Booking, OutboxRow, Space
from tests.unit.commandkit import ADMIN, Chat

LEIPZIG = "!leipzig:example.org"
KOELN = "!koeln:example.org"
ELSEWHERE = "!elsewhere:example.org"  # a group room not linked to any lab
EVE_DM = "!eve-dm:example.org"
COORD = "@lea:example.org"  # power 50 in LEIPZIG (and KOELN): coordinator
BOB, EVE = "@bob:example.org", "@eve:example.org"  # members


@pytest.fixture
def chat(db: Database, clock: FixedClock) -> Chat:
    chat = Chat(db, clock)
    for room in (LEIPZIG, KOELN):
        chat.state.join(room, ADMIN)
        chat.state.join(room, COORD, 50)
        chat.state.join(room, BOB)
        chat.state.join(room, EVE)
    chat.state.join(ELSEWHERE, BOB)
    chat.state.join(EVE_DM, EVE)
    chat.state.direct.add(EVE_DM)
    chat.state.names.update({LEIPZIG: "OGL Leipzig Raum", KOELN: "OGL Köln Raum"})
    return chat


async def say(
    chat: Chat, text: str, *, sender: str = BOB, room: str = LEIPZIG
) -> tuple[Outcome, str]:
    outcome = await chat.send(text, sender=sender, room=room)
    return outcome, (await chat.reply_of(outcome))["body"]


async def body(chat: Chat, text: str, *, sender: str = BOB, room: str = LEIPZIG) -> str:
    return (await say(chat, text, sender=sender, room=room))[1]


async def ok(chat: Chat, text: str, *, sender: str = BOB, room: str = LEIPZIG) -> str:
    outcome, text_ = await say(chat, text, sender=sender, room=room)
    assert outcome.result == "ok", (text, outcome.result, text_)
    return text_


async def booked_id(chat: Chat, text: str, *, sender: str = BOB, room: str = LEIPZIG) -> int:
    reply = await ok(chat, text, sender=sender, room=room)
    assert reply.startswith("Gebucht:"), reply
    return int(re.search(r"\(#(\d+)\)", reply)[1])


async def leipzig(chat: Chat, *, capacity: int = 6) -> None:
    """The manager creates OGL Leipzig (SN) and links LEIPZIG; the coordinator adds Coworking."""
    assert "angelegt" in await ok(
        chat, '!labor anlegen "OGL Leipzig" --stadt Leipzig --land SN', sender=ADMIN
    )
    assert "verknüpft" in await ok(chat, "!labor verknuepfen ogl-leipzig", sender=ADMIN)
    added = await ok(chat, f"!raum anlegen Coworking --kapazitaet {capacity}", sender=COORD)
    assert f"Raum Coworking in OGL Leipzig angelegt: Arbeitsplätze, Kapazität {capacity}" in added
    assert "Mo–So 08:00–22:00" in added


async def koeln(chat: Chat) -> None:
    await ok(chat, '!labor anlegen "OGL Köln" --stadt Köln --land NW', sender=ADMIN, room=KOELN)
    await ok(chat, "!labor verknuepfen ogl-koeln", sender=ADMIN, room=KOELN)
    await ok(chat, "!raum anlegen Coworking --kapazitaet 4", sender=COORD, room=KOELN)


async def bookings(chat: Chat, *, active_only: bool = True) -> list[Booking]:
    async with chat.db.transaction() as store:
        stmt = select(Booking).order_by(Booking.id)
        if active_only:
            stmt = stmt.where(Booking.cancelled_at.is_(None))
        return list((await store.session.scalars(stmt)).all())


async def outbox(chat: Chat, purpose: str) -> list[OutboxRow]:
    async with chat.db.transaction() as store:
        rows = await store.session.scalars(
            select(OutboxRow).where(OutboxRow.purpose == purpose).order_by(OutboxRow.id)
        )
        return list(rows.all())


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


async def test_over_capacity_is_refused_with_the_free_count_and_nothing_is_stored(
    chat: Chat,
) -> None:
    await leipzig(chat)
    first = await booked_id(chat, "!buchen Coworking morgen 14-16 --plaetze 5")
    outcome, text = await say(chat, "!buchen Coworking morgen 15-17 --plaetze 2", sender=EVE)
    assert outcome.result == "refused"
    assert "Nur 1 von 6 Plätzen sind dann frei; Sie wollten 2." in text
    outcome, text = await say(chat, "!buchen Coworking morgen 9-18 --plaetze 7", sender=EVE)
    assert outcome.result == "refused" and "Nur 1 von 6" in text and "Sie wollten 7" in text
    assert [b.id for b in await bookings(chat)] == [first]
    # One place is still free, and the whole space after 16:00 (half-open intervals).
    second = await booked_id(chat, "!buchen Coworking morgen 15-17", sender=EVE)
    third = await booked_id(chat, "!buchen Coworking morgen 17-18 --plaetze 5", sender=EVE)
    stored = await bookings(chat)
    assert [(b.id, b.user_id, b.desks, b.start_at, b.end_at, b.room_id) for b in stored] == [
        (first, BOB, 5, utc(2026, 11, 28, 13), utc(2026, 11, 28, 15), LEIPZIG),
        (second, EVE, 1, utc(2026, 11, 28, 14), utc(2026, 11, 28, 16), LEIPZIG),
        (third, EVE, 5, utc(2026, 11, 28, 16), utc(2026, 11, 28, 17), LEIPZIG),
    ]


async def test_opening_hours_are_enforced_and_can_be_changed(chat: Chat) -> None:
    await leipzig(chat)
    for slot in ("7-9", "20-23", "21:30-22:30"):
        outcome, text = await say(chat, f"!buchen Coworking morgen {slot}")
        assert outcome.result == "refused", (slot, text)
        assert (
            "Coworking ist am 28.11.2026 von 08:00 bis 22:00 geöffnet" in text
            and "liegt außerhalb" in text
        )
    assert await bookings(chat) == []
    saturday = await ok(chat, "!raum zeiten Coworking Sa geschlossen", sender=COORD)
    assert (
        "Öffnungszeiten von Coworking: Mo–Fr 08:00–22:00, Sa geschlossen, So 08:00–22:00"
        in saturday
    )
    outcome, text = await say(chat, "!buchen Coworking morgen 10-12")  # morgen is Saturday 28.11.
    assert outcome.result == "refused" and "Coworking ist an diesem Wochentag geschlossen." in text
    weekdays = await ok(chat, "!raum zeiten Coworking Mo-Fr 09-17", sender=COORD)
    assert (
        "Öffnungszeiten von Coworking: Mo–Fr 09:00–17:00, Sa geschlossen, So 08:00–22:00"
        in weekdays
    )
    outcome, text = await say(chat, "!buchen Coworking 30.11. 8-10")
    assert (
        outcome.result == "refused"
        and "von 09:00 bis 17:00 geöffnet; 08:00–10:00 liegt außerhalb" in text
    )
    assert await bookings(chat) == []
    monday = await booked_id(chat, "!buchen Coworking 30.11. 9-17")
    sunday = await booked_id(chat, "!buchen Coworking 29.11. 8-22")
    assert [b.id for b in await bookings(chat)] == [monday, sunday]
    # Only a coordinator sets hours.
    outcome, text = await say(chat, "!raum zeiten Coworking So geschlossen")
    assert outcome.result == "refused" and "Koordinator:in" in text
    async with chat.db.transaction() as store:
        [space] = await store.session.scalars(select(Space))
        assert space.hours["5"] is None and space.hours["6"] == [480, 1320]
        assert [space.hours[str(d)] for d in range(5)] == [[540, 1020]] * 5


async def test_holidays_follow_the_bundesland(chat: Chat) -> None:
    await leipzig(chat)
    await koeln(chat)
    # Reformationstag: a holiday in Saxony, not in North Rhine-Westphalia.
    outcome, text = await say(chat, "!buchen Coworking 31.10.2027 10-12")
    assert outcome.result == "refused"
    assert re.search(
        r"Der 31\.10\.2027 ist in (SN|Sachsen) ein Feiertag: Reformationstag\. Coworking ist geschlossen\.",
        text,
    ), text
    cologne = await booked_id(chat, "!buchen Coworking 31.10.2027 10-12", room=KOELN)
    # Fronleichnam: the other way round.
    outcome, text = await say(chat, "!buchen Coworking 27.05.2027 10-12", room=KOELN)
    assert outcome.result == "refused" and re.search(
        r"in (NW|Nordrhein-Westfalen) ein Feiertag: Fronleichnam", text
    )
    saxony = await booked_id(chat, "!buchen Coworking 27.05.2027 10-12")
    stored = await bookings(chat)
    assert [(b.id, b.start_at) for b in stored] == [
        (cologne, utc(2027, 10, 31, 9)),
        (saxony, utc(2027, 5, 27, 8)),
    ]
    async with chat.db.transaction() as store:
        spaces = {s.id: s.lab_id for s in await store.session.scalars(select(Space))}
        koeln_lab = await store.labs.by_slug("ogl-koeln")
    assert spaces[stored[0].space_id] == koeln_lab.id and spaces[stored[1].space_id] != koeln_lab.id
    # `frei` says the space is closed that day, and why.
    assert "Coworking ist am 31.10.2027 geschlossen (Reformationstag)." in await ok(
        chat, "!frei Coworking 31.10.2027"
    )


async def test_a_time_in_the_past_is_refused(chat: Chat) -> None:
    await leipzig(chat)
    for when in ("heute 8-9", "heute 9-11", "26.11.2026 10-12"):
        outcome, text = await say(chat, f"!buchen Coworking {when}")
        assert outcome.result == "refused" and "liegt in der Vergangenheit" in text, (when, text)
    assert "27.11.2026 09:00 liegt in der Vergangenheit." in await body(
        chat, "!buchen Coworking heute 9-11"
    )
    assert await bookings(chat) == []
    later = await booked_id(chat, "!buchen Coworking heute 10-12")  # starts right now: fine
    assert [b.id for b in await bookings(chat)] == [later]


async def test_a_meeting_room_is_booked_whole(chat: Chat) -> None:
    await leipzig(chat)
    added = await ok(chat, "!raum anlegen Besprechung --kapazitaet 8 --art meeting", sender=COORD)
    assert "Besprechungsraum, Kapazität 8" in added
    whole = await ok(chat, "!buchen Besprechung morgen 14-16")
    assert whole.startswith("Gebucht: Besprechung (der ganze Raum), 28.11.2026, 14:00–16:00 (#"), (
        whole
    )
    first = int(re.search(r"\(#(\d+)\)", whole)[1])
    for slot in ("15-16", "13-15", "14-16", "13-17", "15:59-18"):
        outcome, text = await say(
            chat, f"!buchen Besprechung morgen {slot} --plaetze 1", sender=EVE
        )
        assert outcome.result == "refused", (slot, text)
        assert "Besprechung ist in dieser Zeit schon gebucht." in text
    after = await booked_id(chat, "!buchen Besprechung morgen 16-18", sender=EVE)
    before = await booked_id(chat, "!buchen Besprechung morgen 12-14", sender=EVE)
    stored = await bookings(chat)
    assert [(b.id, b.desks, b.start_at, b.end_at) for b in stored] == [
        (first, 8, utc(2026, 11, 28, 13), utc(2026, 11, 28, 15)),
        (after, 8, utc(2026, 11, 28, 15), utc(2026, 11, 28, 17)),
        (before, 8, utc(2026, 11, 28, 11), utc(2026, 11, 28, 13)),
    ]
    # The workspace next door is not affected by the meeting room.
    await booked_id(chat, "!buchen Coworking morgen 14-16 --plaetze 6", sender=EVE)


async def test_weekly_series_skips_a_closure_and_cancels_from_a_date_on(chat: Chat) -> None:
    await leipzig(chat)
    await ok(chat, "!raum schliessen Coworking 14.12. Inventur", sender=COORD)
    reply = await ok(chat, "!buchen Coworking 30.11. 10-12 --woechentlich --bis 4.1.")
    assert "Wöchentliche Serie in Coworking, 10:00–12:00: 5 von 6 Terminen gebucht." in reply
    assert (
        "1 Konflikt:" in reply
        and "14.12.2026: Coworking ist am 14.12.2026 geschlossen (Inventur)." in reply
    )
    ids = {day: int(n) for n, day in re.findall(r"#(\d+) (\d\d\.\d\d\.\d{4})", reply)}
    assert list(ids) == ["30.11.2026", "07.12.2026", "21.12.2026", "28.12.2026", "04.01.2027"]
    stored = await bookings(chat)
    assert [b.id for b in stored] == list(ids.values())
    assert len({b.series_id for b in stored}) == 1 and stored[0].series_id is not None
    assert [b.start_at.date().isoformat() for b in stored] == [
        "2026-11-30",
        "2026-12-07",
        "2026-12-21",
        "2026-12-28",
        "2027-01-04",
    ]
    cancelled = await ok(chat, f"!stornieren #{ids['21.12.2026']} --serie")
    later = [ids["21.12.2026"], ids["28.12.2026"], ids["04.01.2027"]]
    assert cancelled.startswith("Storniert: 3 Buchungen (")
    assert sorted(int(n) for n in re.findall(r"#(\d+)", cancelled)) == later
    assert [b.id for b in await bookings(chat)] == [ids["30.11.2026"], ids["07.12.2026"]]
    everything = {b.id: b for b in await bookings(chat, active_only=False)}
    assert all(everything[i].cancelled_by == BOB for i in later)
    # Without --serie only the one date goes.
    assert "Storniert: 1 Buchung" in await ok(chat, f"!stornieren #{ids['30.11.2026']}")
    assert [b.id for b in await bookings(chat)] == [ids["07.12.2026"]]


async def test_only_the_owner_or_a_coordinator_cancels_a_booking(chat: Chat) -> None:
    await leipzig(chat)
    mine = await booked_id(chat, "!buchen Coworking 30.11. 10-12")
    other = await booked_id(chat, "!buchen Coworking 30.11. 12-14")
    outcome, text = await say(chat, f"!stornieren #{mine}", sender=EVE)
    assert outcome.result == "refused"
    assert "Für `!stornieren` brauchen Sie die Rolle Koordinator:in eines Labors" in text
    assert "nichts geändert" in text
    assert [b.id for b in await bookings(chat)] == [mine, other]
    assert "Storniert: 1 Buchung" in await ok(chat, f"!stornieren #{mine}", sender=COORD)
    assert "Storniert: 1 Buchung" in await ok(chat, f"!stornieren {other}")
    everything = await bookings(chat, active_only=False)
    assert [(b.id, b.cancelled_by) for b in everything] == [(mine, COORD), (other, BOB)]
    assert all(b.cancelled_at == chat.clock.now() for b in everything)
    outcome, text = await say(chat, f"!stornieren #{mine}", sender=COORD)
    assert outcome.result == "refused" and f"Es gibt keine aktive Buchung #{mine}." in text


async def test_closing_a_space_tells_the_owners_in_the_room_they_booked_from(chat: Chat) -> None:
    await leipzig(chat)
    bobs = await booked_id(chat, "!buchen Coworking 30.11. 10-12")
    eves = await booked_id(
        chat, "!buchen Coworking 30.11. 14-16 --labor ogl-leipzig", sender=EVE, room=EVE_DM
    )
    untouched = await booked_id(chat, "!buchen Coworking 1.12. 10-12")
    reply = await ok(chat, "!raum schliessen Coworking 30.11. Wasserschaden", sender=COORD)
    assert "Coworking ist am 30.11.2026 geschlossen." in reply
    assert "2 Buchungen sind betroffen; die Buchenden wurden benachrichtigt." in reply
    notices = await outbox(chat, "closure")
    assert [(n.room_id, n.reference) for n in notices] == [
        (LEIPZIG, f"closure-booking:{bobs}"),
        (EVE_DM, f"closure-booking:{eves}"),
    ]
    for notice, owner, booking in zip(notices, (BOB, EVE), (bobs, eves), strict=True):
        assert notice.content["m.mentions"] == {"user_ids": [owner]}
        assert owner in notice.content["body"] and f"#{booking}" in notice.content["body"]
        assert "30.11.2026" in notice.content["body"] and "Wasserschaden" in notice.content["body"]
    # The bookings stay (their owners decide); new ones that day are refused.
    assert [b.id for b in await bookings(chat)] == [bobs, eves, untouched]
    outcome, text = await say(chat, "!buchen Coworking 30.11. 17-18")
    assert (
        outcome.result == "refused"
        and "Coworking ist am 30.11.2026 geschlossen (Wasserschaden)." in text
    )
    assert len(await bookings(chat)) == 3


async def test_removing_a_space_with_future_bookings_needs_force_and_tells_the_owners(
    chat: Chat,
) -> None:
    await leipzig(chat)
    bobs = await booked_id(chat, "!buchen Coworking 30.11. 10-12")
    eves = await booked_id(chat, "!buchen Coworking 1.12. 10-12", sender=EVE)
    outcome, text = await say(chat, "!raum entfernen Coworking", sender=COORD)
    assert outcome.result == "refused"
    assert "Coworking hat noch 2 künftige Buchungen. Mit --erzwingen" in text
    assert len(await bookings(chat)) == 2 and await outbox(chat, "space-removed") == []
    outcome, text = await say(chat, "!raum entfernen Coworking --erzwingen")  # a member may not
    assert outcome.result == "refused" and "Koordinator:in" in text
    assert "Raum Coworking entfernt." in await ok(
        chat, "!raum entfernen Coworking --erzwingen", sender=COORD
    )
    async with chat.db.transaction() as store:
        lab = await store.labs.by_slug("ogl-leipzig")
        assert await store.spaces.of_lab(lab.id) == []
    assert await bookings(chat) == []
    notices = await outbox(chat, "space-removed")
    assert [(n.room_id, n.content["m.mentions"]) for n in notices] == [
        (LEIPZIG, {"user_ids": [BOB]}),
        (LEIPZIG, {"user_ids": [EVE]}),
    ]
    assert f"#{bobs} ist storniert" in notices[0].content["body"]
    assert f"#{eves} ist storniert" in notices[1].content["body"]
    assert "OGL Leipzig hat noch keine buchbaren Räume." in await ok(chat, "!raeume")


async def test_free_lists_every_opening_hour_with_the_free_places(chat: Chat) -> None:
    await leipzig(chat)
    await booked_id(chat, "!buchen Coworking morgen 14-16 --plaetze 2")
    await booked_id(chat, "!buchen Coworking morgen 15-17 --plaetze 3", sender=EVE)
    await booked_id(chat, "!buchen Coworking morgen 21:30-22 --plaetze 6", sender=EVE)
    text = await ok(chat, "!frei Coworking morgen")
    assert "Coworking am 28.11.2026 (geöffnet 08:00–22:00), freie Plätze pro Stunde:" in text
    lines = re.findall(r"• (\d\d:\d\d)–(\d\d:\d\d): (\d+)", text)
    assert len(lines) == 14
    assert [(a, b) for a, b, _ in lines] == [
        (f"{h:02d}:00", f"{h + 1:02d}:00") for h in range(8, 22)
    ]
    expected = {14: 4, 15: 1, 16: 3, 21: 0}
    assert [int(n) for _, _, n in lines] == [expected.get(h, 6) for h in range(8, 22)]
    assert "Coworking am 28.11.2026, 15:00–16:00: 1 von 6 Plätzen frei." in await ok(
        chat, "!frei Coworking morgen 15-16"
    )
    assert "14:00–18:00: 1 von 6 Plätzen frei" in await ok(chat, "!frei Coworking morgen 14-18")
    assert "17:00–21:00: 6 von 6 Plätzen frei" in await ok(chat, "!frei Coworking morgen 17-21")


async def test_bookings_across_the_spring_dst_change(chat: Chat, clock: FixedClock) -> None:
    await leipzig(chat)
    clock.current = utc(2027, 3, 20, 9)
    change_day = await booked_id(chat, "!buchen Coworking 28.03.2027 9-11")
    day_before = await booked_id(chat, "!buchen Coworking 27.03.2027 9-11")
    late = await booked_id(chat, "!buchen Coworking 28.03.2027 20-22 --plaetze 6")
    stored = {b.id: (b.start_at, b.end_at) for b in await bookings(chat)}
    assert stored[change_day] == (utc(2027, 3, 28, 7), utc(2027, 3, 28, 9))  # CEST, UTC+2
    assert stored[day_before] == (utc(2027, 3, 27, 8), utc(2027, 3, 27, 10))  # CET, UTC+1
    assert stored[late] == (utc(2027, 3, 28, 18), utc(2027, 3, 28, 20))
    # Shown in local time again, and the hour grid of that day is unaffected by the shift.
    mine = await ok(chat, "!buchungen meine")
    assert f"#{change_day} 28.03.2027 09:00–11:00 Coworking" in mine
    assert f"#{day_before} 27.03.2027 09:00–11:00 Coworking" in mine
    lines = re.findall(
        r"• (\d\d:\d\d)–\d\d:\d\d: (\d+)", await ok(chat, "!frei Coworking 28.03.2027")
    )
    assert len(lines) == 14
    assert {a: int(n) for a, n in lines if int(n) != 6} == {
        "09:00": 5,
        "10:00": 5,
        "20:00": 0,
        "21:00": 0,
    }


async def test_today_lists_the_bookers_by_time_in_a_linked_room_only(chat: Chat) -> None:
    await leipzig(chat)
    await ok(chat, "!raum anlegen Werkstatt --kapazitaet 2", sender=COORD)
    await booked_id(chat, "!buchen Coworking heute 14-16")
    await booked_id(chat, "!buchen Werkstatt heute 11-12", sender=EVE)
    await booked_id(chat, "!buchen Coworking heute 18-20", sender=COORD)
    cancelled = await booked_id(chat, "!buchen Coworking heute 12-13", sender=EVE)
    await ok(chat, f"!stornieren #{cancelled}", sender=EVE)
    await booked_id(chat, "!buchen Coworking morgen 10-11", sender=EVE)
    async with chat.db.transaction() as store:
        await store.users.seen(COORD, "Lea Lehmann", chat.clock.now())
    text = await ok(chat, "!heute")
    assert text.startswith("Heute in OGL Leipzig")
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert lines == [
        f"• 11:00–12:00 {EVE} (Werkstatt)",
        f"• 14:00–16:00 {BOB} (Coworking)",
        "• 18:00–20:00 Lea Lehmann (Coworking)",
    ]
    # In a room that is not linked to a lab there is no "today" to show.
    outcome, text = await say(chat, "!heute", room=ELSEWHERE)
    assert outcome.result in ("refused", "bad_arguments") and "Heute in" not in text
    chat.state.join(ELSEWHERE, BOB, 100)  # even the room's own moderator gets an explanation
    outcome, text = await say(chat, "!heute", room=ELSEWHERE)
    assert outcome.result == "bad_arguments"
    assert "`heute` funktioniert im Raum eines Labors" in text


async def test_today_without_bookings(chat: Chat) -> None:
    await leipzig(chat)
    await booked_id(chat, "!buchen Coworking morgen 10-11")
    assert "Für heute hat noch niemand gebucht." in await ok(chat, "!heute")


async def test_my_bookings_lists_only_the_senders_upcoming_ones(
    chat: Chat, clock: FixedClock
) -> None:
    await leipzig(chat)
    await koeln(chat)
    soon = await booked_id(chat, "!buchen Coworking heute 14-16")
    later = await booked_id(chat, "!buchen Coworking 2.12. 9-10 --plaetze 2")
    elsewhere = await booked_id(chat, "!buchen Coworking 1.12. 8-9", room=KOELN)
    gone = await booked_id(chat, "!buchen Coworking 3.12. 9-10")
    await ok(chat, f"!stornieren #{gone}")
    eves = await booked_id(chat, "!buchen Coworking 2.12. 9-10", sender=EVE)
    text = await ok(chat, "!buchungen meine")
    assert text.startswith("Ihre kommenden Buchungen")
    listed = [int(n) for n in re.findall(r"• #(\d+) ", text)]
    assert listed == [soon, elsewhere, later]
    assert f"#{later} 02.12.2026 09:00–10:00 Coworking, 2×" in text
    assert eves not in listed and gone not in listed
    assert [
        int(n) for n in re.findall(r"• #(\d+) ", await ok(chat, "!buchungen meine", sender=EVE))
    ] == [eves]
    assert "Keine Buchungen." in await ok(chat, "!buchungen meine", sender=COORD)
    clock.current = utc(2026, 11, 27, 15, 0)  # 16:00 in Leipzig: the first one is over
    listed = [int(n) for n in re.findall(r"• #(\d+) ", await ok(chat, "!buchungen meine"))]
    assert listed == [elsewhere, later]


async def test_spaces_show_capacity_hours_and_todays_occupancy(chat: Chat) -> None:
    await leipzig(chat)
    await ok(chat, "!raum anlegen Besprechung --kapazitaet 8 --art meeting", sender=COORD)
    await ok(chat, "!raum zeiten Coworking Sa-So geschlossen", sender=COORD)
    await booked_id(chat, "!buchen Coworking heute 11-12 --plaetze 3")
    await booked_id(chat, "!buchen Coworking heute 11:30-14 --plaetze 2", sender=EVE)
    await booked_id(chat, "!buchen Coworking heute 14-16 --plaetze 4", sender=EVE)
    await booked_id(chat, "!buchen Coworking 30.11. 10-12 --plaetze 6", sender=EVE)
    text = await ok(chat, "!raeume")
    assert text.startswith("Räume von OGL Leipzig")
    assert (
        "• Besprechung (Besprechungsraum): 8 Plätze, Mo–So 08:00–22:00; heute höchstens 0 gebucht"
        in text
    )
    assert (
        "• Coworking (Arbeitsplätze): 6 Plätze, Mo–Fr 08:00–22:00, Sa–So geschlossen; heute höchstens 5 gebucht"
        in text
    )
    assert text.index("Besprechung") < text.index("Coworking")
    assert "Coworking" in await ok(chat, "!räume --labor ogl-leipzig", room=ELSEWHERE)


async def test_space_calendar_link(chat: Chat) -> None:
    await leipzig(chat)
    text = await ok(chat, "!raum kalender Coworking")
    assert (
        "Kalender von Coworking (nur Belegung, keine Namen): /ical/ogl-leipzig/coworking.ics"
        in text
    )
    outcome, text = await say(chat, "!raum kalender Küche")
    assert outcome.result == "refused" and "Coworking" in text


async def test_an_unparseable_date_is_named_with_examples_and_nothing_is_stored(chat: Chat) -> None:
    await leipzig(chat)
    outcome, text = await say(chat, "!buchen Coworking übermorgn 14-16")
    assert outcome.result == "bad_arguments"
    assert (
        "„übermorgn“ habe ich nicht als Datum oder Uhrzeit verstanden. Beispiele: morgen 14-16, Fr 9:30-12"
        in text
    )
    assert "Beispiel: `!buchen Coworking morgen 14-16 --plaetze 3`" in text
    outcome, text = await say(chat, "!buchen Coworking 14-16")
    assert outcome.result == "bad_arguments" and "An welchem Tag?" in text
    outcome, text = await say(chat, "!buchen Coworking morgen")
    assert outcome.result == "bad_arguments" and "14-16" in text
    assert await bookings(chat) == []
    async with chat.db.transaction() as store:
        assert [e.action for e in await store.audit.recent() if e.action == "book"] == []


async def test_a_lab_member_can_book_from_an_unlinked_room_with_lab(chat: Chat) -> None:
    """ELSEWHERE has no lab, but --labor names one the sender belongs to."""
    await leipzig(chat)
    chat.state.join(ELSEWHERE, "@someone:example.org")
    reply = await ok(chat, "!buchen Coworking 30.11. 10-12 --labor ogl-leipzig", room=ELSEWHERE)
    assert reply.startswith("Gebucht: Coworking, 30.11.2026")
    stranger, text = await say(chat, "!buchen Coworking 30.11. 10-12 --labor ogl-leipzig",
                               sender="@nobody:example.org", room=ELSEWHERE)
    assert stranger.result == "refused" and "Mitglied eines Labors" in text
    async with chat.db.transaction() as store:
        assert len(await store.bookings.upcoming_of_user("@nobody:example.org", chat.clock.now())) == 0


async def test_lab_info_lists_the_spaces_with_their_hours(chat: Chat) -> None:
    await leipzig(chat)
    await ok(chat, "!raum zeiten Coworking Sa-So geschlossen", sender=COORD)
    info = await body(chat, "!labor info")
    assert "Raum Coworking: 6 Plätze, Mo–Fr 08:00–22:00, Sa–So geschlossen" in info
