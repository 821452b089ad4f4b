"""Crontab recurrences of due work: the next occurrence of a 5-field crontab in an IANA zone.

The due-work engine stores a crontab ("m h dom mon dow") and a zone per item; the next
occurrence is computed here, day by day in local time, so a 09:00 item stays at 09:00 local
across daylight-saving changes. Storage only stores the instants this module computes.

The rules are APScheduler's CronTrigger's, which the bot's timer uses (bot/duework.py), and
tests/unit/test_crontab.py checks the instants against CronTrigger itself, across both
daylight-saving changes. They are computed here rather than by importing the scheduler, so the
command layer stays free of it. As in CronTrigger, every field must match (a day of the month
and a weekday both given mean both); weekdays count as in crontab (0 and 7 are Sunday) or by
name; `last` as the day of the month is the month's last day. A wall-clock time the spring
change skips (02:30) happens an hour later by the clock (the same instant in the old offset), one
the autumn change repeats happens twice, both as in CronTrigger. The one difference: asked
between 03:00 and 03:30 on the spring change day, CronTrigger drops that day's 02:30; we don't.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from storage.due import DueRepo
from storage.models_due import DueItem

_UTC = ZoneInfo("UTC")
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # Monday = 0, as date.weekday()
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# 28 years: the calendar repeats, so a crontab with no day in that span has none at all.
_SEARCH_DAYS = 28 * 366


class _Crontab:
    def __init__(self, recurrence: str) -> None:
        fields = recurrence.split()
        if len(fields) != 5:
            raise ValueError(f"a crontab has 5 fields, not {len(fields)}: {recurrence!r}")
        minute, hour, day, month, weekday = (f.lower() for f in fields)
        self.minutes = sorted(_values(minute, 0, 59))
        self.hours = sorted(_values(hour, 0, 23))
        self.last_day = day == "last"
        self.days = set() if self.last_day else _values(day, 1, 31)
        self.months = _values(month, 1, 12, _MONTH_NAMES, first_name=1)
        self.weekdays = _weekdays(weekday)

    def on(self, day: date) -> bool:
        if day.month not in self.months or day.weekday() not in self.weekdays:
            return False
        if self.last_day:
            return day.day == calendar.monthrange(day.year, day.month)[1]
        return day.day in self.days


def _number(text: str, low: int, high: int, names: tuple[str, ...] = (), first_name: int = 0) -> int:
    if text.isdigit():
        value = int(text)
    elif text[:3] in names:
        value = names.index(text[:3]) + first_name
    else:
        raise ValueError(f"not a value: {text!r}")
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low}-{high}")
    return value


def _values(field: str, low: int, high: int, names: tuple[str, ...] = (), first_name: int = 0) -> set[int]:
    """The values a field allows: `*`, `a`, `a-b`, each optionally `/step`, comma-separated."""
    found: set[int] = set()
    for part in field.split(","):
        base, slash, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 0 if slash else 1
        if step < 1:
            raise ValueError(f"bad step in {part!r}")
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _number(a, low, high, names, first_name), _number(b, low, high, names, first_name)
            if first > last:
                raise ValueError(f"range {base!r} runs backwards")
        else:
            first = _number(base, low, high, names, first_name)
            last = high if slash else first
        found.update(range(first, last + 1, step))
    return found


def _weekdays(field: str) -> set[int]:
    """Crontab weekdays (0 and 7 Sunday, 1 Monday) or names, as date.weekday() numbers."""
    crontab_days = _values(field, 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
    # crontab 0 (and 7) = Sunday = weekday 6; crontab 1 = Monday = weekday 0
    return {(day - 1) % 7 for day in crontab_days}


def next_occurrence(recurrence: str, timezone: str, after: datetime) -> datetime:
    """The first occurrence of a crontab strictly after `after`, in UTC, found in local time."""
    cron = _Crontab(recurrence)
    zone = ZoneInfo(timezone)
    day = after.astimezone(zone).date() - timedelta(days=1)  # a day earlier: offsets differ around midnight
    for _ in range(_SEARCH_DAYS):
        day += timedelta(days=1)
        if not cron.on(day):
            continue
        found = set()
        for hour in cron.hours:
            for minute in cron.minutes:
                wall = datetime(day.year, day.month, day.day, hour, minute)
                # A time the spring change skips happens at the same instant in the offset before
                # it (02:30 → 03:30 summer time); one the autumn change repeats happens twice.
                found.add(wall.replace(tzinfo=zone).astimezone(_UTC))
                repeat = wall.replace(tzinfo=zone, fold=1).astimezone(_UTC)
                if repeat.astimezone(zone).replace(tzinfo=None) == wall:
                    found.add(repeat)
        later = [instant for instant in found if instant > after]
        if later:
            return min(later)
    raise ValueError(f"recurrence {recurrence!r} has no next occurrence")


def valid_recurrence(recurrence: str) -> bool:
    try:
        _Crontab(recurrence)
    except (ValueError, IndexError):
        return False
    return True


async def add_recurring(due: DueRepo, kind: str, *, now: datetime, recurrence: str, timezone: str,
                        **fields: Any) -> DueItem:
    """Queue a recurring item at its first occurrence after `now`."""
    return await due.add(kind, next_occurrence(recurrence, timezone, now), now=now, recurrence=recurrence,
                         timezone=timezone, **fields)
