"""`!frei` and `!buchen` with 100,000 bookings: handler time in-process, round trip through Synapse.

Part 1, in-process (like `bench/roles.py`): one lab in Sachsen with a space "Coworking" of
capacity 50 and 100,000 bookings over 2024–2028, bulk-inserted; then `!frei Coworking <date>
14-16`, `!frei Coworking <date>` (hour by hour) and `!buchen Coworking <date> 14-16` go through the
real dispatcher (`tests/unit/commandkit.Chat`: parse, roles, handler, reply into the outbox,
commit) with a fixed clock. SQLite always; PostgreSQL too when LABNETZ_TEST_DATABASE_URL is set
(a temporary database). Also the EXPLAIN of `BookingRepo.overlapping`'s query on each backend.

Part 2, the round trip (like `bench/labs.py`): the bot's SQLite file seeded with the same
bookings before Labnetz starts, the benchmark's lab room linked to the lab, then
`!frei Coworking <date> 14-16` to Labnetz interleaved with `!ping` to the bare nio echo bot.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, text

from bench import Context, database, ratio, summary
from bench.roles import cpu_reference_ms
from bench.roundtrip import (
    REPLY_TIMEOUT,
    SYNC_FILTER,
    Series,
    Stage,
    command_histogram,
    measure,
    round_trip_series,
)
from commands.availability import DEFAULT_HOURS, day_span, holiday
from commands.context import FixedClock
from commands.when import local_to_utc
from storage import Database
from storage.models import Booking

NAME = "booking"
SAMPLES, QUICK_SAMPLES = 300, 60  # per command and backend, in-process
WARMUP = 20  # per command and backend, not counted
RT_SAMPLES, RT_QUICK_SAMPLES = 200, 40  # round trips per series
RT_WARMUP = 10
BATCH = 10  # round trip: commands of one series before switching to the other
MAX_LOST = 5
TARGET_P95_MS = 10.0
TARGET_RATIO = 1.15  # round trip, informational
BOOKINGS = 100_000
FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2028, 12, 31)
CAPACITY = 50
CANCELLED_SHARE = 0.10
MEMBERS = 2_000  # distinct (fake) users who booked
INSERT_CHUNK = 10_000
STATE = "SN"
TZ = ZoneInfo("Europe/Berlin")
CLOCK = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # inside the bookings' range: later dates are future
SEED = 20261127
PG_ENV = "LABNETZ_TEST_DATABASE_URL"

# In-process: the room, the sender (a member: joined the lab room) and a second member.
LAB_ROOM = "!lab:example.org"
SENDER = "@bob:example.org"

# (series key, label) of the in-process commands; the body is built per sample.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("slot", "!frei Coworking <date> 14-16"),
    ("day", "!frei Coworking <date>"),
    ("book", "!buchen Coworking <date> 14-16"),
    ("ping", "!ping"),  # the dispatcher's floor on the same database: no target
)
LABELS = {"slot": "!frei 14-16", "day": "!frei (day)", "book": "!buchen 14-16", "ping": "!ping (floor)"}
TRACED = 20  # per command and backend: a pass with every SQL statement timed, after the samples
IDLE_SAMPLES, QUICK_IDLE_SAMPLES = 60, 20  # `!frei 14-16` after an idle pause, per backend
IDLE_SECONDS = 0.1  # as in the bot, where a command arrives after ~100 ms of waiting on sync


def _day(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def open_days(first: date, last: date) -> list[date]:
    """Days first..last that are not public holidays in the lab's Bundesland (it is closed then)."""
    out, day = [], first
    while day <= last:
        if holiday(day, STATE, "de") is None:
            out.append(day)
        day += timedelta(days=1)
    return out


def booking_rows(rng: random.Random, space_id: int, room_id: str, now: datetime) -> list[dict[str, Any]]:
    """100,000 bookings on open days of 2024–2028, 08:00–22:00 local, 1–4 h, 1–3 desks."""
    days = open_days(FIRST_DAY, LAST_DAY)
    rows = []
    for _ in range(BOOKINGS):
        day = rng.choice(days)
        hours = rng.choice((1, 1.5, 2, 2, 3, 4))  # minutes below; most bookings are short
        length = int(hours * 60)
        start = 8 * 60 + 30 * rng.randrange((22 * 60 - length - 8 * 60) // 30 + 1)
        start_at = local_to_utc(day, start, TZ)
        user = f"@member{rng.randrange(MEMBERS):04d}:localhost"
        created = min(start_at - timedelta(hours=rng.randint(1, 24 * 60)), now)
        cancelled = rng.random() < CANCELLED_SHARE
        rows.append({
            "space_id": space_id,
            "user_id": user,
            "room_id": room_id,
            "start_at": start_at,
            "end_at": local_to_utc(day, start + length, TZ),
            "desks": rng.choice((1, 1, 1, 2, 2, 3)),
            "note": "Workshop" if rng.random() < 0.05 else None,
            "series_id": None,
            "created_at": created,
            "cancelled_at": created + timedelta(minutes=rng.randint(1, 600)) if cancelled else None,
            "cancelled_by": user if cancelled else None,
        })
    return rows


async def seed(db: Database, lab_room: str, now: datetime) -> dict[str, Any]:
    """The lab (SN), its room link, the space and 100,000 bookings in bulk (Core executemany)."""
    rng = random.Random(SEED)
    t0 = time.perf_counter()
    await db.migrate()
    async with db.transaction() as store:
        lab = await store.labs.create(
            slug="ogl-leipzig", name="OGL Leipzig", city="Leipzig", state=STATE, level="kommune",
            host="Trägerverein Leipzig", host_legal_form="e. V.", timezone=str(TZ),
            created_by="@seed:localhost", now=now,
        )
        await store.labs.link(lab_room, lab.id, "@seed:localhost", now)
        space = await store.spaces.create(
            lab_id=lab.id, name="Coworking", slug="coworking", kind="workspace", capacity=CAPACITY,
            hours=dict(DEFAULT_HOURS), now=now,
        )
        lab_id, space_id = lab.id, space.id
    t_rows = time.perf_counter()
    rows = booking_rows(rng, space_id, lab_room, now)
    t_insert = time.perf_counter()
    table = Booking.__table__
    for offset in range(0, len(rows), INSERT_CHUNK):
        # Core executemany on a plain connection: the ORM bulk path costs ~5x as much here.
        async with db.engine.begin() as conn:
            await conn.execute(table.insert(), rows[offset:offset + INSERT_CHUNK])
    t_done = time.perf_counter()
    analyzed = False
    if not db.is_sqlite:
        # autovacuum would analyze a table that grew by 100,000 rows within a minute or so;
        # do it now, so that the planner has statistics as in a running installation.
        async with db.engine.connect() as conn:
            await conn.execute(text("ANALYZE bookings"))
            await conn.commit()
        analyzed = True
    async with db.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM bookings"))).scalar_one()
        cancelled = (await conn.execute(
            text("SELECT count(*) FROM bookings WHERE cancelled_at IS NOT NULL"))).scalar_one()
    return {
        "lab_id": lab_id,
        "space_id": space_id,
        "bookings": count,
        "cancelled": cancelled,
        "span": f"{FIRST_DAY}..{LAST_DAY}, open days only (no public holidays in {STATE})",
        "bookings_per_open_day": round(count / len(open_days(FIRST_DAY, LAST_DAY)), 1),
        "capacity": CAPACITY,
        "analyzed": analyzed,
        "generate_seconds": round(t_insert - t_rows, 2),
        "insert_seconds": round(t_done - t_insert, 2),
        "seconds": round(time.perf_counter() - t0, 2),
    }


# --- part 1: in-process handler time -------------------------------------------------------


def backend(kind: str, ctx: Context):  # noqa: ANN201 - an async context manager
    return database(kind, ctx, "booking")


async def explain(db: Database, space_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    """The plan of BookingRepo.overlapping's own statement (captured as it is sent), and its rows."""
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM bookings" in statement:
            captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", grab)
    try:
        async with db.transaction() as store:
            rows = await store.bookings.overlapping(space_id, start, end)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", grab)
    statement, parameters = captured[-1]
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    async with db.engine.connect() as conn:
        result = await conn.exec_driver_sql(prefix + statement, parameters)
        plan = [str(row[-1]) for row in result.all()]
    uses_index = any("ix_bookings_space_start" in line for line in plan)
    return {
        "statement": " ".join(statement.split()),
        "explain": prefix.strip(),
        "plan": plan,
        "uses_ix_bookings_space_start": uses_index,
        "rows_returned": len(rows),
    }


async def one_overlap(db: Database, space_id: int, day: date) -> float:
    """overlapping() alone for 14–16, inside an open transaction after one small query (ms)."""
    start, end = local_to_utc(day, 14 * 60, TZ), local_to_utc(day, 16 * 60, TZ)
    async with db.transaction() as store:
        await store.rooms.language(LAB_ROOM)
        t0 = time.perf_counter()
        await store.bookings.overlapping(space_id, start, end)
        return (time.perf_counter() - t0) * 1000


def _statement_label(statement: str) -> str:
    words = statement.split()
    verb = words[0].upper() if words else "?"
    if verb in ("INSERT", "DELETE"):
        return f"{verb} {words[2] if len(words) > 2 else '?'}"
    if verb == "UPDATE":
        return f"UPDATE {words[1] if len(words) > 1 else '?'}"
    upper = [w.upper() for w in words]
    table = words[upper.index("FROM") + 1] if "FROM" in upper else "?"
    return f"{verb} {table}"


async def trace(chat: Any, db: Database, bodies: list[str]) -> dict[str, Any]:
    """Every SQL statement of `bodies` (sent one by one), timed at the cursor: what a command costs.

    A separate pass after the samples, so that the listeners do not touch the measured times. The
    cursor time includes the driver's hop (aiosqlite: to its thread; asyncpg: to the server).
    """
    timed: list[tuple[str, float]] = []
    started: list[float] = []

    def before(*_args: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        timed.append((_statement_label(statement), (time.perf_counter() - started.pop()) * 1000))

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    totals = []
    try:
        for body in bodies:
            t0 = time.perf_counter()
            await chat.send(body, sender=SENDER, room=LAB_ROOM)
            totals.append((time.perf_counter() - t0) * 1000)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    n = len(bodies)
    per: dict[str, dict[str, float]] = {}
    for label, ms in timed:
        entry = per.setdefault(label, {"per_command": 0.0, "mean_ms": 0.0})
        entry["per_command"] += 1 / n
        entry["mean_ms"] += ms
    for entry in per.values():
        entry["mean_ms"] = round(entry["mean_ms"] / (entry["per_command"] * n), 3)
        entry["per_command"] = round(entry["per_command"], 2)
    sql_ms = sum(ms for _, ms in timed) / n
    total_ms = sum(totals) / n
    return {
        "commands": n,
        "statements_per_command": round(len(timed) / n, 2),
        "total_mean_ms": round(total_ms, 3),
        "sql_mean_ms": round(sql_ms, 3),
        "rest_mean_ms": round(total_ms - sql_ms, 3),
        "by_statement": dict(sorted(per.items(), key=lambda item: -item[1]["per_command"] * item[1]["mean_ms"])),
    }


async def handler_times(ctx: Context, samples: int, idle_samples: int) -> dict[str, Any]:
    from tests.unit.commandkit import Chat  # the real dispatcher, in-process, with a clock

    backends = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])
    rng = random.Random(SEED + 1)
    future = open_days(CLOCK.date() + timedelta(days=1), LAST_DAY)
    total = WARMUP + samples
    if total + TRACED > len(future):
        raise RuntimeError(f"{total + TRACED} bookings need as many distinct days; only {len(future)} left")
    book_days = rng.sample(future, total + TRACED)  # one `buchen` per day: never the same slot twice
    slot_days = [rng.choice(future) for _ in range(total + TRACED + idle_samples)]
    day_days = [rng.choice(future) for _ in range(total + TRACED)]
    bodies = {
        "slot": [f"!frei Coworking {_day(d)} 14-16" for d in slot_days],
        "day": [f"!frei Coworking {_day(d)}" for d in day_days],
        "book": [f"!buchen Coworking {_day(d)} 14-16" for d in book_days],
        "ping": ["!ping"] * (total + TRACED),
    }
    out: dict[str, Any] = {"backends": backends, "seeded": {}, "explain": {}, "series": {}, "raw": {},
                           "booked": {}, "refused": {}, "replies": {}}
    async with AsyncExitStack() as stack:
        chats: dict[str, Any] = {}
        dbs: dict[str, Database] = {}
        space_ids: dict[str, int] = {}
        for kind in backends:
            db = Database(await stack.enter_async_context(backend(kind, ctx)))
            stack.push_async_callback(db.close)
            seeded = await seed(db, LAB_ROOM, CLOCK)
            out["seeded"][kind] = seeded
            ctx.log(f"{kind}: seeded {seeded['bookings']:,} bookings in {seeded['seconds']} s "
                    f"(insert {seeded['insert_seconds']} s)")
            space_ids[kind] = seeded["space_id"]
            chat = Chat(db, FixedClock(CLOCK))
            chat.state.join(LAB_ROOM, SENDER)
            chat.state.join(LAB_ROOM, "@carol:example.org")
            chats[kind], dbs[kind] = chat, db
            probe = slot_days[0]
            out["explain"][kind] = {
                "slot 14-16": await explain(db, space_ids[kind], local_to_utc(probe, 14 * 60, TZ),
                                            local_to_utc(probe, 16 * 60, TZ)),
                "whole day": {k: v for k, v in (await explain(db, space_ids[kind], *day_span(probe, TZ))).items()
                              if k in ("plan", "uses_ix_bookings_space_start", "rows_returned")},
                "day": str(probe),
            }
            ctx.log(f"{kind}: overlap plan: {' | '.join(out['explain'][kind]['slot 14-16']['plan'])}")

        times: dict[str, dict[str, list[float]]] = {k: {c: [] for c, _ in COMMANDS} for k in backends}
        overlap: dict[str, list[float]] = {k: [] for k in backends}
        results: dict[str, dict[str, int]] = {k: {} for k in backends}
        last_reply: dict[str, dict[str, str]] = {k: {} for k in backends}
        t_measure = time.monotonic()
        for index in range(total):
            shift = index % len(COMMANDS)
            for command, _ in COMMANDS[shift:] + COMMANDS[:shift]:
                order = backends if index % 2 == 0 else backends[::-1]
                for kind in order:
                    body = bodies[command][index]
                    t0 = time.perf_counter()
                    outcome = await chats[kind].send(body, sender=SENDER, room=LAB_ROOM)
                    elapsed = (time.perf_counter() - t0) * 1000
                    ok = outcome.result == "ok"
                    if not ok and not (command == "book" and outcome.result == "refused"):
                        plain = outcome.reply.plain if outcome.reply else ""
                        raise RuntimeError(f"{kind}: {body} → {outcome.result}: {plain}")
                    if index >= WARMUP:
                        times[kind][command].append(elapsed)
                        key = f"{command} {outcome.result}"
                        results[kind][key] = results[kind].get(key, 0) + 1
                    if outcome.reply is not None:
                        last_reply[kind][command] = outcome.reply.plain
            # overlapping() alone, same day as this round's slot query, both backends
            for kind in (backends if index % 2 else backends[::-1]):
                ms = await one_overlap(dbs[kind], space_ids[kind], slot_days[index])
                if index >= WARMUP:
                    overlap[kind].append(ms)
            if (index + 1) % 50 == 0 or index + 1 == total:
                ctx.log(f"in-process {index + 1}/{total}: p95 so far " + ", ".join(
                    f"{k} {c} {summary(times[k][c])['p95'] if times[k][c] else '–'}"
                    for k in backends for c, _ in COMMANDS))
        out["measure_seconds"] = round(time.monotonic() - t_measure, 1)
        # `!frei 14-16` after an idle pause: caches and branch predictors as cold as in the bot.
        idle: dict[str, list[float]] = {k: [] for k in backends}
        for index in range(idle_samples):
            body = bodies["slot"][total + TRACED + index]
            for kind in (backends if index % 2 == 0 else backends[::-1]):
                await asyncio.sleep(IDLE_SECONDS)
                t0 = time.perf_counter()
                outcome = await chats[kind].send(body, sender=SENDER, room=LAB_ROOM)
                idle[kind].append((time.perf_counter() - t0) * 1000)
                if outcome.result != "ok":
                    raise RuntimeError(f"{kind}: {body} → {outcome.result}")
        out["statements"] = {
            kind: {LABELS[c]: await trace(chats[kind], dbs[kind], bodies[c][total:total + TRACED]) for c, _ in COMMANDS}
            for kind in backends
        }
        # Check the replies say what they should (outside the timing).
        for kind in backends:
            replies = last_reply[kind]
            if "von 50 Plätzen frei" not in replies.get("slot", "") or "pro Stunde" not in replies.get("day", "") \
                    or not any(w in replies.get("book", "") for w in ("Gebucht", "Plätzen sind dann frei")):
                raise RuntimeError(f"{kind}: unexpected replies: {replies}")
            async with dbs[kind].transaction() as store:
                mine = await store.bookings.upcoming_of_user(SENDER, CLOCK, limit=10_000)
            out["booked"][kind] = len(mine)
            out["refused"][kind] = results[kind].get("book refused", 0)
    for kind in backends:
        for command, _ in COMMANDS:
            out["series"][f"{kind} {LABELS[command]}"] = summary(times[kind][command], digits=3)
            out["raw"][f"{kind} {command}"] = [round(x, 3) for x in times[kind][command]]
        out["series"][f"{kind} overlapping() alone"] = summary(overlap[kind], digits=3)
        out["series"][f"{kind} !frei 14-16 after {IDLE_SECONDS * 1000:g} ms idle"] = summary(idle[kind], digits=3)
        out["raw"][f"{kind} slot after idle"] = [round(x, 3) for x in idle[kind]]
        out["raw"][f"{kind} overlapping"] = [round(x, 3) for x in overlap[kind]]
    out["results"] = results
    out["replies"] = last_reply
    out["bodies_example"] = {c: bodies[c][WARMUP] for c in bodies}
    return out


# --- part 2: round trip through Synapse ----------------------------------------------------


async def round_trip(ctx: Context, samples: int) -> dict[str, Any]:
    async with Stage(ctx, member=True) as stage:
        measurer = await stage.connect()
        rooms = await stage.lab_and_echo_rooms()  # the lab room is a group room, not a direct chat

        db_path = ctx.tmp / "labnetz" / "labnetz.db"
        database_url = f"sqlite+aiosqlite:///{db_path}"
        db = Database(database_url)
        try:
            seeded = await seed(db, rooms["labnetz"], datetime.now(UTC))
        finally:
            await db.close()
        ctx.log(f"seeded the bot's SQLite with {seeded['bookings']:,} bookings in {seeded['seconds']} s")

        labnetz = await stage.start_bots(database_url)
        await stage.invite_labnetz(rooms["labnetz"])
        await stage.wait_joined(rooms)

        # The bot runs on the real clock: dates from tomorrow to the end of the seeded range.
        rng = random.Random(SEED + 2)
        today = datetime.now(TZ).date()
        future = open_days(today + timedelta(days=1), LAST_DAY)
        series = (
            Series("frei", "labnetz", lambda: f"!frei Coworking {_day(rng.choice(future))} 14-16"),
            Series("echo", "echo", "!ping"),
        )
        measured = await measure(ctx, measurer, rooms, series, samples, RT_WARMUP, BATCH, MAX_LOST)

        metrics_text = await asyncio.to_thread(labnetz.metrics)
        handler = command_histogram(metrics_text, "free")
        replies = {e.event_id: e for e in measurer.messages.get(rooms["labnetz"], [])}
        last = next((replies[rid] for r in reversed(measured.samples["frei"])
                     if (rid := measurer.reply_id.get(r["event_id"], "")) in replies), None)
        last_body = str(last.source["content"].get("body", "")) if last else ""
        if "von 50 Plätzen frei" not in last_body:
            raise RuntimeError(f"unexpected !frei reply: {last_body[:500]}")

        out_series = round_trip_series(measurer, measured, prefix="round trip ")
        return {
            "series": out_series,
            "ratios": {
                "roundtrip_frei_p50": ratio(out_series["round trip frei"]["p50"], out_series["round trip echo"]["p50"]),
                "roundtrip_frei_p95": ratio(out_series["round trip frei"]["p95"], out_series["round trip echo"]["p95"]),
            },
            "seeded": seeded,
            "handler": handler,
            "reply": last_body,
            **measured.extra(measurer),
            "dates": f"random open days {today + timedelta(days=1)}..{LAST_DAY} (the bot's real clock)",
            "labnetz_encryption": labnetz.encryption,
        }


# --- the benchmark -------------------------------------------------------------------------


def _p(stats: dict[str, Any]) -> str:
    return f"p50 {stats['p50']:g} / p95 {stats['p95']:g} / p99 {stats['p99']:g} / mean {stats['mean']:g} ms"


async def run(ctx: Context) -> dict[str, Any]:
    samples = QUICK_SAMPLES if ctx.quick else SAMPLES
    rt_samples = RT_QUICK_SAMPLES if ctx.quick else RT_SAMPLES
    cpu_before = cpu_reference_ms()
    inproc = await handler_times(ctx, samples, QUICK_IDLE_SAMPLES if ctx.quick else IDLE_SAMPLES)
    cpu_after = cpu_reference_ms()
    ctx.log("in-process part done; starting the round trip")
    rt = await round_trip(ctx, rt_samples)

    backends = inproc["backends"]
    handler_series = {
        k: v for k, v in inproc["series"].items() if not any(w in k for w in ("overlapping", "floor", "idle"))
    }
    p95 = {label: stats["p95"] for label, stats in handler_series.items()}
    passed = all(v <= TARGET_P95_MS for v in p95.values())
    series = {**inproc["series"], **rt["series"]}
    ratios = {
        **{f"{label.replace(' ', '_')}_p95_over_target": round(v / TARGET_P95_MS, 3) for label, v in p95.items()},
        **rt["ratios"],
    }
    notes = [
        f"Target: p95 ≤ {TARGET_P95_MS:g} ms per command and backend for the whole handling through "
        "the dispatcher (claim event, roles, parse, handler, reply into the outbox, commit); "
        f"round-trip ratio ≤ {TARGET_RATIO} is informational (not part of the target).",
        "p99 (not in the table above): " + "; ".join(f"{label}: {_p(s)}" for label, s in series.items()
                                                     if "turnaround" not in label),
        "`!buchen`: " + ", ".join(
            f"{kind} {inproc['results'][kind].get('book ok', 0)} of {samples} accepted, "
            f"{inproc['refused'][kind]} refused (full)" for kind in backends
        ) + "; each on a different open day after the clock, 14–16, 1 desk.",
        "Overlap query plan: " + "; ".join(
            f"{kind}: {' | '.join(inproc['explain'][kind]['slot 14-16']['plan'])}" for kind in backends
        ),
        f"Round trip: frei p50 {rt['series']['round trip frei']['p50']} ms vs echo "
        f"{rt['series']['round trip echo']['p50']} ms (ratio {rt['ratios']['roundtrip_frei_p50']}, informational "
        f"target ≤ {TARGET_RATIO}); Labnetz handler mean (labnetz_command_seconds{{command=free}}, incl. "
        f"warm-up) {rt['handler'].get('mean_ms')} ms over {rt['handler'].get('count')}.",
        "Where the time goes (extra.statements: a separate pass of "
        f"{TRACED} commands each with every SQL statement timed at the cursor): " + "; ".join(
            f"{kind} {label}: {t['statements_per_command']:g} statements, {t['sql_mean_ms']} ms at the cursor "
            f"of {t['total_mean_ms']} ms"
            for kind in backends for label, t in inproc["statements"][kind].items()
        ) + ". The rest is Python: session, BEGIN/COMMIT, building the SQLAlchemy statements, "
        "ORM result processing, the handler, the reply.",
        f"Idle effect: `!frei 14-16` with {IDLE_SECONDS * 1000:g} ms of idle before each command (as in "
        "the bot, which waits on sync between commands): " + "; ".join(
            f"{kind} p50 {inproc['series'][f'{kind} !frei 14-16 after {IDLE_SECONDS * 1000:g} ms idle']['p50']} ms "
            f"vs {inproc['series'][f'{kind} !frei 14-16']['p50']} ms back to back" for kind in backends
        ) + "; the target is on the back-to-back samples (as specified), the bot sees the idle case.",
        f"CPU reference (1e6-addition loop, best of 5): {cpu_before} ms before, {cpu_after} ms after.",
        "SQLite gets no ANALYZE (the bot never runs one, so the planner has no sqlite_stat1); "
        "PostgreSQL gets `ANALYZE bookings` after the bulk insert, as autovacuum would do.",
    ]
    if "postgresql" not in backends:
        notes.append(f"PostgreSQL not run: set {PG_ENV}=postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    return {
        "description": (
            f"`!frei` and `!buchen` with {BOOKINGS:,} bookings in one space: handler time through the "
            "dispatcher in-process (ms, per backend), and the `!frei` round trip through Synapse next "
            "to the bare nio echo bot's `!ping`."
        ),
        "inputs": {
            "samples_per_command_and_backend": samples,
            "warmup_per_command_and_backend": WARMUP,
            "roundtrip_samples_per_series": rt_samples,
            "roundtrip_warmup_per_series": RT_WARMUP,
            "roundtrip_batch": BATCH,
            "backends": backends,
            "commands": [label for _, label in COMMANDS],
            "bodies_example": inproc["bodies_example"],
            "clock": CLOCK.isoformat(),
            "order": (
                "in-process: per index the three commands (rotating who goes first), each on every "
                "backend (alternating who goes first), then overlapping() alone on every backend; "
                f"after all samples: {TRACED} traced commands each, and `!frei 14-16` after "
                f"{IDLE_SECONDS * 1000:g} ms idle; "
                "round trip: batches of 10, frei and echo alternating who goes first"
            ),
            "database": inproc["seeded"],
            "bookings": {
                "count": BOOKINGS, "span": [str(FIRST_DAY), str(LAST_DAY)], "hours": "08:00–22:00 Europe/Berlin",
                "length_hours": [1, 1.5, 2, 3, 4], "desks": [1, 2, 3], "cancelled_share": CANCELLED_SHARE,
                "users": MEMBERS, "insert": f"Core bookings.insert() executemany on a connection, chunks of {INSERT_CHUNK:,}",
            },
            "roundtrip": {
                "database": rt["seeded"], "dates": rt["dates"], "measuring_sync_filter": SYNC_FILTER,
                "reply_timeout_seconds": REPLY_TIMEOUT,
                "labnetz": {"encryption": rt["labnetz_encryption"], "database": "SQLite file (aiosqlite, WAL)"},
                "echo": {"encryption": False, "process": "python -m bench.echo_bot"},
            },
        },
        "unit": "ms",
        "series": series,
        "ratios": ratios,
        "target": {
            "metric": "series.<backend> <command>.p95",
            "max": TARGET_P95_MS,
            "text": f"handler p95 ≤ {TARGET_P95_MS:g} ms per command ({', '.join(backends)})",
        },
        "passed": passed,
        "extra": {
            "explain": inproc["explain"],
            "statements": inproc["statements"],
            "booking_results": inproc["results"],
            "booked_by_sender_incl_warmup_and_trace": inproc["booked"],
            "cpu_reference_ms": {"before": cpu_before, "after": cpu_after, "what": (
                "best of 5: a pure-Python loop of 1e6 additions (bench/roles.py), around the "
                "in-process part; the target is absolute, so this tells a slower machine from slower code"
            )},
            "replies": inproc["replies"],
            "in_process_measure_seconds": inproc["measure_seconds"],
            "roundtrip": {
                "labnetz_command_seconds_free": rt["handler"],
                "handler_count_includes_warmup": True,
                "lost": rt["lost"],
                "reply": rt["reply"],
                "measure_seconds": rt["measure_seconds"],
                "send_ms": rt["send_ms"],
                "measuring_client": rt["measuring_client"],
                "per_round_p50_ms": rt["per_round_p50_ms"],
                "informational_target_ratio": TARGET_RATIO,
                "informational_target_met": (rt["ratios"]["roundtrip_frei_p50"] or 99) <= TARGET_RATIO,
            },
            "samples_ms": {**inproc["raw"], **{f"roundtrip {k}": v for k, v in rt["samples_ms"].items()}},
        },
        "notes": notes,
    }
