"""Marking and translating strings. Catalogs live in bot/locale; handlers use ctx.tr."""

from __future__ import annotations

from typing import Protocol


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated later, when the language is known."""
    return message


class Translator(Protocol):
    language: str

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


# The languages with a catalog, and their names (translated at display time).
LANGUAGES = {"de": N_("German"), "en": N_("English")}
