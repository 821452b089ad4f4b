"""Bookable spaces of a lab: add, opening hours, closures, removal, overview, iCal link."""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo

from commands.availability import DEFAULT_HOURS, KINDS, day_span, hours_text, opening, peak
from commands.context import Context
from commands.directory import SpaceView, directory_of
from commands.errors import BadArguments, Conflict, NotFound
from commands.geo import slugify
from commands.i18n import N_
from commands.labs import LAB_FLAG, lab_from_args, require
from commands.parser import Args
from commands.registry import CommandGroup, Flag
from commands.reply import Reply
from commands.roles import Role
from commands.when import format_minutes, parse_date_range
from storage.models import Lab

spaces_group = CommandGroup(N_("Spaces and booking"))

_DAY_NAMES = {
    **{n: i for i, n in enumerate(["mo", "di", "mi", "do", "fr", "sa", "so"])},
    **{n: i for i, n in enumerate(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])},
    **{n: i for i, n in enumerate(["montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag"])},
    **{n: i for i, n in enumerate(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])},
}
_CLOSED_WORDS = {"geschlossen", "zu", "closed"}
_TIME = r"(\d{1,2})(?:[:.](\d{2}))?"
_RANGE = re.compile(rf"^{_TIME}\s*(?:-|–|bis)\s*{_TIME}(?:\s*uhr)?$", re.IGNORECASE)


def lab_zone(lab: Lab) -> ZoneInfo:
    return ZoneInfo(lab.timezone)


async def find_space(ctx: Context, lab: Lab, text: str) -> SpaceView:
    known = await directory_of(ctx).spaces_of(ctx.store, lab.id)
    wanted = slugify(text)
    for space in known:
        if space.slug == wanted:
            return space
    names = ", ".join(s.name for s in known) or "–"
    raise NotFound(N_("{lab} has no space “{space}”. Its spaces: {names}"), lab=lab.name, space=text, names=names)


async def split_space(
    ctx: Context, lab: Lab, words: list[str], required: bool = True
) -> tuple[SpaceView | None, list[str]]:
    """The space named by the first words (longest match, so unquoted 'Großer Raum' works)."""
    spaces = {s.slug: s for s in await directory_of(ctx).spaces_of(ctx.store, lab.id)}
    for n in range(min(len(words), 4), 0, -1):
        space = spaces.get(slugify(" ".join(words[:n])))
        if space is not None:
            return space, words[n:]
    if required:
        if not words:
            raise BadArguments(N_("Which space? Name it first."))
        await find_space(ctx, lab, words[0])  # raises with the list of spaces
    return None, words


def _days(text: str) -> list[int]:
    lowered = text.lower().rstrip(".")
    if lowered in ("täglich", "taeglich", "daily", "alle", "all"):
        return list(range(7))
    if lowered in ("werktags", "weekdays"):
        return list(range(5))
    parts = re.split(r"\s*[-–]\s*", lowered)
    if len(parts) == 2 and parts[0].rstrip(".") in _DAY_NAMES and parts[1].rstrip(".") in _DAY_NAMES:
        first, last = _DAY_NAMES[parts[0].rstrip(".")], _DAY_NAMES[parts[1].rstrip(".")]
        return [d % 7 for d in range(first, last + 1 if last >= first else last + 8)]
    days = []
    for item in lowered.split(","):
        if item.strip().rstrip(".") not in _DAY_NAMES:
            raise BadArguments(N_("“{days}” are not days like Mo-Fr, Sa or Mo,Mi."), days=text)
        days.append(_DAY_NAMES[item.strip().rstrip(".")])
    return days


def _range(text: str) -> list[int] | None:
    if text.lower() in _CLOSED_WORDS:
        return None
    match = _RANGE.match(text.strip())
    if not match:
        raise BadArguments(N_("“{hours}” are not opening hours like 08:00-22:00 or geschlossen."), hours=text)
    h1, m1, h2, m2 = (int(g) if g else 0 for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not (0 <= start < end <= 1440) or m1 > 59 or m2 > 59:
        raise BadArguments(N_("“{hours}” are not opening hours like 08:00-22:00 or geschlossen."), hours=text)
    return [start, end]


@spaces_group.command(
    "space add", "raum anlegen", role=Role.COORDINATOR,
    usage=N_("space add <name> --capacity <n> [--lab <lab>] [--kind workspace|meeting|shop]"),
    help=N_("Adds a bookable space, open daily 08:00–22:00 and closed on public holidays."),
    examples=(N_("space add Coworking --capacity 10"),),
    flags=(Flag("capacity", "kapazitaet", kind=int, help=N_("desks (or seats of a meeting room)")),
           Flag("kind", "art", help=N_("workspace (desks, default), meeting (booked whole) or shop")),
           LAB_FLAG),
)
async def space_add(ctx: Context, args: Args) -> Reply:
    lab = await lab_from_args(ctx, args)
    require(ctx, Role.COORDINATOR, lab.id)
    name = " ".join(args.positional).strip()
    capacity = args.flag("capacity")
    if not name or capacity is None:
        raise BadArguments(N_("A space needs a name and a capacity."))
    if not 1 <= capacity <= 10_000:
        raise BadArguments(N_("The capacity must be between 1 and 10000."))
    kind = {"arbeitsplatz": "workspace", "besprechung": "meeting", "besprechungsraum": "meeting",
            "laden": "shop"}.get(str(args.flag("kind", "workspace")).lower(), str(args.flag("kind", "workspace")).lower())
    if kind not in KINDS:
        raise BadArguments(N_("“{kind}” is not a kind. Use workspace, meeting or shop."), kind=args.flag("kind"))
    slug = slugify(name)
    if not slug:
        raise BadArguments(N_("The name needs letters or digits."))
    if await ctx.store.spaces.by_slug(lab.id, slug) is not None:
        raise Conflict(N_("{lab} already has a space “{space}”."), lab=lab.name, space=name)
    await ctx.store.spaces.create(lab_id=lab.id, name=name, slug=slug, kind=kind, capacity=capacity,
                                  hours=dict(DEFAULT_HOURS), now=ctx.now())
    ctx.signals.add("spaces")
    ctx.lab_id = lab.id
    await ctx.audit("space add", space=name, capacity=capacity, kind=kind)
    return Reply.text(
        ctx._("Space **{space}** added to {lab}: {kind}, capacity {capacity}, open {hours}, closed on public holidays."),
        space=name, lab=lab.name, kind=ctx._(KINDS[kind]), capacity=capacity,
        hours=hours_text(DEFAULT_HOURS, ctx.language),
    )


@spaces_group.command(
    "space hours", "raum zeiten", role=Role.COORDINATOR,
    usage=N_("space hours <space> <days> <from>-<to>|closed"),
    help=N_("Sets opening hours, e.g. Mo-Fr 08:00-22:00, Sa 10-16 or So geschlossen."),
    examples=(N_("space hours Coworking Mo-Fr 08:00-22:00"),),
    flags=(LAB_FLAG,),
)
async def space_hours(ctx: Context, args: Args) -> Reply:
    lab = await lab_from_args(ctx, args)
    require(ctx, Role.COORDINATOR, lab.id)
    space, rest = await split_space(ctx, lab, args.positional)
    if len(rest) < 2:
        raise BadArguments(N_("Name the days and the hours."))
    days, span = _days(rest[0]), _range(" ".join(rest[1:]))
    hours = dict(space.hours)
    for day in days:
        hours[str(day)] = span
    await ctx.store.spaces.set_hours(space.id, hours)
    ctx.signals.add("spaces")
    ctx.lab_id = lab.id
    await ctx.audit("space hours", space=space.name, days=rest[0], hours=" ".join(rest[1:]))
    return Reply.text(ctx._("Opening hours of {space}: {hours}"), space=space.name, hours=hours_text(hours, ctx.language))


@spaces_group.command(
    "space close", "raum schliessen", role=Role.COORDINATOR,
    usage=N_("space close <space> <date>[..<date>] [reason]"),
    help=N_("Closes a space on some days; bookings inside are reported to their owners."),
    examples=(N_("space close Coworking 24.12...1.1. Betriebsferien"),),
    flags=(LAB_FLAG,), aliases=("raum schließen",),
)
async def space_close(ctx: Context, args: Args) -> Reply:
    lab = await lab_from_args(ctx, args)
    require(ctx, Role.COORDINATOR, lab.id)
    space, rest = await split_space(ctx, lab, args.positional)
    if not rest:
        raise BadArguments(N_("Which days? Give a date or a range like 24.12...1.1."))
    tz = lab_zone(lab)
    first, last, reason = _closure_days(rest, ctx, tz)
    await ctx.store.closures.add(space.id, first, last, reason, ctx.sender, ctx.now())
    ctx.signals.add("spaces")
    start, _ = day_span(first, tz)
    _, end = day_span(last, tz)
    affected = await ctx.store.bookings.active_in([space.id], start, end)
    for booking in affected:
        if booking.user_id and booking.room_id:
            note = Reply.text(
                ctx._("{user}: {space} is closed on {day} ({reason}). Your booking #{id} can't take place; please book another time."),
                user=booking.user_id, space=space.name, day=_local_day(booking.start_at, tz).strftime("%d.%m.%Y"),
                reason=reason or "–", id=booking.id,
            )
            note.mentions.append(booking.user_id)
            await ctx.store.outbox.add(booking.room_id, note.content(), now=ctx.now(), purpose="closure",
                                       reference=f"closure-booking:{booking.id}")
    ctx.lab_id = lab.id
    await ctx.audit("space close", space=space.name, first=first.isoformat(), last=last.isoformat(), affected=len(affected))
    if first == last:
        reply = Reply.text(ctx._("{space} is closed on {day}."), space=space.name, day=first.strftime("%d.%m.%Y"))
    else:
        reply = Reply.text(ctx._("{space} is closed from {first} to {last}."), space=space.name,
                           first=first.strftime("%d.%m.%Y"), last=last.strftime("%d.%m.%Y"))
    if affected:
        reply.p(ctx.ngettext("{n} booking is affected; its owner has been told.",
                             "{n} bookings are affected; their owners have been told.", len(affected)), n=len(affected))
    return reply


def _closure_days(words: list[str], ctx: Context, tz: ZoneInfo) -> tuple[date, date, str | None]:
    """The days (one to three words, e.g. '24.12. - 1.1.') and the reason after them."""
    for n in range(min(3, len(words)), 1, -1):
        try:
            first, last = parse_date_range(" ".join(words[:n]), ctx.now(), tz)
        except BadArguments:
            continue
        return first, last, " ".join(words[n:]) or None
    first, last = parse_date_range(words[0], ctx.now(), tz)  # its error names the bad part
    return first, last, " ".join(words[1:]) or None


def _local_day(instant, tz: ZoneInfo) -> date:  # noqa: ANN001 - datetime
    return instant.astimezone(tz).date()


@spaces_group.command(
    "space remove", "raum entfernen", role=Role.COORDINATOR,
    usage=N_("space remove <space> [--force]"),
    help=N_("Removes a space; refused while future bookings exist, unless --force (then their owners are told)."),
    flags=(Flag("force", "erzwingen", kind=bool, help=N_("remove even with future bookings")), LAB_FLAG),
)
async def space_remove(ctx: Context, args: Args) -> Reply:
    lab = await lab_from_args(ctx, args)
    require(ctx, Role.COORDINATOR, lab.id)
    space, _ = await split_space(ctx, lab, args.positional)
    now = ctx.now()
    future = await ctx.store.bookings.active_in([space.id], now, now.replace(year=now.year + 20))
    if future and not args.flag("force"):
        raise Conflict(ctx.ngettext(
            "{space} still has {n} future booking. Add --force to remove it anyway; its owner will be told.",
            "{space} still has {n} future bookings. Add --force to remove it anyway; their owners will be told.",
            len(future)), space=space.name, n=len(future))
    for booking in future:
        if booking.user_id and booking.room_id:
            note = Reply.text(ctx._("{user}: the space {space} was removed. Your booking #{id} is cancelled."),
                              user=booking.user_id, space=space.name, id=booking.id)
            note.mentions.append(booking.user_id)
            await ctx.store.outbox.add(booking.room_id, note.content(), now=now, purpose="space-removed")
    name = space.name
    await ctx.store.spaces.remove(space.id)
    ctx.signals.add("spaces")
    ctx.lab_id = lab.id
    await ctx.audit("space remove", space=name, cancelled=len(future))
    return Reply.text(ctx._("Space {space} removed."), space=name)


@spaces_group.command(
    "spaces", "raeume", usage=N_("spaces [--lab <lab>]"),
    help=N_("Spaces with capacity, opening hours and today's occupancy."),
    flags=(LAB_FLAG,), aliases=("räume",),
)
async def spaces(ctx: Context, args: Args) -> Reply:
    lab = await lab_from_args(ctx, args)
    found = await directory_of(ctx).spaces_of(ctx.store, lab.id)
    if not found:
        return Reply.text(ctx._("{lab} has no bookable spaces yet."), lab=lab.name)
    tz = lab_zone(lab)
    today = ctx.now().astimezone(tz).date()
    start, end = day_span(today, tz)
    reply = Reply().h(ctx._("Spaces of {lab}"), lab=lab.name)
    for space in found:
        used = peak(await ctx.store.bookings.overlapping(space.id, start, end), start, end)
        reply.li(
            ctx._("**{space}** ({kind}): {capacity} places, {hours}; today at most {used} booked"),
            space=space.name, kind=ctx._(KINDS[space.kind]), capacity=space.capacity,
            hours=hours_text(space.hours, ctx.language), used=used,
        )
    return reply


@spaces_group.command(
    "space ical", "raum kalender", usage=N_("space ical <space>"),
    help=N_("The address of the space's calendar feed: occupancy only, no names."),
    flags=(LAB_FLAG,),
)
async def space_ical(ctx: Context, args: Args) -> Reply:
    lab = await lab_from_args(ctx, args)
    space, _ = await split_space(ctx, lab, args.positional)
    url = f"{ctx.network.public_url.rstrip('/')}/ical/{lab.slug}/{space.slug}.ics"
    return Reply.text(ctx._("Calendar of {space} (occupancy only, no names): {url}"), space=space.name, url=url)


def opening_text(space: SpaceView, day: date) -> str:
    span = opening(space.hours, day)
    return f"{format_minutes(span[0])}–{format_minutes(span[1])}" if span else "–"
