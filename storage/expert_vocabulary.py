"""The expert directory's vocabulary (`expert_terms`) held in memory, with a trigram index of
its own: a search word finds the words containing it, or the words closest to it when it is
misspelt, without a database round trip.

Each `Database` keeps one `VocabularyCache` (in its sessions' `info`). Only the active process
writes the directory (DESIGN.md, scale path), and every write of the vocabulary goes through
`ExpertRepo`, which drops the cached copy when it writes and again when its transaction ends:
a copy loaded by another transaction in between may be older than the commit, and a load that
started before a drop is not kept. A transaction that has written words reads its own,
uncommitted vocabulary and does not cache it. A vocabulary larger than `MAX_TERMS` is not held
in memory: the database's trigram indexes answer instead (storage/experts.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rapidfuzz import fuzz

CACHE_KEY = "expert_vocabulary"
WRITTEN_KEY = "expert_terms_written"
MAX_TERMS = 200_000
FUZZY_CANDIDATES = 40  # words ranked by shared trigrams, then scored exactly
FUZZY_MIN_SCORE = 80.0  # rapidfuzz score (0..100) a correction needs
FUZZY_KEEP = 4  # corrections per misspelt word


def trigrams(word: str) -> set[str]:
    return {word[i : i + 3] for i in range(len(word) - 2)}


def best_corrections(word: str, candidates: Iterable[tuple[int, str, int]]) -> list[tuple[int, str]]:
    """(id, word) of the candidates (id, word, uses) close enough to a misspelt word, best
    first: the higher score, then the shorter word, the more used, alphabetical."""
    scored = []
    for term_id, term, uses in candidates:
        scorer = fuzz.partial_ratio if len(term) > len(word) else fuzz.ratio
        score = scorer(word, term, score_cutoff=FUZZY_MIN_SCORE)
        if score >= FUZZY_MIN_SCORE:
            scored.append((-score, len(term), -uses, term, term_id))
    scored.sort()
    return [(term_id, term) for *_, term, term_id in scored[:FUZZY_KEEP]]


class Vocabulary:
    """The words in use, (id, word, uses) each, indexed by trigram."""

    def __init__(self, rows: Iterable[tuple[int, str, int]]) -> None:
        ordered = sorted(rows)
        self.ids = [row[0] for row in ordered]
        self.terms = [row[1] for row in ordered]
        self.uses = [row[2] for row in ordered]
        grams: dict[str, list[int]] = {}
        for position, term in enumerate(self.terms):
            for gram in trigrams(term):
                grams.setdefault(gram, []).append(position)
        self._grams = grams
        self._ids = dict(zip(self.terms, self.ids, strict=True))

    def __len__(self) -> int:
        return len(self.terms)

    def ids_of(self, terms: Iterable[str]) -> list[int]:
        """Ids of these exact words, those in use."""
        return sorted(self._ids[t] for t in set(terms) if t in self._ids)

    def containing(self, word: str) -> list[int]:
        """Ids of the words that contain this one (at least three letters), ascending."""
        lists = [self._grams.get(gram, ()) for gram in trigrams(word)]
        if not lists:
            return []
        shortest = min(lists, key=len)
        terms = self.terms
        return [self.ids[p] for p in shortest if word in terms[p]]

    def corrections(self, word: str) -> list[tuple[int, str]]:
        """(id, word) of the words close to a misspelt one, best first: the words sharing the
        most trigrams with it (the more used first on a tie) are scored by rapidfuzz."""
        shared: Counter[int] = Counter()
        for gram in trigrams(word):
            shared.update(self._grams.get(gram, ()))
        uses = self.uses
        ranked = sorted(shared, key=lambda p: (-shared[p], -uses[p], p))[:FUZZY_CANDIDATES]
        return best_corrections(word, ((self.ids[p], self.terms[p], uses[p]) for p in ranked))


class VocabularyCache:
    """The current `Vocabulary` of one database, or None until loaded (and after a change)."""

    def __init__(self) -> None:
        self.vocabulary: Vocabulary | None = None
        self.too_large = False  # more than MAX_TERMS words: search asks the database
        self.generation = 0

    def invalidate(self) -> None:
        self.vocabulary = None
        self.too_large = False
        self.generation += 1

    def store(self, generation: int, vocabulary: Vocabulary | None) -> None:
        """Keep a loaded copy, unless the vocabulary changed since the load began."""
        if generation == self.generation:
            self.vocabulary = vocabulary
            self.too_large = vocabulary is None
