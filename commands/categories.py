"""Expert categories (German and English names, synonyms), the directory's settings, and
turning a chat question into search words ("wer kennt sich mit Datenschutz aus")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from commands.i18n import N_
from storage.experts import fold


@dataclass(frozen=True)
class Category:
    key: str
    german: str
    english: str
    synonyms: tuple[str, ...] = ()

    def name(self, language: str) -> str:
        return self.german if language == "de" else self.english

    def search_text(self) -> str:
        """Every spelling, so that an entry is found by any name of its category."""
        return " ".join(sorted(self.spellings()))

    def spellings(self) -> set[str]:
        return {fold(s) for s in (self.key, self.german, self.english, *self.synonyms)} | {
            fold(self.german.replace(":in", "")), fold(self.german.replace(":in", "in"))
        }


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("lawyer", "Jurist:in", "Lawyer", (
        "jurist", "juristin", "juristen", "anwalt", "anwältin", "anwaelte", "anwälte", "rechtsanwalt",
        "rechtsanwältin", "recht", "rechtsberatung", "lawyer", "legal", "law", "attorney")),
    Category("designer", "Designer:in", "Designer", (
        "designerin", "design", "gestaltung", "gestalter", "gestalterin", "ux", "ui", "grafik",
        "mediengestaltung")),
    Category("domain", "Fachexpert:in", "Domain expert", (
        "fachexperte", "fachexpertin", "fachexperten", "fachleute", "fachlich", "domain")),
    Category("social", "Soziale Organisation", "Social organisation", (
        "sozial", "soziale", "tafel", "frauenhaus", "wohlfahrt", "verein", "ngo", "social",
        "sozialarbeit", "organisation")),
    Category("foundation", "Stiftung", "Foundation", (
        "stiftungen", "foerderer", "förderung", "foundation", "funding")),
    Category("developer", "Softwareentwickler:in", "Software developer", (
        "entwickler", "entwicklerin", "softwareentwickler", "programmierer", "programmiererin",
        "programmierung", "developer", "dev", "software", "coder")),
)


def parse_category_spec(spec: str) -> Category:
    """A config entry "key | Deutscher Name | English name | synonym, synonym" (the last
    two parts optional). Raises ValueError with what is wrong."""
    parts = [p.strip() for p in spec.split("|")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ValueError(f'expected "key | German name | English name | synonym, ...", got "{spec}"')
    if not re.fullmatch(r"[a-z][a-z0-9_]{2,39}", parts[0]):
        raise ValueError(f'category key "{parts[0]}" must be 3-40 lower-case letters, digits or _')
    english = parts[2] if len(parts) > 2 and parts[2] else parts[1]
    synonyms = tuple(s.strip() for s in parts[3].split(",") if s.strip()) if len(parts) > 3 else ()
    return Category(parts[0], parts[1], english, synonyms)


@dataclass(frozen=True)
class ExpertSettings:
    """The `[experts]` config section as handlers see it."""

    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    contacts_per_day: int = 10
    reconfirm_days: int = 182  # about 6 months
    grace_days: int = 30  # hidden when not reconfirmed within this many days after asking
    _by_spelling: dict[str, Category] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for category in self.categories:
            for spelling in category.spellings():
                self._by_spelling.setdefault(spelling, category)

    @classmethod
    def with_extra(cls, specs: tuple[str, ...] = (), **kwargs: int) -> ExpertSettings:
        extra = tuple(parse_category_spec(spec) for spec in specs)
        keys = {c.key for c in extra}
        return cls(categories=tuple(c for c in DEFAULT_CATEGORIES if c.key not in keys) + extra, **kwargs)

    def category(self, text: str) -> Category | None:
        return self._by_spelling.get(fold(text.strip()))

    def by_key(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)

    def name(self, key: str, language: str) -> str:
        category = self.by_key(key)
        return category.name(language) if category else key


def settings_of(ctx: object) -> ExpertSettings:
    network = getattr(ctx, "network", None)
    return getattr(network, "experts", None) or DEFAULT_SETTINGS


DEFAULT_SETTINGS = ExpertSettings()

# Words of a question that say nothing about the topic, German and English.
FILLER = frozenset(fold(w) for w in """
wer wen wem kennt kennen kenne sich mit aus auskennt auskennen gibt es jemand jemanden jemandem
einen eine einer ein der die das den dem des für fuer von vom zu zum zur und oder im in bei
ich wir mir uns suche suchen brauche brauchen hilfe helfen kann können koennen weiß weiss
hat haben ahnung erfahrung experte experten expertin expertinnen über ueber auf gebiet bereich
thema themen bitte frage fragen an wende man sind ist hier da etwas was welche welcher mal gerne
unterstützung unterstuetzung beratung person personen leute noch auch so
who whom knows know knowing about is are there anyone anybody someone somebody for with the a an
of in on and or i we me us need needs help can could expert experts any looking know knowledge
experience please does do has have good at some person people advice in into
""".split())


@dataclass(frozen=True)
class Query:
    words: list[str]  # topic words (folded), filler removed
    categories: list[str]  # category keys named in the question


def parse_query(text: str, settings: ExpertSettings) -> Query:
    tokens = re.findall(r"[\w:-]+", text)
    words: list[str] = []
    categories: list[str] = []
    for token in tokens:
        category = settings.category(token)
        if category is not None:
            # A category word ranks that category first (every entry of it would match it
            # as text anyway: its search text holds all the category's spellings).
            categories.append(category.key)
            continue
        for word in re.findall(r"\w+", fold(token)):
            if word not in FILLER and len(word) >= 3:
                words.append(word)
    return Query(list(dict.fromkeys(words)), list(dict.fromkeys(categories)))


def topic_text(text: str, settings: ExpertSettings) -> str:
    """The question as the user wrote it, without its filler words ("kennt sich mit Datenschutz
    aus" → "Datenschutz"): what a reply says was searched for."""
    kept = [token for token in re.findall(r"[\w:-]+", text)
            if settings.category(token) is not None
            or any(w not in FILLER and len(w) >= 3 for w in re.findall(r"\w+", fold(token)))]
    return " ".join(kept) or text


VISIBILITY = {
    "network": N_("network: everyone who can talk to the bot finds your name, category, skills, languages, lab and Bundesland; your Matrix id stays hidden, contacts reach you through the bot"),
    "public": N_("public: as in the network, and your Matrix id is shown, so people can write to you directly"),
}
