"""The expert directory's repository. `search` is the one search method: FTS5 trigram tables
on SQLite, pg_trgm GIN indexes on PostgreSQL, both fed by the same folded search text, with
misspelt words corrected from a vocabulary of the words entries use."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.expert_contacts import ContactRepo, DirectRoomRepo
from storage.models_experts import Expert, ExpertTerm

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"\w{3,}")
MIN_WORD = 3  # the trigram indexes cannot look up anything shorter
FUZZY_CANDIDATES = 40  # vocabulary rows ranked by shared trigrams, then scored exactly
FUZZY_MIN_SCORE = 80.0  # rapidfuzz score (0..100) a correction needs
FUZZY_KEEP = 4
PG_WORD_SIMILARITY = 0.45  # corrections per misspelt word
KEY_WEIGHT, ABOUT_WEIGHT, CATEGORY_WEIGHT = 2, 1, 2


def fold(value: str) -> str:
    """Lower case with German letters transliterated: `Müller` and `Mueller` match."""
    return value.lower().translate(_FOLD)


def words(value: str) -> list[str]:
    """The searchable words of a text (folded, at least three letters)."""
    return _WORD.findall(fold(value))


@dataclass
class SearchResult:
    hits: list[tuple[Expert, int]] = field(default_factory=list)  # (entry, relevance)
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
        await self._change_terms(removed=self._terms(expert), added=set())
        if not self._pg:
            await self.session.execute(text("DELETE FROM experts_fts WHERE rowid = :id"), {"id": expert.id})
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

    async def due_for_reconfirmation(self, before: datetime, limit: int = 500) -> list[Expert]:
        rows = await self.session.scalars(
            select(Expert).where(Expert.status == "active", Expert.confirmed_at < before).limit(limit)
        )
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
        variants: list[list[str]] = []
        for word in dict.fromkeys(fold(w) for w in query_words):
            if len(word) < MIN_WORD:
                continue
            if await self._known(word):
                variants.append([word])
            else:
                corrected = await self._corrections(word)
                result.corrected[word] = corrected
                if corrected:
                    variants.append(corrected)
        boost = sorted(set(boost_categories))
        if query_words and not variants and not boost:
            return result
        params: dict[str, Any] = {"since": listed_since}
        filters = ["e.status = 'active'", "e.confirmed_at >= :since"]
        for name, value in (("category", category), ("state", state), ("lab_id", lab_id)):
            if value is not None:
                filters.append(f"e.{name} = :{name}")
                params[name] = value
        if variants:
            hits = self._hits_sql(variants, params)
            source = f"(SELECT id, SUM(best) AS score FROM (SELECT id, word, MAX(w) AS best FROM ({hits}) h GROUP BY id, word) b GROUP BY id) s JOIN experts e ON e.id = s.id"
            score = "s.score"
        else:
            source, score = "experts e", "0"
            if boost:  # only category words: list that category
                filters.append("e.category IN :boost")
        if boost:
            score = f"{score} + CASE WHEN e.category IN :boost THEN {CATEGORY_WEIGHT} ELSE 0 END"
            params["boost"] = boost
        params.update(near_lab=near_lab if near_lab is not None else -1, near_state=near_state or "", limit=limit)
        sql = text(
            f"SELECT e.id, {score} AS relevance FROM {source} WHERE {' AND '.join(filters)} "
            "ORDER BY relevance DESC, CASE WHEN e.lab_id = :near_lab THEN 0 "
            "WHEN e.state = :near_state THEN 1 ELSE 2 END, e.confirmed_at DESC, e.id LIMIT :limit"
        )
        if boost:
            sql = sql.bindparams(bindparam("boost", expanding=True))
        ranked = (await self.session.execute(sql, params)).all()
        if ranked:
            by_id = {
                e.id: e for e in await self.session.scalars(select(Expert).where(Expert.id.in_([r[0] for r in ranked])))
            }
            result.hits = [(by_id[r[0]], int(r[1])) for r in ranked]
        return result

    def _hits_sql(self, variants: list[list[str]], params: dict[str, Any]) -> str:
        """(id, word, w) for every entry and query word it matches, w the field's weight."""
        parts: list[str] = []
        for i, terms in enumerate(variants):
            if self._pg:
                names = []
                for j, term in enumerate(terms):
                    params[f"p{i}_{j}"] = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                    names.append(f":p{i}_{j}")
                for column, weight in (("search_keys", KEY_WEIGHT), ("search_about", ABOUT_WEIGHT)):
                    cond = " OR ".join(f"{column} LIKE {n}" for n in names)
                    parts.append(f"SELECT id, {i} AS word, {weight} AS w FROM experts WHERE {cond}")
            else:
                phrase = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
                for column, weight in (("keys", KEY_WEIGHT), ("about", ABOUT_WEIGHT)):
                    params[f"q{i}_{column}"] = f"{column} : ({phrase})"
                    parts.append(
                        f"SELECT rowid AS id, {i} AS word, {weight} AS w FROM experts_fts "
                        f"WHERE experts_fts MATCH :q{i}_{column}"
                    )
        return " UNION ALL ".join(parts)

    async def _known(self, word: str) -> bool:
        """Whether some entry uses a word containing this one."""
        if self._pg:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            found = await self.session.scalar(select(ExpertTerm.id).where(ExpertTerm.term.like(pattern)).limit(1))
        else:
            found = await self.session.scalar(
                text("SELECT rowid FROM expert_terms_fts WHERE expert_terms_fts MATCH :q LIMIT 1"),
                {"q": '"' + word.replace('"', '""') + '"'},
            )
        return found is not None

    async def _corrections(self, word: str) -> list[str]:
        """Words in use that are close to a misspelt one (best first)."""
        if self._pg:
            # The default threshold (0.6) misses e.g. "datenshutz" in "datenschutzrecht" (0.57);
            # rapidfuzz below has the last word anyway.
            await self.session.execute(text(f"SET LOCAL pg_trgm.word_similarity_threshold = {PG_WORD_SIMILARITY}"))
            rows = await self.session.execute(
                text(
                    "SELECT term FROM expert_terms WHERE :w <% term "
                    "ORDER BY word_similarity(:w, term) DESC, uses DESC LIMIT :n"
                ),
                {"w": word, "n": FUZZY_CANDIDATES},
            )
        else:
            grams = {word[i : i + 3] for i in range(len(word) - 2)}
            query = " OR ".join('"' + g.replace('"', '""') + '"' for g in sorted(grams))
            rows = await self.session.execute(
                text(
                    "SELECT term FROM expert_terms_fts WHERE expert_terms_fts MATCH :q "
                    "ORDER BY rank LIMIT :n"
                ),
                {"q": query, "n": FUZZY_CANDIDATES},
            )
        scored = []
        for (term,) in rows.all():
            scorer = fuzz.partial_ratio if len(term) > len(word) else fuzz.ratio
            score = scorer(word, term)
            if score >= FUZZY_MIN_SCORE:
                scored.append((score, term))
        scored.sort(key=lambda item: (-item[0], len(item[1])))
        return [term for _, term in scored[:FUZZY_KEEP]]

    # --- index maintenance -------------------------------------------------------------

    @staticmethod
    def _terms(expert: Expert) -> set[str]:
        return set(words(expert.search_keys)) | set(words(expert.search_about))

    async def _index(self, expert: Expert, old_terms: set[str]) -> None:
        new_terms = self._terms(expert)
        await self._change_terms(removed=old_terms - new_terms, added=new_terms - old_terms)
        if not self._pg:
            await self.session.execute(text("DELETE FROM experts_fts WHERE rowid = :id"), {"id": expert.id})
            await self.session.execute(
                text("INSERT INTO experts_fts (rowid, keys, about) VALUES (:id, :keys, :about)"),
                {"id": expert.id, "keys": expert.search_keys, "about": expert.search_about},
            )

    async def _change_terms(self, *, removed: set[str], added: set[str]) -> None:
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

    async def rebuild_index(self) -> None:
        """Recompute the vocabulary (and SQLite's FTS tables) from all entries: after a bulk load."""
        await self.session.execute(delete(ExpertTerm))
        if not self._pg:
            await self.session.execute(text("DELETE FROM expert_terms_fts"))
            await self.session.execute(text("DELETE FROM experts_fts"))
            await self.session.execute(
                text("INSERT INTO experts_fts (rowid, keys, about) SELECT id, search_keys, search_about FROM experts")
            )
        uses: dict[str, int] = {}
        rows = await self.session.execute(select(Expert.search_keys, Expert.search_about))
        for keys, about in rows.all():
            for term in set(words(keys)) | set(words(about)):
                uses[term] = uses.get(term, 0) + 1
        if uses:
            await self.session.execute(
                ExpertTerm.__table__.insert(), [{"id": i, "term": t, "uses": n} for i, (t, n) in enumerate(sorted(uses.items()), 1)]
            )
            if not self._pg:
                await self.session.execute(text("INSERT INTO expert_terms_fts (rowid, term) SELECT id, term FROM expert_terms"))
            else:
                await self.session.execute(text("SELECT setval(pg_get_serial_sequence('expert_terms', 'id'), (SELECT max(id) FROM expert_terms))"))
