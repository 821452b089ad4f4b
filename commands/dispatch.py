"""One command, one transaction: parse, check the role, handle, write the reply to the outbox.

The Matrix layer hands in an `IncomingMessage` and gets back the ids of the outbox rows to
deliver. A refused or failed command changes nothing but the audit log and the reply.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from commands.access import MatrixState, resolve
from commands.context import Clock, Context, NetworkSettings, Runtime
from commands.directory import Directory
from commands.errors import BadArguments, CommandError, NotAllowed
from commands.i18n import Translator
from commands.parser import parse_args, strip_invocation, tokenize
from commands.registry import CommandSpec, Registry
from commands.reply import Reply
from commands.roles import Role
from storage import Database, Store

log = logging.getLogger(__name__)

USER_REFRESH = 3600.0  # seconds between writes of a user's last-seen time


@dataclass(frozen=True)
class IncomingMessage:
    event_id: str
    room_id: str
    sender: str
    body: str
    sender_name: str = ""


@dataclass
class Outcome:
    """What happened, for metrics and tests: the command's name and how it ended."""

    command: str | None
    result: str  # ok, refused, bad_arguments, unknown, error, duplicate, ignored
    reply: Reply | None = None
    outbox_ids: list[int] = field(default_factory=list)
    # Rows due now, handed straight to the sender after commit (loaded, safe to read).
    outbox_rows: list[Any] = field(default_factory=list)
    scheduled: bool = False  # rows queued for later: the sender must recompute its wake-up
    signals: set[str] = field(default_factory=set)  # see Context.signals
    due_at: datetime | None = None  # earliest due item added or moved: the due-work timer re-arms


class _Undo(Exception):
    def __init__(self, outcome: Outcome, audit: tuple[str, str] | None) -> None:
        self.outcome = outcome
        self.audit = audit


class Dispatcher:
    def __init__(
        self,
        *,
        db: Database,
        registry: Registry,
        network: NetworkSettings,
        state: MatrixState,
        clock: Clock,
        runtime: Runtime,
        translator_for: Callable[[str], Translator],
        bot_names: list[str],
    ) -> None:
        self.db = db
        self.registry = registry
        self.network = network
        self.state = state
        self.clock = clock
        self.runtime = runtime
        self.translator_for = translator_for
        self.bot_names = bot_names
        self._seen: dict[str, tuple[str, float]] = {}  # user -> (display name, when written)
        self.directory = Directory()

    async def handle(self, message: IncomingMessage) -> Outcome:
        direct = self.state.is_direct(message.room_id)
        text = strip_invocation(
            message.body, prefix=self.network.command_prefix, bot_names=self.bot_names, direct=direct
        )
        if text is None:
            return Outcome(command=None, result="ignored")
        try:
            async with self.db.transaction() as store:
                if not await store.events.claim(message.event_id, message.room_id, self.clock.now()):
                    return Outcome(command=None, result="duplicate")
                ctx = await self._context(store, message, direct)
                outcome = await self._run(ctx, text)
                await self._queue_reply(ctx, outcome)
            # Committed: what the command changed must not be served from memory any more.
            self.directory.invalidate(outcome.signals)
            return outcome
        except _Undo as undo:
            # The handler's changes are rolled back; keep only the audit entry and the reply.
            async with self.db.transaction() as store:
                if not await store.events.claim(message.event_id, message.room_id, self.clock.now()):
                    return Outcome(command=None, result="duplicate")
                ctx = await self._context(store, message, direct)
                if undo.audit is not None:
                    await ctx.audit(undo.audit[0], outcome=undo.audit[1])
                await self._queue_reply(ctx, undo.outcome)
                return undo.outcome

    async def _context(self, store: Store, message: IncomingMessage, direct: bool) -> Context:
        now = self.clock.now()
        language = await self.directory.language(store, message.room_id) or self.network.language
        await self._note_user(store, message, now)
        principal, lab_id = await resolve(
            store, self.state, self.network, message.sender, message.room_id, self.directory
        )
        return Context(
            sender=message.sender,
            sender_name=message.sender_name,
            room_id=message.room_id,
            event_id=message.event_id,
            tr=self.translator_for(language),
            clock=self.clock,
            store=store,
            principal=principal,
            network=self.network,
            registry=self.registry,
            runtime=self.runtime,
            translator_for=self.translator_for,
            is_direct=direct,
            lab_id=lab_id,
            state=self.state,
            directory=self.directory,
        )

    async def _note_user(self, store: Store, message: IncomingMessage, now: datetime) -> None:
        """Keep `users` current without a write on every command: at most hourly per user."""
        last = self._seen.get(message.sender)
        stamp = now.timestamp()
        if last is not None and last[0] == message.sender_name and stamp - last[1] < USER_REFRESH:
            return
        await store.users.seen(message.sender, message.sender_name or None, now)
        if len(self._seen) > 100_000:
            self._seen.clear()
        self._seen[message.sender] = (message.sender_name, stamp)

    async def _run(self, ctx: Context, text: str) -> Outcome:
        tokens = tokenize(text)
        words = [t.text for t in tokens if not t.quoted]
        found = self.registry.resolve(words) if tokens and not tokens[0].quoted else None
        if found is None:
            raise _Undo(Outcome(None, "unknown", unknown_command(ctx, words)), None)
        spec, used = found
        if not ctx.principal.may_use(spec.role, ctx.lab_id):
            reply = refusal(ctx, spec)
            raise _Undo(Outcome(spec.name, "refused", reply), (spec.name, "refused"))
        try:
            raw = _text_after_words(text, used)
            args = parse_args(spec, tokens[used:], raw)
            reply = await spec.handler(ctx, args)
        except BadArguments as err:
            raise _Undo(Outcome(spec.name, "bad_arguments", usage_error(ctx, spec, err)), None) from None
        except NotAllowed as err:
            reply = refusal(ctx, spec, err.role)
            raise _Undo(Outcome(spec.name, "refused", reply), (spec.name, "refused")) from None
        except CommandError as err:
            reply = Reply.text(ctx._(err.message), **err.params)
            raise _Undo(Outcome(spec.name, "refused", reply), None) from None
        except Exception:
            reference = secrets.token_hex(4)
            log.exception("command %s failed, reference %s", spec.name, reference)
            reply = Reply.text(ctx._("Internal error, reference {reference}."), reference=reference)
            raise _Undo(Outcome(spec.name, "error", reply), (spec.name, "error")) from None
        return Outcome(spec.name, "ok", reply)

    async def _queue_reply(self, ctx: Context, outcome: Outcome) -> None:
        if outcome.reply is None:
            return
        outcome.reply.mentions.append(ctx.sender)
        row = await ctx.store.outbox.add(
            ctx.room_id,
            outcome.reply.content(in_reply_to=ctx.event_id),
            now=ctx.now(),
            purpose="reply",
        )
        outcome.outbox_ids.append(row.id)
        outcome.outbox_rows = ctx.store.outbox.due_now(ctx.now())
        outcome.scheduled = len(ctx.store.outbox.added) > len(outcome.outbox_rows)
        if outcome.result == "ok":
            outcome.signals = set(ctx.signals)
            if ctx.store.due.added:
                outcome.due_at = min(ctx.store.due.added)


def _text_after_words(text: str, count: int) -> str:
    rest = text.lstrip()
    for _ in range(count):
        parts = rest.split(None, 1)
        rest = parts[1] if len(parts) > 1 else ""
    return rest.strip()


def command_line(ctx: Context, spec: CommandSpec) -> str:
    return ctx.prefix + spec.display_name(ctx.language)


def unknown_command(ctx: Context, words: list[str]) -> Reply:
    typed = " ".join(words[:2]) if words else ""
    # `!labor` alone, or `!labor foo`: offer that group's subcommands.
    suggestions = ctx.registry.children(words[0]) if words else []
    if not suggestions:
        suggestions = [
            s for s in ctx.registry.suggest(words) if ctx.principal.may_use(s.role, ctx.lab_id)
        ] or ctx.registry.suggest(words)
    help_spec = ctx.registry.resolve(["help"])[0]
    reply = Reply.text(ctx._("I don't know the command “{command}”."), command=typed)
    if suggestions:
        names = ", ".join(ctx.prefix + s.display_name(ctx.language) for s in suggestions)
        reply.p(ctx._("Did you mean {suggestions}?"), suggestions=names)
    reply.p(ctx._("`{help}` lists all commands."), help=command_line(ctx, help_spec))
    return reply


def refusal(ctx: Context, spec: CommandSpec, role: Role | None = None) -> Reply:
    needed = role if role is not None else spec.role
    return Reply.text(
        ctx._("Sorry, `{command}` needs the role **{role}**. Nothing was changed."),
        command=command_line(ctx, spec),
        role=ctx._(needed.label),
    )


def usage_error(ctx: Context, spec: CommandSpec, err: BadArguments) -> Reply:
    reply = Reply()
    if err.message:
        reply.p(ctx._(err.message), **err.params)
    reply.p(ctx._("Usage: `{usage}`"), usage=ctx.prefix + ctx._(spec.usage))
    if spec.examples:
        reply.p(ctx._("Example: `{example}`"), example=ctx.prefix + ctx._(spec.examples[0]))
    return reply
