"""Crontab recurrences of due work, evaluated with APScheduler's CronTrigger in an IANA zone.

The due-work engine stores a 5-field crontab ("m h dom mon dow") and a zone per item; the next
occurrence is computed here, in local time, so a 09:00 item stays at 09:00 local across
daylight-saving changes. Storage only stores the instants this module computes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from storage.due import DueRepo
from storage.models_due import DueItem

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # crontab numbering, 7 = Sunday


def _weekdays(field: str) -> str:
    """A crontab day-of-week field in APScheduler's terms.

    APScheduler 3 counts weekdays from Monday = 0, crontab from Sunday = 0 (and 7), and its
    `from_crontab` does not convert. Numbers are therefore turned into names here.
    """
    if field == "*":
        return "*"
    names: list[str] = []
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            low, high = base.split("-", 1)
            if not (low.isdigit() and high.isdigit()):
                names.append(part)  # names such as mon-fri are understood as they are
                continue
            first, last = int(low), int(high)
        elif base.isdigit():
            first = last = int(base)
            if step_text:
                last = 6
        else:
            names.append(part)
            continue
        if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last and step > 0):
            raise ValueError(f"bad day of week {part!r}")
        names.extend(_WEEKDAYS[day] for day in range(first, last + 1, step))
    return ",".join(dict.fromkeys(names))


def cron_trigger(recurrence: str, timezone: str) -> CronTrigger:
    """A trigger for a 5-field crontab ("m h dom mon dow") in the given IANA zone."""
    fields = recurrence.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab has 5 fields, not {len(fields)}: {recurrence!r}")
    minute, hour, day, month, day_of_week = fields
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(day_of_week),
        timezone=ZoneInfo(timezone),
    )


def next_occurrence(recurrence: str, timezone: str, after: datetime) -> datetime:
    """The first occurrence of a crontab strictly after `after`, computed in local time.

    The trigger works in the item's zone, so 09:00 stays 09:00 local across daylight-saving changes.
    """
    trigger = cron_trigger(recurrence, timezone)
    found = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    if found is None:  # a crontab always has a next occurrence; guard against a bad expression
        raise ValueError(f"recurrence {recurrence!r} has no next occurrence")
    return found.astimezone(ZoneInfo("UTC"))


def valid_recurrence(recurrence: str) -> bool:
    try:
        cron_trigger(recurrence, "UTC")
    except (ValueError, KeyError):
        return False
    return True


async def add_recurring(due: DueRepo, kind: str, *, now: datetime, recurrence: str, timezone: str,
                        **fields: Any) -> DueItem:
    """Queue a recurring item at its first occurrence after `now`."""
    return await due.add(kind, next_occurrence(recurrence, timezone, now), now=now, recurrence=recurrence,
                         timezone=timezone, **fields)
