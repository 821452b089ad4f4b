"""Introductions through the bot (`contact`, `reply`) and organisations (`org add`,
`org confirm`). Direct messages are outbox rows addressed to a user id: the sender turns
that into the bot's direct room with the user (creating it once), see bot/sender.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from commands.categories import settings_of
from commands.context import Context
from commands.errors import BadArguments, Conflict, NotAllowed, NotFound
from commands.experts import (
    SKILLS_FLAG,
    category_arg,
    confirm_entry,
    describe,
    experts_group,
    is_listed,
    search_keys,
    split_list,
)
from commands.i18n import N_
from commands.labs import LAB_FLAG, lab_from_args
from commands.parser import Args, parse_id
from commands.registry import Flag
from commands.reply import Reply
from commands.roles import Role
from storage.models_experts import Expert

DIRECT = "dm"  # outbox purpose of a direct message addressed to a user id


async def send_direct(ctx: Context, user_id: str, reply: Reply | dict[str, Any], *, purpose: str = DIRECT) -> None:
    """Queue a direct message to a user (the sender finds or creates the direct room)."""
    if ctx.is_direct and await ctx.store.experts.direct_rooms.of_user(ctx.sender) is None:
        # This room already is the sender's direct chat with the bot: reuse it.
        await ctx.store.experts.direct_rooms.remember(ctx.sender, ctx.room_id, ctx.now())
    content = reply.content() if isinstance(reply, Reply) else reply
    await ctx.store.outbox.add(user_id, content, now=ctx.now(), purpose=purpose)


def room_label(ctx: Context) -> str:
    name = ctx.state.room_name(ctx.room_id) if ctx.state else None
    return f"{name} ({ctx.room_id})" if name else ctx.room_id


def reachable_id(expert: Expert) -> str | None:
    return expert.user_id if expert.kind == "person" else expert.contact_id


@experts_group.command(
    "expert contact", "kontakt", aliases=("contact", "experte kontaktieren"),
    usage=N_("contact <id> <message>"),
    help=N_("The bot delivers your message to the expert (direct message), with your name and room."),
    examples=(N_("contact 12 Hallo, wir suchen Rat zum Vergaberecht."),),
)
async def expert_contact(ctx: Context, args: Args) -> Reply:
    if len(args.positional) < 2:
        raise BadArguments(N_("Please give the entry's id and your message."))
    expert = await ctx.store.experts.get(parse_id(args.positional[0]))
    if expert is None or not is_listed(ctx, expert) or reachable_id(expert) is None:
        raise NotFound(N_("There is no listed entry #{id}."), id=args.positional[0].lstrip("#"))
    if reachable_id(expert) == ctx.sender:
        raise Conflict(N_("That is your own entry."))
    if not expert.accepts_requests:
        raise Conflict(N_("#{id} does not take requests through the bot at the moment."), id=expert.id)
    limit = settings_of(ctx).contacts_per_day
    if await ctx.store.experts.contacts.count_since(ctx.sender, ctx.now() - timedelta(days=1)) >= limit:
        raise Conflict(N_("You have reached today's limit of {limit} contact requests. Please try again tomorrow."), limit=limit)
    message = args.text.split(None, 1)[1].strip()
    name = ctx.sender_name or ctx.sender
    contact = await ctx.store.experts.contacts.add(
        expert_id=expert.id, requester=ctx.sender, requester_name=ctx.sender_name or None,
        requester_room=ctx.room_id, message=message, now=ctx.now(),
    )
    tr = ctx.translator_for(ctx.network.language)
    dm = Reply(notice=False).h(tr.gettext("Contact request #{contact} for your entry #{id} ({entry})"),
                               contact=contact.id, id=expert.id, entry=expert.name)
    dm.p(tr.gettext("From {name} ({user}) in {room}:"), name=name, user=ctx.sender, room=room_label(ctx))
    dm.p("{message}", message=message)
    dm.p(tr.gettext("Reply through the bot with `{reply}`, or write to {name} directly."),
         reply=ctx.prefix + tr.gettext("reply {contact} <text>").format(contact=contact.id), name=name)
    await send_direct(ctx, reachable_id(expert), dm)  # type: ignore[arg-type]
    await ctx.audit("expert contact", expert=expert.id, contact=contact.id)
    left = limit - await ctx.store.experts.contacts.count_since(ctx.sender, ctx.now() - timedelta(days=1))
    reply = Reply.text(ctx._("Your message goes to #{id} ({name}) as a direct message. Replies come to you as a direct message too."),
                       id=expert.id, name=expert.name)
    reply.p(ctx.ngettext("You can send {n} more contact request today.", "You can send {n} more contact requests today.", left), n=left)
    return reply


@experts_group.command(
    "reply", "antworten", aliases=("antwort",), usage=N_("reply <id> <text>"),
    help=N_("Answer a contact request through the bot."), examples=(N_("reply 7 Gern, rufen Sie mich an."),),
)
async def contact_reply(ctx: Context, args: Args) -> Reply:
    if len(args.positional) < 2:
        raise BadArguments(N_("Please give the contact request's id and your answer."))
    contact = await ctx.store.experts.contacts.get(parse_id(args.positional[0]))
    expert = await ctx.store.experts.get(contact.expert_id) if contact else None
    if contact is None or expert is None or reachable_id(expert) != ctx.sender:
        raise NotFound(N_("There is no contact request #{id} for you."), id=args.positional[0].lstrip("#"))
    text = args.text.split(None, 1)[1].strip()
    tr = ctx.translator_for(ctx.network.language)
    dm = Reply(notice=False).h(tr.gettext("Answer from {name} (#{id}) to your contact request #{contact}:"),
                               name=expert.name, id=expert.id, contact=contact.id)
    dm.p("{text}", text=text)
    if expert.public:
        dm.p(tr.gettext("You can also write to them directly: {user}"), user=ctx.sender)
    await send_direct(ctx, contact.requester, dm)
    contact.replies += 1
    await ctx.audit("expert reply", contact=contact.id)
    return Reply.text(ctx._("Your answer goes to the requester as a direct message."))


@experts_group.command(
    "org add", "organisation anlegen", role=Role.COORDINATOR,
    usage=N_("org add <name> <category> --contact <@user> [--skills \"a, b\"] [--confidential]"),
    help=N_("Adds an organisation (coordinator). Its contact confirms by direct message before it is listed."),
    examples=(N_("org add \"Tafel Leipzig\" social --contact @maria:example.org --skills \"Lebensmittel, Ehrenamt\""),),
    flags=(Flag("contact", "kontakt", help=N_("the contact person's Matrix id")), SKILLS_FLAG,
           Flag("about", "info", help=N_("a few words about the organisation")),
           Flag("confidential", "vertraulich", kind=bool, help=N_("never show location or contact")),
           Flag("public", "oeffentlich", kind=bool, help=N_("show the contact's Matrix id")), LAB_FLAG),
)
async def org_add(ctx: Context, args: Args) -> Reply:
    if len(args.positional) < 2:
        raise BadArguments(N_("Please give the organisation's name and category."))
    lab = await lab_from_args(ctx, args)
    if not ctx.principal.has(Role.COORDINATOR, lab.id):
        raise NotAllowed(Role.COORDINATOR)
    contact = (args.flag("contact") or "").strip()
    if not contact.startswith("@") or ":" not in contact:
        raise BadArguments(N_("Please give the contact's Matrix id with `--contact @name:server`."))
    name, category = " ".join(args.positional[:-1]), category_arg(ctx, args.positional[-1])
    confidential = bool(args.flag("confidential"))
    skills = ", ".join(split_list(args.flag("skills")))
    expert = await ctx.store.experts.create(
        now=ctx.now(), keys=search_keys(ctx, name, category.key, skills), kind="org", contact_id=contact,
        name=name, category=category.key, skills=skills, languages=ctx.language, about=args.flag("about"),
        # A confidential organisation's location is not even stored: it cannot leak.
        lab_id=None if confidential else lab.id, state=None if confidential else lab.state,
        public=bool(args.flag("public")) and not confidential, confidential=confidential,
        status="pending", created_by=ctx.sender,
    )
    tr = ctx.translator_for(ctx.network.language)
    dm = Reply(notice=False).h(tr.gettext("{coordinator} has entered you as the contact for “{org}” (#{id}) in the expert directory of {network}."),
                               coordinator=ctx.sender_name or ctx.sender, org=name, id=expert.id, network=ctx.network.name)
    dm.p(tr.gettext("Requests through the bot will reach you by direct message. Nothing is listed until you confirm with `{confirm}`."),
         confirm=ctx.prefix + tr.gettext("org confirm {id}").format(id=expert.id))
    await send_direct(ctx, contact, dm)
    await ctx.audit("org add", expert=expert.id, lab=lab.slug)
    reply = Reply.text(ctx._("Organisation #{id} “{name}” is entered. It is listed once its contact confirms (they got a direct message)."),
                       id=expert.id, name=name)
    if confidential:
        reply.p(ctx._("Confidential: it never shows a location or contact; requests reach it only through the bot."))
    return reply


@experts_group.command(
    "org confirm", "organisation bestaetigen", aliases=("organisation bestätigen",), usage=N_("org confirm <id>"),
    help=N_("The contact of an organisation confirms it (and later reconfirms it)."), examples=(N_("org confirm 12"),),
)
async def org_confirm(ctx: Context, args: Args) -> Reply:
    if not args.positional:
        raise BadArguments(N_("Please give the organisation's id."))
    expert = await ctx.store.experts.get(parse_id(args.positional[0]))
    if expert is None or expert.kind != "org" or expert.contact_id != ctx.sender:
        raise NotFound(N_("There is no organisation #{id} with you as its contact."), id=args.positional[0].lstrip("#"))
    await confirm_entry(ctx, expert)
    reply = Reply.text(ctx._("Thank you. “{name}” (#{id}) is listed from now on:"), name=expert.name, id=expert.id)
    await describe(ctx, expert, reply, owner=True)
    return reply
