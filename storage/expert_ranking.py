"""Ranking for the expert search (storage/experts.py ExpertRepo.search): the best few matches,
staged by proximity tier so that a common word does not rank all its thousands of entries.

Postings carry what ranking needs (weight, listed_at, lab, Bundesland, category), and three
indexes read them already in ranking order: (term, weight, listed_at DESC) for the network,
(term, lab, weight, listed_at DESC) and (term, Bundesland, weight, listed_at DESC). The
statements that pick the few entries also read what is shown of them (`Listed`), so a search
needs no further round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, column, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_experts import Expert

KEY_WEIGHT, CATEGORY_WEIGHT = 2, 2  # a word in name, category or skills; a named category
STAGED_MAX_TERMS = 64  # spellings of a word read one index range each; more: ranked in full


@dataclass(frozen=True)
class Listed:
    """An entry as a search shows it (a snapshot; changes go through ExpertRepo)."""

    id: int
    kind: str
    user_id: str | None
    contact_id: str | None
    name: str
    category: str
    skills: str
    languages: str
    about: str | None
    lab_id: int | None
    state: str | None
    public: bool
    confidential: bool
    accepts_requests: bool
    status: str
    confirmed_at: datetime | None


ENTRY_COLUMNS = tuple(name for name in Listed.__dataclass_fields__ if name != "id")
ENTRY_SQL = ", ".join(f"e.{name}" for name in ENTRY_COLUMNS)
Hit = tuple[int, int, Listed]  # (entry id, relevance, entry)


_STATEMENTS: dict[tuple[str, tuple[str, ...], bool], Any] = {}  # a search's statement shapes are few
_STATEMENTS_MAX = 512


def _statement(sql: str, names: list[str], postgres: bool) -> Any:
    """A text query with list parameters (`IN :name`), whose rows are (tier, entry id,
    relevance, listed_at, ENTRY_COLUMNS…), typed as the tables are. SQLite expands a list
    into one parameter per item; PostgreSQL takes it as one array (`= ANY(:name)`), so the
    text, its prepared statement and its plan do not change with the number of words found.
    Built once per shape: parsing the text costs more than running it."""
    key = (sql, tuple(names), postgres)
    statement = _STATEMENTS.get(key)
    if statement is None:
        table = Expert.__table__.c
        present = [name for name in names if re.search(rf":{name}\b", sql)]
        if postgres:
            for name in present:
                sql = re.sub(rf"IN :{name}\b", f"= ANY(:{name})", sql)
            statement = text(sql)
        else:
            statement = text(sql).bindparams(*[bindparam(name, expanding=True) for name in present])
        statement = statement.columns(
            column("tier", Integer), column("expert_id", Integer), column("relevance", Integer),
            column("listed_at", table.confirmed_at.type), *[column(name, table[name].type) for name in ENTRY_COLUMNS]
        )
        if len(_STATEMENTS) >= _STATEMENTS_MAX:
            _STATEMENTS.clear()
        _STATEMENTS[key] = statement
    return statement


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def ranked_rows(session: AsyncSession, sql: str, params: dict[str, Any], expanding: list[str],
                      tiers: int) -> list[list[Hit]]:
    """Run a statement of `_statement`'s shape: per tier, its hits in ranking order
    (relevance, recency, id)."""
    statement = _statement(sql, expanding, is_postgres(session))
    rows = sorted((await session.execute(statement, params)).all(), key=lambda row: row[1])
    rows.sort(key=lambda row: row[3], reverse=True)
    rows.sort(key=lambda row: row[2], reverse=True)
    ranked: list[list[Hit]] = [[] for _ in range(tiers)]
    for row in rows:
        ranked[row[0]].append((row[1], int(row[2]), Listed(row[1], *row[4:])))
    return ranked


async def ranked_hits(session: AsyncSession, term_sets: list[list[int]], filters: list[str], params: dict[str, Any],
                  expanding: list[str], *, boost: bool, near_lab: int | None, near_state: str | None,
                  limit: int) -> list[Hit]:
    """(entry id, relevance, entry) of the best `limit` matches, staged by proximity tier (the
    asker's lab, their Bundesland, the rest of the network) so that a common word does not
    rank its thousands of entries. In each tier, first only the top relevance (every word
    in name, category or skills, and a named category), read in order of confirmation
    through an index (term, [lab | Bundesland,] weight, listed_at DESC) and stopped after
    `limit`; only when fewer exist is the tier ranked in full. A later tier is not ranked once
    `limit` entries at the top relevance are found. The result is the same as ranking every
    match by relevance, tier, recency, id. At most two statements: the top of every tier
    (a few index rows each), then the tiers to rank in full, together."""
    top = KEY_WEIGHT * len(term_sets) + (CATEGORY_WEIGHT if boost else 0)
    not_lab = "(lab_id IS NULL OR lab_id <> :near_lab)"
    not_state = "(state IS NULL OR state <> :near_state)"
    tiers = []
    if near_lab is not None:
        tiers.append(["lab_id = :near_lab"])
    if near_state is not None:
        tiers.append(["state = :near_state", not_lab])
    tiers.append([not_lab, not_state])
    staged = await _top_tiers(session, term_sets, [filters + tier for tier in tiers], params, expanding, boost, top,
                              limit)
    if staged is None:
        return await _tier_by_tier(session, term_sets, filters, tiers, params, expanding, boost, top, limit)
    # A tier's top-relevance entries are all in `staged` when fewer than `limit`: the tiers to
    # read are known without ranking any, and those to rank in full are ranked in one statement.
    read, full, at_top = [], [], 0
    for index, found in enumerate(staged):
        if at_top >= limit:
            break
        read.append(index)
        if len(found) < limit:
            full.append(index)
        at_top += len(found)
    ranked = await _aggregates(session, term_sets, [filters + tiers[i] for i in full], params, expanding, boost)
    merged = [hit for index in read for hit in (ranked[full.index(index)] if index in full else staged[index])]
    # Each tier is in order (relevance, recency, id): a stable sort by relevance keeps tiers in order.
    merged.sort(key=lambda hit: -hit[1])
    return merged[:limit]


async def _tier_by_tier(session: AsyncSession, term_sets: list[list[int]], filters: list[str], tiers: list[list[str]],
                        params: dict[str, Any], expanding: list[str], boost: bool, top: int,
                        limit: int) -> list[Hit]:
    """`ranked_hits` when a word has too many spellings to read by index range: each tier in
    full, until `limit` entries at the top relevance are found."""
    merged: list[Hit] = []
    for tier in tiers:
        if sum(1 for _, relevance, _entry in merged if relevance >= top) >= limit:
            break
        merged.extend((await _aggregates(session, term_sets, [filters + tier], params, expanding, boost))[0])
    merged.sort(key=lambda hit: -hit[1])
    return merged[:limit]


async def _aggregates(session: AsyncSession, term_sets: list[list[int]], tiers: list[list[str]],
                      params: dict[str, Any], expanding: list[str], boost: bool) -> list[list[Hit]]:
    """Every match under each tier's filters, ranked (relevance, recency, id), the first
    `limit` of each: one statement for all tiers."""
    if not tiers:
        return []
    branches = []
    for k, filters in enumerate(tiers):
        parts = []
        for i in range(len(term_sets)):
            parts.append(
                "SELECT expert_id, MAX(weight) AS w, MAX(listed_at) AS listed_at, "
                "MAX(category) AS category FROM expert_postings "
                f"WHERE term_id IN :t{i} AND {' AND '.join(filters)} GROUP BY expert_id"
            )
        if len(parts) == 1:
            hits = parts[0]
        else:
            hits = ("SELECT expert_id, SUM(w) AS w, MAX(listed_at) AS listed_at, MAX(category) AS category "
                    f"FROM ({' UNION ALL '.join(parts)}) u GROUP BY expert_id")
        score = "h.w"
        if boost:
            score += f" + CASE WHEN h.category IN :boost THEN {CATEGORY_WEIGHT} ELSE 0 END"
        branches.append(
            f"SELECT {k} AS tier, a.expert_id, a.relevance, a.listed_at, {ENTRY_SQL} FROM (SELECT h.expert_id, "
            f"{score} AS relevance, h.listed_at FROM ({hits}) h "
            f"ORDER BY relevance DESC, h.listed_at DESC, h.expert_id LIMIT :limit) a JOIN experts e ON e.id = a.expert_id"
        )
    return await ranked_rows(session, " UNION ALL ".join(branches), params, expanding, len(tiers))


async def _top_tiers(session: AsyncSession, term_sets: list[list[int]], tiers: list[list[str]],
                     params: dict[str, Any], expanding: list[str], boost: bool, top: int,
                     limit: int) -> list[list[Hit]] | None:
    """Per tier, the most recently confirmed entries at the top relevance (at most `limit`):
    one index range per spelling of the rarest query word (each stopped after `limit`), the
    other words checked per entry; all tiers in one statement. None when that word has too
    many spellings to read one by one."""
    drive = min(range(len(term_sets)), key=lambda i: len(term_sets[i]))
    if len(term_sets[drive]) > STAGED_MAX_TERMS:
        return None
    conditions = ["weight = :key_weight"]
    for i in range(len(term_sets)):
        if i != drive:
            conditions.append(f"EXISTS (SELECT 1 FROM expert_postings q WHERE q.term_id IN :t{i} "
                              "AND q.expert_id = expert_postings.expert_id AND q.weight = :key_weight)")
    if boost:
        conditions.append("category IN :boost")
    local = dict(params, key_weight=KEY_WEIGHT)
    postgres = is_postgres(session)
    if postgres:
        local["drive"] = term_sets[drive]
    else:
        for j, term_id in enumerate(term_sets[drive]):
            local[f"d{j}"] = term_id
    branches = []
    for k, filters in enumerate(tiers):
        where = " AND ".join(filters + conditions)
        if postgres:  # one statement text for any number of spellings
            ranges = (
                "SELECT s.expert_id, s.listed_at FROM unnest(CAST(:drive AS integer[])) AS d(term_id) CROSS JOIN "
                f"LATERAL (SELECT expert_id, listed_at FROM expert_postings WHERE term_id = d.term_id AND {where} "
                "ORDER BY listed_at DESC, expert_id LIMIT :limit) s"
            )
        else:
            ranges = " UNION ALL ".join(
                f"SELECT * FROM (SELECT expert_id, listed_at FROM expert_postings WHERE term_id = :d{j} AND {where} "
                f"ORDER BY listed_at DESC, expert_id LIMIT :limit) s{j}"
                for j in range(len(term_sets[drive]))
            )
        # An entry found through two spellings is one hit; the newest `limit` of the tier.
        branches.append(
            f"SELECT {k} AS tier, t.expert_id, {top} AS relevance, t.listed_at, {ENTRY_SQL} FROM (SELECT expert_id, "
            f"MAX(listed_at) AS listed_at FROM ({ranges}) r{k} GROUP BY expert_id "
            f"ORDER BY MAX(listed_at) DESC, expert_id LIMIT :limit) t JOIN experts e ON e.id = t.expert_id"
        )
    return await ranked_rows(session, " UNION ALL ".join(branches), local, expanding, len(tiers))
