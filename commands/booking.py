"""Booking desks: frei, buchen, buchungen, stornieren, heute."""

from __future__ import annotations

from datetime import date, timedelta

from commands.availability import day_span, holiday, hourly, opening, peak, weeks
from commands.context import Context
from commands.directory import SpaceView, directory_of
from commands.errors import BadArguments, CommandError, NotFound
from commands.geo import state_name
from commands.i18n import N_
from commands.labs import LAB_FLAG, lab_from_args, require
from commands.parser import Args, parse_id
from commands.registry import Flag
from commands.reply import Reply
from commands.roles import Role
from commands.spaces import lab_zone, spaces_group, split_space
from commands.when import format_minutes, local_to_utc, parse_date_range, parse_when
from storage.models import Lab


class Refused(CommandError):
    """A slot that can't be booked, with the reason."""


def _day(d: date) -> str:
    return d.strftime("%d.%m.%Y")


async def check_slot(
    ctx: Context, lab: Lab, space: SpaceView, day: date, start: int, end: int, desks: int
) -> None:
    """Raise Refused with the reason when the slot can't be booked; else return."""
    tz = lab_zone(lab)
    name = holiday(day, lab.state, ctx.language)
    if name:
        raise Refused(N_("{day} is a public holiday in {state}: {holiday}. {space} is closed."),
                      day=_day(day), state=state_name(lab.state, ctx.language), holiday=name, space=space.name)
    for reason in await directory_of(ctx).closed(ctx.store, space.id, day):
        raise Refused(N_("{space} is closed on {day} ({reason})."), space=space.name, day=_day(day),
                      reason=reason or "–")
    span = opening(space.hours, day)
    if span is None:
        raise Refused(N_("{space} is closed on that weekday."), space=space.name)
    if start < span[0] or end > span[1]:
        raise Refused(N_("{space} is open {opens}–{closes} on {day}; {start}–{end} is outside."),
                      space=space.name, opens=format_minutes(span[0]), closes=format_minutes(span[1]),
                      day=_day(day), start=format_minutes(start), end=format_minutes(end))
    start_at, end_at = local_to_utc(day, start, tz), local_to_utc(day, end, tz)
    if start_at < ctx.now():
        raise Refused(N_("{day} {start} is in the past."), day=_day(day), start=format_minutes(start))
    used = peak(await ctx.store.bookings.overlapping(space.id, start_at, end_at), start_at, end_at)
    free = space.capacity - used
    wanted = space.capacity if space.kind == "meeting" else desks
    if space.kind == "meeting" and used:
        raise Refused(N_("{space} is already booked in that time."), space=space.name)
    if wanted > free:
        raise Refused(N_("Only {free} of {capacity} places are free then; you asked for {desks}."),
                      free=free, capacity=space.capacity, desks=wanted)


@spaces_group.command(
    "free", "frei", usage=N_("free [<space>] [<date>] [<from>-<to>]"),
    help=N_("Free places: hour by hour for a day, or for one time slot."),
    examples=(N_("free Coworking tomorrow 14-16"),), flags=(LAB_FLAG,),
)
async def free(ctx: Context, args: Args) -> Reply:
    lab = await lab_from_args(ctx, args)
    space, rest = await split_space(ctx, lab, args.positional, required=False)
    tz = lab_zone(lab)
    when = parse_when(rest, ctx.now(), tz)
    chosen = [space] if space else await directory_of(ctx).spaces_of(ctx.store, lab.id)
    if not chosen:
        return Reply.text(ctx._("{lab} has no bookable spaces yet."), lab=lab.name)
    reply = Reply()
    name = holiday(when.day, lab.state, ctx.language)
    for item in chosen:
        span = opening(item.hours, when.day)
        closures = await directory_of(ctx).closed(ctx.store, item.id, when.day)
        if name or closures or span is None:
            why = name or (closures[0] if closures else None) or "–"
            reply.p(ctx._("**{space}** is closed on {day} ({reason})."), space=item.name, day=_day(when.day), reason=why)
            continue
        if when.start_min is not None and when.end_min is not None:
            start_at, end_at = local_to_utc(when.day, when.start_min, tz), local_to_utc(when.day, when.end_min, tz)
            used = peak(await ctx.store.bookings.overlapping(item.id, start_at, end_at), start_at, end_at)
            reply.p(ctx._("**{space}** on {day}, {start}–{end}: {free} of {capacity} places free."),
                    space=item.name, day=_day(when.day), start=format_minutes(when.start_min),
                    end=format_minutes(when.end_min), free=max(item.capacity - used, 0), capacity=item.capacity)
            continue
        start_at, end_at = day_span(when.day, tz)
        bookings = await ctx.store.bookings.overlapping(item.id, start_at, end_at)
        reply.p(ctx._("**{space}** on {day} (open {opens}–{closes}), free places per hour:"), space=item.name,
                day=_day(when.day), opens=format_minutes(span[0]), closes=format_minutes(span[1]))
        for start, end, free_desks in hourly(bookings, when.day, span[0], span[1], item.capacity, tz):
            reply.li("{start}–{end}: {free}", start=format_minutes(start), end=format_minutes(end), free=free_desks)
    return reply


@spaces_group.command(
    "book", "buchen", role=Role.MEMBER,
    usage=N_("book <space> <date> <from>-<to> [--desks n] [--weekly --until <date>] [--note <text>]"),
    help=N_("Books places (a meeting room is booked whole); a weekly series books every free week."),
    examples=(N_("book Coworking tomorrow 14-16 --desks 3"),),
    flags=(Flag("desks", "plaetze", kind=int, help=N_("how many places (default 1)")),
           Flag("weekly", "woechentlich", kind=bool, help=N_("every week, up to --until")),
           Flag("until", "bis", help=N_("last day of a weekly series")),
           Flag("note", "notiz", help=N_("a note shown with the booking")), LAB_FLAG),
)
async def book(ctx: Context, args: Args) -> Reply:
    lab = await lab_from_args(ctx, args)
    require(ctx, Role.MEMBER, lab.id)
    space, rest = await split_space(ctx, lab, args.positional)
    tz = lab_zone(lab)
    when = parse_when(rest, ctx.now(), tz, default_today=False)
    if when.start_min is None or when.end_min is None:
        raise BadArguments(N_("Please give a time range such as 14-16."))
    desks = args.flag("desks", 1)
    if desks < 1:
        raise BadArguments(N_("At least one place, please."))
    days = [when.day]
    if args.flag("weekly"):
        if not args.flag("until"):
            raise BadArguments(N_("A weekly series needs --until <date>."))
        until = parse_date_range(args.flag("until"), ctx.now(), tz)[1]
        if until > when.day + timedelta(days=366):
            raise BadArguments(N_("A series can run for one year at most."))
        days = weeks(when.day, until)
    await ctx.store.spaces.lock(space.id)  # check and insert as one step, even with two bots
    booked: list[tuple[int, date]] = []
    conflicts: list[tuple[date, Refused]] = []
    for day in days:
        try:
            await check_slot(ctx, lab, space, day, when.start_min, when.end_min, desks)
        except Refused as refusal:
            if len(days) == 1:
                raise
            conflicts.append((day, refusal))
            continue
        booking_id = await ctx.store.bookings.add(
            space_id=space.id, user_id=ctx.sender, room_id=ctx.room_id,
            start_at=local_to_utc(day, when.start_min, tz), end_at=local_to_utc(day, when.end_min, tz),
            desks=space.capacity if space.kind == "meeting" else desks, note=args.flag("note"),
            series_id=None, now=ctx.now(),
        )
        booked.append((booking_id, day))
    if not booked:
        raise Refused(N_("None of the {n} dates could be booked."), n=len(days))
    if len(days) > 1:
        series = await ctx.store.bookings.next_series_id()
        await ctx.store.bookings.set_series([b for b, _ in booked], series)
    # No audit entry: the booking row itself records who booked what and when (and a
    # cancellation records who cancelled), which keeps the busiest command one write lighter.
    slot = f"{format_minutes(when.start_min)}–{format_minutes(when.end_min)}"
    if len(days) == 1 and space.kind == "meeting":
        return Reply.text(ctx._("Booked: {space} (the whole room), {day}, {slot} (#{id})."),
                          space=space.name, day=_day(when.day), slot=slot, id=booked[0][0])
    if len(days) == 1:
        return Reply.text(ctx.ngettext("Booked: {space}, {day}, {slot}, {desks} place (#{id}).",
                                       "Booked: {space}, {day}, {slot}, {desks} places (#{id}).", desks),
                          space=space.name, day=_day(when.day), slot=slot, desks=desks, id=booked[0][0])
    reply = Reply.text(ctx._("Weekly series in {space}, {slot}: {booked} of {total} dates booked."),
                       space=space.name, slot=slot, booked=len(booked), total=len(days))
    for booking_id, day in booked:
        reply.li("#{id} {day}", id=booking_id, day=_day(day))
    if conflicts:
        reply.p(ctx.ngettext("{n} conflict:", "{n} conflicts:", len(conflicts)), n=len(conflicts))
        for day, refusal in conflicts:
            reply.li("{day}: {reason}", day=_day(day), reason=ctx._(refusal.message).format(**refusal.params))
    return reply


async def _names(ctx: Context, users: set[str]) -> dict[str, str]:
    names = {}
    for user in users:
        known = await ctx.store.users.get(user)
        names[user] = (known.display_name if known and known.display_name else user)
    return names


@spaces_group.command(
    "bookings", "buchungen", usage=N_("bookings [mine|<space>] [<date>]"),
    help=N_("Lists bookings with their ids (to cancel them)."),
    examples=(N_("bookings mine"),), flags=(LAB_FLAG,),
)
async def bookings(ctx: Context, args: Args) -> Reply:
    words = list(args.positional)
    now = ctx.now()
    if words and words[0].lower() in ("mine", "meine"):
        found = await ctx.store.bookings.upcoming_of_user(ctx.sender, now)
        reply = Reply().h(ctx._("Your upcoming bookings"))
        return _list(ctx, reply, found, {}, show_names=False, spaces=await _space_names(ctx, found))
    lab = await lab_from_args(ctx, args)
    require(ctx, Role.MEMBER, lab.id)
    space, rest = await split_space(ctx, lab, words, required=False)
    tz = lab_zone(lab)
    when = parse_when(rest, now, tz)
    chosen = [space] if space else await directory_of(ctx).spaces_of(ctx.store, lab.id)
    start, end = day_span(when.day, tz)
    found = await ctx.store.bookings.active_in([s.id for s in chosen], start, end)
    reply = Reply().h(ctx._("Bookings on {day}"), day=_day(when.day))
    names = await _names(ctx, {b.user_id for b in found if b.user_id})
    return _list(ctx, reply, found, names, show_names=True, spaces={s.id: s.name for s in chosen})


async def _space_names(ctx: Context, found: list) -> dict[int, str]:  # noqa: ANN001
    names = {}
    for booking in found:
        if booking.space_id not in names:
            space = await ctx.store.spaces.get(booking.space_id)
            names[booking.space_id] = space.name if space else "?"
    return names


def _list(ctx: Context, reply: Reply, found: list, names: dict[str, str], *, show_names: bool,
          spaces: dict[int, str]) -> Reply:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(ctx.network.timezone)
    for booking in found:
        start, end = booking.start_at.astimezone(tz), booking.end_at.astimezone(tz)
        who = names.get(booking.user_id or "", ctx._("anonymous")) if show_names else ""
        reply.li("#{id} {day} {start}–{end} {space}, {desks}× {who}", id=booking.id, day=_day(start.date()),
                 start=start.strftime("%H:%M"), end=end.strftime("%H:%M"), space=spaces.get(booking.space_id, "?"),
                 desks=booking.desks, who=who)
    if not found:
        reply.p(ctx._("No bookings."))
    return reply


@spaces_group.command(
    "unbook", "stornieren", usage=N_("unbook <id> [--series]"),
    help=N_("Cancels your booking (coordinators: any booking of their lab); --series the rest of its series."),
    examples=(N_("unbook #12"),),
    flags=(Flag("series", "serie", kind=bool, help=N_("also every later date of the series")),),
)
async def unbook(ctx: Context, args: Args) -> Reply:
    if len(args.positional) != 1:
        raise BadArguments(N_("Which booking? Give its id, e.g. #12."))
    booking = await ctx.store.bookings.get(parse_id(args.positional[0]))
    if booking is None or booking.cancelled_at is not None:
        raise NotFound(N_("There is no active booking #{id}."), id=args.positional[0].lstrip("#"))
    space = await ctx.store.spaces.get(booking.space_id)
    if booking.user_id != ctx.sender:
        require(ctx, Role.COORDINATOR, space.lab_id if space else None)
    targets = [booking]
    if args.flag("series") and booking.series_id is not None:
        targets = await ctx.store.bookings.series_from(booking.series_id, booking.start_at)
    await ctx.store.bookings.cancel(targets, ctx.sender, ctx.now())
    ctx.lab_id = space.lab_id if space else ctx.lab_id
    await ctx.audit("unbook", bookings=[b.id for b in targets])
    return Reply.text(ctx.ngettext("Cancelled {n} booking: {ids}.", "Cancelled {n} bookings: {ids}.", len(targets)),
                      n=len(targets), ids=", ".join(f"#{b.id}" for b in targets))


@spaces_group.command(
    "today", "heute", role=Role.MEMBER, usage=N_("today"),
    help=N_("Who intends to be in the lab today, by time."),
)
async def today(ctx: Context, args: Args) -> Reply:
    if ctx.lab_id is None:
        raise BadArguments(N_("`today` works in a lab's room: it shows who will be in that lab."))
    lab = await directory_of(ctx).lab(ctx.store, ctx.lab_id)
    tz = lab_zone(lab)
    day = ctx.now().astimezone(tz).date()
    spaces = {s.id: s.name for s in await directory_of(ctx).spaces_of(ctx.store, lab.id)}
    start, end = day_span(day, tz)
    found = await ctx.store.bookings.active_in(list(spaces), start, end)
    names = await _names(ctx, {b.user_id for b in found if b.user_id})
    reply = Reply().h(ctx._("Today in {lab}"), lab=lab.name)
    for booking in found:
        if not booking.user_id:
            continue
        reply.li("{start}–{end} {name} ({space})", start=booking.start_at.astimezone(tz).strftime("%H:%M"),
                 end=booking.end_at.astimezone(tz).strftime("%H:%M"), name=names[booking.user_id],
                 space=spaces.get(booking.space_id, "?"))
    if not found:
        reply.p(ctx._("Nobody has booked for today yet."))
    return reply
