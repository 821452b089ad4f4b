"""`mydata` and `forget me` over the personal-data registry (storage/personal.py): generic
statements per registered table, plus the expert directory's own bookkeeping (search index,
vocabulary, direct rooms) which a plain DELETE would leave behind."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import String, Table, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.experts import ExpertRepo
from storage.models import Base, OutboxRow
from storage.personal import ANONYMOUS, ERASED, PERSONAL

EXPORT_LIMIT = 500  # rows per table in an export (the newest); outbox copies can be many


def _patterns(user_id: str, names: list[str]) -> list[str]:
    """What the id and names look like inside stored text and JSON (escaped or not)."""
    found = {user_id}
    for name in names:
        found |= {name, json.dumps(name)[1:-1]}
    return sorted(found)


def _mentions(table: Table, columns: tuple[str, ...], patterns: list[str]) -> Any:
    clauses = [cast(table.c[col], String).contains(p, autoescape=True) for col in columns for p in patterns]
    return or_(*clauses)


def _plain(row: Any) -> dict[str, Any]:
    return {key: value for key, value in row._mapping.items()}


async def collect(session: AsyncSession, user_id: str, names: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every registered row about the user: by id column, or mentioning them in JSON/text."""
    patterns = _patterns(user_id, names)
    out: dict[str, list[dict[str, Any]]] = {}
    for table_name, entries in PERSONAL.tables.items():
        table = Base.metadata.tables[table_name]
        clauses = [table.c[col] == user_id for e in entries for col in e.user_columns]
        scanned = tuple(c for e in entries for c in e.json_columns + (e.name_columns if e.action == "scrub" else ()))
        if scanned:
            clauses.append(_mentions(table, scanned, patterns))
        if not clauses:
            continue
        order = list(table.primary_key.columns)
        stmt = select(table).where(or_(*clauses)).order_by(*[c.desc() for c in order]).limit(EXPORT_LIMIT)
        rows = [_plain(row) for row in (await session.execute(stmt)).all()]
        if rows:
            out[table_name] = rows
    return out


def _clean(value: Any, user_id: str, names: list[str]) -> Any:
    if isinstance(value, str):
        for needle in (user_id, *sorted(names, key=len, reverse=True)):
            value = value.replace(needle, ANONYMOUS)
        return value
    if isinstance(value, list):
        return [_clean(v, user_id, names) for v in value if v != user_id]
    if isinstance(value, dict):
        return {k: _clean(v, user_id, names) for k, v in value.items()}
    return value


async def _scrub(session: AsyncSession, table: Table, columns: tuple[str, ...], user_id: str, names: list[str]) -> int:
    pk = list(table.primary_key.columns)
    stmt = select(*pk, *[table.c[c] for c in columns]).where(_mentions(table, columns, _patterns(user_id, names)))
    changed = 0
    for row in (await session.execute(stmt)).all():
        key = {col.name: row._mapping[col.name] for col in pk}
        values = {c: _clean(row._mapping[c], user_id, names) for c in columns}
        await session.execute(update(table).where(*[table.c[k] == v for k, v in key.items()]).values(**values))
        changed += 1
    return changed


async def forget(session: AsyncSession, user_id: str, names: list[str]) -> dict[str, int]:
    """Erase the user: delete their rows, anonymise shared ones, scrub mentions. One transaction
    (the caller's). Returns the number of rows touched per table."""
    counts: Counter[str] = Counter()
    experts = ExpertRepo(session)
    names = list(names)
    person = await experts.of_user(user_id)
    if person is not None:
        names.append(person.name)
        await experts.delete(person)  # also its search rows and vocabulary
        counts["experts"] += 1
    for org in await experts.of_contact(user_id):
        org.contact_id, org.status, org.public = None, "pending", False  # unlisted until a new contact confirms
        await experts.listing_changed(org)
        counts["experts"] += 1
    direct = await experts.direct_rooms.of_user(user_id)
    if direct is not None:
        result = await session.execute(delete(OutboxRow).where(OutboxRow.room_id == direct))
        counts["outbox"] += result.rowcount or 0
    await session.flush()
    names = sorted({n for n in names if n and len(n) >= 3})
    for entry in PERSONAL.entries():
        table = Base.metadata.tables[entry.table]
        if entry.action == "delete" and entry.user_columns:
            cond = or_(*[table.c[c] == user_id for c in entry.user_columns])
            counts[entry.table] += (await session.execute(delete(table).where(cond))).rowcount or 0
        elif entry.action == "anonymise":
            for col in entry.user_columns:
                values: dict[str, Any] = {col: None if table.c[col].nullable else ANONYMOUS}
                values.update({n: None if table.c[n].nullable else ERASED for n in entry.name_columns})
                result = await session.execute(update(table).where(table.c[col] == user_id).values(**values))
                counts[entry.table] += result.rowcount or 0
        scanned = entry.json_columns + (entry.name_columns if entry.action == "scrub" else ())
        if scanned:
            counts[entry.table] += await _scrub(session, table, scanned, user_id, names)
    return {table: n for table, n in counts.items() if n}
