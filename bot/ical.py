"""The public iCal feed of a space: when it is occupied and by how many desks, never by whom.

Public pages show occupancy only: no names, user ids, notes or room ids ever reach the feed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from storage import Database
from storage.booking import MAX_BOOKING

PRODID = "-//Labnetz//Open Gov Labs//DE"
SUMMARY = {
    "de": "Belegt: {used} von {capacity} Plätzen",
    "en": "Occupied: {used} of {capacity} places",
}
STAMP = "%Y%m%dT%H%M%SZ"


def segments(
    bookings: Iterable[tuple[datetime, datetime, int]],
) -> list[tuple[datetime, datetime, int]]:
    """Maximal intervals [start, end) of constant non-zero occupancy (sweep over the ends)."""
    deltas: dict[datetime, int] = {}
    for start, end, desks in bookings:
        if start < end and desks:
            deltas[start] = deltas.get(start, 0) + desks
            deltas[end] = deltas.get(end, 0) - desks
    result: list[tuple[datetime, datetime, int]] = []
    used = 0
    opened: datetime | None = None
    for instant in sorted(deltas):
        delta = deltas[instant]
        if delta == 0:
            continue  # one booking ends where another of the same size starts: no change
        if used > 0 and opened is not None:
            result.append((opened, instant, used))
        used += delta
        opened = instant if used > 0 else None
    return result


async def space_calendar(
    db: Database,
    lab_slug: str,
    space_slug: str,
    now: datetime,
    *,
    days_back: int = 30,
    days_ahead: int = 180,
    language: str = "de",
) -> bytes | None:
    """The VCALENDAR of the space's occupancy around `now`, or None when lab or space is unknown."""
    now = now.astimezone(UTC)
    window_start = now - timedelta(days=days_back)
    window_end = now + timedelta(days=days_ahead)
    async with db.transaction() as store:
        lab = await store.labs.by_slug(lab_slug)
        if lab is None:
            return None
        space = await store.spaces.by_slug(lab.id, space_slug)
        if space is None:
            return None
        # A margin of the longest booking, so segments at the window's edges count every desk.
        bookings = await store.bookings.active_in(
            [space.id], window_start - MAX_BOOKING, window_end + MAX_BOOKING
        )
        # Only times and desk counts leave this block: nothing that names anyone.
        intervals = [
            (b.start_at.astimezone(UTC), b.end_at.astimezone(UTC), b.desks) for b in bookings
        ]
        lab_name, space_name, space_id, capacity = lab.name, space.name, space.id, space.capacity

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{lab_name} – {space_name}")
    summary = SUMMARY.get(language, SUMMARY["de"])
    for start, end, used in segments(intervals):
        if end <= window_start or start >= window_end:
            continue
        event = Event()
        event.add("uid", f"{space_id}-{start:{STAMP}}-{end:{STAMP}}@labnetz")
        event.add("dtstamp", now)
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", summary.format(used=used, capacity=capacity))
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()
