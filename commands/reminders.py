"""Reminders to a room: `remind <when>; <text>`, `reminders`, `reminder cancel <id>`.

A reminder is a due item of kind "reminder" (the due-work engine stores, wakes and advances it);
this module parses what the user typed, lists and cancels, and says what a firing looks like.
Times are read and shown in the zone of the room's lab, else the network's.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from commands.context import Context
from commands.crontab import next_occurrence
from commands.duework import FireContext, due_handler
from commands.errors import BadArguments, NotFound
from commands.i18n import N_
from commands.parser import Args, parse_id
from commands.recurrence import parse_schedule, split_reminder
from commands.registry import CommandGroup
from commands.reply import Reply
from commands.roles import Role
from storage.models_due import DueItem

reminders_group = CommandGroup(N_("Reminders"))

KIND = "reminder"
MAX_PER_ROOM = 200  # pending reminders in one room
MAX_TEXT = 2000  # characters
LISTED = 50
_WEEKDAYS = {"de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"), "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def local_time(moment: datetime, zone: str, language: str) -> str:
    """"Mo 30.11.2026 09:00" in the given zone."""
    local = moment.astimezone(ZoneInfo(zone))
    names = _WEEKDAYS.get(language, _WEEKDAYS["en"])
    return f"{names[local.weekday()]} {local:%d.%m.%Y %H:%M}"


async def room_zone(ctx: Context) -> str:
    """The zone of the room's lab, else the network's."""
    if ctx.lab_id is not None and (lab := await ctx.store.labs.get(ctx.lab_id)) is not None:
        return lab.timezone or ctx.network.timezone
    return ctx.network.timezone


@reminders_group.command(
    "remind", "erinnere",
    usage=N_("remind <when>; <text>"),
    help=N_("A reminder to this room, once or recurring (every …), delivered even after downtime."),
    examples=(N_("remind tomorrow 9am; send the funding application"),
              N_("remind every monday 9:00; jour fixe"),
              N_("remind in 10 minutes; stand-up")),
    aliases=("erinnern",),
)
async def remind(ctx: Context, args: Args) -> Reply:
    when_text, text = split_reminder(args.text)
    if len(text) > MAX_TEXT:
        raise BadArguments(N_("The text is too long: at most {limit} characters."), limit=MAX_TEXT)
    zone = await room_zone(ctx)
    schedule = parse_schedule(when_text, ctx.now(), ZoneInfo(zone))
    if len(await ctx.store.due.pending(room_id=ctx.room_id, kind=KIND, limit=MAX_PER_ROOM)) >= MAX_PER_ROOM:
        raise BadArguments(N_("This room already has {limit} pending reminders. Please cancel some first."),
                           limit=MAX_PER_ROOM)
    item = await ctx.store.due.add(
        KIND, schedule.due_at, now=ctx.now(), payload={"text": text, "when": when_text},
        room_id=ctx.room_id, lab_id=ctx.lab_id, owner=ctx.sender,
        recurrence=schedule.recurrence, timezone=zone,
    )
    ctx.signals.add("due")
    await ctx.audit("remind", id=item.id, recurrence=schedule.recurrence)
    when = local_time(item.due_at, zone, ctx.language)
    if schedule.recurrence is None:
        return Reply.text(ctx._("Reminder #{id} set for {when}: {text}"), id=item.id, when=when, text=text)
    return Reply.text(ctx._("Recurring reminder #{id} ({rule}), next on {when}: {text}"),
                      id=item.id, rule=when_text, when=when, text=text)


@reminders_group.command(
    "reminders", "erinnerungen",
    usage=N_("reminders"),
    help=N_("The room's pending reminders, with ids and next times."),
)
async def reminders(ctx: Context, args: Args) -> Reply:
    items = await ctx.store.due.pending(room_id=ctx.room_id, kind=KIND, limit=MAX_PER_ROOM)
    if not items:
        return Reply.text(ctx._("This room has no pending reminders. Set one with `{example}`."),
                          example=ctx.prefix + ctx._("remind tomorrow 9am; send the funding application"))
    items.sort(key=lambda item: (item.due_at, item.id))
    reply = Reply().h(ctx.ngettext("{n} pending reminder", "{n} pending reminders", len(items)), n=len(items))
    for item in items[:LISTED]:
        when = local_time(item.due_at, item.timezone, ctx.language)
        text = str((item.payload or {}).get("text", ""))
        if item.recurrence:
            reply.li(ctx._("#{id} next {when} ({rule}): {text}"), id=item.id, when=when,
                     rule=str((item.payload or {}).get("when", item.recurrence)), text=text)
        else:
            reply.li(ctx._("#{id} {when}: {text}"), id=item.id, when=when, text=text)
    if len(items) > LISTED:
        reply.p(ctx._("… and {n} more."), n=len(items) - LISTED)
    reply.p(ctx._("Cancel one with `{command}`."), command=ctx.prefix + ctx._("reminder cancel <id>"))
    return reply


@reminders_group.command(
    "reminder cancel", "erinnerung loeschen",
    usage=N_("reminder cancel <id>"),
    help=N_("Cancels a reminder (its author, or a coordinator of the room)."),
    examples=(N_("reminder cancel 12"),),
    aliases=("erinnerung löschen", "reminder delete"),
)
async def reminder_cancel(ctx: Context, args: Args) -> Reply:
    if len(args.positional) != 1:
        raise BadArguments(N_("Which reminder? Give its id, e.g. #12 (see `{command}`)."),
                           command=ctx.prefix + ctx._("reminders"))
    wanted = parse_id(args.positional[0])
    item = await ctx.store.due.get(wanted)
    if item is None or item.kind != KIND or item.state != "pending" or item.room_id != ctx.room_id:
        raise NotFound(N_("This room has no pending reminder #{id}."), id=wanted)
    if item.owner != ctx.sender and not ctx.principal.has(Role.COORDINATOR, ctx.lab_id):
        raise NotFound(N_("Only its author or a coordinator of this room can cancel reminder #{id}."), id=wanted)
    await ctx.store.due.cancel(item.id)
    ctx.signals.add("due")
    await ctx.audit("reminder cancel", id=item.id)
    return Reply.text(ctx._("Reminder #{id} cancelled: {text}"), id=item.id,
                      text=str((item.payload or {}).get("text", "")))


@due_handler(KIND)
async def fire_reminder(fire: FireContext, item: DueItem) -> None:
    """The reminder's text in its room; late if it fell due while the bot or homeserver was down."""
    if item.room_id is None:
        return
    language = await fire.language_of(item.room_id)
    tr = fire.translator(language)
    text = str((item.payload or {}).get("text", ""))
    upcoming = None
    if item.recurrence:
        upcoming = next_occurrence(item.recurrence, item.timezone, max(fire.now, item.due_at))

    def message(late: bool) -> Reply:
        reply = Reply()
        if late:
            reply.p(tr.gettext("⏰ **Reminder** (late, was due {when}): {text}"),
                    when=local_time(fire.scheduled_for, item.timezone, language), text=text)
        else:
            reply.p(tr.gettext("⏰ **Reminder:** {text}"), text=text)
        if upcoming is not None:
            reply.p(tr.gettext("Next time: {when} (#{id})"), when=local_time(upcoming, item.timezone, language),
                    id=item.id)
        if item.owner:
            reply.mentions.append(item.owner)
        return reply

    # Fired on time, it carries its late form too: if the homeserver is down until after the
    # due time, the sender sends that one (marked late) instead.
    await fire.send(item.room_id, message(fire.late), purpose="reminder", late=message(True))
