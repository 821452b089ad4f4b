"""The public iCal feed of a space: occupancy segments in UTC, and never a name."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar

from bot.ical import PRODID, segments, space_calendar
from storage import Database

BERLIN = ZoneInfo("Europe/Berlin")
CREATED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
HOURS = {str(day): [8 * 60, 22 * 60] for day in range(7)}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


async def seed(db: Database) -> int:
    """A lab `ogl-leipzig` with the workspace `coworking` (10 desks); returns the space id."""
    async with db.transaction() as store:
        lab = await store.labs.create(
            slug="ogl-leipzig", name="OGL Leipzig", city="Leipzig", state="SN", level="kommune",
            host=None, host_legal_form=None, timezone="Europe/Berlin", created_by="@admin:x",
            now=CREATED,
        )
        space = await store.spaces.create(
            lab_id=lab.id, name="Coworking", slug="coworking", kind="workspace", capacity=10,
            hours=HOURS, now=CREATED,
        )
        return space.id


async def book(db: Database, space_id: int, start: datetime, end: datetime, desks: int) -> int:
    async with db.transaction() as store:
        return await store.bookings.add(
            space_id=space_id, user_id="@secret:x", room_id="!r:x", start_at=start, end_at=end,
            desks=desks, note="geheim", series_id=None, now=CREATED,
        )


def events(feed: bytes) -> list[tuple[datetime, datetime, str]]:
    calendar = Calendar.from_ical(feed)
    found = []
    for event in calendar.walk("VEVENT"):
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert start.utcoffset().total_seconds() == 0 and end.utcoffset().total_seconds() == 0
        found.append((start, end, str(event["summary"])))
    return sorted(found)


async def test_feed_parses_with_calendar_properties(db: Database) -> None:
    space_id = await seed(db)
    await book(db, space_id, utc(2027, 3, 22, 13), utc(2027, 3, 22, 15), 3)
    now = utc(2027, 3, 20, 12)
    feed = await space_calendar(db, "ogl-leipzig", "coworking", now)
    assert feed is not None
    calendar = Calendar.from_ical(feed)
    assert str(calendar["prodid"]) == PRODID == "-//Labnetz//Open Gov Labs//DE"
    assert str(calendar["version"]) == "2.0"
    assert str(calendar["calscale"]) == "GREGORIAN"
    assert str(calendar["x-wr-calname"]) == "OGL Leipzig – Coworking"
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstamp") == now
    assert str(event["transp"]) == "OPAQUE"
    assert str(event["uid"]) == f"{space_id}-20270322T130000Z-20270322T150000Z@labnetz"
    assert b"DTSTART:20270322T130000Z" in feed and b"DTEND:20270322T150000Z" in feed


async def test_dst_changes_are_in_utc(db: Database) -> None:
    space_id = await seed(db)
    # 09:00–11:00 local each time; Berlin switches to CEST on 2027-03-28 and back on 2027-10-31.
    for day in [(2027, 3, 26), (2027, 3, 29), (2027, 10, 29), (2027, 11, 1)]:
        await book(db, space_id, berlin(*day, 9), berlin(*day, 11), 2)

    spring = await space_calendar(db, "ogl-leipzig", "coworking", utc(2027, 3, 20, 12),
                                  days_back=1, days_ahead=30)
    assert spring is not None
    assert events(spring) == [
        (utc(2027, 3, 26, 8), utc(2027, 3, 26, 10), "Belegt: 2 von 10 Plätzen"),  # CET, UTC+1
        (utc(2027, 3, 29, 7), utc(2027, 3, 29, 9), "Belegt: 2 von 10 Plätzen"),  # CEST, UTC+2
    ]

    autumn = await space_calendar(db, "ogl-leipzig", "coworking", utc(2027, 10, 20, 12),
                                  days_back=1, days_ahead=30)
    assert autumn is not None
    assert events(autumn) == [
        (utc(2027, 10, 29, 7), utc(2027, 10, 29, 9), "Belegt: 2 von 10 Plätzen"),  # CEST
        (utc(2027, 11, 1, 8), utc(2027, 11, 1, 10), "Belegt: 2 von 10 Plätzen"),  # CET
    ]


async def test_overlapping_bookings_become_segments(db: Database) -> None:
    space_id = await seed(db)
    await book(db, space_id, utc(2027, 3, 23, 14), utc(2027, 3, 23, 16), 3)
    await book(db, space_id, utc(2027, 3, 23, 15), utc(2027, 3, 23, 17), 2)
    now = utc(2027, 3, 20, 12)
    feed = await space_calendar(db, "ogl-leipzig", "coworking", now)
    assert feed is not None
    assert events(feed) == [
        (utc(2027, 3, 23, 14), utc(2027, 3, 23, 15), "Belegt: 3 von 10 Plätzen"),
        (utc(2027, 3, 23, 15), utc(2027, 3, 23, 16), "Belegt: 5 von 10 Plätzen"),
        (utc(2027, 3, 23, 16), utc(2027, 3, 23, 17), "Belegt: 2 von 10 Plätzen"),
    ]
    uids = [str(e["uid"]) for e in Calendar.from_ical(feed).walk("VEVENT")]
    assert len(set(uids)) == 3
    # Stable: the same bookings give the same UIDs on the next fetch.
    again = await space_calendar(db, "ogl-leipzig", "coworking", utc(2027, 3, 21, 12))
    assert again is not None
    assert sorted(str(e["uid"]) for e in Calendar.from_ical(again).walk("VEVENT")) == sorted(uids)

    english = await space_calendar(db, "ogl-leipzig", "coworking", now, language="en")
    assert english is not None
    assert [summary for _, _, summary in events(english)] == [
        "Occupied: 3 of 10 places", "Occupied: 5 of 10 places", "Occupied: 2 of 10 places",
    ]


async def test_cancelled_bookings_and_private_data_stay_out(db: Database) -> None:
    space_id = await seed(db)
    kept = await book(db, space_id, utc(2027, 3, 24, 9), utc(2027, 3, 24, 10), 1)
    gone = await book(db, space_id, utc(2027, 3, 25, 9), utc(2027, 3, 25, 10), 4)
    async with db.transaction() as store:
        booking = await store.bookings.get(gone)
        assert booking is not None
        await store.bookings.cancel([booking], by="@secret:x", now=CREATED)
    feed = await space_calendar(db, "ogl-leipzig", "coworking", utc(2027, 3, 20, 12))
    assert feed is not None
    assert events(feed) == [(utc(2027, 3, 24, 9), utc(2027, 3, 24, 10), "Belegt: 1 von 10 Plätzen")]
    assert kept != gone
    for secret in (b"@secret", b"secret:x", b"geheim", b"!r:x"):
        assert secret not in feed


async def test_window_limits_the_feed(db: Database) -> None:
    space_id = await seed(db)
    await book(db, space_id, utc(2027, 1, 5, 9), utc(2027, 1, 5, 10), 1)  # > 30 days back
    await book(db, space_id, utc(2027, 3, 1, 9), utc(2027, 3, 1, 10), 1)  # inside
    await book(db, space_id, utc(2027, 12, 1, 9), utc(2027, 12, 1, 10), 1)  # > 180 days ahead
    feed = await space_calendar(db, "ogl-leipzig", "coworking", utc(2027, 3, 20, 12))
    assert feed is not None
    assert [start for start, _, _ in events(feed)] == [utc(2027, 3, 1, 9)]


async def test_unknown_lab_or_space_is_none(db: Database) -> None:
    await seed(db)
    now = utc(2027, 3, 20, 12)
    assert await space_calendar(db, "ogl-nirgendwo", "coworking", now) is None
    assert await space_calendar(db, "ogl-leipzig", "werkstatt", now) is None
    assert await space_calendar(db, "OGL-Leipzig", "coworking", now) is None  # matched exactly
    empty = await space_calendar(db, "ogl-leipzig", "coworking", now)
    assert empty is not None and events(empty) == []


def test_segments_merge_equal_neighbours_and_skip_gaps() -> None:
    a, b, c, d = utc(2027, 3, 1, 9), utc(2027, 3, 1, 10), utc(2027, 3, 1, 11), utc(2027, 3, 1, 12)
    # Back to back with the same count: one segment; a gap: two.
    assert segments([(a, b, 2), (b, c, 2)]) == [(a, c, 2)]
    assert segments([(a, b, 2), (c, d, 1)]) == [(a, b, 2), (c, d, 1)]
    assert segments([]) == []
