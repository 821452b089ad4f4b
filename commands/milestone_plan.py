"""When milestone notices fall due, the 5-year programme, and how a milestone reads in a list.

Notices go out at 09:00 local on their day: on each reminder offset before the due day, on the
due day, then daily while the milestone is overdue. Every notice is a due-work item with the
subject "milestone:<id>", so that done/move/remove cancel them in the same transaction.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from commands.errors import BadArguments
from commands.i18n import N_
from commands.when import local_to_utc
from storage import Store
from storage.models_milestones import Milestone, MilestoneStatus

NOTICE = "milestone_notice"
NOTICE_MINUTES = 9 * 60  # 09:00 local
DEFAULT_OFFSETS = (30, 7, 1)
MAX_OFFSET_DAYS = 366
MAX_OFFSETS = 8
_OFFSET = re.compile(r"^(\d{1,3})\s*(d|t|tag|tage|day|days|w|wo|woche|wochen|week|weeks)?$")


def subject(milestone_id: int) -> str:
    return f"milestone:{milestone_id}"


def day_text(day: date) -> str:
    return day.strftime("%d.%m.%Y")


# --- the 5-year programme ----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    key: str
    months: int
    title: str  # msgid


PROGRAMME = (
    Step("concept", 6, N_("Concept blueprint and local actors identified")),
    Step("legitimation", 12, N_("Legitimation (ratification)")),
    Step("interim", 30, N_("Interim evaluation")),
    Step("final", 54, N_("Final evaluation and application for the next 5-year round")),
    Step("end", 60, N_("End of the 5-year term")),
)


def add_months(day: date, months: int) -> date:
    """Calendar months later; a day the target month lacks becomes its last (31.08. + 6 → 28.02.)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


# --- reminder offsets ----------------------------------------------------------------------


def parse_offsets(text: str) -> list[int]:
    """"30d,7d,1d" (also "2w", "30 Tage", "keine"/"none") → days before the due day, largest first."""
    cleaned = text.strip().lower()
    if cleaned in ("keine", "none", "no", "nein", "aus", "off", "0"):
        return []
    days: set[int] = set()
    for part in filter(None, (p.strip() for p in re.split(r"[,;]", cleaned))):
        match = _OFFSET.match(part)
        if not match:
            raise BadArguments(N_("“{value}” is not a reminder offset like 30d, 7d or 2w."), value=part)
        n = int(match.group(1)) * (7 if (match.group(2) or "d")[0] == "w" else 1)
        if not 1 <= n <= MAX_OFFSET_DAYS:
            raise BadArguments(N_("Reminder offsets must lie between 1 day and {max} days."), max=MAX_OFFSET_DAYS)
        days.add(n)
    if len(days) > MAX_OFFSETS:
        raise BadArguments(N_("At most {max} reminder offsets, please."), max=MAX_OFFSETS)
    return sorted(days, reverse=True)


def offsets_text(days: list[int]) -> str:
    return ", ".join(f"{n}d" for n in days) or "–"


# --- when notices fall due -----------------------------------------------------------------


def notice_at(day: date, tz: ZoneInfo) -> datetime:
    return local_to_utc(day, NOTICE_MINUTES, tz)


def next_notice_after(now: datetime, tz: ZoneInfo) -> datetime:
    """The first 09:00 local strictly after `now` (the next daily overdue notice)."""
    today = now.astimezone(tz).date()
    at = notice_at(today, tz)
    return at if at > now else notice_at(today + timedelta(days=1), tz)


def planned_notices(due_on: date, offsets: list[int], tz: ZoneInfo, now: datetime) -> list[tuple[datetime, dict[str, Any]]]:
    """(due time, payload) of the notices still ahead: offsets and due day, or the next overdue one."""
    due_day_at = notice_at(due_on, tz)
    if due_day_at <= now:
        return [(next_notice_after(now, tz), {"stage": "overdue"})]
    planned = [
        (notice_at(due_on - timedelta(days=n), tz), {"stage": "before", "offset": n})
        for n in offsets
    ]
    return [(at, p) for at, p in planned if at > now] + [(due_day_at, {"stage": "due"})]


async def zone_of(store: Store, lab_id: int | None, network_zone: str) -> str:
    """The zone a milestone's days are counted in: its lab's, or the network's."""
    lab = await store.labs.get(lab_id) if lab_id is not None else None
    return lab.timezone if lab is not None else network_zone


async def schedule_notices(store: Store, milestone: Milestone, zone: str, now: datetime) -> int:
    """Add the due items of an open milestone's remaining notices; returns how many."""
    if milestone.status != MilestoneStatus.OPEN:
        return 0
    planned = planned_notices(milestone.due_on, list(milestone.remind_days or []), ZoneInfo(zone), now)
    for at, payload in planned:
        await store.due.add(
            NOTICE, at, now=now, payload={"milestone": milestone.id, **payload},
            lab_id=milestone.lab_id, subject=subject(milestone.id), timezone=zone,
        )
    return len(planned)


async def cancel_notices(store: Store, milestone_id: int) -> int:
    return await store.due.cancel_subject(subject(milestone_id))


# --- how a milestone reads -----------------------------------------------------------------


def is_overdue(milestone: Milestone, today: date) -> bool:
    return milestone.status == MilestoneStatus.OPEN and milestone.due_on < today


def status_text(tr: Any, milestone: Milestone, today: date) -> str:
    """"open, in 12 days", "due today", "overdue by 3 days" or "done on 02.03.2027"."""
    if milestone.status == MilestoneStatus.DONE:
        done = milestone.done_at.date() if milestone.done_at else milestone.due_on
        return tr.gettext("done on {day}").format(day=day_text(done))
    delta = (milestone.due_on - today).days
    if delta == 0:
        return tr.gettext("due today")
    if delta > 0:
        return tr.ngettext("open, due in {n} day", "open, due in {n} days", delta).format(n=delta)
    return tr.ngettext("overdue by {n} day", "overdue by {n} days", -delta).format(n=-delta)
