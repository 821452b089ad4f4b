"""Declarative commands: name, German alias, role, usage, help, flags. Help is generated from here."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from commands.roles import Role

if TYPE_CHECKING:
    from commands.context import Context
    from commands.parser import Args
    from commands.reply import Reply

Handler = Callable[["Context", "Args"], Awaitable["Reply"]]


@dataclass(frozen=True)
class Flag:
    """`--name value` (or `--name` alone when `kind is bool`), with a German alias."""

    name: str
    alias: str | None = None
    kind: type = str
    help: str = ""
    metavar: str = ""

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name,) if self.alias is None else (self.name, self.alias)


@dataclass(frozen=True)
class CommandSpec:
    name: str  # English name, possibly two words: "lab create"
    german: str  # German alias: "labor anlegen"
    handler: Handler
    role: Role
    usage: str  # msgid, e.g. "ping"
    help: str  # msgid, one line
    group: str  # msgid of the help group
    examples: tuple[str, ...] = ()  # msgids of examples without prefix
    flags: tuple[Flag, ...] = ()
    aliases: tuple[str, ...] = ()  # more spellings, e.g. "?"

    @property
    def spellings(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.name, self.german, *self.aliases)))

    def display_name(self, language: str) -> str:
        return self.german if language == "de" else self.name

    def flag(self, spelling: str) -> Flag | None:
        for flag in self.flags:
            if spelling in flag.spellings:
                return flag
        return None


@dataclass
class CommandGroup:
    """The commands of one capability module, registered with a decorator."""

    title: str  # msgid
    specs: list[CommandSpec] = field(default_factory=list)

    def command(
        self,
        name: str,
        german: str,
        *,
        role: Role = Role.EVERYONE,
        usage: str,
        help: str,
        examples: Iterable[str] = (),
        flags: Iterable[Flag] = (),
        aliases: Iterable[str] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.specs.append(
                CommandSpec(
                    name=name,
                    german=german,
                    handler=handler,
                    role=role,
                    usage=usage,
                    help=help,
                    group=self.title,
                    examples=tuple(examples),
                    flags=tuple(flags),
                    aliases=tuple(aliases),
                )
            )
            return handler

        return register


class Registry:
    """All commands, looked up case-insensitively by any spelling of one to three words."""

    MAX_WORDS = 3

    def __init__(self, groups: Iterable[CommandGroup] = ()) -> None:
        self.groups: list[CommandGroup] = []
        self._index: dict[tuple[str, ...], CommandSpec] = {}
        for group in groups:
            self.add_group(group)

    def add_group(self, group: CommandGroup) -> None:
        self.groups.append(group)
        for spec in group.specs:
            for spelling in spec.spellings:
                key = tuple(spelling.lower().split())
                if key in self._index:
                    raise ValueError(f"command spelling {spelling!r} is declared twice")
                self._index[key] = spec

    @property
    def specs(self) -> list[CommandSpec]:
        return [spec for group in self.groups for spec in group.specs]

    def resolve(self, words: list[str]) -> tuple[CommandSpec, int] | None:
        """The command named by the first words (longest match) and how many words it used."""
        lowered = [w.lower() for w in words[: self.MAX_WORDS]]
        for n in range(len(lowered), 0, -1):
            spec = self._index.get(tuple(lowered[:n]))
            if spec is not None:
                return spec, n
        return None

    def suggest(self, words: list[str], limit: int = 3) -> list[CommandSpec]:
        """Commands whose spelling is close to what was typed: the best, and any nearly as close."""
        typed = [" ".join(w.lower() for w in words[:n]) for n in (2, 1) if len(words) >= n]
        scored: dict[CommandSpec, float] = {}
        for attempt in typed:
            for key, spec in self._index.items():
                score = difflib.SequenceMatcher(None, attempt, " ".join(key)).ratio()
                if score >= 0.6 and score > scored.get(spec, 0.0):
                    scored[spec] = score
        if not scored:
            return []
        best = max(scored.values())
        ranked = sorted(scored, key=lambda spec: -scored[spec])
        return [spec for spec in ranked if scored[spec] >= best - 0.1][:limit]

    def children(self, first_word: str) -> list[CommandSpec]:
        """Subcommands sharing a first word, e.g. `lab` → lab create, lab link, …"""
        word = first_word.lower()
        found: list[CommandSpec] = []
        for key, spec in self._index.items():
            if len(key) > 1 and key[0] == word and spec not in found:
                found.append(spec)
        return found

    def visible_to(self, allowed: Callable[[CommandSpec], bool]) -> list[tuple[str, list[Any]]]:
        return [
            (group.title, [spec for spec in group.specs if allowed(spec)])
            for group in self.groups
            if any(allowed(spec) for spec in group.specs)
        ]
