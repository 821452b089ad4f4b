"""Labs and their rooms: lab create / link / unlink / info, and labs by Bundesland."""

from __future__ import annotations

import difflib
from zoneinfo import ZoneInfo

from commands.access import coordinators
from commands.availability import hours_text
from commands.context import Context
from commands.directory import directory_of
from commands.errors import BadArguments, Conflict, NotAllowed, NotFound
from commands.geo import LEVELS, STATES, level_code, slugify, state_code, state_name
from commands.i18n import N_
from commands.milestone_plan import status_text
from commands.parser import Args
from commands.registry import CommandGroup, Flag
from commands.reply import Reply
from commands.roles import Role
from storage.models import Lab

labs_group = CommandGroup(N_("Labs and roles"))

# Above this many labs, `labs` lists names compactly per Bundesland: a Matrix event has at most
# 64 KiB, and a chat reply should stay readable on a phone.
FULL_LIST_LIMIT = 40
PER_STATE_LIMIT = 10
STATE_FULL_LIMIT = 150  # `labs --state XY` lists that many in full
LISTING_BUDGET = 4_000
LAB_FLAG = Flag("lab", "labor", help=N_("the lab (slug or name)"))


def require(ctx: Context, role: Role, lab_id: int | None) -> None:
    if not ctx.principal.has(role, lab_id):
        raise NotAllowed(role)


async def find_lab(ctx: Context, text: str) -> Lab:
    """A lab by slug or name, case-insensitive; a typo gets suggestions."""
    lab = await ctx.store.labs.by_slug(slugify(text)) or await ctx.store.labs.by_name(text)
    if lab is not None:
        return lab
    slugs = [known.slug for known in await ctx.store.labs.all()]
    close = difflib.get_close_matches(slugify(text), slugs, n=3, cutoff=0.6)
    if close:
        raise NotFound(
            N_("There is no lab “{lab}”. Did you mean {suggestions}?"),
            lab=text,
            suggestions=", ".join(close),
        )
    raise NotFound(N_("There is no lab “{lab}”. `{labs}` lists all labs."), lab=text, labs=ctx.prefix + ctx._("labs"))


async def lab_from_args(ctx: Context, args: Args, *, positional: bool = False) -> Lab:
    """`--lab`, a positional name, or the lab this room is linked to."""
    text = args.flag("lab") or (" ".join(args.positional) if positional and args.positional else None)
    if text:
        return await find_lab(ctx, text)
    if ctx.lab_id is not None:
        lab = await directory_of(ctx).lab(ctx.store, ctx.lab_id)
        if lab is not None:
            return lab  # type: ignore[return-value]  # a LabView reads like a Lab
    raise BadArguments(N_("This room is not linked to a lab: please name one."))


async def lab_summary(ctx: Context, lab: Lab) -> Reply:
    reply = Reply().h("{name} (`{slug}`)", name=lab.name, slug=lab.slug)
    reply.li(ctx._("City: {city}"), city=lab.city)
    reply.li(ctx._("Bundesland: {state} ({code})"), state=state_name(lab.state, ctx.language), code=lab.state)
    reply.li(ctx._("Level: {level}"), level=ctx._(LEVELS[lab.level]))
    if lab.host:
        host = f"{lab.host} ({lab.host_legal_form})" if lab.host_legal_form else lab.host
        reply.li(ctx._("Host: {host}"), host=host)
    else:
        reply.li(ctx._("Host: not set yet"))
    rooms = await ctx.store.labs.rooms(lab.id)
    names = [ctx.state.room_name(room) or room for room in rooms] if ctx.state else rooms
    reply.li(
        ctx.ngettext("{n} linked room: {rooms}", "{n} linked rooms: {rooms}", len(rooms)),
        n=len(rooms),
        rooms=", ".join(names) or "–",
    )
    people = await coordinators(ctx.store, ctx.state, lab.id) if ctx.state else []
    reply.li(ctx._("Coordinators: {people}"), people=", ".join(people) or "–")
    for space in await directory_of(ctx).spaces_of(ctx.store, lab.id):
        reply.li(ctx._("Space {space}: {capacity} places, {hours}"), space=space.name,
                 capacity=space.capacity, hours=hours_text(space.hours, ctx.language))
    upcoming = await ctx.store.milestones.next_open(lab.id)
    today = ctx.now().astimezone(ZoneInfo(lab.timezone)).date()
    reply.li(ctx._("Next milestone: {milestone}"), milestone=(
        f"#{upcoming.id} {upcoming.due_on:%d.%m.%Y} {upcoming.title} ({status_text(ctx.tr, upcoming, today)})"
        if upcoming else "–"))
    return reply


@labs_group.command(
    "lab create",
    "labor anlegen",
    role=Role.MANAGER,
    usage=N_("lab create <name> --city <city> --state <code> [--level kommune|land|bund] [--host <organisation>] [--legal-form <form>]"),
    help=N_("Creates a lab."),
    examples=(N_('lab create "OGL Leipzig" --city Leipzig --state SN --host "Stadt Leipzig"'),),
    flags=(
        Flag("city", "stadt", help=N_("the city")),
        Flag("state", "land", help=N_("Bundesland code: BW BY BE BB HB HH HE MV NI NW RP SL SN ST SH TH")),
        Flag("level", "ebene", help=N_("kommune (default), land or bund")),
        Flag("host", "traeger", help=N_("the neutral host organisation")),
        Flag("legal-form", "rechtsform", help=N_("the host's legal form, e.g. e. V., Genossenschaft, Stiftung")),
    ),
)
async def lab_create(ctx: Context, args: Args) -> Reply:
    name = " ".join(args.positional).strip()
    if not name or not args.flag("city") or not args.flag("state"):
        raise BadArguments(N_("A lab needs a name, a city and a Bundesland."))
    code = state_code(args.flag("state"))
    if code is None:
        raise BadArguments(
            N_("“{state}” is not a Bundesland code. Use one of {codes}."),
            state=args.flag("state"),
            codes=" ".join(STATES),
        )
    level = level_code(args.flag("level", "kommune"))
    if level is None:
        raise BadArguments(N_("“{level}” is not a level. Use kommune, land or bund."), level=args.flag("level"))
    slug = slugify(name)
    if not slug:
        raise BadArguments(N_("The name needs letters or digits."))
    if await ctx.store.labs.by_slug(slug) is not None:
        raise Conflict(N_("A lab with the slug `{slug}` exists already."), slug=slug)
    lab = await ctx.store.labs.create(
        slug=slug,
        name=name,
        city=args.flag("city"),
        state=code,
        level=level,
        host=args.flag("host"),
        host_legal_form=args.flag("legal-form"),
        timezone=ctx.network.timezone,
        created_by=ctx.sender,
        now=ctx.now(),
    )
    ctx.lab_id = lab.id
    await ctx.audit("lab create", slug=slug, name=name, state=code)
    ctx.signals.add("labs")
    reply = Reply.text(ctx._("Lab **{name}** created with the slug `{slug}`."), name=name, slug=slug)
    reply.p(
        ctx._("Link its rooms from inside each room: `{command}`"),
        command=f"{ctx.prefix}{ctx._('lab link')} {slug}",
    )
    return reply


@labs_group.command(
    "lab link",
    "labor verknuepfen",
    role=Role.COORDINATOR,
    usage=N_("lab link <lab>"),
    help=N_("Links this room to a lab."),
    examples=(N_("lab link ogl-leipzig"),),
    aliases=("labor verknüpfen",),
)
async def lab_link(ctx: Context, args: Args) -> Reply:
    if not args.positional:
        raise BadArguments(N_("Which lab? Name it by slug or name."))
    lab = await find_lab(ctx, " ".join(args.positional))
    require(ctx, Role.COORDINATOR, lab.id)
    current = ctx.lab_id
    if current == lab.id:
        raise Conflict(N_("This room is already linked to {name}."), name=lab.name)
    if current is not None:
        other = await ctx.store.labs.get(current)
        raise Conflict(
            N_("This room is linked to {name}. Unlink it first: `{command}`"),
            name=other.name if other else current,
            command=ctx.prefix + ctx._("lab unlink"),
        )
    await ctx.store.labs.link(ctx.room_id, lab.id, ctx.sender, ctx.now())
    ctx.lab_id = lab.id
    await ctx.audit("lab link", slug=lab.slug)
    ctx.signals.add("labs")
    reply = Reply.text(ctx._("This room is now linked to **{name}**."), name=lab.name)
    return reply.extend(await lab_summary(ctx, lab))


@labs_group.command(
    "lab unlink",
    "labor trennen",
    role=Role.COORDINATOR,
    usage=N_("lab unlink"),
    help=N_("Unlinks this room from its lab."),
)
async def lab_unlink(ctx: Context, args: Args) -> Reply:
    if ctx.lab_id is None:
        raise NotFound(N_("This room is not linked to a lab."))
    require(ctx, Role.COORDINATOR, ctx.lab_id)
    lab = await ctx.store.labs.get(ctx.lab_id)
    await ctx.store.labs.unlink(ctx.room_id)
    await ctx.audit("lab unlink", slug=lab.slug if lab else None)
    ctx.signals.add("labs")
    return Reply.text(ctx._("This room is no longer linked to {name}."), name=lab.name if lab else "?")


@labs_group.command(
    "lab info",
    "labor info",
    usage=N_("lab info [<lab>]"),
    help=N_("Shows a lab: city, Bundesland, level, host, rooms, coordinators."),
    examples=(N_("lab info ogl-leipzig"),),
)
async def lab_info(ctx: Context, args: Args) -> Reply:
    lab = await lab_from_args(ctx, args, positional=True)
    return await lab_summary(ctx, lab)


@labs_group.command(
    "labs",
    "labore",
    usage=N_("labs [--state <code>]"),
    help=N_("All labs, grouped by Bundesland."),
    examples=(N_("labs --state SN"),),
    flags=(Flag("state", "land", help=N_("only this Bundesland")),),
)
async def labs(ctx: Context, args: Args) -> Reply:
    code = None
    if args.flag("state"):
        code = state_code(args.flag("state"))
        if code is None:
            raise BadArguments(N_("“{state}” is not a Bundesland code. Use one of {codes}."),
                               state=args.flag("state"), codes=" ".join(STATES))
    listing = await ctx.directory.listing(ctx.store) if ctx.directory else await ctx.store.labs.listing()
    found = [row for row in listing if code is None or row[0] == code]
    if not found:
        return Reply.text(ctx._("No labs yet."))
    by_state: dict[str, list[tuple[str, str, str]]] = {}
    for state, name, slug, city in found:
        by_state.setdefault(state, []).append((name, slug, city))
    reply = Reply().h(ctx.ngettext("{n} lab", "{n} labs", len(found)), n=len(found))
    full = len(found) <= (STATE_FULL_LIMIT if code else FULL_LIST_LIMIT)
    budget = LISTING_BUDGET  # characters of names: keeps the event far below 64 KiB
    for state in sorted(by_state, key=lambda c: state_name(c, ctx.language)):
        members = by_state[state]
        title = "**{state}** ({count})"
        if full:
            reply.p(title, state=state_name(state, ctx.language), count=len(members))
            for name, slug, city in members:
                reply.li("{name} (`{slug}`), {city}", name=name, slug=slug, city=city)
            continue
        names: list[str] = []
        for name, _slug, _city in members[:PER_STATE_LIMIT]:
            if budget - len(name) < 0:
                break
            budget -= len(name) + 2
            names.append(name)
        shown = ", ".join(names)
        more = len(members) - len(names)
        if more > 0:
            shown += " " + ctx.ngettext("and {n} more", "and {n} more", more).format(n=more)
        reply.p(title + ": {labs}", state=state_name(state, ctx.language), count=len(members), labs=shown)
    if not full:
        reply.p(
            ctx._("One Bundesland in full: `{state}`. One lab: `{info}`"),
            state=ctx.prefix + ctx._("labs --state SN"),
            info=ctx.prefix + ctx._("lab info <lab>"),
        )
    return reply
