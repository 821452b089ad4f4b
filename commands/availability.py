"""Opening hours, holidays, closures and occupancy: whether a slot can be booked.

All intervals are half-open [start, end). Days and opening hours are in the lab's local time;
stored instants are UTC. Minutes count from local midnight (0..1440).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

from commands.i18n import N_
from commands.when import format_minutes, local_to_utc

OPEN, CLOSE = 8 * 60, 22 * 60  # the labs are open 8:00–22:00
DEFAULT_HOURS: dict[str, list[int] | None] = {str(day): [OPEN, CLOSE] for day in range(7)}
KINDS = {"workspace": N_("workspace"), "meeting": N_("meeting room"), "shop": N_("shop")}
WEEKDAYS_DE = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"]
WEEKDAYS_EN = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@functools.lru_cache(maxsize=256)
def _holidays(state: str, year: int, language: str) -> dict[date, str]:
    calendar = holidays.country_holidays(
        "DE", subdiv=state, years=year, language="de" if language == "de" else "en_US"
    )
    return dict(calendar.items())


def holiday(day: date, state: str, language: str) -> str | None:
    """The name of the public holiday in the Bundesland on that day, if it is one."""
    return _holidays(state, day.year, language).get(day)


def opening(hours: dict[str, list[int] | None], day: date) -> tuple[int, int] | None:
    span = hours.get(str(day.weekday()))
    return (span[0], span[1]) if span else None


def peak(bookings: Iterable[tuple[datetime, datetime, int]], start: datetime, end: datetime) -> int:
    """The most desks in use at any instant of [start, end)."""
    changes: list[tuple[datetime, int]] = []
    for b_start, b_end, desks in bookings:
        lo, hi = max(b_start, start), min(b_end, end)
        if lo < hi:
            changes.append((lo, desks))
            changes.append((hi, -desks))
    changes.sort(key=lambda change: (change[0], change[1]))  # ends before starts at one instant
    used = best = 0
    for _, delta in changes:
        used += delta
        best = max(best, used)
    return best


def day_span(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return local_to_utc(day, 0, tz), local_to_utc(day, 1440, tz)


def hourly(
    bookings: list[tuple[datetime, datetime, int]],
    day: date,
    opens: int,
    closes: int,
    capacity: int,
    tz: ZoneInfo,
) -> list[tuple[int, int, int]]:
    """(from, to, free desks) for each hour of the opening time."""
    slots = []
    for start in range(opens, closes, 60):
        end = min(start + 60, closes)
        used = peak(bookings, local_to_utc(day, start, tz), local_to_utc(day, end, tz))
        slots.append((start, end, max(capacity - used, 0)))
    return slots


def hours_text(hours: dict[str, list[int] | None], language: str) -> str:
    """'Mo–Fr 08:00–22:00, Sa–So geschlossen' style, grouping equal days."""
    names = WEEKDAYS_DE if language == "de" else WEEKDAYS_EN
    closed = "geschlossen" if language == "de" else "closed"
    groups: list[tuple[int, int, list[int] | None]] = []
    for day in range(7):
        span = hours.get(str(day))
        if groups and groups[-1][2] == span:
            groups[-1] = (groups[-1][0], day, span)
        else:
            groups.append((day, day, span))
    parts = []
    for first, last, span in groups:
        days = names[first] if first == last else f"{names[first]}–{names[last]}"
        parts.append(f"{days} {format_minutes(span[0])}–{format_minutes(span[1])}" if span else f"{days} {closed}")
    return ", ".join(parts)


def weeks(day: date, until: date) -> list[date]:
    """The day and the same weekday every week up to `until` (inclusive)."""
    out, current = [], day
    while current <= until:
        out.append(current)
        current += timedelta(days=7)
    return out
