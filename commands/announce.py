"""Announcements from the federal room to the lab rooms: announce, status, edit, retract, list."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from commands.announce_work import reconcile, start_broadcast
from commands.context import Context
from commands.duework import FireContext, due_handler
from commands.errors import BadArguments, Conflict, NotFound
from commands.geo import STATES, level_code, state_code
from commands.i18n import N_
from commands.labs import find_lab
from commands.parser import Args, parse_id
from commands.registry import CommandGroup, Flag
from commands.reply import Reply
from commands.roles import Role
from commands.when import local_to_utc, parse_when
from storage.models_announce import Announcement
from storage.models_due import DueItem

announce_group = CommandGroup(N_("Announcements and the federal relay"))

DRY_RUN_LIST = 60  # target labs listed by --dry-run
STATUS_LIST = 40  # labs listed one by one in `announce status`
MAX_TEXT = 20_000  # characters; a Matrix event must stay below 64 KiB

FILTER_FLAGS = (
    Flag("state", "land", help=N_("Bundesland codes, comma-separated, e.g. SN,BY")),
    Flag("level", "ebene", help=N_("levels, comma-separated: kommune, land, bund")),
    Flag("labs", "labore", help=N_("labs (slugs or names), comma-separated")),
)
_FLAG = re.compile(r"^\s*(?:--|—|–|−)([^\s=]+)(=\S+)?")
_VALUE = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|„[^“”]*[“”]|“[^”]*”|\S+)")


def text_after_flags(raw: str, value_flags: set[str]) -> str:
    """The announcement text: what follows the leading flags, with its line breaks kept."""
    rest = raw
    while True:
        match = _FLAG.match(rest)
        if match is None:
            return rest.strip()
        rest = rest[match.end():]
        name = match.group(1).lower()
        if name in value_flags and match.group(2) is None:
            value = _VALUE.match(rest)
            rest = rest[value.end():] if value else ""


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


async def target_filters(ctx: Context, args: Args) -> dict[str, list]:
    states, levels, labs = [], [], []
    for text in _split(args.flag("state") or ""):
        code = state_code(text)
        if code is None:
            raise BadArguments(N_("“{state}” is not a Bundesland code. Use one of {codes}."),
                               state=text, codes=" ".join(STATES))
        states.append(code)
    for text in _split(args.flag("level") or ""):
        level = level_code(text)
        if level is None:
            raise BadArguments(N_("“{level}” is not a level. Use kommune, land or bund."), level=text)
        levels.append(level)
    for text in _split(args.flag("labs") or ""):
        labs.append((await find_lab(ctx, text)).id)
    return {"states": states, "levels": levels, "labs": labs}


async def find_targets(ctx: Context, filters: dict[str, list]) -> list[tuple[str, int, str, str]]:
    return await ctx.store.announcements.targets(
        states=filters["states"], levels=filters["levels"], lab_ids=filters["labs"],
        exclude_room=ctx.network.federal_room_id,
    )


def require_federal_room(ctx: Context) -> None:
    if not ctx.network.federal_room_id or ctx.room_id != ctx.network.federal_room_id:
        raise Conflict(N_("Announcements are made in the federal room only."))


async def get_announcement(ctx: Context, args: Args) -> tuple[Announcement, list[str]]:
    if not args.positional:
        raise BadArguments(N_("Which announcement? Give its id, e.g. #3."))
    announcement = await ctx.store.announcements.get(parse_id(args.positional[0]))
    if announcement is None:
        raise NotFound(N_("There is no announcement #{id}."), id=args.positional[0].lstrip("#"))
    return announcement, args.positional[1:]


def _describe(ctx: Context, targets: list[tuple[str, int, str, str]]) -> tuple[int, int]:
    return len(targets), len({lab_id for _room, lab_id, _n, _s in targets})


@announce_group.command(
    "announce",
    "ankuendigen",
    role=Role.MANAGER,
    usage=N_("announce [--state SN,BY] [--level kommune] [--labs a,b] [--at <when>] [--dry-run] <text>"),
    help=N_("Sends an announcement to the lab rooms (in the federal room)."),
    examples=(N_("announce --state SN Das Netzwerktreffen ist am Freitag um 14 Uhr."),),
    flags=(
        *FILTER_FLAGS,
        Flag("at", "um", help=N_("send later, e.g. \"morgen 9:00\"")),
        Flag("dry-run", "probe", kind=bool, help=N_("only list the target rooms")),
    ),
    aliases=("ankündigen",),
)
async def announce(ctx: Context, args: Args) -> Reply:
    require_federal_room(ctx)
    text = text_after_flags(args.text, {"state", "land", "level", "ebene", "labs", "labore", "at", "um"})
    if not text:
        raise BadArguments(N_("What should the announcement say? Write the text after the options."))
    if len(text) > MAX_TEXT:
        raise BadArguments(N_("The text is too long: at most {n} characters."), n=MAX_TEXT)
    filters = await target_filters(ctx, args)
    targets = await find_targets(ctx, filters)
    if not targets:
        raise Conflict(N_("No linked lab room matches these filters. Nothing was sent."))
    rooms, labs = _describe(ctx, targets)
    if args.flag("dry-run"):
        reply = Reply().h(ctx._("Dry run ({rooms} target rooms, {labs} labs). Nothing was sent."),
                          rooms=rooms, labs=labs)
        seen: list[tuple[str, str]] = []
        for _room, _lab, name, state in targets:
            if (name, state) not in seen:
                seen.append((name, state))
        for name, state in seen[:DRY_RUN_LIST]:
            reply.li("{name} ({state})", name=name, state=state)
        if len(seen) > DRY_RUN_LIST:
            reply.p(ctx._("… and {n} more labs."), n=len(seen) - DRY_RUN_LIST)
        return reply
    now = ctx.now()
    when = None
    if args.flag("at"):
        tz = ZoneInfo(ctx.network.timezone)
        parsed = parse_when(args.flag("at").split(), now, tz, default_today=True)
        if parsed.start_min is None:
            raise BadArguments(N_("At what time? E.g. --at \"morgen 9:00\"."))
        when = local_to_utc(parsed.day, parsed.start_min, tz)
        if when <= now:
            raise BadArguments(N_("{when} is in the past."), when=args.flag("at"))
    announcement = await ctx.store.announcements.create(
        author=ctx.sender, author_name=ctx.sender_name or ctx.sender, text=text, revision=1,
        filters=filters, state="scheduled" if when else "sending", room_id=ctx.room_id,
        language=ctx.language, target_count=rooms, created_at=now, scheduled_for=when,
    )
    await ctx.audit("announce", id=announcement.id, rooms=rooms, scheduled=when.isoformat() if when else None)
    if when is not None:
        await ctx.store.due.add(
            "announcement", when, now=now, payload={"id": announcement.id}, room_id=ctx.room_id,
            owner=ctx.sender, subject=f"announcement:{announcement.id}", timezone=ctx.network.timezone,
        )
        local = when.astimezone(ZoneInfo(ctx.network.timezone))
        return Reply.text(
            ctx._("Announcement #{id} is scheduled for {when} (as of now: {rooms} rooms, {labs} labs)."),
            id=announcement.id, when=local.strftime("%d.%m.%Y %H:%M"), rooms=rooms, labs=labs,
        )
    await start_broadcast(
        ctx.store, announcement, targets, now=now, translator_for=ctx.translator_for,
        # A second later, so the command's reply (sent at once) is the first thing the author reads.
        default_language=ctx.network.language, progress_after=timedelta(seconds=1),
    )
    ctx.signals.add("announce")
    return Reply.text(ctx._("Announcement #{id} is being delivered ({rooms} rooms, {labs} labs)."),
                      id=announcement.id, rooms=rooms, labs=labs)


@announce_group.command(
    "announce status",
    "ankuendigung status",
    role=Role.MANAGER,
    usage=N_("announce status <id>"),
    help=N_("Delivered, failed and pending per lab, and acknowledgements."),
    examples=(N_("announce status 3"),),
    aliases=("ankündigung status",),
)
async def announce_status(ctx: Context, args: Args) -> Reply:
    announcement, _rest = await get_announcement(ctx, args)
    reply = Reply().h(ctx._("Announcement #{id} by {author}"), id=announcement.id,
                      author=announcement.author_name or announcement.author or "–")
    if announcement.state == "scheduled":
        return reply.p(ctx._("Scheduled, nothing sent yet."))
    copies = await ctx.store.announcements.copies(announcement.id)
    acks = await ctx.store.announcements.acked_labs(announcement.id)
    names = await ctx.store.labs.names({copy.lab_id for copy, _s, _e in copies if copy.lab_id})
    per_lab: dict[int | None, dict[str, int]] = {}
    errors: dict[int | None, str] = {}
    totals = {"sent": 0, "failed": 0, "pending": 0}
    for copy, state, _event in copies:
        counts = per_lab.setdefault(copy.lab_id, {"sent": 0, "failed": 0, "pending": 0})
        counts[state] = counts.get(state, 0) + 1
        totals[state] = totals.get(state, 0) + 1
    if totals["failed"]:
        errors = await _errors(ctx, announcement.id)
    if announcement.state == "retracted":
        reply.p(ctx._("Retracted: the delivered copies were redacted."))
    reply.p(ctx._("{sent} delivered, {failed} failed, {pending} pending; acknowledged by {acked} of {labs} labs."),
            sent=totals["sent"], failed=totals["failed"], pending=totals["pending"],
            acked=len([lab for lab in acks if lab in per_lab]), labs=len(per_lab))
    # Labs with something to look at first: failures, then pending, then acknowledgements.
    order = sorted(per_lab, key=lambda lab: (-per_lab[lab]["failed"], -per_lab[lab]["pending"],
                                            lab not in acks, names.get(lab, "")))
    for lab in order[:STATUS_LIST]:
        counts = per_lab[lab]
        mark = " ✅" if lab in acks else ""
        reply.li(ctx._("{lab}: {sent} delivered, {failed} failed, {pending} pending") + "{mark}",
                 lab=names.get(lab, "?"), sent=counts["sent"], failed=counts["failed"],
                 pending=counts["pending"], mark=mark)
        if lab in errors:
            reply.li(ctx._("{lab}: error {error}"), lab=names.get(lab, "?"), error=errors[lab][:120])
    if len(order) > STATUS_LIST:
        reply.p(ctx._("… and {n} more labs."), n=len(order) - STATUS_LIST)
    return reply


async def _errors(ctx: Context, announcement_id: int) -> dict[int | None, str]:
    found: dict[int | None, str] = {}
    for copy, state, _event in await ctx.store.announcements.copies(announcement_id):
        if state == "failed" and copy.lab_id not in found:
            row = await ctx.store.outbox.get(copy.outbox_id)
            found[copy.lab_id] = (row.last_error if row else None) or "?"
    return found


@announce_group.command(
    "announce edit",
    "ankuendigung aendern",
    role=Role.MANAGER,
    usage=N_("announce edit <id> <text>"),
    help=N_("Changes the text of every copy."),
    examples=(N_("announce edit 3 Das Treffen beginnt um 15 Uhr."),),
    aliases=("ankündigung ändern",),
)
async def announce_edit(ctx: Context, args: Args) -> Reply:
    require_federal_room(ctx)
    announcement, rest = await get_announcement(ctx, args)
    text = args.text.split(None, 1)[1].strip() if len(args.text.split(None, 1)) > 1 else ""
    if not text:
        raise BadArguments(N_("What should the new text be?"))
    if announcement.state == "retracted":
        raise Conflict(N_("Announcement #{id} was retracted."), id=announcement.id)
    announcement.text = text
    if announcement.state == "scheduled":
        await ctx.audit("announce edit", id=announcement.id)
        return Reply.text(ctx._("Announcement #{id} will be sent with the new text."), id=announcement.id)
    announcement.revision += 1
    queued = await reconcile(ctx.store, announcement, now=ctx.now(), translator_for=ctx.translator_for,
                             default_language=ctx.network.language)
    await ctx.audit("announce edit", id=announcement.id, copies=queued)
    ctx.signals.add("announce")
    return Reply.text(ctx._("Announcement #{id}: the text is being changed (delivered copies: {n}); copies still on their way follow."),
                      id=announcement.id, n=queued)


@announce_group.command(
    "announce retract",
    "ankuendigung zurueckziehen",
    role=Role.MANAGER,
    usage=N_("announce retract <id>"),
    help=N_("Redacts every copy."),
    examples=(N_("announce retract 3"),),
    aliases=("ankündigung zurückziehen",),
)
async def announce_retract(ctx: Context, args: Args) -> Reply:
    require_federal_room(ctx)
    announcement, _rest = await get_announcement(ctx, args)
    if announcement.state == "retracted":
        raise Conflict(N_("Announcement #{id} was retracted already."), id=announcement.id)
    was_scheduled = announcement.state == "scheduled"
    announcement.state = "retracted"
    announcement.retracted_at = ctx.now()
    if was_scheduled:
        await ctx.store.due.cancel_subject(f"announcement:{announcement.id}")
        await ctx.audit("announce retract", id=announcement.id)
        return Reply.text(ctx._("Announcement #{id} was cancelled before it was sent."), id=announcement.id)
    stopped = await ctx.store.announcements.cancel_pending(announcement.id, "retracted")
    queued = await reconcile(ctx.store, announcement, now=ctx.now(), translator_for=ctx.translator_for,
                             default_language=ctx.network.language)
    await ctx.audit("announce retract", id=announcement.id, redacted=queued, stopped=stopped)
    ctx.signals.add("announce")
    return Reply.text(ctx._("Announcement #{id} is being retracted (copies removed: {n}, no longer sent: {stopped})."),
                      id=announcement.id, n=queued, stopped=stopped)


@announce_group.command(
    "announcements",
    "ankuendigungen",
    role=Role.MANAGER,
    usage=N_("announcements"),
    help=N_("Recent announcements with their status."),
    aliases=("ankündigungen",),
)
async def announcements(ctx: Context, args: Args) -> Reply:
    recent = await ctx.store.announcements.recent(10)
    if not recent:
        return Reply.text(ctx._("No announcements yet."))
    labels = {"scheduled": N_("scheduled"), "sending": N_("being delivered"), "done": N_("delivered"),
              "retracted": N_("retracted")}
    reply = Reply().h(ctx._("Recent announcements"))
    tz = ZoneInfo(ctx.network.timezone)
    for item in recent:
        first = item.text.strip().split("\n", 1)[0]
        when = (item.scheduled_for or item.created_at).astimezone(tz).strftime("%d.%m. %H:%M")
        reply.li("#{id} {when} · {state} · {rooms} · {text}", id=item.id, when=when,
                 state=ctx._(labels.get(item.state, item.state)),
                 rooms=ctx.ngettext("{n} room", "{n} rooms", item.target_count).format(n=item.target_count),
                 text=first[:60] + ("…" if len(first) > 60 else ""))
    return reply


@due_handler("announcement")
async def fire_announcement(fire: FireContext, item: DueItem) -> None:
    """A scheduled announcement: the targets as they are now, then the same broadcast as at once."""
    announcement = await fire.store.announcements.get(int(item.payload["id"]))
    if announcement is None or announcement.state != "scheduled":
        return  # retracted meanwhile
    filters = announcement.filters
    targets = await fire.store.announcements.targets(
        states=filters.get("states", ()), levels=filters.get("levels", ()), lab_ids=filters.get("labs", ()),
        exclude_room=announcement.room_id,
    )
    if not targets:
        announcement.state = "done"
        tr = fire.translator(announcement.language)
        await fire.send(announcement.room_id, Reply.text(
            tr.gettext("Announcement #{id}: no linked lab room matches any more. Nothing was sent."),
            id=announcement.id), purpose="announcement-progress")
        return
    await start_broadcast(fire.store, announcement, targets, now=fire.now, translator_for=fire.translator,
                          default_language=fire.network.language)
    known = {row.id for row in fire.rows}
    fire.rows.extend(row for row in fire.store.outbox.added if row.id not in known)
