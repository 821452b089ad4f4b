"""The staged search (storage/expert_ranking.py) gives the same five as ranking
every match: relevance, then the asker's lab, Bundesland, network, then recency, then id."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

import storage.experts
from storage import Database
from storage.expert_ranking import CATEGORY_WEIGHT
from storage.experts import ExpertRepo, words
from storage.models import Lab

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=212)
LAB_STATES = {1: "SN", 2: "SN", 3: "NW"}
SKILLS = ["Datenschutzrecht", "Datenschutzberatung", "Vergaberecht", "Open-Datarecht", "Open Source", "Python",
          "Klimastrategie", "Europarecht", "Gewaltschutz"]
ABOUT = ["Ich helfe bei {a}.", "Auch {a} und {b}.", "Nichts weiter."]
QUERIES = [(["datenschutz"], []), (["recht"], []), (["open", "data"], []), (["europarecht"], ["lawyer"]),
           (["python", "klima"], ["developer"]), ([], ["designer"]), (["gewaltschutz", "open"], [])]
PLACES = [(1, "SN"), (3, "NW"), (None, "SN"), (None, None), (2, "SN")]


def reference(rows: list[dict], query: list[str], boost: list[str], near_lab: int | None,
              near_state: str | None) -> list[tuple[int, int]]:
    ranked = []
    for row in rows:
        if row["status"] != "active":
            continue
        weights = ExpertRepo._weights(row["search_keys"], row["search_about"])
        if query:
            per_word = [max((w for term, w in weights.items() if word in term), default=0) for word in query]
            relevance = sum(per_word)
            if not relevance:
                continue
        else:  # a category alone: its entries only
            if row["category"] not in boost:
                continue
            relevance = weights[row["category"]]
        relevance += CATEGORY_WEIGHT if row["category"] in boost else 0
        in_lab = near_lab is not None and row["lab_id"] == near_lab
        tier = 0 if in_lab else 1 if near_state is not None and row["state"] == near_state else 2
        ranked.append((-relevance, tier, -row["confirmed_at"].timestamp(), row["id"], relevance))
    return [(r[3], r[4]) for r in sorted(ranked)[:5]]


async def test_staged_search_ranks_like_ranking_every_match(db: Database) -> None:
    await _ranks_like_ranking_every_match(db)


async def test_search_through_the_database_trigram_indexes_ranks_the_same(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vocabulary too large to hold in memory is searched through FTS5 / pg_trgm instead."""
    monkeypatch.setattr(storage.experts, "MAX_TERMS", 0)
    await _ranks_like_ranking_every_match(db)
    async with db.transaction() as store:
        result = await store.experts.search(["datenshutzrecht"], listed_since=SINCE)  # a typo, corrected
        assert result.hits and result.corrected == {"datenshutzrecht": ["datenschutzrecht"]}
        assert await store.experts._vocabulary() is None


async def _ranks_like_ranking_every_match(db: Database) -> None:
    rng = random.Random(7)
    async with db.transaction() as store:
        await store.session.execute(insert(Lab), [
            {"id": i, "slug": f"ogl-{i}", "name": f"OGL {i}", "city": "Stadt", "state": state, "level": "kommune",
             "timezone": "Europe/Berlin", "created_by": "@admin:example.org", "created_at": NOW}
            for i, state in LAB_STATES.items()])
        rows = []
        for i in range(160):
            lab_id = rng.choice([1, 2, 3, None])
            skills = ", ".join(rng.sample(SKILLS, rng.randint(1, 3)))
            about = rng.choice(ABOUT).format(a=rng.choice(SKILLS), b=rng.choice(SKILLS))
            category = rng.choice(["lawyer", "designer", "developer"])
            confirmed = NOW - timedelta(days=rng.randint(0, 20))  # ties in recency are common
            expert = await store.experts.create(
                now=NOW, keys=f"Person {i} {category} {skills}", kind="person", user_id=f"@p{i}:example.org",
                name=f"Person {i}", category=category, skills=skills, about=about, lab_id=lab_id,
                state=LAB_STATES.get(lab_id) or rng.choice(["SN", "NW", "BY", None]),
                status="active" if rng.random() < 0.9 else "pending", confirmed_at=confirmed,
                consented_at=confirmed)
            rows.append({"id": expert.id, "search_keys": expert.search_keys, "search_about": expert.search_about,
                         "status": expert.status, "category": category, "lab_id": expert.lab_id,
                         "state": expert.state, "confirmed_at": confirmed})
        assert all(words(r["search_keys"]) for r in rows)
    checked = 0
    for query, boost in QUERIES:
        for near_lab, near_state in PLACES:
            async with db.transaction() as store:
                result = await store.experts.search(query, listed_since=SINCE, boost_categories=boost,
                                                    near_lab=near_lab, near_state=near_state)
                got = [(e.id, relevance) for e, relevance in result.hits]
            assert got == reference(rows, query, boost, near_lab, near_state), (query, boost, near_lab, near_state)
            checked += 1
    assert checked == len(QUERIES) * len(PLACES)
    async with db.transaction() as store:  # the entries are really there (not an empty comparison)
        assert len((await store.session.execute(select(Lab.id))).all()) == 3


async def _add(store, i: int, skills: str) -> int:  # noqa: ANN001
    expert = await store.experts.create(
        now=NOW, keys=f"Person {i} lawyer {skills}", kind="person", user_id=f"@v{i}:example.org", name=f"Person {i}",
        category="lawyer", skills=skills, about="", status="active", confirmed_at=NOW, consented_at=NOW)
    return expert.id


async def _found(db: Database, word: str) -> list[int]:
    async with db.transaction() as store:
        result = await store.experts.search([word], listed_since=SINCE)
        return [e.id for e, _ in result.hits]


async def test_vocabulary_in_memory_follows_commits_and_rollbacks(db: Database) -> None:
    """The vocabulary is cached per database: a word added later is found after its commit,
    a transaction finds its own new words before it commits, and a rolled-back word is gone."""
    async with db.transaction() as store:
        first = await _add(store, 1, "Vergaberecht")
    assert await _found(db, "vergabe") == [first]
    assert await _found(db, "kinderschutz") == []  # the cached vocabulary has no such word yet
    async with db.transaction() as store:
        second = await _add(store, 2, "Kinderschutz")
    assert await _found(db, "kinderschutz") == [second]
    assert await _found(db, "kinderschuz") == [second]  # a typo, corrected from the new word

    class Undo(Exception):
        pass

    try:
        async with db.transaction() as store:
            third = await _add(store, 3, "Gewaltschutz")
            result = await store.experts.search(["gewaltschutz"], listed_since=SINCE)
            assert [e.id for e, _ in result.hits] == [third]  # its own, uncommitted word
            raise Undo
    except Undo:
        pass
    assert await _found(db, "gewaltschutz") == []
    async with db.transaction() as store:
        await store.experts.delete(await store.experts.get(second))
    assert await _found(db, "kinderschutz") == []
