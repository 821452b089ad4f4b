"""The weekly lab digest: Mondays 09:00 in a lab room (`digest on|off`, `wochenbericht an|aus`).

The digest is built from sections. Each feature contributes one through `digest_section`, so
features that come later (open help requests, questions to the federal team) add theirs by
registering a provider, without touching this module.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from commands.availability import WEEKDAYS_DE, WEEKDAYS_EN, day_span
from commands.context import Context
from commands.crontab import add_recurring
from commands.duework import FireContext, due_handler
from commands.errors import BadArguments
from commands.i18n import N_
from commands.labs import require
from commands.milestone_notices import send_notice
from commands.milestone_plan import day_text, status_text
from commands.milestones import milestones_group
from commands.parser import Args
from commands.reply import Reply
from commands.roles import Role
from storage import Store
from storage.models import Lab
from storage.models_due import DueItem

DIGEST = "digest"
DIGEST_RECURRENCE = "0 9 * * 1"  # Mondays 09:00 in the lab's zone
MILESTONE_HORIZON = timedelta(weeks=4)
_ON, _OFF = {"on", "an", "ein"}, {"off", "aus"}


def digest_subject(lab_id: int) -> str:
    """The digest items of a lab's rooms (found by room id; a room id may exceed the subject's width)."""
    return f"digest:lab:{lab_id}"


@dataclass(frozen=True)
class DigestContext:
    """What a section provider gets: the lab, the room, its language, this week's days."""

    store: Store
    tr: Any  # the room's translations: .gettext / .ngettext
    language: str
    prefix: str
    lab: Lab
    room_id: str
    now: datetime
    zone: ZoneInfo
    today: date
    week_start: date  # Monday of this week
    week_end: date  # Sunday of this week


DigestSection = Callable[[DigestContext], Awaitable[Reply | None]]


@dataclass(frozen=True)
class SectionProvider:
    order: int
    name: str
    build: DigestSection


# The extension point: providers in order. Milestones are 10 and bookings 20; open help
# requests (30) and open questions (40) register theirs with `digest_section` at merge.
DIGEST_SECTIONS: list[SectionProvider] = []


def digest_section(name: str, order: int) -> Callable[[DigestSection], DigestSection]:
    def register(build: DigestSection) -> DigestSection:
        DIGEST_SECTIONS[:] = [p for p in DIGEST_SECTIONS if p.name != name]
        DIGEST_SECTIONS.append(SectionProvider(order, name, build))
        DIGEST_SECTIONS.sort(key=lambda provider: provider.order)
        return build

    return register


async def build_digest(ctx: DigestContext) -> Reply:
    tr = ctx.tr
    reply = Reply().h(tr.gettext("Weekly digest of {lab}, {first}–{last}"), lab=ctx.lab.name,
                      first=ctx.week_start.strftime("%d.%m."), last=day_text(ctx.week_end))
    for provider in DIGEST_SECTIONS:
        section = await provider.build(ctx)
        if section is not None:
            reply.extend(section)
    return reply


@digest_section("milestones", 10)
async def milestones_section(ctx: DigestContext) -> Reply:
    tr = ctx.tr
    due = await ctx.store.milestones.open_due_by(ctx.today + MILESTONE_HORIZON, lab_id=ctx.lab.id, network=True)
    reply = Reply().h(tr.gettext("Milestones in the next 4 weeks"))
    if not due:
        return reply.p(tr.gettext("None."))
    for milestone in due:
        template = "**#{id}** {day} {title}: {status}"
        if milestone.lab_id is None:
            template += tr.gettext(" (network)")
        reply.li(template, id=milestone.id, day=day_text(milestone.due_on), title=milestone.title,
                 status=status_text(tr, milestone, ctx.today))
    return reply


@digest_section("bookings", 20)
async def bookings_section(ctx: DigestContext) -> Reply | None:
    tr = ctx.tr
    start, _ = day_span(ctx.week_start, ctx.zone)
    _, end = day_span(ctx.week_end, ctx.zone)
    per_day: dict[date, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for start_at, space, desks in await ctx.store.milestones.lab_bookings(ctx.lab.id, start, end):
        counts = per_day[start_at.astimezone(ctx.zone).date()][space]
        counts[0] += 1
        counts[1] += desks
    reply = Reply().h(tr.gettext("Bookings this week"))
    if not per_day:
        return reply.p(tr.gettext("No bookings yet."))
    names = WEEKDAYS_DE if ctx.language == "de" else WEEKDAYS_EN
    for day in sorted(per_day):
        parts = [
            "{space}: {bookings}, {places}".format(
                space=space,
                bookings=tr.ngettext("{n} booking", "{n} bookings", n).format(n=n),
                places=tr.ngettext("{n} place", "{n} places", desks).format(n=desks))
            for space, (n, desks) in sorted(per_day[day].items())
        ]
        reply.li("{weekday} {day}: {parts}", weekday=names[day.weekday()], day=day.strftime("%d.%m."),
                 parts="; ".join(parts))
    return reply


@due_handler(DIGEST)
async def fire_digest(fire: FireContext, item: DueItem) -> None:
    with fire.store.session.no_autoflush:  # see fire_milestone_notice
        await _digest(fire, item)


async def _digest(fire: FireContext, item: DueItem) -> None:
    room_id = item.room_id
    lab = await fire.store.milestones.lab_of_room(room_id) if room_id else None
    if room_id is None or lab is None:
        return  # the room was unlinked: no lab, no digest
    language = await fire.language_of(room_id)
    zone = ZoneInfo(lab.timezone)
    today = fire.now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    ctx = DigestContext(store=fire.store, tr=fire.translator(language), language=language,
                        prefix=fire.network.command_prefix, lab=lab, room_id=room_id, now=fire.now,
                        zone=zone, today=today, week_start=monday, week_end=monday + timedelta(days=6))
    reply = await build_digest(ctx)
    await send_notice(fire, room_id, reply, ctx.tr, zone, "digest")


@milestones_group.command(
    "digest", "wochenbericht", role=Role.COORDINATOR, usage=N_("digest on|off"),
    help=N_("Weekly digest for this lab room, Mondays 09:00: milestones, this week's bookings and more."),
    examples=(N_("digest on"),),
)
async def digest(ctx: Context, args: Args) -> Reply:
    word = args.positional[0].lower() if args.positional else ""
    if ctx.lab_id is None and word in _OFF:
        # A room unlinked since: its moderators can still turn the digest off.
        require(ctx, Role.COORDINATOR, None)
        for item in await ctx.store.due.pending(room_id=ctx.room_id, kind=DIGEST):
            await ctx.store.due.cancel(item.id)
        return Reply.text(ctx._("The weekly digest is off for this room."))
    if ctx.lab_id is None:
        raise BadArguments(N_("The weekly digest is for rooms linked to a lab. Link this room first (`{command}`)."),
                           command=ctx.prefix + ctx._("lab link"))
    require(ctx, Role.COORDINATOR, ctx.lab_id)
    lab = await ctx.store.labs.get(ctx.lab_id)
    assert lab is not None
    pending = await ctx.store.due.pending(room_id=ctx.room_id, kind=DIGEST)
    if word in _ON:
        if not pending:
            item = await add_recurring(ctx.store.due, DIGEST, now=ctx.now(), room_id=ctx.room_id, lab_id=lab.id,
                                           subject=digest_subject(lab.id), recurrence=DIGEST_RECURRENCE,
                                           timezone=lab.timezone)
            ctx.signals.add("due")
            await ctx.audit("digest on")
            pending = [item]
        return Reply.text(ctx._("The weekly digest is on: Mondays at 09:00, next on {day}."),
                          day=day_text(pending[0].due_at.astimezone(ZoneInfo(lab.timezone)).date()))
    if word in _OFF:
        if pending:
            for item in pending:
                await ctx.store.due.cancel(item.id)
            ctx.signals.add("due")
            await ctx.audit("digest off")
        return Reply.text(ctx._("The weekly digest is off for this room."))
    if word:
        raise BadArguments(N_("“{value}” is neither on nor off."), value=args.positional[0])
    if pending:
        return Reply.text(ctx._("The weekly digest is on: Mondays at 09:00, next on {day}."),
                          day=day_text(pending[0].due_at.astimezone(ZoneInfo(lab.timezone)).date()))
    return Reply.text(ctx._("The weekly digest is off for this room. `{command}` turns it on."),
                      command=ctx.prefix + ctx._("digest on"))
