"""Ranking for the expert search (storage/experts.py ExpertRepo.search): the best few matches,
staged by proximity tier so that a common word does not rank all its thousands of entries.

Postings carry what ranking needs (weight, listed_at, lab, Bundesland, category), and three
indexes read them already in ranking order: (term, weight, listed_at DESC) for the network,
(term, lab, weight, listed_at DESC) and (term, Bundesland, weight, listed_at DESC).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

KEY_WEIGHT, CATEGORY_WEIGHT = 2, 2  # a word in name, category or skills; a named category
STAGED_MAX_TERMS = 64  # spellings of a word read one index range each; more: ranked in full


def _expanding(sql: str, names: list[str]) -> Any:
    """A text query whose list parameters (`IN :name`) are expanded."""
    return text(sql).bindparams(*[bindparam(name, expanding=True) for name in names if re.search(rf":{name}\b", sql)])


async def ranked_hits(session: AsyncSession, term_sets: list[list[int]], filters: list[str], params: dict[str, Any],
                  expanding: list[str], *, boost: bool, near_lab: int | None, near_state: str | None,
                  limit: int) -> list[tuple[int, int]]:
    """(entry id, relevance) of the best `limit` matches, staged by proximity tier (the
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
                        limit: int) -> list[tuple[int, int]]:
    """`ranked_hits` when a word has too many spellings to read by index range: each tier in
    full, until `limit` entries at the top relevance are found."""
    merged: list[tuple[int, int]] = []
    for tier in tiers:
        if sum(1 for _, relevance in merged if relevance >= top) >= limit:
            break
        merged.extend((await _aggregates(session, term_sets, [filters + tier], params, expanding, boost))[0])
    merged.sort(key=lambda hit: -hit[1])
    return merged[:limit]


async def _aggregates(session: AsyncSession, term_sets: list[list[int]], tiers: list[list[str]],
                      params: dict[str, Any], expanding: list[str], boost: bool) -> list[list[tuple[int, int]]]:
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
            f"SELECT {k} AS tier, expert_id, relevance, listed_at FROM (SELECT h.expert_id, {score} AS relevance, "
            f"h.listed_at FROM ({hits}) h ORDER BY relevance DESC, h.listed_at DESC, h.expert_id LIMIT :limit) a{k}"
        )
    sql = _expanding(" UNION ALL ".join(branches), expanding)
    rows = sorted((await session.execute(sql, params)).all(), key=lambda row: row[1])
    rows.sort(key=lambda row: row[3], reverse=True)
    rows.sort(key=lambda row: row[2], reverse=True)
    ranked: list[list[tuple[int, int]]] = [[] for _ in tiers]
    for tier, expert_id, relevance, _listed_at in rows:
        ranked[tier].append((expert_id, int(relevance)))
    return ranked


async def _top_tiers(session: AsyncSession, term_sets: list[list[int]], tiers: list[list[str]],
                     params: dict[str, Any], expanding: list[str], boost: bool, top: int,
                     limit: int) -> list[list[tuple[int, int]]] | None:
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
    for j, term_id in enumerate(term_sets[drive]):
        local[f"d{j}"] = term_id
    parts = []
    for k, filters in enumerate(tiers):
        where = " AND ".join(filters + conditions)
        for j in range(len(term_sets[drive])):
            parts.append(f"SELECT {k} AS tier, expert_id, listed_at FROM (SELECT expert_id, listed_at "
                         f"FROM expert_postings WHERE term_id = :d{j} AND {where} "
                         f"ORDER BY listed_at DESC, expert_id LIMIT :limit) s{k}_{j}")
    sql = _expanding(" UNION ALL ".join(parts), expanding)
    found: list[dict[int, Any]] = [{} for _ in tiers]
    for tier, expert_id, listed_at in (await session.execute(sql, local)).all():
        found[tier][expert_id] = listed_at
    staged = []
    for rows in found:
        ranked = sorted(rows.items(), key=lambda item: item[0])
        ranked.sort(key=lambda item: item[1], reverse=True)
        staged.append([(expert_id, top) for expert_id, _ in ranked[:limit]])
    return staged
