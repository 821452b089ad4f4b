"""Reconfirmation: every 6 months each listed entry's owner (an organisation's contact) is
asked by direct message to confirm it again. An entry not reconfirmed within the grace period
drops out of listings by itself (`experts.listed_since`): hidden, never deleted."""

from __future__ import annotations

from datetime import timedelta

from commands.categories import settings_of
from commands.context import Context
from commands.duework import FireContext, due_handler
from commands.reply import Reply
from storage.models_due import DueItem
from storage.models_experts import Expert

KIND = "expert_reconfirm"


def subject(expert: Expert) -> str:
    return f"expert:{expert.id}"


async def schedule_reconfirmation(ctx: Context, expert: Expert) -> None:
    """(Re)arm the question for the entry's next reconfirmation."""
    assert expert.confirmed_at is not None
    await ctx.store.due.cancel_subject(subject(expert), kind=KIND)
    await ctx.store.due.add(
        KIND, expert.confirmed_at + timedelta(days=settings_of(ctx).reconfirm_days), now=ctx.now(),
        payload={"expert": expert.id}, owner=expert.user_id or expert.contact_id, subject=subject(expert),
        timezone=ctx.network.timezone,
    )
    ctx.signals.add("due")


async def cancel_reconfirmation(ctx: Context, expert: Expert) -> None:
    await ctx.store.due.cancel_subject(subject(expert), kind=KIND)
    ctx.signals.add("due")


@due_handler(KIND)
async def ask_to_reconfirm(fire: FireContext, item: DueItem) -> None:
    expert = await fire.store.experts.get(int(item.payload.get("expert", 0)))
    if expert is None or expert.status != "active":
        return
    owner = expert.user_id if expert.kind == "person" else expert.contact_id
    if owner is None:
        return
    settings = settings_of(fire)
    tr = fire.translator(fire.network.language)
    prefix = fire.network.command_prefix
    confirm = (prefix + tr.gettext("org confirm {id}").format(id=expert.id) if expert.kind == "org"
               else prefix + tr.gettext("expert confirm"))
    message = Reply(notice=False).h(tr.gettext("Is your entry #{id} “{name}” in the expert directory still right?"),
                                    id=expert.id, name=expert.name)
    message.p(tr.gettext("Please confirm it with `{confirm}` within {days} days; otherwise it is hidden (not deleted). "
                         "`{show}` shows it, `{update}` changes it."),
              confirm=confirm, days=settings.grace_days, show=prefix + tr.gettext("expert show {id}").format(id=expert.id),
              update=prefix + tr.gettext("expert update"))
    await fire.send(owner, message, purpose="dm")
