"""`expert find` with 100,000 entries: handler time through the real dispatcher on SQLite and
PostgreSQL, next to a naive `LIKE '%…%'` scan of the same data in the same run.

The entries are generated (seeded): German names, one of the categories, two to four skills
from a pool of compound words (Datenschutzrecht, Vergabeverfahren, …), an about sentence, one
of 100 labs in the 16 Bundesländer. Queries mix chat questions with filler words, compounds
found by a part ("datenschutz"), misspelt words and category words. The naive scan answers the
same exact words (it cannot correct typos) with the same ranking, but without any index.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, text

from bench import Context, database, ratio, summary
from storage import Database
from storage.experts import ExpertRepo, fold
from storage.models import Lab, LabRoom

NAME = "experts"
SEED = 5
ENTRIES = 100_000
QUICK_ENTRIES = 10_000
SAMPLES, QUICK_SAMPLES = 300, 60
WARMUP = 20
TARGET_P95_MS = 15.0
PG_ENV = "LABNETZ_TEST_DATABASE_URL"
CLOCK = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ASKER = "@frage:example.org"
STATES = ["BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH"]
CATEGORIES = ["lawyer", "designer", "domain", "social", "foundation", "developer"]
FIRST = ["Anna", "Ben", "Clara", "David", "Elif", "Finn", "Greta", "Hannes", "Ida", "Jonas", "Kemal", "Lea",
         "Mara", "Niklas", "Olga", "Paul", "Rosa", "Sami", "Tilda", "Uwe", "Vera", "Wolf", "Yara", "Zoe"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
        "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Yilmaz", "Kowalski", "Braun", "Krüger"]
STEMS = ["Datenschutz", "Vergabe", "Verwaltungs", "Sozial", "Bau", "Umwelt", "Stadtentwicklungs", "Förder",
         "Barrierefreiheits", "Open-Data", "Beteiligungs", "Haushalts", "Personal", "Digitalisierungs",
         "Mobilitäts", "Energie", "Bildungs", "Gesundheits", "Kultur", "Wirtschafts", "Klima", "Jugend",
         "Migrations", "Ehrenamts", "Wohnungs", "Steuer", "Arbeits", "Familien", "Medien", "Agrar"]
ENDS = ["recht", "verfahren", "beratung", "planung", "management", "konzept", "strategie", "politik",
        "forschung", "prüfung", "gestaltung", "programm", "netzwerk", "analyse", "kommunikation"]
EXTRA = ["UX-Design", "Python", "Django", "Service Design", "Barrierefreiheit", "Moderation", "Design Thinking",
         "Open Source", "Fundraising", "Lebensmittelrettung", "Gewaltschutz", "Kinderschutz", "Pflege",
         "Geodaten", "Statistik", "Projektmanagement", "Kommunalrecht", "Europarecht", "IT-Sicherheit"]
ABOUT = ["Ich helfe gern bei Fragen zu {a} und {b}.", "Seit Jahren in {a} tätig, auch {b}.",
         "Ansprechperson für {a} in der Verwaltung.", "Berate Initiativen zu {a}; Schwerpunkt {b}."]
QUERIES = [
    "!wer kennt sich mit Datenschutz aus", "!wer Vergaberecht", "!experte suchen Barrierefreiheit",
    "!wer gibt es jemand für Fördermittel", "!wer who knows about UX", "!experte suchen Datenshutz",
    "!wer Vergaberehct", "!wer kennt sich mit Kommunalrecht aus", "!wer Stadtentwicklungsplanung",
    "!experte suchen Lebensmittelrettung", "!wer ist Anwalt für Europarecht", "!wer Klimastrategie",
    "!wer Beteiligungsverfahren", "!wer Open Data", "!wer hat Erfahrung mit Python", "!wer Gewaltschutz",
    "!experte suchen Haushaltsprüfung", "!wer Mobilitätskonzept",
]


def question(body: str) -> str:
    """The search text of a command body."""
    for command in ("!experte suchen ", "!wer "):
        if body.startswith(command):
            return body[len(command):]
    return body


def entries(rng: random.Random, n: int, lab_states: list[tuple[int, str]]) -> list[dict[str, Any]]:
    from commands.categories import DEFAULT_SETTINGS

    out = []
    for i in range(n):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        category = rng.choice(CATEGORIES)
        skills = [rng.choice(STEMS) + rng.choice(ENDS) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.4:
            skills.append(rng.choice(EXTRA))
        about = rng.choice(ABOUT).format(a=rng.choice(STEMS) + rng.choice(ENDS), b=rng.choice(EXTRA))
        lab_id, state = rng.choice(lab_states)
        confirmed = CLOCK - timedelta(days=rng.randint(0, 200))
        keys = " ".join((name, DEFAULT_SETTINGS.by_key(category).search_text(), ", ".join(skills)))
        out.append({
            "kind": "person", "user_id": f"@e{i}:example.org", "name": name, "category": category,
            "skills": ", ".join(skills), "languages": "de", "about": about, "lab_id": lab_id, "state": state,
            "public": False, "confidential": False, "accepts_requests": True,
            "status": "active" if rng.random() < 0.97 else "pending", "created_by": f"@e{i}:example.org",
            "created_at": confirmed, "updated_at": confirmed, "consented_at": confirmed, "confirmed_at": confirmed,
            "search_keys": fold(keys), "search_about": fold(about),
        })
    return out


async def seed(db: Database, n: int) -> dict[str, Any]:
    rng = random.Random(SEED)
    async with db.transaction() as store:
        labs = [{"slug": f"ogl-{i}", "name": f"OGL {i}", "city": f"Stadt {i}", "state": STATES[i % 16],
                 "level": "kommune", "timezone": "Europe/Berlin", "created_by": "@admin:example.org", "created_at": CLOCK}
                for i in range(100)]
        await store.session.execute(insert(Lab), labs)
        ids = [(row[0], row[1]) for row in (await store.session.execute(text("SELECT id, state FROM labs ORDER BY id"))).all()]
        await store.session.execute(insert(LabRoom).values(room_id="!lab0:example.org", lab_id=ids[0][0],
                                                           linked_by="@admin:example.org", linked_at=CLOCK))
    t0 = time.perf_counter()
    rows = entries(rng, n, ids)
    for i, row in enumerate(rows, 1):
        row["id"] = i
    # The secondary indexes (three covering ones on the postings) are built once after the
    # load instead of row by row, from the migration's own DDL as the database reports it.
    indexes = await secondary_indexes(db, ("experts", "expert_postings"))
    await run_ddl(db, [f"DROP INDEX {name}" for name in indexes])
    await bulk_insert(db, "experts", rows)
    # The repository's own index rows, written in bulk (ExpertRepo.rebuild_index does the same
    # through SQLAlchemy, a few minutes for 1.5 million postings).
    terms, postings = ExpertRepo.index_rows([SimpleNamespace(**row) for row in rows])
    await bulk_insert(db, "expert_terms", terms)
    # In primary key order, so the key's B-tree (the table itself on SQLite) grows at its end;
    # on PostgreSQL the foreign keys are checked once for all rows instead of per row.
    postings.sort(key=lambda p: (p["term_id"], p["expert_id"]))
    keys = await foreign_keys(db, "expert_postings")
    await run_ddl(db, [f"ALTER TABLE expert_postings DROP CONSTRAINT {name}" for name in keys])
    await bulk_insert(db, "expert_postings", postings)
    await run_ddl(db, [f"ALTER TABLE expert_postings ADD CONSTRAINT {name} {ddl}" for name, ddl in keys.items()]
                  + list(indexes.values()))
    assert await secondary_indexes(db, ("experts", "expert_postings")) == indexes, "schema differs after the load"
    assert await foreign_keys(db, "expert_postings") == keys, "schema differs after the load"
    async with db.transaction() as store:
        await store.experts.indexed_terms()
        count = (await store.session.execute(text("SELECT count(*) FROM expert_terms"))).scalar()
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
        else:  # VACUUM sets the visibility map, so the covering index is read without the table
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE"))
    terms = count
    return {"entries": n, "vocabulary": terms, "seed_seconds": round(time.perf_counter() - t0, 1)}


async def secondary_indexes(db: Database, tables: tuple[str, ...]) -> dict[str, str]:
    """Name -> CREATE INDEX statement of the tables' indexes other than primary keys and
    unique constraints, as the database itself reports them."""
    if db.is_sqlite:
        sql = ("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
               "AND tbl_name IN :tables ORDER BY name")
    else:
        sql = ("SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname "
               "JOIN pg_index x ON x.indexrelid = c.oid WHERE i.tablename IN :tables AND NOT x.indisunique "
               "ORDER BY i.indexname")
    async with db.engine.connect() as conn:
        rows = await conn.execute(text(sql).bindparams(bindparam("tables", expanding=True)), {"tables": list(tables)})
        return {name: ddl for name, ddl in rows.all()}


async def foreign_keys(db: Database, table: str) -> dict[str, str]:
    """PostgreSQL: name -> definition of the table's foreign keys (SQLite: none to drop, it
    cannot drop constraints, and checks them cheaply)."""
    if db.is_sqlite:
        return {}
    async with db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                       "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' ORDER BY conname"),
                                  {"t": table})
        return {name: ddl for name, ddl in rows.all()}


async def run_ddl(db: Database, statements: list[str]) -> None:
    async with db.engine.begin() as conn:
        if not db.is_sqlite:  # sort an index in memory rather than on disk
            await conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for statement in statements:
            await conn.execute(text(statement))


async def bulk_insert(db: Database, table: str, rows: list[dict[str, Any]]) -> None:
    """Seed fast: the driver's executemany (SQLite) or COPY (PostgreSQL), not the ORM."""
    columns = list(rows[0])
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        if db.is_sqlite:
            marks = ", ".join("?" for _ in columns)
            values = [tuple(v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v for v in (r[c] for c in columns))
                      for r in rows]
            await driver.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values)
            await driver.commit()
        else:
            await driver.copy_records_to_table(table, records=[tuple(r[c] for c in columns) for r in rows],
                                               columns=columns)


NAIVE = """
SELECT id, score FROM (
  SELECT id, lab_id, state, confirmed_at, {score} AS score FROM experts
  WHERE status = 'active' AND confirmed_at >= :since
) s WHERE score > 0
ORDER BY score DESC, CASE WHEN lab_id = :lab THEN 0 WHEN state = :state THEN 1 ELSE 2 END, confirmed_at DESC, id
LIMIT 5
"""


async def naive(db: Database, words: list[str], lab_id: int, state: str) -> float:
    """The same exact words and ranking as a plain scan: lower(...) LIKE '%word%' on every row (ms)."""
    parts, params = [], {"since": CLOCK - timedelta(days=212), "lab": lab_id, "state": state}
    for i, word in enumerate(words):
        params[f"w{i}"] = f"%{word}%"
        parts.append(f"(CASE WHEN lower(name) LIKE :w{i} OR lower(skills) LIKE :w{i} THEN 2 "
                     f"WHEN lower(about) LIKE :w{i} THEN 1 ELSE 0 END)")
    sql = text(NAIVE.format(score=" + ".join(parts) or "0"))
    async with db.transaction() as store:
        t0 = time.perf_counter()
        await store.session.execute(sql, params)
        return (time.perf_counter() - t0) * 1000


async def search_only(db: Database, words: list[str], lab_id: int, state: str) -> float:
    async with db.transaction() as store:
        t0 = time.perf_counter()
        await store.experts.search(words, listed_since=CLOCK - timedelta(days=212), near_lab=lab_id, near_state=state)
        return (time.perf_counter() - t0) * 1000


async def measure(ctx: Context, kind: str, n: int, samples: int) -> dict[str, Any]:
    from commands.categories import DEFAULT_SETTINGS, parse_query
    from commands.context import FixedClock
    from tests.unit.commandkit import Chat

    async with database(kind, ctx, NAME) as url:
        db = Database(url)
        await db.migrate()
        try:
            ctx.log(f"{kind}: seeding {n:,} entries")
            seeded = await seed(db, n)
            ctx.log(f"{kind}: seeded in {seeded['seed_seconds']} s, {seeded['vocabulary']:,} words")
            chat = Chat(db, FixedClock(CLOCK))
            chat.state.join("!lab0:example.org", ASKER)
            bodies = [QUERIES[i % len(QUERIES)] for i in range(WARMUP + samples)]
            handler, hits = [], []
            per_query: dict[str, list[float]] = {}
            cpu: list[float] = []
            for i, body in enumerate(bodies):
                t0, c0 = time.perf_counter(), time.process_time()
                outcome = await chat.send(body, sender=ASKER, room="!lab0:example.org")
                elapsed = (time.perf_counter() - t0) * 1000
                cpu_ms = (time.process_time() - c0) * 1000
                assert outcome.result == "ok", outcome
                if i >= WARMUP:
                    handler.append(elapsed)
                    cpu.append(cpu_ms)
                    per_query.setdefault(body, []).append(elapsed)
                    body_text = (await chat.reply_of(outcome))["body"]
                    hits.append("Treffer" in body_text)
            database_path = await database_index_path(url, bodies)
            lab_id, state = 1, STATES[0]
            exact = [parse_query(question(q), DEFAULT_SETTINGS).words for q in QUERIES]
            exact = [w for w in exact if w]
            search_ms, naive_ms = [], []
            for i in range(samples):
                words = exact[i % len(exact)]
                search_ms.append(await search_only(db, words, lab_id, state))
                naive_ms.append(await naive(db, words, lab_id, state))
            matches = {}
            async with db.transaction() as store:
                for q in QUERIES:
                    words = parse_query(question(q), DEFAULT_SETTINGS).words
                    found = set()
                    for word in words:
                        for term_id in await store.experts._containing(word):
                            rows = await store.session.execute(
                                text("SELECT expert_id FROM expert_postings WHERE term_id = :t"), {"t": term_id})
                            found.update(r[0] for r in rows.all())
                    matches[q] = len(found)
            return {
                "seed": seeded, "handler": summary(handler), "handler_cpu": summary(cpu), "search": summary(search_ms),
                "handler_database_index": summary(database_path),
                "naive": summary(naive_ms),
                "queries_with_matches": round(sum(hits) / len(hits), 3),
                "per_query": {body: {"p50_ms": summary(times)["p50"], "entries_matching": matches.get(body)}
                              for body, times in per_query.items()},
            }
        finally:
            await db.close()


async def database_index_path(url: str, bodies: list[str]) -> list[float]:
    """The same commands with the vocabulary read through the database's trigram index (FTS5 /
    pg_trgm, the path for a vocabulary too large to hold in memory) instead of the in-memory copy:
    a second Database (its own, empty cache) with the memory limit at nothing."""
    import storage.experts
    from commands.context import FixedClock
    from tests.unit.commandkit import Chat

    limit, storage.experts.MAX_TERMS = storage.experts.MAX_TERMS, -1
    db = Database(url)
    try:
        chat = Chat(db, FixedClock(CLOCK))
        chat.state.join("!lab0:example.org", ASKER)
        times = []
        for i, body in enumerate(bodies):
            t0 = time.perf_counter()
            outcome = await chat.send(body, sender=ASKER, room="!lab0:example.org")
            elapsed = (time.perf_counter() - t0) * 1000
            assert outcome.result == "ok", outcome
            if i >= WARMUP:
                times.append(elapsed)
        return times
    finally:
        storage.experts.MAX_TERMS = limit
        await db.close()


async def run(ctx: Context) -> dict[str, Any]:
    n = QUICK_ENTRIES if ctx.quick else ENTRIES
    samples = QUICK_SAMPLES if ctx.quick else SAMPLES
    backends = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])
    results = {kind: await measure(ctx, kind, n, samples) for kind in backends}
    series: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    for kind, r in results.items():
        series[f"{kind} expert find handler"] = r["handler"]
        series[f"{kind} handler CPU time"] = r["handler_cpu"]
        series[f"{kind} handler, vocabulary via FTS5/pg_trgm"] = r["handler_database_index"]
        series[f"{kind} search method"] = r["search"]
        series[f"{kind} naive LIKE scan"] = r["naive"]
        ratios[f"{kind} naive/search p95"] = ratio(r["naive"]["p95"], r["search"]["p95"], 1)
        ratios[f"{kind} naive/search p50"] = ratio(r["naive"]["p50"], r["search"]["p50"], 1)
    p95 = {kind: r["handler"]["p95"] for kind, r in results.items()}
    notes = [
        "handler = the whole command through the real dispatcher (claim event, roles, parse, search, "
        "reply into the outbox, commit), in-process, no Matrix.",
        "search method = ExpertRepo.search alone for the exact words of the same questions; the naive scan "
        "answers the same words with the same ranking by lower(col) LIKE '%word%' over every row.",
        "Misspelt queries (Datenshutz, Vergaberehct) are corrected from the vocabulary; the naive scan cannot.",
        "The generated data is dense: about 600 distinct words over all entries, so a stem such as "
        "'datenschutz' occurs in about 10% of the entries. The search reads the matches by proximity tier "
        "in ranking order and stops after five (storage/expert_ranking.py), so its time does not grow with "
        "the entries its words match (see extra.*.per_query); a question without any match ('Fördermittel') "
        "shows the handler's fixed cost (dispatcher, reply, outbox, commit) on the same machine.",
        "handler CPU time = this process's CPU time for the same commands (both threads on SQLite; on "
        "PostgreSQL without the server's share): what the handler costs apart from waiting for a core.",
        "Seeding loads the rows in bulk without the secondary indexes (and, on PostgreSQL, the postings' "
        "foreign keys), then creates them from the DDL the database reported and checks that the schema "
        "is the migration's again.",
        "The vocabulary (the distinct words, a few hundred here) is indexed in the database (FTS5 trigram / "
        "pg_trgm) and held in memory with a trigram index of its own up to 200,000 words "
        "(storage/expert_vocabulary.py), so a search word costs no round trip. 'handler, vocabulary via "
        "FTS5/pg_trgm' runs the same commands with that copy switched off: the path a larger vocabulary "
        "takes, shown for comparison, not part of the target.",
        "Measured on a shared 2-core machine; the load average is in the header.",
    ]
    if "postgresql" not in results:
        notes.append(f"PostgreSQL leg skipped: set {PG_ENV}.")
    return {
        "description": f"`expert find` with {n:,} entries: p95 handler time, and a naive LIKE scan as a ratio",
        "inputs": {"entries": n, "samples": samples, "warmup": WARMUP, "queries": QUERIES, "backends": backends},
        "unit": "ms",
        "series": series,
        "ratios": ratios,
        "target": {"metric": "series.*handler.p95", "max": TARGET_P95_MS,
                   "text": f"handler p95 ≤ {TARGET_P95_MS:g} ms on each backend"},
        "passed": all(v <= TARGET_P95_MS for v in p95.values()),
        "extra": {kind: {"seed": r["seed"], "queries_with_matches": r["queries_with_matches"],
                         "per_query": r["per_query"]} for kind, r in results.items()},
        "notes": notes,
    }
