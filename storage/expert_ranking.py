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
    `limit`; only when fewer exist is the tier ranked in full. A later tier is not read once
    `limit` entries at the top relevance are found. The result is the same as ranking every
    match by relevance, tier, recency, id."""
    top = KEY_WEIGHT * len(term_sets) + (CATEGORY_WEIGHT if boost else 0)
    not_lab = "(lab_id IS NULL OR lab_id <> :near_lab)"
    not_state = "(state IS NULL OR state <> :near_state)"
    tiers = []
    if near_lab is not None:
        tiers.append(["lab_id = :near_lab"])
    if near_state is not None:
        tiers.append(["state = :near_state", not_lab])
    tiers.append([not_lab, not_state])
    merged: list[tuple[int, int]] = []
    for tier in tiers:
        if sum(1 for _, relevance in merged if relevance >= top) >= limit:
            break
        found = await _top_tier(session, term_sets, filters + tier, params, expanding, boost, top, limit)
        if found is None or len(found) < limit:
            found = await _aggregate(session, term_sets, filters + tier, params, expanding, boost)
        merged.extend(found)
    # Each tier is in order (relevance, recency, id): a stable sort by relevance keeps tiers in order.
    merged.sort(key=lambda hit: -hit[1])
    return merged[:limit]


async def _aggregate(session: AsyncSession, term_sets: list[list[int]], filters: list[str], params: dict[str, Any],
                     expanding: list[str], boost: bool) -> list[tuple[int, int]]:
    """Every match under these filters, ranked: relevance, recency, id."""
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
    sql = _expanding(
        f"SELECT h.expert_id, {score} AS relevance FROM ({hits}) h "
        "ORDER BY relevance DESC, h.listed_at DESC, h.expert_id LIMIT :limit", expanding
    )
    return [(row[0], int(row[1])) for row in (await session.execute(sql, params)).all()]


async def _top_tier(session: AsyncSession, term_sets: list[list[int]], filters: list[str], params: dict[str, Any],
                    expanding: list[str], boost: bool, top: int, limit: int) -> list[tuple[int, int]] | None:
    """The most recently confirmed entries at the top relevance: one index range per word of
    the rarest query word (each stopped after `limit`), the other words checked per entry.
    None when that word has too many spellings to read one by one."""
    drive = min(range(len(term_sets)), key=lambda i: len(term_sets[i]))
    if len(term_sets[drive]) > STAGED_MAX_TERMS:
        return None
    conditions = filters + ["weight = :key_weight"]
    for i in range(len(term_sets)):
        if i != drive:
            conditions.append(f"EXISTS (SELECT 1 FROM expert_postings q WHERE q.term_id IN :t{i} "
                              "AND q.expert_id = expert_postings.expert_id AND q.weight = :key_weight)")
    if boost:
        conditions.append("category IN :boost")
    where = " AND ".join(conditions)
    parts = []
    local = dict(params, key_weight=KEY_WEIGHT)
    for j, term_id in enumerate(term_sets[drive]):
        local[f"d{j}"] = term_id
        parts.append(f"SELECT * FROM (SELECT expert_id, listed_at FROM expert_postings WHERE term_id = :d{j} "
                     f"AND {where} ORDER BY listed_at DESC, expert_id LIMIT :limit) s{j}")
    sql = _expanding(" UNION ALL ".join(parts), expanding)
    rows = {row[0]: row[1] for row in (await session.execute(sql, local)).all()}
    ranked = sorted(rows.items(), key=lambda item: item[0])
    ranked.sort(key=lambda item: item[1], reverse=True)
    return [(expert_id, top) for expert_id, _ in ranked[:limit]]
