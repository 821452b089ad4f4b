"""Milestones of a lab or of the network: add, the 5-year programme, done, move, remove, list.

Every change to a milestone cancels or reschedules its notices (due-work items) in the same
transaction, so a notice can't go out for a milestone that is done, moved or gone.
"""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo

from commands.context import Context
from commands.errors import BadArguments, Conflict, NotFound
from commands.i18n import N_
from commands.labs import LAB_FLAG, find_lab, lab_from_args, require
from commands.milestone_plan import (
    DEFAULT_OFFSETS,
    PROGRAMME,
    add_months,
    cancel_notices,
    day_text,
    offsets_text,
    parse_offsets,
    schedule_notices,
    status_text,
    zone_of,
)
from commands.parser import Args, parse_id
from commands.registry import CommandGroup, Flag
from commands.reply import Reply
from commands.roles import Role
from commands.when import parse_date_range
from storage.models import Lab
from storage.models_milestones import Milestone, MilestoneStatus

milestones_group = CommandGroup(N_("Milestones"))

LIST_LIMIT = 50
MAX_TITLE = 300
MAX_YEARS = 20  # a 5-year term with an option on 5 more, and some history
_USER = re.compile(r"^@[^:\s]+:[^\s]+$")
DUE_FLAG = Flag("due", "faellig", help=N_("the due date, e.g. 15.01.2027"))
NETWORK_FLAG = Flag("network", "netzwerk", kind=bool, help=N_("a milestone of the whole network"))


def parse_day(text: str, ctx: Context, tz: ZoneInfo) -> date:
    first, last = parse_date_range(text, ctx.now(), tz)
    if first != last:
        raise BadArguments(N_("Please give one day, not a period: {text}"), text=text)
    today = ctx.now().astimezone(tz).date()
    if abs(first.year - today.year) > MAX_YEARS:  # a typo such as 2207, not a plan
        raise BadArguments(N_("{day} is more than {years} years away. Please check the year."),
                           day=first.strftime("%d.%m.%Y"), years=MAX_YEARS)
    return first


async def _scope(ctx: Context, args: Args) -> Lab | None:
    """The lab the command is about, or None for the network (--network, or the federal room)."""
    if args.flag("network"):
        if args.flag("lab"):
            raise BadArguments(N_("Choose either --lab or --network."))
        return None
    if not args.flag("lab") and ctx.lab_id is None and ctx.room_id == ctx.network.federal_room_id:
        return None
    return await lab_from_args(ctx, args)


def _require_for(ctx: Context, lab_id: int | None) -> None:
    """A coordinator changes their lab's milestones; a manager the network's (and any lab's)."""
    require(ctx, Role.MANAGER if lab_id is None else Role.COORDINATOR, lab_id)


def _today(ctx: Context, zone: str) -> date:
    return ctx.now().astimezone(ZoneInfo(zone)).date()


@milestones_group.command(
    "milestone add", "meilenstein anlegen", role=Role.COORDINATOR,
    usage=N_("milestone add <title> --due <date> [--lab <lab> | --network] [--owner <@user>] [--remind 30d,7d,1d]"),
    help=N_("Adds a milestone; notices go to the lab's rooms (or the federal room) before, on and after the due day."),
    examples=(N_('milestone add "Concept blueprint" --due 15.01.2027 --remind 30d,7d'),),
    flags=(DUE_FLAG, LAB_FLAG, NETWORK_FLAG,
           Flag("owner", "verantwortlich", help=N_("who is responsible (default: you)")),
           Flag("remind", "erinnern", help=N_("days before the due day, e.g. 30d,7d,1d, or none"))),
)
async def milestone_add(ctx: Context, args: Args) -> Reply:
    title = " ".join(args.positional).strip()
    if not title or not args.flag("due"):
        raise BadArguments(N_("A milestone needs a title and a due date (--due)."))
    if len(title) > MAX_TITLE:
        raise BadArguments(N_("The title is too long (at most {max} characters)."), max=MAX_TITLE)
    lab = await _scope(ctx, args)
    lab_id = lab.id if lab is not None else None
    _require_for(ctx, lab_id)
    zone = lab.timezone if lab is not None else ctx.network.timezone
    due_on = parse_day(args.flag("due"), ctx, ZoneInfo(zone))
    owner = args.flag("owner") or ctx.sender
    if not _USER.match(owner):
        raise BadArguments(N_("“{owner}” is not a Matrix user id like @name:example.org."), owner=owner)
    offsets = parse_offsets(args.flag("remind")) if args.flag("remind") is not None else list(DEFAULT_OFFSETS)
    milestone = await ctx.store.milestones.add(
        lab_id=lab_id, title=title, due_on=due_on, owner=owner, remind_days=offsets,
        created_by=ctx.sender, now=ctx.now(),
    )
    await schedule_notices(ctx.store, milestone, zone, ctx.now())
    ctx.signals.add("due")
    ctx.lab_id = lab_id
    await ctx.audit("milestone add", milestone=milestone.id, title=title, due=due_on.isoformat())
    scope = lab.name if lab is not None else ctx._("the network")
    reply = Reply.text(ctx._("Milestone **#{id}** added to {scope}: {title}, due {day}."),
                       id=milestone.id, scope=scope, title=title, day=day_text(due_on))
    reply.li(ctx._("Responsible: {owner}"), owner=owner)
    if offsets:
        reply.li(ctx._("Notices at 09:00: {offsets} before, on the due day, then daily while overdue."),
                 offsets=offsets_text(offsets))
    else:
        reply.li(ctx._("Notices at 09:00: on the due day, then daily while overdue."))
    if due_on < _today(ctx, zone):
        reply.p(ctx._("This day is past: the milestone is overdue, and a notice goes out daily until it is done."))
    if lab is not None and not await ctx.store.labs.rooms(lab.id):
        reply.p(ctx._("{lab} has no linked room yet, so its notices have nowhere to go."), lab=lab.name)
    return reply


@milestones_group.command(
    "milestone template", "meilenstein vorlage", role=Role.COORDINATOR,
    usage=N_("milestone template --start <date> [--lab <lab>]"),
    help=N_("Creates the milestones of the 5-year programme, counted from the start date."),
    examples=(N_("milestone template --start 01.03.2027"),),
    flags=(Flag("start", "beginn", help=N_("the day the lab's term starts")), LAB_FLAG),
)
async def milestone_template(ctx: Context, args: Args) -> Reply:
    if not args.flag("start"):
        raise BadArguments(N_("When does the term start? Give --start <date>."))
    lab = await lab_from_args(ctx, args)
    require(ctx, Role.COORDINATOR, lab.id)
    tz = ZoneInfo(lab.timezone)
    start = parse_day(args.flag("start"), ctx, tz)
    if await ctx.store.milestones.template_steps(lab.id):
        raise Conflict(N_("{lab} already has the milestones of the 5-year programme. `{command}` lists them."),
                       lab=lab.name, command=ctx.prefix + ctx._("milestones"))
    reply = Reply().h(ctx._("The 5-year programme of {lab}, from {day}:"), lab=lab.name, day=day_text(start))
    today, past = _today(ctx, lab.timezone), 0
    for step in PROGRAMME:
        due_on = add_months(start, step.months)
        milestone = await ctx.store.milestones.add(
            lab_id=lab.id, title=ctx._(step.title), due_on=due_on, owner=None,
            remind_days=list(DEFAULT_OFFSETS), created_by=ctx.sender, now=ctx.now(), template_step=step.key,
        )
        await schedule_notices(ctx.store, milestone, lab.timezone, ctx.now())
        past += due_on < today
        reply.li("**#{id}** {day}: {title}", id=milestone.id, day=day_text(due_on), title=milestone.title)
    ctx.signals.add("due")
    ctx.lab_id = lab.id
    await ctx.audit("milestone template", start=start.isoformat(), count=len(PROGRAMME))
    reply.p(ctx._("Notices at 09:00: {offsets} before, on the due day, then daily while overdue."),
            offsets=offsets_text(list(DEFAULT_OFFSETS)))
    if past:
        reply.p(ctx.ngettext(
            "{n} of them is already past. Mark it with `{command}` if it is done.",
            "{n} of them are already past. Mark them with `{command}` if they are done.", past),
            n=past, command=ctx.prefix + ctx._("milestone done <id>"))
    return reply


async def _target(ctx: Context, args: Args, *, open_only: bool = False) -> Milestone:
    """The milestone named by the first argument, locked, after checking the sender may change it
    (and, with `open_only`, that it is not done yet)."""
    if not args.positional:
        raise BadArguments(N_("Which milestone? Give its id, e.g. #12."))
    milestone_id = parse_id(args.positional[0])
    milestone = await ctx.store.milestones.lock(milestone_id)
    if milestone is None:
        raise NotFound(N_("There is no milestone #{id}."), id=milestone_id)
    _require_for(ctx, milestone.lab_id)
    ctx.lab_id = milestone.lab_id
    if open_only and milestone.status == MilestoneStatus.DONE:
        raise Conflict(N_("Milestone #{id} is already done."), id=milestone.id)
    return milestone


@milestones_group.command(
    "milestone done", "meilenstein erledigt", role=Role.COORDINATOR,
    usage=N_("milestone done <id>"), help=N_("Marks a milestone as done; its notices stop."),
    examples=(N_("milestone done 12"),),
)
async def milestone_done(ctx: Context, args: Args) -> Reply:
    milestone = await _target(ctx, args, open_only=True)
    await ctx.store.milestones.mark_done(milestone, ctx.sender, ctx.now())
    await cancel_notices(ctx.store, milestone.id)
    ctx.signals.add("due")
    await ctx.audit("milestone done", milestone=milestone.id)
    return Reply.text(ctx._("Milestone **#{id}** {title} is done. Its notices are cancelled."),
                      id=milestone.id, title=milestone.title)


@milestones_group.command(
    "milestone move", "meilenstein verschieben", role=Role.COORDINATOR,
    usage=N_("milestone move <id> --due <date>"), help=N_("Moves a milestone to another day; its notices follow."),
    examples=(N_("milestone move 12 --due 01.03.2027"),), flags=(DUE_FLAG,),
)
async def milestone_move(ctx: Context, args: Args) -> Reply:
    if not args.flag("due"):
        raise BadArguments(N_("To which day? Give --due <date>."))
    milestone = await _target(ctx, args, open_only=True)
    zone = await zone_of(ctx.store, milestone.lab_id, ctx.network.timezone)
    due_on = parse_day(args.flag("due"), ctx, ZoneInfo(zone))
    before = milestone.due_on
    await ctx.store.milestones.move(milestone, due_on)
    await cancel_notices(ctx.store, milestone.id)
    await schedule_notices(ctx.store, milestone, zone, ctx.now())
    ctx.signals.add("due")
    await ctx.audit("milestone move", milestone=milestone.id, before=before.isoformat(), due=due_on.isoformat())
    reply = Reply.text(ctx._("Milestone **#{id}** {title} moved from {before} to {day}. Its notices follow."),
                       id=milestone.id, title=milestone.title, before=day_text(before), day=day_text(due_on))
    if due_on < _today(ctx, zone):
        reply.p(ctx._("This day is past: the milestone is overdue, and a notice goes out daily until it is done."))
    return reply


@milestones_group.command(
    "milestone remove", "meilenstein entfernen", role=Role.COORDINATOR,
    usage=N_("milestone remove <id>"), help=N_("Removes a milestone and its notices."),
    examples=(N_("milestone remove 12"),),
)
async def milestone_remove(ctx: Context, args: Args) -> Reply:
    milestone = await _target(ctx, args)
    milestone_id, title = milestone.id, milestone.title
    await cancel_notices(ctx.store, milestone_id)
    await ctx.store.milestones.remove(milestone_id)
    ctx.signals.add("due")
    await ctx.audit("milestone remove", milestone=milestone_id, title=title)
    return Reply.text(ctx._("Milestone **#{id}** {title} removed, with its notices."), id=milestone_id, title=title)


@milestones_group.command(
    "milestones", "meilensteine", usage=N_("milestones [--lab <lab> | --network | --overdue]"),
    help=N_("Lists milestones with status and due dates; --overdue across all labs."),
    examples=(N_("milestones --overdue"),),
    flags=(LAB_FLAG, NETWORK_FLAG,
           Flag("overdue", "ueberfaellig", kind=bool, help=N_("only overdue ones, across all labs unless --lab"))),
)
async def milestones(ctx: Context, args: Args) -> Reply:
    if args.flag("overdue"):
        return await _overdue(ctx, args)
    lab = await _scope(ctx, args) if (args.flag("lab") or args.flag("network") or ctx.lab_id) else None
    lab_id = lab.id if lab is not None else None
    zone = lab.timezone if lab is not None else ctx.network.timezone
    today = _today(ctx, zone)
    found = await ctx.store.milestones.of_lab(lab_id, limit=LIST_LIMIT)
    scope = lab.name if lab is not None else ctx._("the network")
    if not found:
        return Reply.text(ctx._("No milestones for {scope} yet. `{command}` adds one."),
                          scope=scope, command=ctx.prefix + ctx._("milestone add"))
    reply = Reply().h(ctx._("Milestones of {lab}"), lab=lab.name) if lab else Reply().h(ctx._("Network milestones"))
    for milestone in found:
        _line(ctx, reply, milestone, today)
    total = await ctx.store.milestones.count_of_lab(lab_id)
    if total > len(found):
        reply.p(ctx._("… and {n} more."), n=total - len(found))
    return reply


def _line(ctx: Context, reply: Reply, milestone: Milestone, today: date, lab_name: str | None = None) -> None:
    template = "**#{id}** {day} {title}: {status}"
    params = {"id": milestone.id, "day": day_text(milestone.due_on), "title": milestone.title,
              "status": status_text(ctx.tr, milestone, today)}
    if lab_name is not None:
        template, params["lab"] = "{lab}: " + template, lab_name
    if milestone.owner and milestone.status == MilestoneStatus.OPEN:
        template, params["owner"] = template + ctx._(" (responsible: {owner})"), milestone.owner
    reply.li(template, **params)


async def _overdue(ctx: Context, args: Args) -> Reply:
    lab = await find_lab(ctx, args.flag("lab")) if args.flag("lab") else None
    zone = lab.timezone if lab is not None else ctx.network.timezone
    today = _today(ctx, zone)
    yesterday = date.fromordinal(today.toordinal() - 1)
    found = await ctx.store.milestones.open_due_by(yesterday, lab_id=lab.id if lab else None, limit=LIST_LIMIT)
    if not found:
        return Reply.text(ctx._("No milestone is overdue."))
    names = await ctx.store.labs.names({m.lab_id for m in found if m.lab_id is not None})
    reply = Reply().h(ctx._("Overdue milestones"))
    for milestone in found:
        name = names.get(milestone.lab_id, "–") if milestone.lab_id is not None else ctx._("Network")
        _line(ctx, reply, milestone, today, lab_name=name)
    total = await ctx.store.milestones.count_open_due_by(yesterday, lab.id if lab else None)
    if total > len(found):
        reply.p(ctx._("… and {n} more."), n=total - len(found))
    return reply
