"""General commands: help, ping, whoami, lang, status."""

from __future__ import annotations

from commands.context import Context
from commands.errors import BadArguments, NotAllowed
from commands.i18n import LANGUAGES, N_
from commands.parser import Args
from commands.registry import CommandGroup, CommandSpec
from commands.reply import Reply
from commands.roles import MODERATOR_LEVEL, Role

general = CommandGroup(N_("General"))


def _name(ctx: Context, spec: CommandSpec) -> str:
    return ctx.prefix + spec.display_name(ctx.language)


def _other_name(ctx: Context, spec: CommandSpec) -> str:
    return spec.name if ctx.language == "de" else spec.german


@general.command(
    "help",
    "hilfe",
    aliases=("?",),
    usage=N_("help [command]"),
    help=N_("Lists the commands you may use, or explains one command."),
    examples=(N_("help whoami"),),
)
async def help_command(ctx: Context, args: Args) -> Reply:
    if args.positional:
        return _help_for(ctx, args.positional)
    reply = Reply().h(ctx._("Commands of {network}"), network=ctx.network.name)
    sections = ctx.registry.visible_to(lambda spec: ctx.principal.may_use(spec.role, ctx.lab_id))
    for title, specs in sections:
        reply.p("**{title}**", title=ctx._(title))
        for spec in specs:
            reply.li(
                "`{usage}` ({other}): {help}",
                usage=ctx.prefix + ctx._(spec.usage),
                other=_other_name(ctx, spec),
                help=ctx._(spec.help),
            )
    help_spec = ctx.registry.resolve(["help"])[0]
    reply.p(
        ctx._("Details on one command: `{example}`. In a direct chat the `{prefix}` is optional."),
        example=_name(ctx, help_spec) + " " + ctx._("whoami"),
        prefix=ctx.prefix,
    )
    return reply


def _help_for(ctx: Context, words: list[str]) -> Reply:
    found = ctx.registry.resolve(words)
    if found is None:
        children = ctx.registry.children(words[0])
        if children:
            reply = Reply()
            for spec in children:
                reply.li("`{usage}`: {help}", usage=ctx.prefix + ctx._(spec.usage), help=ctx._(spec.help))
            return reply
        suggestions = ctx.registry.suggest(words)
        reply = Reply.text(ctx._("I don't know the command “{command}”."), command=" ".join(words))
        if suggestions:
            reply.p(
                ctx._("Did you mean {suggestions}?"),
                suggestions=", ".join(_name(ctx, s) for s in suggestions),
            )
        return reply
    spec = found[0]
    reply = Reply().h("{usage}", usage=ctx.prefix + ctx._(spec.usage))
    reply.p(ctx._(spec.help))
    reply.p(
        ctx._("Also written: {spellings}"),
        spellings=", ".join(ctx.prefix + s for s in spec.spellings if s != spec.display_name(ctx.language)),
    )
    for flag in spec.flags:
        spelled = " / ".join("--" + s for s in flag.spellings)
        reply.li("`{flag}` {help}", flag=spelled, help=ctx._(flag.help))
    for example in spec.examples:
        reply.p(ctx._("Example: `{example}`"), example=ctx.prefix + ctx._(example))
    reply.p(ctx._("Who may use it: {role}"), role=ctx._(spec.role.label))
    return reply


@general.command("ping", "ping", usage=N_("ping"), help=N_("Checks that the bot answers."))
async def ping(ctx: Context, args: Args) -> Reply:
    return Reply.text("pong")


@general.command(
    "whoami",
    "werbinich",
    usage=N_("whoami"),
    help=N_("Shows your roles and labs."),
)
async def whoami(ctx: Context, args: Args) -> Reply:
    p = ctx.principal
    reply = Reply.text(
        ctx._("You are **{name}** ({user_id})."),
        name=ctx.sender_name or ctx.sender,
        user_id=ctx.sender,
    )
    wanted = p.member_of | p.coordinator_of | {ctx.lab_id or 0}
    if ctx.directory is not None:
        labs = await ctx.directory.lab_names(ctx.store, wanted)
    else:
        labs = await ctx.store.labs.names(wanted)
    roles: list[str] = []
    if p.admin:
        roles.append(ctx._(Role.ADMIN.label))
    if p.manager:
        roles.append(ctx._(Role.MANAGER.label))
    for lab_id in sorted(p.coordinator_of, key=lambda i: labs.get(i, "")):
        if lab_id in labs:
            roles.append(ctx._("coordinator of {lab}").format(lab=labs[lab_id]))
    if ctx.lab_id is None and p.room_power >= MODERATOR_LEVEL and not (p.admin or p.manager):
        roles.append(ctx._("moderator of this room"))
    if roles:
        reply.p(ctx._("Your roles: {roles}"), roles=", ".join(roles))
    else:
        reply.p(ctx._("You have no special role: you can use everything open to everyone."))
    member = sorted(labs[i] for i in p.member_of if i in labs)
    if member:
        reply.p(ctx._("Your labs: {labs}"), labs=", ".join(member))
    else:
        reply.p(ctx._("You are not a member of any lab yet."))
    if ctx.lab_id is not None:
        reply.p(ctx._("This room belongs to {lab}."), lab=labs.get(ctx.lab_id, "?"))
    reply.p(ctx._("Language of this room: {language}"), language=ctx._(LANGUAGES[ctx.language]))
    return reply


@general.command(
    "lang",
    "sprache",
    role=Role.COORDINATOR,
    usage=N_("lang de|en"),
    help=N_("Sets the language the bot uses in this room."),
    examples=(N_("lang en"),),
)
async def lang(ctx: Context, args: Args) -> Reply:
    if not ctx.principal.has(Role.COORDINATOR, ctx.lab_id):
        raise NotAllowed(Role.COORDINATOR)  # this room's lab, or this room's moderators
    if len(args.positional) != 1:
        raise BadArguments(N_("Please name one language: de or en."))
    choice = args.positional[0].lower()
    aliases = {"deutsch": "de", "german": "de", "englisch": "en", "english": "en"}
    choice = aliases.get(choice, choice)
    if choice not in LANGUAGES:
        raise BadArguments(N_("“{language}” is not available. Choose de or en."), language=choice)
    await ctx.store.rooms.set_language(ctx.room_id, choice, ctx.now())
    await ctx.audit("lang", language=choice)
    ctx.signals.add("language")
    tr = ctx.translator_for(choice)
    return Reply.text(
        tr.gettext("From now on I answer in this room in {language}."),
        language=tr.gettext(LANGUAGES[choice]),
    )


@general.command(
    "status",
    "status",
    role=Role.MANAGER,
    usage=N_("status"),
    help=N_("Uptime, rooms, labs, users and pending deliveries."),
)
async def status(ctx: Context, args: Args) -> Reply:
    now = ctx.now()
    uptime = now - ctx.runtime.started_at
    hours, rest = divmod(int(uptime.total_seconds()), 3600)
    counts = await ctx.store.outbox.counts()
    rooms = ctx.runtime.joined_rooms()
    users = await ctx.store.users.count()
    reply = Reply().h(ctx._("Status of {network}"), network=ctx.network.name)
    reply.li(ctx._("Running for {hours} h {minutes} min"), hours=hours, minutes=rest // 60)
    reply.li(ctx.ngettext("{n} room", "{n} rooms", rooms), n=rooms)
    labs = await ctx.store.labs.count()
    reply.li(ctx.ngettext("{n} lab", "{n} labs", labs), n=labs)
    reply.li(ctx.ngettext("{n} known user", "{n} known users", users), n=users)
    reply.li(
        ctx._("Deliveries: {pending} pending, {sent} sent, {failed} failed"),
        pending=counts["pending"],
        sent=counts["sent"],
        failed=counts["failed"],
    )
    since = ctx.runtime.seconds_since_sync()
    if since is not None:
        reply.li(ctx._("Last sync {seconds} s ago"), seconds=int(since))
    return reply
