"""Reminders at scale: start-up time and memory with 0 and 100,000 pending, and firing lateness.

Start-up. The bot's SQLite database holds 0 or 100,000 pending reminders (one-off, due from 30
days on, round-robin over 20 joined rooms, bulk-inserted before the start). We measure from
just before the process is spawned to **ready**: the log line "Labnetz is running as …", which
`bot/app.py` writes once migrations are checked, the web server listens, the stored Matrix login
is restored, room state is loaded, the due-work timer is armed (one indexed MIN(due_at) query)
and the sender and sync tasks are created; the very next thing the event loop does is send the
first /sync request. The homeserver's sync is not counted. The time is the log line's own
timestamp (ms) against the wall clock before spawning. RSS is VmRSS from /proc at ready and
again `SETTLE_S` later (the initial sync has run by then); the targets use the larger of the two.
Start-ups of both sizes alternate, `STARTS` each; the medians are compared.

Firing. 1,000 reminders due evenly over 60 s, across 20 rooms, inserted into the database before
the bot starts, the first due `LEAD_S` after the start. Lateness is each message's
origin_server_ts minus its due time, read back from Synapse (admin API) after the last due time
plus a grace period; duplicates and missing ones are counted.

The peer, matrix-reminder-bot 0.4.0 (`bench/peer_reminderbot.py`, its own venv), is measured the
same way on the same Synapse in the same run, when that module is present and `available()`;
the ratios are Labnetz / peer.

For iterating locally: LABNETZ_BENCH_NO_PEER=1 skips the peer, LABNETZ_BENCH_NO_STARTUP=1 the
start-up series (the results are then incomplete: don't commit them), and LABNETZ_BENCH_PYSPY=
<path to py-spy> records the bot's stacks while firing (collapsed, next to the results' tmp dir).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import secrets
import shutil
import statistics
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Context, ratio, summary
from bench._setup import LogWatch, cpu_seconds, local_synapse, register_accounts, room_messages, vm
from bot.devbot import BotProcess
from bot.devserver import LocalSynapse
from storage import Database
from storage.models_due import DueItem

NAME = "reminders"
PENDING = 100_000
STARTS, QUICK_STARTS = 5, 2  # per size
SETTLE_S = 3.0
N, ROOMS, SPREAD_S = 1_000, 20, 60.0
LEAD_S = 20.0  # first due time after the spawn: start-up and the first sync fit well inside
GRACE_S = 15.0
READY_LINE = "Labnetz is running as"
INSERT_CHUNK = 10_000
TARGET_READY_S = 2.0
TARGET_RSS_MB = 150.0  # megabytes (10^6 bytes), as the issue states it
TARGET_GROWTH = 1.1
TARGET_P99_S = 1.0
TEXT_RE = re.compile(r"labnetzbench (\w+) (\d+)")
MIB = 1024 * 1024


# --- setup ---------------------------------------------------------------------------------


async def _insert(url: str, rows: list[dict[str, Any]]) -> None:
    db = Database(url)
    try:
        await db.migrate()
        for offset in range(0, len(rows), INSERT_CHUNK):
            async with db.engine.begin() as conn:
                await conn.execute(DueItem.__table__.insert(), rows[offset:offset + INSERT_CHUNK])
    finally:
        await db.close()


def _row(text: str, due: datetime, room: str, now: datetime) -> dict[str, Any]:
    return {
        "kind": "reminder", "state": "pending", "due_at": due, "room_id": room, "lab_id": None,
        "owner": "@bench:localhost", "subject": None, "payload": {"text": text, "when": "bench"},
        "recurrence": None, "timezone": "Europe/Berlin", "created_at": now, "fired_count": 0,
    }


def filler(count: int, rooms: list[str], tag: str) -> list[dict[str, Any]]:
    """`count` one-off reminders due from 30 days on, one a minute, round-robin over the rooms."""
    now = datetime.now(UTC)
    base = now + timedelta(days=30)
    return [_row(f"labnetzbench {tag} {k}", base + timedelta(minutes=k), rooms[k % len(rooms)], now)
            for k in range(count)]


async def prepare(ctx: Context, hs: LocalSynapse) -> tuple[BotProcess, list[str], Path, tuple[str, str]]:
    """The bot's account, 20 rooms it has joined, its database after that first run, and the
    rooms' creator (user id, access token) for the floor."""
    accounts = register_accounts(hs, bot="labnetz-reminders", user="bench-reminders")
    bot_id, user_id = accounts["bot"].user_id, accounts["user"].user_id
    base = ctx.tmp / "labnetz" / "base.db"
    base.parent.mkdir(parents=True, exist_ok=True)
    bot = BotProcess(hs=hs, directory=ctx.tmp / "labnetz", user_id=bot_id, password=accounts["bot"].password,
                     database_url=f"sqlite+aiosqlite:///{base}", encryption=False)
    await asyncio.to_thread(bot.start)
    token = hs.login(user_id, accounts["user"].password, device_name="bench-setup")
    rooms = []
    for i in range(ROOMS):
        created = hs._request("POST", "/_matrix/client/v3/createRoom", {  # noqa: SLF001
            "preset": "private_chat", "name": f"Erinnerungen {i}", "invite": [bot_id]}, token=token)
        rooms.append(str(created["room_id"]))
    deadline = time.monotonic() + 120
    while True:
        joined = [r for r in rooms if _joined(hs, r, bot_id)]
        if len(joined) == ROOMS:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the bot joined only {len(joined)} of {ROOMS} rooms:\n{bot.log_tail()}")
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)  # greetings out
    await asyncio.to_thread(bot.stop)
    ctx.log(f"bot joined {ROOMS} rooms; base database ready")
    return bot, rooms, base, (user_id, token)


def _joined(hs: LocalSynapse, room: str, user: str) -> bool:
    members = hs.admin_get(f"/_synapse/admin/v1/rooms/{urllib.parse.quote(room)}/members")
    return user in members.get("members", [])


def _copy(base: Path, name: str) -> Path:
    target = base.with_name(f"{name}.db")
    shutil.copyfile(base, target)
    return target


def _ready_after(bot: BotProcess, offset: int, spawned: float, timeout: float = 120) -> float:
    """Seconds from spawn to the ready line written after `offset` in the bot's log."""
    watch = LogWatch(bot.log_path, (READY_LINE,), offset)

    def failed() -> str | None:
        return None if bot.running else "exited during start-up"

    return watch.wait_for(READY_LINE, failed, timeout, "bot", bot.log_tail) - spawned


def start_once(bot: BotProcess, url: str) -> dict[str, float]:
    bot.database_url = url
    offset = bot.log_path.stat().st_size if bot.log_path.exists() else 0
    spawned = time.time()
    bot.start(wait=False)
    try:
        ready_s = _ready_after(bot, offset, spawned)
        assert bot._process is not None  # noqa: SLF001
        pid = bot._process.pid  # noqa: SLF001
        at_ready = vm(pid)
        cpu_s = cpu_seconds(pid)
        time.sleep(SETTLE_S)
        settled = vm(pid)
        healthy = bot.health()[0] == 200
    finally:
        bot.stop()
    return {"ready_s": round(ready_s, 3), "cpu_s": round(cpu_s, 2), "rss_mib": at_ready["VmRSS"], "rss_settled_mib": settled["VmRSS"],
            "hwm_settled_mib": settled["VmHWM"], "healthy_after_settle": healthy}


async def startup(ctx: Context, bot: BotProcess, rooms: list[str], base: Path, starts: int) -> dict[str, Any]:
    urls = {0: f"sqlite+aiosqlite:///{_copy(base, 'pending0')}"}
    big = _copy(base, f"pending{PENDING}")
    t0 = time.perf_counter()
    await _insert(f"sqlite+aiosqlite:///{big}", filler(PENDING, rooms, "start"))
    urls[PENDING] = f"sqlite+aiosqlite:///{big}"
    ctx.log(f"inserted {PENDING:,} pending reminders in {time.perf_counter() - t0:.1f} s")
    await asyncio.to_thread(start_once, bot, urls[0])  # warm-up: page cache, .pyc
    runs: dict[int, list[dict[str, float]]] = {0: [], PENDING: []}
    for k in range(starts):
        for pending in ((0, PENDING) if k % 2 == 0 else (PENDING, 0)):
            run = await asyncio.to_thread(start_once, bot, urls[pending])
            runs[pending].append(run)
            ctx.log(f"start {k + 1}/{starts} with {pending:,} pending: ready {run['ready_s']} s, "
                    f"RSS {run['rss_mib']} / {run['rss_settled_mib']} MiB")
    return {str(p): _medians(r) | {"runs": r} for p, r in runs.items()}


def _medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {key: round(statistics.median(float(r[key]) for r in runs), 3)
            for key in ("ready_s", "cpu_s", "rss_mib", "rss_settled_mib", "hwm_settled_mib")} | {
                "ready_best_s": min(float(r["ready_s"]) for r in runs)}


def collect(hs: LocalSynapse, rooms: list[str], sender: str, tag: str) -> dict[int, list[int]]:
    """Reminder number -> origin_server_ts of each message for it (admin API, all rooms)."""
    seen: dict[int, list[int]] = {}
    for room in rooms:
        for event in room_messages(hs, room, sender):
            found = TEXT_RE.search(str(event.get("content", {}).get("body", "")))
            if found and found[1] == tag:
                seen.setdefault(int(found[2]), []).append(int(event["origin_server_ts"]))
    return seen


async def firing(ctx: Context, bot: BotProcess, rooms: list[str], base: Path) -> dict[str, Any]:
    tag = secrets.token_hex(3)
    url = f"sqlite+aiosqlite:///{_copy(base, 'firing')}"
    first_due = time.time() + LEAD_S
    step = SPREAD_S / (N - 1)
    due = [first_due + k * step for k in range(N)]
    now = datetime.now(UTC)
    await _insert(url, [_row(f"labnetzbench {tag} {k}", datetime.fromtimestamp(due[k], UTC), rooms[k % ROOMS], now)
                        for k in range(N)])
    first_due = due[0]
    if time.time() + 5 > first_due:
        raise RuntimeError("inserting took too long: the first reminder is due before the bot can start")
    bot.database_url = url
    offset = bot.log_path.stat().st_size
    spawned = time.time()
    await asyncio.to_thread(bot.start, False)
    try:
        ready_s = await asyncio.to_thread(_ready_after, bot, offset, spawned)
        ctx.log(f"bot ready after {ready_s:.2f} s; first reminder due in {first_due - time.time():.1f} s")
        pid = bot._process.pid if bot._process is not None else 0  # noqa: SLF001
        await asyncio.sleep(max(0.0, first_due - time.time()))
        cpu_before = cpu_seconds(pid)
        spy = _pyspy(ctx, pid, due[-1] + GRACE_S - time.time())
        await asyncio.sleep(max(0.0, due[-1] + GRACE_S - time.time()))
        seen: dict[int, list[int]] = {}
        stable_since, last = time.monotonic(), -1
        while True:  # until all are there, or nothing changed for 10 s
            seen = await asyncio.to_thread(collect, bot.hs, rooms, bot.user_id, tag)
            total = sum(len(v) for v in seen.values())
            if total != last:
                last, stable_since = total, time.monotonic()
            if len(seen) >= N or time.monotonic() - stable_since > 10:
                break
            await asyncio.sleep(2)
        cpu_firing = cpu_seconds(pid) - cpu_before
        if spy is not None:
            await asyncio.to_thread(spy.wait)
    finally:
        await asyncio.to_thread(bot.stop)
    lateness = [min(seen[k]) / 1000 - due[k] for k in sorted(seen)]
    return {
        "lateness_s": [round(x, 4) for x in lateness],
        "delivered": len(seen),
        "expected": N,
        "duplicates": sum(len(v) - 1 for v in seen.values()),
        "ready_s": round(ready_s, 3),
        "lead_s": LEAD_S,
        "bot_cpu_s_while_firing": round(cpu_firing, 2),
        "window_s": round(due[-1] + GRACE_S - first_due, 1),
    }


def _pyspy(ctx: Context, pid: int, seconds: float) -> Any:
    """py-spy recording the bot while firing, if LABNETZ_BENCH_PYSPY names the binary."""
    import subprocess

    binary = os.environ.get("LABNETZ_BENCH_PYSPY")
    if not binary:
        return None
    out = ctx.tmp / "firing.pyspy.txt"
    ctx.log(f"py-spy records the bot into {out}")
    return subprocess.Popen([binary, "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
                             "--duration", str(int(seconds)), "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def floor(ctx: Context, hs: LocalSynapse, rooms: list[str], creator: tuple[str, str]) -> list[float]:
    """Synapse alone: the rooms' creator sends the same 1,000 messages at their due times from a
    bare HTTP client, as many at once as the bot's sender (8); lateness as for the bot."""
    import aiohttp

    user_id, token = creator
    tag = "floor" + secrets.token_hex(3)
    first_due = time.time() + 5
    step = SPREAD_S / (N - 1)
    due = [first_due + k * step for k in range(N)]
    limit = asyncio.Semaphore(8)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        async def send(k: int) -> None:
            await asyncio.sleep(max(0.0, due[k] - time.time()))
            async with limit:
                url = (f"{hs.url}/_matrix/client/v3/rooms/{urllib.parse.quote(rooms[k % ROOMS])}"
                       f"/send/m.room.message/{tag}-{k}")
                async with session.put(url, json={"msgtype": "m.notice", "body": f"labnetzbench {tag} {k}"}) as r:
                    await r.read()

        await asyncio.gather(*(send(k) for k in range(N)))
    seen = await asyncio.to_thread(collect, hs, rooms, user_id, tag)
    lateness = [min(seen[k]) / 1000 - due[k] for k in sorted(seen)]
    ctx.log(f"floor: {len(seen)}/{N} sent by a bare client, p99 lateness {summary(lateness)['p99']} s")
    return lateness


# --- the peer ------------------------------------------------------------------------------


def peer_module() -> tuple[Any | None, str | None]:
    """`bench.peer_reminderbot` and None, or None and why it cannot be measured."""
    try:
        module = importlib.import_module("bench.peer_reminderbot")
    except ImportError as err:
        return None, f"bench/peer_reminderbot.py is not in this checkout ({err})"
    reason = module.available()
    return (module, None) if reason is None else (None, reason)


async def peer_figures(ctx: Context, hs: LocalSynapse, starts: int) -> dict[str, Any]:
    peer, reason = await asyncio.to_thread(peer_module)
    if peer is None:
        ctx.log(f"peer not measured: {reason}")
        return {"measured": False, "reason": reason}
    work = ctx.tmp / "peer"
    work.mkdir(exist_ok=True)
    runs: dict[int, list[dict[str, Any]]] = {0: [], PENDING: []}
    for k in range(starts):
        for pending in ((0, PENDING) if k % 2 == 0 else (PENDING, 0)):
            run = await asyncio.to_thread(peer.startup, pending, work, hs)
            runs[pending].append(run)
            ctx.log(f"peer start {k + 1}/{starts} with {pending:,} pending: ready {run['ready_s']} s, "
                    f"RSS {run['rss_mib']} MiB")
    fired = await asyncio.to_thread(peer.firing, hs, work, n=N, rooms=ROOMS, spread_s=SPREAD_S)
    ctx.log(f"peer firing: {fired['delivered']}/{fired['expected']} delivered")
    startup_out = {}
    for pending, rs in runs.items():
        startup_out[str(pending)] = {
            key: round(statistics.median(float(r.get(key, r.get("rss_mib", 0.0))) for r in rs), 3)
            for key in ("ready_s", "rss_mib", "rss_settled_mib")
        } | {"runs": rs}
    return {"measured": True, "startup": startup_out, "firing": fired}


# --- the benchmark -------------------------------------------------------------------------


def _mb(mib: float) -> float:
    return round(mib * MIB / 1e6, 1)


async def run(ctx: Context) -> dict[str, Any]:
    starts = QUICK_STARTS if ctx.quick else STARTS
    async with local_synapse(ctx) as hs:
        bot, rooms, base, creator = await prepare(ctx, hs)
        if os.environ.get("LABNETZ_BENCH_NO_STARTUP"):
            run0 = {"ready_s": 0.0, "cpu_s": 0.0, "rss_mib": 0.0, "rss_settled_mib": 0.0, "hwm_settled_mib": 0.0}
            ours = {str(p): _medians([run0]) | {"runs": [run0]} for p in (0, PENDING)}
        else:
            ours = await startup(ctx, bot, rooms, base, starts)
        floor_late = await floor(ctx, hs, rooms, creator)
        fired = await firing(ctx, bot, rooms, base)
        ctx.log(f"firing: {fired['delivered']}/{N} delivered, {fired['duplicates']} duplicates")
        peer = ({"measured": False, "reason": "skipped (LABNETZ_BENCH_NO_PEER)"}
                if os.environ.get("LABNETZ_BENCH_NO_PEER") else await peer_figures(ctx, hs, starts))

    zero, full = ours["0"], ours[str(PENDING)]
    late = summary(fired["lateness_s"], digits=3)
    rss_zero = max(zero["rss_mib"], zero["rss_settled_mib"])
    rss_full = max(full["rss_mib"], full["rss_settled_mib"])
    checks = {
        "ready_100k_s": full["ready_s"] <= TARGET_READY_S,
        "ready_growth": full["ready_s"] <= TARGET_GROWTH * zero["ready_s"],
        "cpu_growth": full["cpu_s"] <= TARGET_GROWTH * zero["cpu_s"],
        "rss_100k_mb": _mb(rss_full) <= TARGET_RSS_MB,
        "rss_growth": rss_full <= TARGET_GROWTH * rss_zero,
        "firing_p99_s": late.get("p99", 99.0) <= TARGET_P99_S,
        "firing_complete": fired["delivered"] == N and fired["duplicates"] == 0,
    }
    series: dict[str, Any] = {
        "labnetz ready s (0 pending)": summary([r["ready_s"] for r in zero["runs"]], 3),
        f"labnetz ready s ({PENDING:,} pending)": summary([r["ready_s"] for r in full["runs"]], 3),
        "labnetz CPU s to ready (0 pending)": summary([r["cpu_s"] for r in zero["runs"]], 2),
        f"labnetz CPU s to ready ({PENDING:,} pending)": summary([r["cpu_s"] for r in full["runs"]], 2),
        "labnetz RSS MiB (0 pending)": summary([max(r["rss_mib"], r["rss_settled_mib"]) for r in zero["runs"]], 1),
        f"labnetz RSS MiB ({PENDING:,} pending)": summary(
            [max(r["rss_mib"], r["rss_settled_mib"]) for r in full["runs"]], 1),
        "labnetz firing lateness s": late,
        "floor (bare client, same schedule) lateness s": summary(floor_late, digits=3),
    }
    ratios: dict[str, Any] = {
        "labnetz_ready_100k_over_0": ratio(full["ready_s"], zero["ready_s"]),
        "labnetz_cpu_100k_over_0": ratio(full["cpu_s"], zero["cpu_s"]),
        "firing_p99_labnetz_over_floor": ratio(late.get("p99", 0), summary(floor_late, 3).get("p99", 0)),
        "labnetz_rss_100k_over_0": ratio(rss_full, rss_zero),
    }
    if peer.get("measured"):
        p0, pf = peer["startup"]["0"], peer["startup"][str(PENDING)]
        plate = summary(peer["firing"]["lateness_s"], digits=3)
        p_rss0 = max(p0["rss_mib"], p0["rss_settled_mib"])
        p_rssf = max(pf["rss_mib"], pf["rss_settled_mib"])
        series |= {
            "peer ready s (0 pending)": summary([r["ready_s"] for r in p0["runs"]], 3),
            f"peer ready s ({PENDING:,} pending)": summary([r["ready_s"] for r in pf["runs"]], 3),
            "peer RSS MiB (0 pending)": summary([max(r["rss_mib"], r.get("rss_settled_mib", 0)) for r in p0["runs"]], 1),
            f"peer RSS MiB ({PENDING:,} pending)": summary(
                [max(r["rss_mib"], r.get("rss_settled_mib", 0)) for r in pf["runs"]], 1),
            "peer firing lateness s": plate,
        }
        ratios |= {
            "peer_ready_100k_over_0": ratio(pf["ready_s"], p0["ready_s"]),
            "peer_rss_100k_over_0": ratio(p_rssf, p_rss0),
            "ready_0_labnetz_over_peer": ratio(zero["ready_s"], p0["ready_s"]),
            "ready_100k_labnetz_over_peer": ratio(full["ready_s"], pf["ready_s"]),
            "rss_0_labnetz_over_peer": ratio(rss_zero, p_rss0),
            "rss_100k_labnetz_over_peer": ratio(rss_full, p_rssf),
            "firing_p99_labnetz_over_peer": ratio(late.get("p99", 0), plate.get("p99", 0)),
            "firing_p50_labnetz_over_peer": ratio(late.get("p50", 0), plate.get("p50", 0)),
        }
    return {
        "description": "start-up (spawn to ready) and RSS at 0 and 100,000 pending reminders; "
                       "lateness of 1,000 reminders due over 60 s in 20 rooms; matrix-reminder-bot side by side",
        "inputs": {"pending": PENDING, "starts_per_size": starts, "settle_s": SETTLE_S, "reminders": N,
                   "rooms": ROOMS, "spread_s": SPREAD_S, "lead_s": LEAD_S, "database": "sqlite"},
        "unit": "s / MiB",
        "series": series,
        "ratios": ratios,
        "target": {"text": f"100k within {TARGET_GROWTH}x of 0 (time and RSS), ready <= {TARGET_READY_S} s, "
                           f"RSS <= {TARGET_RSS_MB:g} MB, firing p99 <= {TARGET_P99_S} s, all delivered once",
                   "checks": checks},
        "passed": all(checks.values()),
        "extra": {
            "labnetz_startup": ours,
            "labnetz_firing": {k: v for k, v in fired.items() if k != "lateness_s"},
            "labnetz_rss_mb": {"0": _mb(rss_zero), str(PENDING): _mb(rss_full)},
            "peer": _strip(peer),
        },
        "notes": [
            "ready = the log line 'Labnetz is running as' (engine armed, sync task created, first /sync "
            "not yet answered); the peer's ready = its 'Scheduler started' line (all rows loaded, jobs added)",
            "RSS targets use max(VmRSS at ready, VmRSS 3 s later); 150 MB = 143.1 MiB",
            "ready times are wall-clock medians on a shared 2-core machine (see the load average); the CPU "
            "seconds the process used until ready do not depend on the other load",
            "firing lateness = origin_server_ts - due time, per reminder; reminders inserted before the start",
            "floor = the same schedule sent by a bare HTTP client (8 at a time, like the bot's sender): "
            "what this Synapse on this machine allows at all",
            "checks: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in checks.items()),
        ] + ([] if peer.get("measured") else [f"peer not measured: {peer.get('reason')}"]),
    }


def _strip(peer: dict[str, Any]) -> dict[str, Any]:
    if not peer.get("measured"):
        return peer
    fired = {k: v for k, v in peer["firing"].items() if k != "lateness_s"}
    return {**peer, "firing": fired}
