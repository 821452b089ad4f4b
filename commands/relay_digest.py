"""The weekly lab digest's section on the lab's open questions to the federal team."""

from __future__ import annotations

from commands.digest import DigestContext, digest_section
from commands.relay import age_text
from commands.reply import Reply

SHOWN = 10
TEXT_WIDTH = 120


@digest_section("questions", 40)
async def questions_section(ctx: DigestContext) -> Reply:
    tr = ctx.tr
    questions = await ctx.store.questions.open(lab_id=ctx.lab.id, limit=SHOWN)
    reply = Reply().h(tr.gettext("Open questions to the federal team"))
    if not questions:
        return reply.p(tr.gettext("None."))
    for question in questions:
        text = question.text if len(question.text) <= TEXT_WIDTH else question.text[: TEXT_WIDTH - 1] + "…"
        reply.li(tr.gettext("#{id}, asked {age} ago: {text}"), id=question.id,
                 age=age_text(tr, question.created_at, ctx.now), text=text)
    return reply
