"""The 16 Bundesländer, lab levels, and slugs as COMMANDS.md defines them."""

from __future__ import annotations

import re
import unicodedata

from commands.i18n import N_

# code -> (German name, English name)
STATES: dict[str, tuple[str, str]] = {
    "BW": ("Baden-Württemberg", "Baden-Württemberg"),
    "BY": ("Bayern", "Bavaria"),
    "BE": ("Berlin", "Berlin"),
    "BB": ("Brandenburg", "Brandenburg"),
    "HB": ("Bremen", "Bremen"),
    "HH": ("Hamburg", "Hamburg"),
    "HE": ("Hessen", "Hesse"),
    "MV": ("Mecklenburg-Vorpommern", "Mecklenburg-Western Pomerania"),
    "NI": ("Niedersachsen", "Lower Saxony"),
    "NW": ("Nordrhein-Westfalen", "North Rhine-Westphalia"),
    "RP": ("Rheinland-Pfalz", "Rhineland-Palatinate"),
    "SL": ("Saarland", "Saarland"),
    "SN": ("Sachsen", "Saxony"),
    "ST": ("Sachsen-Anhalt", "Saxony-Anhalt"),
    "SH": ("Schleswig-Holstein", "Schleswig-Holstein"),
    "TH": ("Thüringen", "Thuringia"),
}
# Common other spellings people type.
_STATE_ALIASES = {"NRW": "NW", "RLP": "RP", "BAWUE": "BW", "BAWÜ": "BW"}

LEVELS = {"kommune": N_("municipality"), "land": N_("federal state"), "bund": N_("federal")}
_LEVEL_ALIASES = {
    "kommunal": "kommune", "municipal": "kommune", "municipality": "kommune", "stadt": "kommune",
    "laender": "land", "länder": "land", "state": "land", "federal-state": "land",
    "federal": "bund", "bundesebene": "bund",
}

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})


def slugify(name: str) -> str:
    """'OGL Köln' → 'ogl-koeln', 'Lab Straße 5' → 'lab-strasse-5'."""
    text = name.translate(_TRANSLIT).lower()
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def state_code(text: str) -> str | None:
    """A Bundesland from its code or its German or English name, case-insensitive."""
    upper = text.strip().upper()
    if upper in STATES:
        return upper
    if upper in _STATE_ALIASES:
        return _STATE_ALIASES[upper]
    wanted = slugify(text)
    for code, names in STATES.items():
        if wanted in (slugify(names[0]), slugify(names[1])):
            return code
    return None


def state_name(code: str, language: str) -> str:
    german, english = STATES[code]
    return german if language == "de" else english


def level_code(text: str) -> str | None:
    lowered = text.strip().lower()
    if lowered in LEVELS:
        return lowered
    return _LEVEL_ALIASES.get(lowered)
