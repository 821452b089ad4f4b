"""`expert find` / `wer …`: fuzzy search in German and English, nearest first."""

from __future__ import annotations

from commands.categories import parse_query, settings_of, topic_text
from commands.context import Context
from commands.directory import directory_of
from commands.errors import BadArguments
from commands.experts import category_arg, day_text, experts_group, listed_since
from commands.geo import state_code, state_name
from commands.i18n import N_
from commands.labs import LAB_FLAG, find_lab
from commands.parser import Args
from commands.registry import Flag
from commands.reply import Reply

RESULTS = 5


async def asker_place(ctx: Context) -> tuple[int | None, str | None]:
    """The asker's lab (this room's, else their only lab) and its Bundesland, for ranking."""
    lab_id = ctx.lab_id
    if lab_id is None:
        labs = ctx.principal.member_of | ctx.principal.coordinator_of
        if len(labs) == 1:
            lab_id = next(iter(labs))
    if lab_id is None:
        return None, None
    lab = await directory_of(ctx).lab(ctx.store, lab_id)
    return lab_id, (lab.state if lab else None)


@experts_group.command(
    "expert find", "experte suchen", aliases=("wer", "who"),
    usage=N_("expert find <text> [--category c] [--state code] [--lab lab]"),
    help=N_("Up to 5 best matches: fuzzy, handles compounds and typos; this lab first, then this Bundesland."),
    examples=(N_("wer kennt sich mit Datenschutz aus"), N_("expert find Vergaberecht --state SN")),
    flags=(Flag("category", "kategorie", help=N_("only this category")), Flag("state", "land", help=N_("only this Bundesland")), LAB_FLAG),
)
async def expert_find(ctx: Context, args: Args) -> Reply:
    settings = settings_of(ctx)
    query = parse_query(" ".join(args.positional), settings)
    category = category_arg(ctx, args.flag("category")).key if args.flag("category") else None
    state = None
    if args.flag("state"):
        state = state_code(args.flag("state"))
        if state is None:
            raise BadArguments(N_("“{state}” is not a Bundesland code (e.g. SN, BY, NW)."), state=args.flag("state"))
    lab_id = (await find_lab(ctx, args.flag("lab"))).id if args.flag("lab") else None
    if not query.words and not query.categories and not (category or state or lab_id):
        raise BadArguments(N_("Please say what you are looking for, in at least 3 letters."))
    near_lab, near_state = await asker_place(ctx)
    result = await ctx.store.experts.search(
        query.words, listed_since=listed_since(ctx), boost_categories=query.categories, category=category,
        state=state, lab_id=lab_id, near_lab=near_lab, near_state=near_state, limit=RESULTS,
    )
    searched = topic_text(" ".join(args.positional), settings) or args.text or "–"
    if not result.hits:
        reply = Reply.text(ctx._("No listed expert or organisation matches “{query}”."), query=searched)
        reply.p(ctx._("`{categories}` shows the categories; experts enter themselves with `{join}`."),
                categories=ctx.prefix + ctx._("categories"), join=ctx.prefix + ctx._("expert join <category>"))
        return reply
    reply = Reply().h(ctx.ngettext("{n} match for “{query}”:", "{n} matches for “{query}”:", len(result.hits)),
                      n=len(result.hits), query=searched)
    corrected = sorted({t for terms in result.corrected.values() for t in terms})
    if corrected:
        reply.p(ctx._("(also searched for: {terms})"), terms=", ".join(corrected))
    names = await directory_of(ctx).lab_names(ctx.store, {e.lab_id for e, _ in result.hits if e.lab_id})
    for expert, _score in result.hits:
        parts = [settings.name(expert.category, ctx.language)]
        if expert.skills:
            parts.append(expert.skills)
        if expert.confidential:
            parts.append(ctx._("confidential organisation, only through the bot"))
        else:
            if expert.lab_id in names:
                parts.append(names[expert.lab_id])
            if expert.state:
                parts.append(state_name(expert.state, ctx.language))
            if expert.public:
                parts.append(expert.user_id if expert.kind == "person" else expert.contact_id or "")
        reply.li(ctx._("#{id} **{name}**: {details}; confirmed {day}"), id=expert.id, name=expert.name,
                 details=" · ".join(p for p in parts if p), day=day_text(ctx, expert.confirmed_at))
    reply.p(ctx._("Details: `{show}`. Write to someone through the bot: `{contact}`."),
            show=ctx.prefix + ctx._("expert show <id>"), contact=ctx.prefix + ctx._("contact <id> <message>"))
    return reply
