"""Every user-facing string has a German translation, and the compiled catalogs are current."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR, translator

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _messages_in_code() -> set[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    for package in ("bot", "commands", "storage"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / package, keywords=KEYWORDS, comment_tags=()
        ):
            found.add(message if isinstance(message, str) else tuple(message))
    return found


def _catalog(language: str):
    with open(LOCALE_DIR / language / "LC_MESSAGES" / "labnetz.po", "rb") as f:
        return read_po(f)


def test_every_string_in_the_code_has_a_german_translation() -> None:
    catalog = _catalog("de")
    missing = []
    for message in _messages_in_code():
        key = message if isinstance(message, str) else message[0]
        entry = catalog.get(key)
        translated = entry is not None and (
            all(entry.string) if isinstance(entry.string, tuple) else bool(entry.string)
        )
        if not translated:
            missing.append(key)
    assert not missing, f"untranslated (run `make i18n` and translate): {sorted(missing)}"


def test_german_translations_keep_every_placeholder() -> None:
    for message in _catalog("de"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, (message.id, string)


def test_compiled_catalog_matches_the_po_file() -> None:
    with open(LOCALE_DIR / "de" / "LC_MESSAGES" / "labnetz.mo", "rb") as f:
        compiled = read_mo(f)
    for message in _catalog("de"):
        if message.id:
            assert compiled.get(message.id) is not None, f"run `make i18n`: {message.id!r} not compiled"
            want = list(message.string) if isinstance(message.string, tuple) else message.string
            assert compiled[message.id].string == want, f"run `make i18n`: {message.id!r}"


def test_german_is_formal() -> None:
    for message in _catalog("de"):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            assert not re.search(r"\b(du|dich|dir|dein\w*)\b", string, re.IGNORECASE), string


def test_plural_forms_in_both_languages() -> None:
    assert translator("de").ngettext("{n} room", "{n} rooms", 1) == "{n} Raum"
    assert translator("de").ngettext("{n} room", "{n} rooms", 2) == "{n} Räume"
    assert translator("en").ngettext("{n} room", "{n} rooms", 2) == "{n} rooms"
    assert translator("xx").language == "de"
