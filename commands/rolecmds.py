"""Role grants and the audit log: role grant / revoke, roles, audit."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from commands.access import COORDINATOR, MANAGER, coordinators
from commands.context import Context
from commands.errors import BadArguments, NotFound
from commands.i18n import N_
from commands.labs import LAB_FLAG, find_lab, labs_group, require
from commands.parser import Args
from commands.registry import Flag
from commands.reply import Reply
from commands.roles import Role

_USER = re.compile(r"^@[^\s:]+:\S+$")
_ROLE_WORDS = {
    MANAGER: {"manager", "managerin", "community-manager", "community-managerin", "bundesteam"},
    COORDINATOR: {"coordinator", "koordinator", "koordinatorin", "koordination", "coordination"},
}
ROLE_LABELS = {MANAGER: Role.MANAGER.label, COORDINATOR: Role.COORDINATOR.label}


def _role(text: str) -> str:
    word = text.strip().lower().replace(":in", "in")
    for role, words in _ROLE_WORDS.items():
        if word in words:
            return role
    raise BadArguments(N_("“{role}” is not a role. Use manager or coordinator."), role=text)


def _user(text: str) -> str:
    if not _USER.match(text):
        raise BadArguments(N_("“{user}” is not a Matrix id like @name:server."), user=text)
    return text


async def _target(ctx: Context, args: Args) -> tuple[str, str, int | None, str]:
    """(user, role, lab id, lab name) from `<@user> <role> [--lab]`, checking who may grant it."""
    if len(args.positional) != 2:
        raise BadArguments(N_("Name a user and a role."))
    user, role = _user(args.positional[0]), _role(args.positional[1])
    if role == MANAGER:
        require(ctx, Role.ADMIN, None)  # only admins make managers
        return user, role, None, ""
    lab = await find_lab(ctx, args.flag("lab")) if args.flag("lab") else None
    if lab is None and ctx.lab_id is not None:
        lab = await ctx.store.labs.get(ctx.lab_id)
    if lab is None:
        raise BadArguments(N_("Which lab? Add `--lab <lab>` or use the command in a linked room."))
    require(ctx, Role.MANAGER, lab.id)  # managers make coordinators
    ctx.lab_id = lab.id
    return user, role, lab.id, lab.name


@labs_group.command(
    "role grant",
    "rolle vergeben",
    role=Role.MANAGER,
    usage=N_("role grant <@user> manager|coordinator [--lab <lab>]"),
    help=N_("Grants a role (admins grant manager, managers grant coordinator)."),
    examples=(N_("role grant @anna:example.org coordinator --lab ogl-leipzig"),),
    flags=(LAB_FLAG,),
)
async def role_grant(ctx: Context, args: Args) -> Reply:
    user, role, lab_id, lab_name = await _target(ctx, args)
    grant = await ctx.store.grants.grant(user, role, lab_id, ctx.sender, ctx.now())
    label = ctx._(ROLE_LABELS[role])
    if grant is None:
        return Reply.text(ctx._("{user} already has the role {role}."), user=user, role=label)
    await ctx.audit("role grant", user=user, role=role)
    ctx.signals.add("roles")
    if lab_name:
        return Reply.text(ctx._("{user} now coordinates {lab}."), user=user, lab=lab_name)
    return Reply.text(ctx._("{user} is now {role}."), user=user, role=label)


@labs_group.command(
    "role revoke",
    "rolle entziehen",
    role=Role.MANAGER,
    usage=N_("role revoke <@user> manager|coordinator [--lab <lab>]"),
    help=N_("Revokes a granted role."),
    examples=(N_("role revoke @anna:example.org coordinator --lab ogl-leipzig"),),
    flags=(LAB_FLAG,),
)
async def role_revoke(ctx: Context, args: Args) -> Reply:
    user, role, lab_id, lab_name = await _target(ctx, args)
    label = ctx._(ROLE_LABELS[role])
    if not await ctx.store.grants.revoke(user, role, lab_id):
        raise NotFound(
            N_("{user} has no granted role {role} here. Roles that come from a room's power "
               "level are changed in Matrix."),
            user=user,
            role=label,
        )
    await ctx.audit("role revoke", user=user, role=role)
    ctx.signals.add("roles")
    return Reply.text(ctx._("{user} no longer has the role {role}."), user=user, role=label)


@labs_group.command(
    "roles",
    "rollen",
    usage=N_("roles [--lab <lab>]"),
    help=N_("Who holds which role."),
    flags=(LAB_FLAG,),
)
async def roles(ctx: Context, args: Args) -> Reply:
    reply = Reply()
    if args.flag("lab") or ctx.lab_id is not None:
        lab = await find_lab(ctx, args.flag("lab")) if args.flag("lab") else await ctx.store.labs.get(ctx.lab_id)
        if lab is None:
            raise NotFound(N_("This room is not linked to a lab."))
        people = await coordinators(ctx.store, ctx.state, lab.id)
        reply.h(ctx._("Coordinators of {lab}"), lab=lab.name)
        for person in people:
            reply.li("{user}", user=person)
        if not people:
            reply.p(ctx._("Nobody yet."))
        return reply
    reply.h(ctx._("Administrators"))
    for admin in sorted(ctx.network.admins):
        reply.li("{user}", user=admin)
    managers = [g.user_id for g in await ctx.store.grants.all() if g.role == MANAGER]
    if ctx.network.federal_room_id and ctx.state is not None:
        managers += ctx.state.users_with_level(ctx.network.federal_room_id, 50)
    reply.h(ctx._("Federal community managers"))
    for manager in sorted(set(managers)):
        reply.li("{user}", user=manager)
    grants = [g for g in await ctx.store.grants.all() if g.role == COORDINATOR]
    labs = await ctx.store.labs.many(g.lab_id for g in grants if g.lab_id is not None)
    reply.h(ctx._("Granted coordinators"))
    for grant in grants:
        lab = labs.get(grant.lab_id or 0)
        reply.li("{user} ({lab})", user=grant.user_id, lab=lab.name if lab else "?")
    reply.p(ctx._("Room moderators (power level 50 or more) of linked rooms coordinate their lab too."))
    return reply


@labs_group.command(
    "audit",
    "protokoll",
    role=Role.COORDINATOR,
    usage=N_("audit [--lab <lab>] [--limit <n>]"),
    help=N_("Recent changes and refusals: who, what, when."),
    examples=(N_("audit --limit 50"),),
    flags=(LAB_FLAG, Flag("limit", "anzahl", kind=int, help=N_("how many entries (default 20, at most 200)"))),
)
async def audit(ctx: Context, args: Args) -> Reply:
    lab = await find_lab(ctx, args.flag("lab")) if args.flag("lab") else None
    lab_id = lab.id if lab else ctx.lab_id
    if lab_id is None:
        require(ctx, Role.MANAGER, None)  # the whole network's log is for managers
    else:
        require(ctx, Role.COORDINATOR, lab_id)
    limit = max(1, min(int(args.flag("limit", 20)), 200))
    entries = await ctx.store.audit.recent(limit=limit, lab_id=lab_id)
    zone = ZoneInfo(ctx.network.timezone)
    reply = Reply().h(ctx._("Audit log"))
    for entry in entries:
        detail = ", ".join(f"{k}={v}" for k, v in entry.detail.items() if v is not None)
        reply.li(
            "{when} {actor}: `{action}` {outcome} {detail}",
            when=entry.at.astimezone(zone).strftime("%d.%m.%Y %H:%M"),
            actor=entry.actor,
            action=_action_name(ctx, entry.action),
            outcome=ctx._(OUTCOMES.get(entry.outcome, entry.outcome)),
            detail=detail,
        )
    if not entries:
        reply.p(ctx._("Nothing recorded yet."))
    return reply


def _action_name(ctx: Context, action: str) -> str:
    """Actions are recorded by English command name; show them as the room speaks."""
    found = ctx.registry.resolve(action.split())
    return found[0].display_name(ctx.language) if found else action


OUTCOMES = {"ok": N_("done"), "refused": N_("refused"), "error": N_("failed")}
