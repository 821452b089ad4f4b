"""Milestone notices as due work: before the due day, on it, daily while overdue, and the weekly
overdue summary to the federal room (Mondays 09:00 in the network's zone).

A handler runs in the engine's transaction: what it sends and the next overdue notice it adds
commit together with the item's advance, so a notice is neither lost nor sent twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from commands.context import NetworkSettings
from commands.crontab import add_recurring
from commands.duework import FireContext, due_handler
from commands.milestone_plan import (
    NOTICE,
    day_text,
    notice_at,
    status_text,
    subject,
)
from commands.reply import Reply
from storage import Store
from storage.models_due import DueItem
from storage.models_milestones import Milestone, MilestoneStatus

SUMMARY = "milestone_overdue_summary"
SUMMARY_SUBJECT = "milestones:overdue-summary"
SUMMARY_RECURRENCE = "0 9 * * 1"  # Mondays 09:00 in the network's zone
SUMMARY_LIMIT = 100  # lines; a Matrix event holds at most 64 KiB


def late_line(tr: Any, scheduled_for: datetime, zone: ZoneInfo) -> tuple[str, dict[str, Any]]:
    when = scheduled_for.astimezone(zone).strftime("%d.%m.%Y %H:%M")
    return tr.gettext("Late: this notice was due at {when}."), {"when": when}


async def send_notice(fire: FireContext, room_id: str, reply: Reply, tr: Any, zone: ZoneInfo, purpose: str) -> None:
    """Send a notice, marked late when fired late. Fired on time, it carries its late form, which
    the sender uses if the homeserver is down until after the due time (+60 s)."""
    assert fire.scheduled_for is not None
    text, params = late_line(tr, fire.scheduled_for, zone)
    late = replace(reply, lines=list(reply.lines), mentions=list(reply.mentions)).p(text, **params)
    await fire.send(room_id, late if fire.late else reply, purpose=purpose, late=late)


def notice_text(tr: Any, prefix: str, milestone: Milestone, today: date, lab_name: str | None) -> Reply:
    """The notice for a milestone as it stands today (so a late notice still counts right)."""
    params: dict[str, Any] = {"id": milestone.id, "title": milestone.title, "day": day_text(milestone.due_on)}
    scope = lab_name if lab_name is not None else tr.gettext("Network")
    delta = (milestone.due_on - today).days
    if delta > 0:
        text = tr.ngettext("{scope}: milestone **#{id}** {title} is due in {n} day, on {day}.",
                           "{scope}: milestone **#{id}** {title} is due in {n} days, on {day}.", delta)
    elif delta == 0:
        text = tr.gettext("{scope}: milestone **#{id}** {title} is due today ({day}).")
    else:
        text = tr.ngettext("{scope}: milestone **#{id}** {title} is overdue by {n} day (due {day}).",
                           "{scope}: milestone **#{id}** {title} is overdue by {n} days (due {day}).", -delta)
    reply = Reply.text(text, scope=scope, n=abs(delta), **params)
    if milestone.owner:
        reply.li(tr.gettext("Responsible: {owner}"), owner=milestone.owner)
        reply.mentions.append(milestone.owner)
    if delta <= 0:
        reply.p(tr.gettext("Done? `{done}`. A new date? `{move}`."),
                done=prefix + tr.gettext("milestone done {id}").format(id=milestone.id),
                move=prefix + tr.gettext("milestone move {id} --due <date>").format(id=milestone.id))
    return reply


def _superseded(milestone: Milestone, offset: int, tz: ZoneInfo, now: datetime) -> bool:
    """A late 'before' notice is dropped when a later notice of the same milestone is due too."""
    later = [n for n in (milestone.remind_days or []) if n < offset] + [0]
    return any(notice_at(milestone.due_on - timedelta(days=n), tz) <= now for n in later)


@due_handler(NOTICE)
async def fire_milestone_notice(fire: FireContext, item: DueItem) -> None:
    # The engine advances each fired item; without autoflush those updates go out together at
    # commit instead of one flush before each read here (that halves a big wake's cost).
    with fire.store.session.no_autoflush:
        await _notice(fire, item)


async def _notice(fire: FireContext, item: DueItem) -> None:
    payload = item.payload or {}
    milestone = await fire.store.milestones.get(int(payload.get("milestone", 0)))
    if milestone is None or milestone.status != MilestoneStatus.OPEN:
        return  # done or removed: its items are cancelled with it; nothing to say
    tz = ZoneInfo(item.timezone)
    stage = payload.get("stage")
    if stage == "before" and _superseded(milestone, int(payload.get("offset", 0)), tz, fire.now):
        return
    today = fire.now.astimezone(tz).date()
    if stage in ("due", "overdue"):
        # The chain of daily overdue notices: the next one at 09:00 local on the next day (a late
        # notice sent at 08:30 is not followed by another at 09:00 the same day).
        await fire.store.due.add(
            NOTICE, notice_at(today + timedelta(days=1), tz), now=fire.now,
            payload={"milestone": milestone.id, "stage": "overdue"}, lab_id=milestone.lab_id,
            subject=subject(milestone.id), timezone=item.timezone,
        )
    if milestone.lab_id is None:
        lab_name, rooms = None, [fire.network.federal_room_id] if fire.network.federal_room_id else []
    else:
        lab_name, rooms = await fire.store.milestones.notice_target(milestone.lab_id)
    replies: dict[str, Reply] = {}
    for room_id in rooms:
        language = await fire.language_of(room_id)
        tr = fire.translator(language)
        if language not in replies:
            replies[language] = notice_text(tr, fire.network.command_prefix, milestone, today, lab_name)
        await send_notice(fire, room_id, replies[language], tr, tz, "milestone")


# --- the weekly overdue summary --------------------------------------------------------------


async def ensure_recurring(store: Store, now: datetime, network: NetworkSettings) -> None:
    """Exactly one pending weekly overdue summary, in the network's zone (call at start-up)."""
    keep = None
    for item in await store.due.pending(subject=SUMMARY_SUBJECT):  # indexed: cheap at start-up
        if item.kind != SUMMARY:
            continue
        if keep is None and item.timezone == network.timezone and item.recurrence == SUMMARY_RECURRENCE:
            keep = item
        else:
            await store.due.cancel(item.id)
    if keep is None:
        await add_recurring(store.due, SUMMARY, now=now, recurrence=SUMMARY_RECURRENCE,
                            timezone=network.timezone, subject=SUMMARY_SUBJECT)


async def overdue_summary(store: Store, tr: Any, prefix: str, today: date) -> Reply | None:
    """Open milestones past their day, across all labs, grouped by lab; None when there are none."""
    found = await store.milestones.open_due_by(today - timedelta(days=1), limit=SUMMARY_LIMIT)
    if not found:
        return None
    total = await store.milestones.count_open_due_by(today - timedelta(days=1))
    names = await store.labs.names({m.lab_id for m in found if m.lab_id is not None})
    network = tr.gettext("Network")
    found.sort(key=lambda m: (m.lab_id is not None, names.get(m.lab_id, "") if m.lab_id else "", m.due_on, m.id))
    reply = Reply().h(tr.ngettext("Weekly summary: {n} milestone is overdue",
                                  "Weekly summary: {n} milestones are overdue", total), n=total)
    for milestone in found:
        scope = names.get(milestone.lab_id, "–") if milestone.lab_id is not None else network
        reply.li("{scope}: **#{id}** {day} {title}: {status}", scope=scope, id=milestone.id,
                 day=day_text(milestone.due_on), title=milestone.title, status=status_text(tr, milestone, today))
    if total > len(found):
        reply.p(tr.gettext("… and {n} more. `{command}` lists them."), n=total - len(found),
                command=prefix + tr.gettext("milestones --overdue"))
    return reply


@due_handler(SUMMARY)
async def fire_overdue_summary(fire: FireContext, item: DueItem) -> None:
    with fire.store.session.no_autoflush:
        await _summary(fire, item)


async def _summary(fire: FireContext, item: DueItem) -> None:
    room_id = fire.network.federal_room_id
    if not room_id:
        return
    tz = ZoneInfo(item.timezone or fire.network.timezone)
    tr = await fire.tr_for(room_id)
    reply = await overdue_summary(fire.store, tr, fire.network.command_prefix, fire.now.astimezone(tz).date())
    if reply is None:
        return  # nothing overdue: no message (a weekly "all fine" would be noise)
    await send_notice(fire, room_id, reply, tr, tz, "milestone-summary")

