"""`mydata` (everything stored about the sender, as a JSON file plus a summary) and the two
steps of `forget me`. What counts as personal data is declared per table in
storage/personal.py; storage/privacy.py collects and erases it."""

from __future__ import annotations

import json

from commands.context import Context
from commands.expert_contact import send_direct
from commands.experts import experts_group
from commands.i18n import N_
from commands.parser import Args
from commands.registry import Flag
from commands.reply import Reply
from storage.privacy import collect, forget

EXPORT_FILE = "labnetz-data.json"
TABLE_LABELS = {
    "users": N_("your user record"), "outbox": N_("messages the bot sent to you or about you"),
    "audit_log": N_("audit log entries"), "due_items": N_("reminders and scheduled items"),
    "experts": N_("expert directory entries"), "expert_contacts": N_("contact requests"),
    "direct_rooms": N_("direct chats with the bot"), "bookings": N_("bookings"), "role_grants": N_("roles"),
    "rooms": N_("rooms"), "labs": N_("labs you created"), "lab_rooms": N_("room links you made"),
    "closures": N_("closures you entered"),
}


def _summary(ctx: Context, reply: Reply, data: dict[str, list[dict]]) -> None:
    for table, rows in data.items():
        label = ctx._(TABLE_LABELS[table]) if table in TABLE_LABELS else table
        reply.li(ctx.ngettext("{table}: {n} entry", "{table}: {n} entries", len(rows)), table=label, n=len(rows))


def _names(ctx: Context, user_name: str | None) -> list[str]:
    return sorted({n for n in (ctx.sender_name, user_name) if n and len(n) >= 3})


@experts_group.command(
    "mydata", "meinedaten", aliases=("meine daten", "my data"), usage=N_("mydata"),
    help=N_("Everything stored about you, as a JSON file (direct message) plus a summary."),
)
async def mydata(ctx: Context, args: Args) -> Reply:
    user = await ctx.store.users.get(ctx.sender)
    data = await collect(ctx.store.session, ctx.sender, _names(ctx, user.display_name if user else None))
    export = {"user_id": ctx.sender, "exported_at": ctx.now().isoformat(), "network": ctx.network.name, "tables": data}
    text = json.dumps(export, ensure_ascii=False, indent=2, default=str)
    tr = ctx.translator_for(ctx.language)
    await send_direct(ctx, ctx.sender, {
        "msgtype": "m.file", "body": EXPORT_FILE,
        "labnetz.upload": {"data": text, "filename": EXPORT_FILE, "mimetype": "application/json"},
    }, purpose="file")
    await send_direct(ctx, ctx.sender, Reply.text(tr.gettext("Your data from {network}, as requested (JSON).")
                                                  , network=ctx.network.name))
    reply = Reply.text(ctx._("This is stored about you; the complete data comes as a JSON file in a direct message:"))
    _summary(ctx, reply, data)
    if not data:
        reply.li(ctx._("nothing but this request"))
    reply.p(ctx._("`{forget}` deletes all of it."), forget=ctx.prefix + ctx._("forget me"))
    return reply


@experts_group.command(
    "forget me", "vergiss mich", usage=N_("forget me [--confirm]"),
    help=N_("Deletes all your data (after confirmation); bookings are anonymised, so occupancy stays right."),
    flags=(Flag("confirm", "bestaetigen", kind=bool, help=N_("really delete")),),
)
async def forget_me(ctx: Context, args: Args) -> Reply:
    user = await ctx.store.users.get(ctx.sender)
    names = _names(ctx, user.display_name if user else None)
    if not args.flag("confirm"):
        data = await collect(ctx.store.session, ctx.sender, names)
        reply = Reply.text(ctx._("This deletes everything stored about you:"))
        _summary(ctx, reply, data)
        reply.p(ctx._("Your bookings stay, without your name, so that occupancy stays right. This cannot be undone."))
        reply.p(ctx._("To go ahead, send `{confirm}`."), confirm=ctx.prefix + ctx._("forget me --confirm"))
        return reply
    counts = await forget(ctx.store.session, ctx.sender, names)
    # No audit entry with the sender's id, and the reply does not mention them: both would
    # store the id again right after it was erased.
    await ctx.store.audit.record(at=ctx.now(), actor="-", action="forget me", outcome="ok", room_id=None,
                                 detail={"rows": sum(counts.values())})
    reply = Reply.text(ctx._("Done: everything stored about you has been deleted ({n} records), and your bookings are anonymised."),
                       n=sum(counts.values()))
    reply.mention_sender = False
    return reply
