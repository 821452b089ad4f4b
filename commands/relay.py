"""The federal relay: `ask` in a lab room reaches the federal room; Matrix replies travel back and
forth between the two for as long as the conversation goes on. `questions`, `answered`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from commands.announce import announce_group  # one help group for both
from commands.context import Context, NetworkSettings
from commands.crontab import add_recurring
from commands.duework import FireContext, due_handler
from commands.errors import BadArguments, Conflict, NotAllowed, NotFound
from commands.i18n import N_, Translator
from commands.parser import Args, parse_id
from commands.reply import Reply
from commands.roles import Role
from storage import Store
from storage.models_announce import Question
from storage.models_due import DueItem

DIGEST_KIND = "questions-digest"
DIGEST_SUBJECT = "questions:digest"
DIGEST_CRON = "0 9 * * *"  # every morning at 09:00, network time
LIST_LIMIT = 30


def age_text(tr: Translator, created: datetime, now: datetime) -> str:
    minutes = max(0, int((now - created).total_seconds() // 60))
    if minutes < 60:
        return tr.ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)
    hours = minutes // 60
    if hours < 48:
        return tr.ngettext("{n} hour", "{n} hours", hours).format(n=hours)
    return tr.ngettext("{n} day", "{n} days", hours // 24).format(n=hours // 24)


async def lab_name(store: Store, lab_id: int | None) -> str:
    lab = await store.labs.get(lab_id) if lab_id is not None else None
    return lab.name if lab else "–"


@announce_group.command(
    "ask",
    "frage",
    role=Role.MEMBER,
    usage=N_("ask <question>"),
    help=N_("Forwards a question to the federal team (in a lab room)."),
    examples=(N_("ask Wie beantragen wir Fördermittel für Workshops?"),),
)
async def ask(ctx: Context, args: Args) -> Reply:
    federal = ctx.network.federal_room_id
    if ctx.lab_id is None or not federal:
        raise Conflict(N_("Questions to the federal team are asked in a lab's room."))
    text = args.text.strip()
    if not text:
        raise BadArguments(N_("What is your question?"))
    now = ctx.now()
    question = await ctx.store.questions.create(
        lab_id=ctx.lab_id, room_id=ctx.room_id, event_id=ctx.event_id, federal_room_id=federal,
        asker=ctx.sender, asker_name=ctx.sender_name or ctx.sender, text=text, state="open",
        replies=0, created_at=now,
    )
    lab = await lab_name(ctx.store, ctx.lab_id)
    tr = ctx.translator_for(ctx.network.language)
    asker = ctx.sender if question.asker_name == ctx.sender else f"{question.asker_name} ({ctx.sender})"
    forward = Reply(notice=False).h(tr.gettext("Question #{id} from {lab}, asked by {asker}:"),
                                    id=question.id, lab=lab, asker=asker)
    forward.p("{text}", text=text)
    forward.p(tr.gettext("Reply to this message to answer: the answer goes to the lab's room. `{done}` closes the question."),
              done=f"{ctx.prefix}{tr.gettext('answered')} {question.id}")
    row = await ctx.store.outbox.add(federal, forward.content(), now=now, purpose="relay",
                                     reference=f"question:{question.id}")
    await ctx.store.questions.add_relay(question.id, federal, row.id, ctx.room_id, ctx.event_id, now)
    if not await ctx.store.due.pending(kind=DIGEST_KIND, limit=1):
        await add_recurring(ctx.store.due, DIGEST_KIND, now=now, room_id=federal, subject=DIGEST_SUBJECT,
                                recurrence=DIGEST_CRON, timezone=ctx.network.timezone)
    await ctx.audit("ask", id=question.id)
    return Reply.text(ctx._("Your question #{id} was forwarded to the federal team. Their answers will appear here as replies to your question."),
                      id=question.id)


@announce_group.command(
    "questions",
    "fragen",
    role=Role.MEMBER,
    usage=N_("questions [open]"),
    help=N_("Open questions to the federal team, oldest first."),
    aliases=("questions open", "fragen offen"),
)
async def questions(ctx: Context, args: Args) -> Reply:
    everything = ctx.principal.has(Role.MANAGER)
    if not everything and ctx.lab_id is None:
        raise NotAllowed(Role.MANAGER)
    found = await ctx.store.questions.open(None if everything else ctx.lab_id, limit=LIST_LIMIT + 1)
    if not found:
        return Reply.text(ctx._("No open questions."))
    reply = Reply().h(ctx._("Open questions"))
    await list_questions(ctx.store, reply, found[:LIST_LIMIT], ctx.tr, ctx.now())
    if len(found) > LIST_LIMIT:
        reply.p(ctx._("… and more: close answered ones with `{command}`."),
                command=ctx.prefix + ctx._("answered <id>"))
    return reply


async def list_questions(store: Store, reply: Reply, found: list[Question], tr: Translator, now: datetime) -> None:
    names = await store.labs.names({q.lab_id for q in found if q.lab_id is not None})
    for question in found:
        first = question.text.split("\n", 1)[0]
        answers = (tr.ngettext("{n} answer", "{n} answers", question.replies).format(n=question.replies)
                   if question.replies else tr.gettext("no answer yet"))
        reply.li(tr.gettext("#{id} {lab}, {asker}, {age} ago ({answers}): {text}"), id=question.id,
                 lab=names.get(question.lab_id, "–"), asker=question.asker_name or "–",
                 age=age_text(tr, question.created_at, now), answers=answers,
                 text=first[:80] + ("…" if len(first) > 80 else ""))


@announce_group.command(
    "answered",
    "beantwortet",
    role=Role.MEMBER,
    usage=N_("answered <id>"),
    help=N_("Closes a question."),
    examples=(N_("answered 7"),),
)
async def answered(ctx: Context, args: Args) -> Reply:
    if not args.positional:
        raise BadArguments(N_("Which question? Give its id, e.g. #7."))
    question = await ctx.store.questions.get(parse_id(args.positional[0]))
    if question is None:
        raise NotFound(N_("There is no question #{id}."), id=args.positional[0].lstrip("#"))
    if not (ctx.principal.has(Role.MANAGER) or question.asker == ctx.sender
            or ctx.principal.has(Role.COORDINATOR, question.lab_id)):
        raise NotAllowed(Role.MANAGER)
    if question.state != "open":
        raise Conflict(N_("Question #{id} is closed already."), id=question.id)
    question.state = "answered"
    question.answered_at = ctx.now()
    question.answered_by = ctx.sender
    await ctx.audit("answered", id=question.id)
    return Reply.text(ctx._("Question #{id} is closed."), id=question.id)


async def relay_reply(
    store: Store,
    *,
    room_id: str,
    event_id: str,
    sender: str,
    sender_name: str,
    body: str,
    in_reply_to: str,
    now: datetime,
    network: NetworkSettings,
    translator_for: Callable[[str], Translator],
) -> str:
    """A Matrix reply to a message the relay sent: passed on to the other side as a reply to the
    message it stood for. "relayed", "unknown" (not a reply to the relay), or "wait" (the
    message replied to was sent a moment ago and its event id is not recorded yet)."""
    relayed = await store.questions.relay_by_event(room_id, in_reply_to)
    if relayed is None:
        return "wait" if await store.questions.unsent_relays(room_id) else "unknown"
    question = await store.questions.get(relayed.question_id)
    if question is None:
        return "unknown"
    target = relayed.source_room_id
    language = await store.rooms.language(target) or network.language
    tr = translator_for(language)
    from_federal = room_id == question.federal_room_id
    if from_federal:
        message = Reply(notice=False).h(tr.gettext("Answer from the federal team ({name}) to question #{id}:"),
                                        name=sender_name or sender, id=question.id)
        question.replies += 1
        if question.asker:
            message.mentions.append(question.asker)
    else:
        lab = await lab_name(store, question.lab_id)
        message = Reply(notice=False).h(tr.gettext("{name} ({lab}) on question #{id}:"),
                                        name=sender_name or sender, lab=lab, id=question.id)
    message.p("{text}", text=body)
    row = await store.outbox.add(target, message.content(in_reply_to=relayed.source_event_id), now=now,
                                 purpose="relay", reference=f"question:{question.id}")
    await store.questions.add_relay(question.id, target, row.id, room_id, event_id, now)
    return "relayed"


async def digest(store: Store, tr: Translator, now: datetime) -> Reply | None:
    """The morning list of open questions for the federal room; None when there are none."""
    found = await store.questions.open(limit=LIST_LIMIT)
    if not found:
        return None
    total = await store.questions.count_open()
    reply = Reply().h(tr.ngettext("{n} open question from the labs", "{n} open questions from the labs", total),
                      n=total)
    await list_questions(store, reply, found, tr, now)
    return reply


@due_handler(DIGEST_KIND)
async def fire_digest(fire: FireContext, item: DueItem) -> None:
    """Every morning: the open questions, in the federal room (nothing when there are none)."""
    if item.room_id is None:
        return
    reply = await digest(fire.store, await fire.tr_for(item.room_id), fire.now)
    if reply is not None:
        await fire.send(item.room_id, reply, purpose="questions-digest")
