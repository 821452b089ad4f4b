"""From a message body to (command words, arguments): prefix, mention, quotes, flags."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from commands.errors import BadArguments
from commands.i18n import N_
from commands.registry import CommandSpec

# Phones turn "--" into a dash and straight quotes into curly ones; accept what they produce.
_DASHES = ("—", "–", "−")
_QUOTES = {'"': '"', "'": "'", "„": "“", "“": "”", "”": "”", "«": "»", "»": "«", "‚": "‘", "‘": "’"}
_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_MENTION_SEPARATORS = ":,"


def strip_invocation(
    body: str, *, prefix: str, bot_names: list[str], direct: bool
) -> str | None:
    """The command text if the body addresses the bot, else None.

    A body is a command when it starts with the prefix or a mention of the bot; in a direct
    chat every message is.
    """
    text = body.strip()
    if not text:
        return None
    if text.startswith(prefix):
        rest = text[len(prefix) :].strip()
        return rest or None
    lowered = text.lower()
    for name in sorted(filter(None, bot_names), key=len, reverse=True):
        name_l = name.lower()
        if lowered.startswith(name_l):
            after = text[len(name) :]
            if not after or after[0] in _MENTION_SEPARATORS or after[0].isspace():
                rest = after.lstrip(_MENTION_SEPARATORS).strip()
                if rest.startswith(prefix):
                    rest = rest[len(prefix) :].strip()
                return rest or None
    return text if direct else None


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool = False

    @property
    def is_flag(self) -> bool:
        return not self.quoted and _flag_name(self.text) is not None


def _flag_name(text: str) -> str | None:
    for dash in ("--", *_DASHES):
        if text.startswith(dash) and len(text) > len(dash) and text[len(dash)] != "-":
            return text[len(dash) :].lower().translate(_TRANSLIT)
    return None


def tokenize(text: str) -> list[Token]:
    """Whitespace-separated words; straight, German („…“) and typographic quotes group words."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in _QUOTES:
            closing = _QUOTES[ch]
            end = i + 1
            while end < n and text[end] != closing and not (ch in "„“”" and text[end] in "“”"):
                end += 1
            tokens.append(Token(text[i + 1 : end], quoted=True))
            i = end + 1
            continue
        end = i
        while end < n and not text[end].isspace():
            end += 1
        tokens.append(Token(text[i:end]))
        i = end
    return tokens


@dataclass
class Args:
    """Parsed arguments: positional words in order, flags by their English name, raw text."""

    positional: list[str] = field(default_factory=list)
    flags: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def flag(self, name: str, default: Any = None) -> Any:
        return self.flags.get(name, default)


def split_command(text: str) -> list[Token]:
    return tokenize(text)


def parse_args(spec: CommandSpec, tokens: list[Token], raw: str) -> Args:
    """Sort tokens into positionals and the command's declared flags (either spelling)."""
    args = Args(text=raw)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name = _flag_name(token.text) if not token.quoted else None
        if name is None:
            args.positional.append(token.text)
            i += 1
            continue
        value: str | None = None
        if "=" in name:
            name, value = name.split("=", 1)
        flag = spec.flag(name)
        if flag is None:
            raise BadArguments(N_("Unknown option “{option}”."), option="--" + name)
        if flag.kind is bool:
            if value is not None:
                raise BadArguments(N_("The option “{option}” takes no value."), option="--" + name)
            args.flags[flag.name] = True
            i += 1
            continue
        if value is None:
            if i + 1 >= len(tokens) or tokens[i + 1].is_flag:
                raise BadArguments(N_("The option “{option}” needs a value."), option="--" + name)
            value = tokens[i + 1].text
            i += 1
        args.flags[flag.name] = _convert(flag.kind, value, name)
        i += 1
    return args


def _convert(kind: type, value: str, name: str) -> Any:
    if kind is int:
        try:
            return int(value)
        except ValueError:
            raise BadArguments(
                N_("The option “{option}” needs a whole number, not “{value}”."),
                option="--" + name,
                value=value,
            ) from None
    return value


_ID = re.compile(r"^#?(\d{1,18})$")


def parse_id(text: str) -> int:
    """Object ids are shown as #12; both `12` and `#12` are accepted."""
    match = _ID.match(text.strip())
    if not match:
        raise BadArguments(N_("“{value}” is not an id like #12."), value=text)
    return int(match.group(1))
