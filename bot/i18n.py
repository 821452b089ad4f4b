"""Loads the gettext catalogs (bot/locale) for the languages the bot speaks."""

from __future__ import annotations

import functools
import gettext
from pathlib import Path

from commands.i18n import LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "labnetz"


class Translation:
    """A gettext catalog that knows its language; what `Context.tr` expects."""

    def __init__(self, language: str, catalog: gettext.NullTranslations) -> None:
        self.language = language
        self._catalog = catalog

    def gettext(self, message: str) -> str:
        return self._catalog.gettext(message) if message else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalog.ngettext(singular, plural, n)


@functools.cache
def translator(language: str) -> Translation:
    """The catalog for `language`; unknown languages fall back to German, the default."""
    if language not in LANGUAGES:
        language = "de"
    catalog = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)
    return Translation(language, catalog)
