"""The expert directory's repository. `search` is the one search method.

Every word the entries use is kept once in `expert_terms`, indexed by trigram: an FTS5 table
with the trigram tokenizer on SQLite, a pg_trgm GIN index on PostgreSQL. A search word finds
the words containing it there (so "datenschutz" finds "datenschutzrecht"), or, when none does,
the closest ones (typos); `expert_postings` then leads to the entries. Trigram phrase queries on
the entries' own text were tried first: they read the posting lists of common trigrams ("ung",
"ech"), which grow with the number of entries; the vocabulary stays small. Small enough, in
fact, to be held in memory with a trigram index of its own (storage/expert_vocabulary.py), so
that looking a word up costs no round trip; the database's trigram indexes answer when it is
too large for that, or not cached.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, event, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.expert_contacts import ContactRepo, DirectRoomRepo
from storage.expert_ranking import ENTRY_SQL, KEY_WEIGHT, Listed, ranked_hits, ranked_rows
from storage.expert_vocabulary import (
    CACHE_KEY,
    FUZZY_CANDIDATES,
    MAX_TERMS,
    WRITTEN_KEY,
    Vocabulary,
    VocabularyCache,
    best_corrections,
)
from storage.models_experts import Expert, ExpertPosting, ExpertTerm

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"\w{3,}")
MIN_WORD = 3  # the trigram indexes cannot look up anything shorter
PG_WORD_SIMILARITY = 0.45  # pg_trgm's threshold for correction candidates
ABOUT_WEIGHT = 1  # a word only in the about text (KEY_WEIGHT: name, category, skills)


def fold(value: str) -> str:
    """Lower case with German letters transliterated: `Müller` and `Mueller` match."""
    return value.lower().translate(_FOLD)


def words(value: str) -> list[str]:
    """The searchable words of a text (folded, at least three letters)."""
    return _WORD.findall(fold(value))


@dataclass
class SearchResult:
    hits: list[tuple[Listed, int]] = field(default_factory=list)  # (entry, relevance)
    corrected: dict[str, list[str]] = field(default_factory=dict)  # misspelt word -> terms used


class ExpertRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.contacts = ContactRepo(session)
        self.direct_rooms = DirectRoomRepo(session)

    @property
    def _pg(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    # --- entries ---------------------------------------------------------------------

    async def create(self, *, now: datetime, keys: str, **fields: Any) -> Expert:
        """A new entry; `keys` is the text it is found by besides its about text."""
        expert = Expert(created_at=now, updated_at=now, **fields)
        expert.search_keys, expert.search_about = fold(keys), fold(expert.about or "")
        self.session.add(expert)
        await self.session.flush()
        await self._index(expert, old_terms=set())
        return expert

    async def update(self, expert: Expert, *, now: datetime, keys: str, **fields: Any) -> None:
        old_terms = self._terms(expert)
        for name, value in fields.items():
            setattr(expert, name, value)
        expert.search_keys, expert.search_about = fold(keys), fold(expert.about or "")
        expert.updated_at = now
        await self.session.flush()
        await self._index(expert, old_terms=old_terms)

    async def delete(self, expert: Expert) -> None:
        await self.session.execute(delete(ExpertPosting).where(ExpertPosting.expert_id == expert.id))
        await self._change_terms(removed=self._terms(expert), added=set())
        await self.session.delete(expert)
        await self.session.flush()

    async def get(self, expert_id: int) -> Expert | None:
        return await self.session.get(Expert, expert_id)

    async def of_user(self, user_id: str) -> Expert | None:
        return await self.session.scalar(
            select(Expert).where(Expert.kind == "person", Expert.user_id == user_id)
        )

    async def of_contact(self, user_id: str) -> list[Expert]:
        rows = await self.session.scalars(select(Expert).where(Expert.contact_id == user_id).order_by(Expert.id))
        return list(rows.all())

    async def counts(self, listed_since: datetime) -> dict[str, int]:
        rows = await self.session.execute(
            select(Expert.category, func.count())
            .where(Expert.status == "active", Expert.confirmed_at >= listed_since)
            .group_by(Expert.category)
        )
        return {category: count for category, count in rows.all()}

    # --- search ----------------------------------------------------------------------

    async def search(
        self,
        query_words: list[str],
        *,
        listed_since: datetime,
        boost_categories: Iterable[str] = (),
        category: str | None = None,
        state: str | None = None,
        lab_id: int | None = None,
        near_lab: int | None = None,
        near_state: str | None = None,
        limit: int = 5,
    ) -> SearchResult:
        """Listed entries matching the words (substrings, so compounds match; misspelt words
        are replaced by the closest words in use), ranked by relevance, then same lab, same
        Bundesland, then the most recently confirmed. No words: the filters alone decide."""
        result = SearchResult()
        term_sets: list[list[int]] = []
        vocabulary = await self._vocabulary() if query_words or boost_categories or category else None
        for word in dict.fromkeys(fold(w) for w in query_words):
            if len(word) < MIN_WORD:
                continue
            ids = vocabulary.containing(word) if vocabulary is not None else await self._containing_sql(word)
            if not ids:
                corrected = (vocabulary.corrections(word) if vocabulary is not None
                             else await self._corrections_sql(word))
                result.corrected[word] = [term for _, term in corrected]
                ids = [term_id for term_id, _ in corrected]
            if ids:
                term_sets.append(ids)
        boost = sorted(set(boost_categories))
        if query_words and not term_sets and not boost:
            return result
        params: dict[str, Any] = {"since": listed_since, "limit": limit,
                                  "near_lab": near_lab if near_lab is not None else -1, "near_state": near_state or ""}
        filters = ["listed_at >= :since"]
        for name, value in (("category", category), ("state", state), ("lab_id", lab_id)):
            if value is not None:
                filters.append(f"{name} = :{name}")
                params[name] = value
        expanding = []
        if not term_sets and (boost or category):
            # Only a category: its entries all use the category's key word.
            keys = boost or [category]
            if vocabulary is not None:
                term_sets = [vocabulary.ids_of(keys)]
            else:
                term_sets = [list((await self.session.scalars(select(ExpertTerm.id).where(ExpertTerm.term.in_(keys)))).all())]
            filters.append("category IN :only")
            params["only"] = keys
            expanding.append("only")
        if not term_sets or not term_sets[0]:
            if query_words or boost or category:
                return result
            return await self._filtered(result, filters, params, expanding)
        for i, ids in enumerate(term_sets):
            params[f"t{i}"] = ids
            expanding.append(f"t{i}")
        if boost:
            params["boost"] = boost
            expanding.append("boost")
        ranked = await ranked_hits(self.session, term_sets, filters, params, expanding, boost=bool(boost),
                                   near_lab=near_lab, near_state=near_state, limit=limit)
        result.hits = [(entry, relevance) for _, relevance, entry in ranked]
        return result

    async def _filtered(self, result: SearchResult, filters: list[str], params: dict[str, Any],
                        expanding: list[str]) -> SearchResult:
        """No words: listed entries by the filters alone (--state, --lab), nearest first."""
        sql = (
            f"SELECT f.tier, f.id AS expert_id, 0 AS relevance, f.listed_at, {ENTRY_SQL} FROM (SELECT id, "
            "CASE WHEN lab_id = :near_lab THEN 0 WHEN state = :near_state THEN 1 ELSE 2 END AS tier, listed_at "
            "FROM (SELECT id, lab_id, state, category, CASE WHEN status = 'active' THEN confirmed_at END AS listed_at "
            f"FROM experts) x WHERE {' AND '.join(filters)} ORDER BY tier, listed_at DESC, id LIMIT :limit) f "
            "JOIN experts e ON e.id = f.id"
        )
        tiers = await ranked_rows(self.session, sql, params, expanding, 3)
        result.hits = [(entry, relevance) for tier in tiers for _, relevance, entry in tier]
        return result

    async def _vocabulary(self) -> Vocabulary | None:
        """The vocabulary in memory: this database's cached copy, loaded when missing; this
        transaction's own when it has written words; None when too large to hold."""
        info = self.session.info
        cache: VocabularyCache | None = info.get(CACHE_KEY)
        if cache is None or info.get(WRITTEN_KEY):
            return await self._load_vocabulary()
        if cache.vocabulary is None and not cache.too_large:
            generation = cache.generation
            vocabulary = await self._load_vocabulary()
            cache.store(generation, vocabulary)
            return vocabulary
        return cache.vocabulary

    async def _load_vocabulary(self) -> Vocabulary | None:
        rows = await self.session.execute(
            select(ExpertTerm.id, ExpertTerm.term, ExpertTerm.uses).limit(MAX_TERMS + 1)
        )
        found = rows.all()
        return Vocabulary(found) if len(found) <= MAX_TERMS else None

    def _terms_written(self) -> None:
        """The vocabulary changed in this transaction: drop the cached copy now and when the
        transaction ends (committed or not); until then this transaction reads its own."""
        info = self.session.info
        cache: VocabularyCache | None = info.get(CACHE_KEY)
        if cache is None:
            return
        cache.invalidate()
        if info.get(WRITTEN_KEY):
            return
        info[WRITTEN_KEY] = True

        def ended(_session: Any, transaction: Any) -> None:
            if transaction.parent is None and info.pop(WRITTEN_KEY, None):
                cache.invalidate()

        event.listen(self.session.sync_session, "after_transaction_end", ended)

    async def _containing(self, word: str) -> list[int]:
        """Ids of the words in use that contain this one."""
        vocabulary = await self._vocabulary()
        return vocabulary.containing(word) if vocabulary is not None else await self._containing_sql(word)

    async def _containing_sql(self, word: str) -> list[int]:
        """`_containing` through the database's trigram index on the vocabulary."""
        if self._pg:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = await self.session.scalars(select(ExpertTerm.id).where(ExpertTerm.term.like(pattern)))
        else:
            rows = await self.session.scalars(
                text("SELECT rowid FROM expert_terms_fts WHERE expert_terms_fts MATCH :q"),
                {"q": '"' + word.replace('"', '""') + '"'},
            )
        return list(rows.all())

    async def _corrections_sql(self, word: str) -> list[tuple[int, str]]:
        """(id, word) of the words in use that are close to a misspelt one (best first),
        through the database's trigram index (Vocabulary.corrections does it in memory)."""
        if self._pg:
            # The default threshold (0.6) misses e.g. "datenshutz" in "datenschutzrecht" (0.57);
            # rapidfuzz below has the last word anyway.
            await self.session.execute(text(f"SET LOCAL pg_trgm.word_similarity_threshold = {PG_WORD_SIMILARITY}"))
            rows = await self.session.execute(
                text(
                    "SELECT id, term, uses FROM expert_terms WHERE :w <% term "
                    "ORDER BY word_similarity(:w, term) DESC, uses DESC LIMIT :n"
                ),
                {"w": word, "n": FUZZY_CANDIDATES},
            )
        else:
            grams = {word[i : i + 3] for i in range(len(word) - 2)}
            query = " OR ".join('"' + g.replace('"', '""') + '"' for g in sorted(grams))
            rows = await self.session.execute(
                text(
                    "SELECT f.rowid, f.term, t.uses FROM expert_terms_fts f JOIN expert_terms t ON t.id = f.rowid "
                    "WHERE expert_terms_fts MATCH :q ORDER BY f.rank LIMIT :n"
                ),
                {"q": query, "n": FUZZY_CANDIDATES},
            )
        return best_corrections(word, rows.all())

    # --- index maintenance -------------------------------------------------------------

    @staticmethod
    def _terms(expert: Expert) -> set[str]:
        return set(words(expert.search_keys)) | set(words(expert.search_about))

    @staticmethod
    def _weights(keys: str, about: str) -> dict[str, int]:
        weights = dict.fromkeys(words(about), ABOUT_WEIGHT)
        weights.update(dict.fromkeys(words(keys), KEY_WEIGHT))
        return weights

    async def _index(self, expert: Expert, old_terms: set[str]) -> None:
        """Keep the vocabulary's counts and the entry's postings in step with its text."""
        new_terms = self._terms(expert)
        await self._change_terms(removed=old_terms - new_terms, added=new_terms - old_terms)
        await self.session.execute(delete(ExpertPosting).where(ExpertPosting.expert_id == expert.id))
        weights = self._weights(expert.search_keys, expert.search_about)
        if weights:
            ids = await self.session.execute(select(ExpertTerm.term, ExpertTerm.id).where(ExpertTerm.term.in_(weights)))
            listing = self._listing(expert)
            await self.session.execute(insert(ExpertPosting), [
                {"term_id": term_id, "expert_id": expert.id, "weight": weights[term], **listing}
                for term, term_id in ids.all()
            ])

    @staticmethod
    def _listing(expert: Expert) -> dict[str, Any]:
        return {"listed_at": expert.confirmed_at if expert.status == "active" else None,
                "lab_id": expert.lab_id, "state": expert.state, "category": expert.category}

    async def listing_changed(self, expert: Expert) -> None:
        """Status, confirmation, lab or Bundesland changed: copy them to the search postings."""
        await self.session.flush()
        await self.session.execute(
            update(ExpertPosting).where(ExpertPosting.expert_id == expert.id).values(**self._listing(expert))
        )

    async def _change_terms(self, *, removed: set[str], added: set[str]) -> None:
        if removed or added:
            self._terms_written()
        if removed:
            await self.session.execute(
                update(ExpertTerm).where(ExpertTerm.term.in_(removed)).values(uses=ExpertTerm.uses - 1)
            )
            gone = list((await self.session.scalars(
                select(ExpertTerm.id).where(ExpertTerm.term.in_(removed), ExpertTerm.uses <= 0)
            )).all())
            if gone:
                await self.session.execute(delete(ExpertTerm).where(ExpertTerm.id.in_(gone)))
                if not self._pg:
                    await self.session.execute(
                        text("DELETE FROM expert_terms_fts WHERE rowid IN :ids").bindparams(
                            bindparam("ids", expanding=True)
                        ),
                        {"ids": gone},
                    )
        if added:
            existing = set((await self.session.scalars(select(ExpertTerm.term).where(ExpertTerm.term.in_(added)))).all())
            if existing:
                await self.session.execute(
                    update(ExpertTerm).where(ExpertTerm.term.in_(existing)).values(uses=ExpertTerm.uses + 1)
                )
            for term in sorted(added - existing):
                term_id = await self.session.scalar(
                    ExpertTerm.__table__.insert().values(term=term, uses=1).returning(ExpertTerm.id)
                )
                if not self._pg:
                    await self.session.execute(
                        text("INSERT INTO expert_terms_fts (rowid, term) VALUES (:id, :term)"),
                        {"id": term_id, "term": term},
                    )

    @classmethod
    def index_rows(cls, experts: Iterable[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The vocabulary and postings rows for these entries (rows with Expert's columns)."""
        term_ids: dict[str, int] = {}
        uses: dict[str, int] = {}
        postings: list[dict[str, Any]] = []
        for expert in experts:
            listing = cls._listing(expert)
            for term, weight in cls._weights(expert.search_keys, expert.search_about).items():
                term_id = term_ids.setdefault(term, len(term_ids) + 1)
                uses[term] = uses.get(term, 0) + 1
                postings.append({"term_id": term_id, "expert_id": expert.id, "weight": weight, **listing})
        terms = [{"id": i, "term": t, "uses": uses[t]} for t, i in term_ids.items()]
        return terms, postings

    async def rebuild_index(self) -> None:
        """Recompute vocabulary and postings from all entries (after a bulk load)."""
        self._terms_written()
        await self.session.execute(delete(ExpertPosting))
        await self.session.execute(delete(ExpertTerm))
        if not self._pg:
            await self.session.execute(text("DELETE FROM expert_terms_fts"))
        columns = (Expert.id, Expert.search_keys, Expert.search_about, Expert.status, Expert.confirmed_at,
                   Expert.lab_id, Expert.state, Expert.category)
        terms, postings = self.index_rows((await self.session.execute(select(*columns))).all())
        if not terms:
            return
        await self.session.execute(ExpertTerm.__table__.insert(), terms)
        for start in range(0, len(postings), 20_000):
            await self.session.execute(ExpertPosting.__table__.insert(), postings[start : start + 20_000])
        await self.indexed_terms()

    async def indexed_terms(self) -> None:
        """After terms were written in bulk: SQLite's trigram table, PostgreSQL's id sequence,
        and the vocabulary cached in memory."""
        self._terms_written()
        if not self._pg:
            await self.session.execute(text("DELETE FROM expert_terms_fts"))
            await self.session.execute(text("INSERT INTO expert_terms_fts (rowid, term) SELECT id, term FROM expert_terms"))
        else:
            await self.session.execute(text(
                "SELECT setval(pg_get_serial_sequence('expert_terms', 'id'), (SELECT max(id) FROM expert_terms))"
            ))
