"""The expert directory: join (shows what is stored) and confirm (consent), update, leave,
show, categories. Search, contacts, organisations and personal data live in sibling modules."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from commands.categories import VISIBILITY, Category, settings_of
from commands.context import Context
from commands.directory import directory_of
from commands.errors import BadArguments, Conflict, NotFound
from commands.geo import state_code, state_name
from commands.i18n import N_
from commands.labs import LAB_FLAG, find_lab
from commands.parser import Args, parse_id
from commands.registry import CommandGroup, Flag
from commands.reply import Reply
from storage.models_experts import Expert

experts_group = CommandGroup(N_("Experts and organisations"))

SKILLS_FLAG = Flag("skills", "themen", help=N_("skills, comma-separated"))
ENTRY_FLAGS = (
    SKILLS_FLAG,
    Flag("languages", "sprachen", help=N_("languages, e.g. de,en")),
    Flag("about", "info", help=N_("a few words about you")),
    Flag("public", "oeffentlich", kind=bool, help=N_("show your Matrix id to people who find you")),
    Flag("network", "netzwerk", kind=bool, help=N_("hide your Matrix id again (the default)")),
    Flag("no-requests", "keine-anfragen", kind=bool, help=N_("do not accept help requests")),
    Flag("requests", "anfragen", kind=bool, help=N_("accept help requests (the default)")),
    LAB_FLAG,
    Flag("state", "land", help=N_("Bundesland code, e.g. SN")),
)


def day_text(ctx: Context, when: datetime | None) -> str:
    if when is None:
        return "–"
    local = when.astimezone(ZoneInfo(ctx.network.timezone))
    return local.strftime("%d.%m.%Y") if ctx.language == "de" else local.strftime("%Y-%m-%d")


def listed_since(ctx: Context) -> datetime:
    """Entries confirmed before this are hidden: not reconfirmed in time (never deleted)."""
    settings = settings_of(ctx)
    return ctx.now() - timedelta(days=settings.reconfirm_days + settings.grace_days)


def is_listed(ctx: Context, expert: Expert) -> bool:
    return expert.status == "active" and expert.confirmed_at is not None and expert.confirmed_at >= listed_since(ctx)


def category_arg(ctx: Context, text: str) -> Category:
    category = settings_of(ctx).category(text)
    if category is None:
        names = ", ".join(c.name(ctx.language) for c in settings_of(ctx).categories)
        raise BadArguments(N_("There is no category “{category}”. Categories: {categories}."),
                           category=text, categories=names)
    return category


def split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def search_keys(ctx: Context, name: str, category: str, skills: str) -> str:
    found = settings_of(ctx).by_key(category)
    return " ".join((name, found.search_text() if found else category, skills))


async def place(ctx: Context, args: Args) -> tuple[int | None, str | None]:
    """Lab and Bundesland of a new entry: --lab / --state, else the room's lab."""
    lab = None
    if args.flag("lab"):
        lab = await find_lab(ctx, args.flag("lab"))
    elif ctx.lab_id is not None:
        lab = await directory_of(ctx).lab(ctx.store, ctx.lab_id)
    state = None
    if args.flag("state"):
        state = state_code(args.flag("state"))
        if state is None:
            raise BadArguments(N_("“{state}” is not a Bundesland code (e.g. SN, BY, NW)."), state=args.flag("state"))
    return (lab.id if lab else None), (state or (lab.state if lab else None))


async def describe(ctx: Context, expert: Expert, reply: Reply, *, owner: bool = False) -> None:
    """The entry as others see it (`owner`: plus what only the owner sees)."""
    settings = settings_of(ctx)
    reply.h("#{id} {name}", id=expert.id, name=expert.name)
    reply.li(ctx._("Category: {category}"), category=settings.name(expert.category, ctx.language))
    if expert.kind == "org":
        reply.li(ctx._("Organisation (confidential: reachable only through the bot)") if expert.confidential
                 else ctx._("Organisation"))
    reply.li(ctx._("Skills: {skills}"), skills=expert.skills or "–")
    reply.li(ctx._("Languages: {languages}"), languages=expert.languages or "–")
    if expert.about:
        reply.li(ctx._("About: {about}"), about=expert.about)
    if not expert.confidential:
        lab = await directory_of(ctx).lab(ctx.store, expert.lab_id) if expert.lab_id else None
        if lab is not None:
            reply.li(ctx._("Lab: {lab}"), lab=lab.name)
        if expert.state:
            reply.li(ctx._("Bundesland: {state}"), state=state_name(expert.state, ctx.language))
        matrix_id = expert.user_id if expert.kind == "person" else expert.contact_id
        if expert.public and matrix_id:
            reply.li(ctx._("Matrix: {user}"), user=matrix_id)
    if owner and expert.kind == "person":
        reply.li(ctx._("Visibility: {visibility}"), visibility=ctx._(VISIBILITY["public" if expert.public else "network"]))
        reply.li(ctx._("Accepts help requests: {answer}"), answer=ctx._("yes") if expert.accepts_requests else ctx._("no"))
    reply.li(ctx._("Last confirmed: {day}"), day=day_text(ctx, expert.confirmed_at))
    reply.li(ctx._("Contact through the bot: `{command}`"),
             command=ctx.prefix + ctx._("contact {id} <message>").format(id=expert.id))


@experts_group.command(
    "expert join", "experte eintragen", usage=N_("expert join <category> [--skills \"a, b\"] [--languages de,en] [--about <text>] [--public]"),
    help=N_("Enter yourself in the expert directory (shows what is stored; nothing is listed before `expert confirm`)."),
    examples=(N_("expert join lawyer --skills \"Datenschutzrecht, Vergaberecht\""),), flags=ENTRY_FLAGS,
)
async def expert_join(ctx: Context, args: Args) -> Reply:
    if not args.positional:
        raise BadArguments(N_("Please name a category."))
    category = category_arg(ctx, " ".join(args.positional))
    existing = await ctx.store.experts.of_user(ctx.sender)
    if existing is not None and existing.status == "active":
        raise Conflict(N_("You are listed already as #{id}. Change your entry with `{update}`."),
                       id=existing.id, update=ctx.prefix + ctx._("expert update"))
    lab_id, state = await place(ctx, args)
    name = ctx.sender_name or ctx.sender[1:].split(":", 1)[0]
    skills = ", ".join(split_list(args.flag("skills")))
    fields = dict(
        name=name, category=category.key, skills=skills, languages=",".join(split_list(args.flag("languages"))) or ctx.language,
        about=args.flag("about"), lab_id=lab_id, state=state, public=bool(args.flag("public")),
        accepts_requests=not args.flag("no-requests"),
    )
    keys = search_keys(ctx, name, category.key, skills)
    if existing is None:
        expert = await ctx.store.experts.create(now=ctx.now(), keys=keys, kind="person", user_id=ctx.sender,
                                                status="pending", created_by=ctx.sender, **fields)
    else:
        expert = existing
        await ctx.store.experts.update(expert, now=ctx.now(), keys=keys, **fields)
    await ctx.audit("expert join", expert=expert.id)
    reply = Reply.text(ctx._("This is what will be stored about you (entry #{id}), and who can see it:"), id=expert.id)
    await describe(ctx, expert, reply, owner=True)
    reply.p(ctx._("Stored as well, seen by nobody: your Matrix id (to deliver contact requests to you) and the time of your consent."))
    reply.p(ctx._("Nothing is listed yet. To give your consent and go live, send `{confirm}`. `{leave}` deletes the entry."),
            confirm=ctx.prefix + ctx._("expert confirm"), leave=ctx.prefix + ctx._("expert leave"))
    return reply


@experts_group.command(
    "expert confirm", "experte bestaetigen", aliases=("experte bestätigen",), usage=N_("expert confirm"),
    help=N_("Give your consent: your entry goes live (and stays listed for another 6 months)."),
)
async def expert_confirm(ctx: Context, args: Args) -> Reply:
    expert = await ctx.store.experts.of_user(ctx.sender)
    if expert is None:
        raise NotFound(N_("You have no entry yet. Start with `{join}`."), join=ctx.prefix + ctx._("expert join <category>"))
    first = expert.status != "active"
    await confirm_entry(ctx, expert)
    if first:
        reply = Reply.text(ctx._("Thank you. Your entry #{id} is listed from now on ({day})."), id=expert.id, day=day_text(ctx, ctx.now()))
    else:
        reply = Reply.text(ctx._("Thank you. Your entry #{id} is confirmed again ({day})."), id=expert.id, day=day_text(ctx, ctx.now()))
    reply.p(ctx._("We will ask you to confirm it again in 6 months."))
    return reply


async def confirm_entry(ctx: Context, expert: Expert) -> None:
    """Consent (first time) or reconfirmation: listed from now on; the next question follows."""
    now = ctx.now()
    expert.status = "active"
    expert.consented_at = expert.consented_at or now
    expert.confirmed_at = now
    await ctx.store.experts.listing_changed(expert)
    from commands.reconfirm import schedule_reconfirmation

    await schedule_reconfirmation(ctx, expert)
    await ctx.audit("expert confirm", expert=expert.id)


@experts_group.command(
    "expert update", "experte aendern", aliases=("experte ändern",),
    usage=N_("expert update [<category>] [--skills \"a, b\"] [--languages de,en] [--about <text>] [--public]"),
    help=N_("Change your entry."), examples=(N_("expert update --skills \"Datenschutzrecht, IT-Recht\""),), flags=ENTRY_FLAGS,
)
async def expert_update(ctx: Context, args: Args) -> Reply:
    expert = await ctx.store.experts.of_user(ctx.sender)
    if expert is None:
        raise NotFound(N_("You have no entry yet. Start with `{join}`."), join=ctx.prefix + ctx._("expert join <category>"))
    changes: dict[str, object] = {}
    if args.positional:
        changes["category"] = category_arg(ctx, " ".join(args.positional)).key
    if args.flag("skills") is not None:
        changes["skills"] = ", ".join(split_list(args.flag("skills")))
    if args.flag("languages") is not None:
        changes["languages"] = ",".join(split_list(args.flag("languages")))
    if args.flag("about") is not None:
        changes["about"] = args.flag("about") or None
    if args.flag("public") or args.flag("network"):
        changes["public"] = bool(args.flag("public"))
    if args.flag("no-requests") or args.flag("requests"):
        changes["accepts_requests"] = bool(args.flag("requests"))
    if args.flag("lab") or args.flag("state"):
        changes["lab_id"], changes["state"] = await place(ctx, args)
    if ctx.sender_name and ctx.sender_name != expert.name:
        changes["name"] = ctx.sender_name
    if not changes:
        raise BadArguments(N_("Nothing to change: give a category or an option."))
    keys = search_keys(ctx, str(changes.get("name", expert.name)), str(changes.get("category", expert.category)),
                       str(changes.get("skills", expert.skills)))
    await ctx.store.experts.update(expert, now=ctx.now(), keys=keys, **changes)
    await ctx.audit("expert update", expert=expert.id)
    reply = Reply.text(ctx._("Your entry is changed:"))
    await describe(ctx, expert, reply, owner=True)
    if expert.status != "active":
        reply.p(ctx._("It is not listed until you send `{confirm}`."), confirm=ctx.prefix + ctx._("expert confirm"))
    return reply


@experts_group.command(
    "expert leave", "experte austragen", usage=N_("expert leave"),
    help=N_("Delete your entry completely."),
)
async def expert_leave(ctx: Context, args: Args) -> Reply:
    expert = await ctx.store.experts.of_user(ctx.sender)
    if expert is None:
        raise NotFound(N_("You have no entry in the expert directory."))
    from commands.reconfirm import cancel_reconfirmation

    await cancel_reconfirmation(ctx, expert)
    await ctx.store.experts.delete(expert)
    await ctx.audit("expert leave")
    return Reply.text(ctx._("Your entry has been deleted completely."))


@experts_group.command(
    "expert show", "experte zeigen", usage=N_("expert show <id>"), help=N_("Shows one entry."),
    examples=(N_("expert show 12"),),
)
async def expert_show(ctx: Context, args: Args) -> Reply:
    if not args.positional:
        raise BadArguments(N_("Please give the entry's id."))
    expert = await ctx.store.experts.get(parse_id(args.positional[0]))
    owner = expert is not None and ctx.sender in (expert.user_id, expert.contact_id)
    if expert is None or not (owner or is_listed(ctx, expert)):
        raise NotFound(N_("There is no listed entry #{id}."), id=args.positional[0].lstrip("#"))
    reply = Reply()
    await describe(ctx, expert, reply, owner=owner)
    if owner and not is_listed(ctx, expert):
        reply.p(ctx._("Not listed at the moment: confirm it with `{confirm}`."),
                confirm=ctx.prefix + ctx._("org confirm {id}").format(id=expert.id) if expert.kind == "org"
                else ctx.prefix + ctx._("expert confirm"))
    return reply


@experts_group.command("categories", "kategorien", usage=N_("categories"), help=N_("Categories with counts of listed entries."))
async def categories(ctx: Context, args: Args) -> Reply:
    counts = await ctx.store.experts.counts(listed_since(ctx))
    settings = settings_of(ctx)
    reply = Reply().h(ctx._("Categories"))
    for category in settings.categories:
        synonyms = ", ".join(category.synonyms[:4])
        reply.li(ctx._("{name} (`{key}`): {n} listed; also: {synonyms}"), name=category.name(ctx.language),
                 key=category.key, n=counts.get(category.key, 0), synonyms=synonyms or "–")
    reply.p(ctx._("Search with `{find}`."), find=ctx.prefix + ctx._("expert find <text>"))
    return reply


from commands import expert_contact, expert_find, personal_data, reconfirm  # noqa: E402,F401  (register into the group)
