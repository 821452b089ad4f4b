"""`!ping` round trip through a real Synapse: Labnetz next to a bare nio echo bot.

Both bots run as their own processes on the same fresh Synapse, in the same run, each in a
plain room of its own with the measuring user. The measuring client long-polls sync in the
background; one round trip is the time from just before `room_send("!ping")` to the moment
its sync delivers the reply (matched on `m.relates_to.m.in_reply_to.event_id`). Pings are
strictly sequential and the two bots alternate in batches, so machine noise hits both alike.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    RoomCreateError,
    RoomMessage,
    RoomSendResponse,
    SyncResponse,
)

from bench import Context, ratio, summary
from bot.devbot import BotProcess
from bot.devserver import LocalSynapse

NAME = "ping"
SAMPLES, QUICK_SAMPLES = 200, 40  # measured pings per bot
WARMUP = 10  # per bot, not counted
BATCH = 10  # pings to one bot before switching to the other
REPLY_TIMEOUT = 30.0  # seconds; a ping without a reply by then counts as lost
MAX_LOST = 5
TARGET_P50_RATIO = 1.15
SYNC_FILTER: dict[str, Any] = {"room": {"timeline": {"limit": 200}}}


def in_reply_to(event: Any) -> str | None:
    relates = event.source.get("content", {}).get("m.relates_to", {})
    target = relates.get("m.in_reply_to", {}).get("event_id")
    return str(target) if target else None


class Measurer:
    """The measuring user's client with a background long-poll sync loop."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.reply_seen_at: dict[str, float] = {}  # ping event id -> perf_counter at sync return
        self.reply_id: dict[str, str] = {}  # ping event id -> reply event id
        self.server_ts: dict[str, int] = {}  # event id -> origin_server_ts (ms)
        self.messages: dict[str, list[RoomMessage]] = {}  # room id -> messages from others
        self.changed = asyncio.Condition()
        self.syncs = 0
        self.sync_errors = 0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._loop(), name="measurer-sync")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def _loop(self) -> None:
        client = self.client
        while True:
            resp = await client.sync(timeout=30000, since=client.next_batch, sync_filter=SYNC_FILTER)
            seen_at = time.perf_counter()
            if not isinstance(resp, SyncResponse):
                self.sync_errors += 1
                if self.sync_errors > 20:
                    raise RuntimeError(f"measuring client cannot sync: {resp}")
                await asyncio.sleep(0.2)
                continue
            self.syncs += 1
            for room_id, info in resp.rooms.join.items():
                for event in info.timeline.events:
                    self.server_ts[event.event_id] = event.server_timestamp
                    if event.sender == client.user_id or not isinstance(event, RoomMessage):
                        continue
                    self.messages.setdefault(room_id, []).append(event)
                    target = in_reply_to(event)
                    if target is None or target in self.reply_seen_at:
                        continue
                    self.reply_seen_at[target] = seen_at
                    self.reply_id[target] = event.event_id
                    future = self.waiting.pop(target, None)
                    if future is not None and not future.done():
                        future.set_result(seen_at)
            async with self.changed:
                self.changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        assert self.task is not None
        deadline = time.monotonic() + timeout
        async with self.changed:
            while not predicate():
                if self.task.done():
                    self.task.result()
                    raise RuntimeError("measuring sync loop ended")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
                try:
                    await asyncio.wait_for(self.changed.wait(), timeout=min(remaining, 1.0))
                except TimeoutError:
                    pass

    def joined(self, room_id: str, user_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users and user_id not in room.invited_users

    async def ping(self, room_id: str) -> dict[str, Any] | None:
        """One round trip; None if no reply came within REPLY_TIMEOUT."""
        assert self.task is not None
        started = time.perf_counter()
        resp = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "!ping"}
        )
        sent = time.perf_counter()
        if not isinstance(resp, RoomSendResponse):
            raise RuntimeError(f"sending !ping to {room_id} failed: {resp}")
        event_id = resp.event_id
        seen_at = self.reply_seen_at.get(event_id)
        if seen_at is None:
            future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            self.waiting[event_id] = future
            done, _ = await asyncio.wait(
                {future, self.task}, timeout=REPLY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
            if self.task in done:
                self.task.result()
                raise RuntimeError("measuring sync loop ended")
            if future not in done:
                self.waiting.pop(event_id, None)
                return None
            seen_at = future.result()
        return {
            "event_id": event_id,
            "rtt_ms": (seen_at - started) * 1000,
            "send_ms": (sent - started) * 1000,
        }


class EchoProcess:
    """`python -m bench.echo_bot` as a subprocess, logging to a file."""

    def __init__(self, hs: LocalSynapse, directory: Path, user_id: str, password: str) -> None:
        self.hs = hs
        self.directory = directory
        self.user_id = user_id
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.directory / "echo_bot.log"

    def start(self, root: Path, timeout: float = 60) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "bench.echo_bot",
                    "--homeserver", self.hs.url,
                    "--user", self.user_id,
                    "--password", self.password,
                ],
                cwd=root,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"echo bot exited with {self.process.returncode}:\n{self.log_tail()}")
            if b"READY" in self.log_path.read_bytes():
                return
            time.sleep(0.05)
        raise RuntimeError(f"echo bot not ready within {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def command_histogram(metrics_text: str, command: str = "ping") -> dict[str, Any]:
    """`labnetz_command_seconds` for one command: sum, count, mean and buckets."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, Any] = {"buckets": {}}
    deliveries: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if family.name == "labnetz_deliveries" and sample.name.endswith("_total"):
                deliveries[sample.labels.get("result", "")] = sample.value
            if family.name != "labnetz_command_seconds" or sample.labels.get("command") != command:
                continue
            if sample.name.endswith("_sum"):
                out["sum_seconds"] = sample.value
            elif sample.name.endswith("_count"):
                out["count"] = int(sample.value)
            elif sample.name.endswith("_bucket"):
                out["buckets"][sample.labels["le"]] = int(sample.value)
    if out.get("count"):
        out["mean_ms"] = round(out["sum_seconds"] / out["count"] * 1000, 2)
    out["deliveries_total"] = deliveries
    return out


async def login(hs: LocalSynapse, user_id: str, password: str, store: Path) -> AsyncClient:
    store.mkdir(parents=True, exist_ok=True)
    config = AsyncClientConfig(max_limit_exceeded=0, encryption_enabled=False, store_sync_tokens=False)
    client = AsyncClient(hs.url, user_id, store_path=str(store), config=config)
    resp = await client.login(password, device_name="bench")
    if not isinstance(resp, LoginResponse):
        await client.close()
        raise RuntimeError(f"login of {user_id} failed: {resp}")
    first = await client.sync(timeout=0, full_state=True, sync_filter=SYNC_FILTER)
    if not isinstance(first, SyncResponse):
        await client.close()
        raise RuntimeError(f"initial sync of {user_id} failed: {first}")
    return client


async def create_room(client: AsyncClient, invite: str) -> str:
    resp = await client.room_create(invite=[invite])
    if isinstance(resp, RoomCreateError):
        raise RuntimeError(f"room_create failed: {resp}")
    return str(resp.room_id)


async def run(ctx: Context) -> dict[str, Any]:
    samples = QUICK_SAMPLES if ctx.quick else SAMPLES
    hs = LocalSynapse(directory=ctx.tmp / "synapse")
    labnetz: BotProcess | None = None
    echo: EchoProcess | None = None
    client: AsyncClient | None = None
    measurer: Measurer | None = None
    try:
        await asyncio.to_thread(hs.start)
        ctx.log(f"Synapse up at {hs.url}")
        passwords = {name: secrets.token_hex(12) for name in ("labnetz", "echo", "user")}
        labnetz_id = hs.register("labnetz-bot", passwords["labnetz"])
        echo_id = hs.register("echo-bot", passwords["echo"])
        user_id = hs.register("bench-user", passwords["user"])

        labnetz = BotProcess(
            hs=hs,
            directory=ctx.tmp / "labnetz",
            user_id=labnetz_id,
            password=passwords["labnetz"],
            database_url=f"sqlite+aiosqlite:///{ctx.tmp / 'labnetz' / 'labnetz.db'}",
        )
        echo = EchoProcess(hs, ctx.tmp / "echo", echo_id, passwords["echo"])
        await asyncio.gather(
            asyncio.to_thread(labnetz.start), asyncio.to_thread(echo.start, ctx.root)
        )
        ctx.log(f"Labnetz healthy (web port {labnetz.web_port}); echo bot ready")

        client = await login(hs, user_id, passwords["user"], ctx.tmp / "user-store")
        measurer = Measurer(client)
        measurer.start()
        rooms = {
            "labnetz": await create_room(client, labnetz_id),
            "echo": await create_room(client, echo_id),
        }
        bot_ids = {"labnetz": labnetz_id, "echo": echo_id}
        for bot, room in rooms.items():
            await measurer.wait_until(
                lambda r=room, b=bot_ids[bot]: measurer.joined(r, b), 60, f"{bot} to join"
            )
        await measurer.wait_until(
            lambda: any(e.sender == labnetz_id for e in measurer.messages.get(rooms["labnetz"], [])),
            60,
            "the Labnetz greeting",
        )
        ctx.log("both bots joined their rooms; Labnetz greeted")

        lost = {"labnetz": 0, "echo": 0}

        async def ping(bot: str) -> dict[str, Any] | None:
            result = await measurer.ping(rooms[bot])
            if result is None:
                lost[bot] += 1
                ctx.log(f"lost a ping to {bot} (no reply within {REPLY_TIMEOUT:.0f} s)")
                if lost[bot] > MAX_LOST:
                    raise RuntimeError(f"{bot} lost more than {MAX_LOST} pings")
            return result

        for bot in ("labnetz", "echo"):
            for _ in range(WARMUP):
                await ping(bot)
        ctx.log(f"warm-up done ({WARMUP} pings each)")

        measured: dict[str, list[dict[str, Any]]] = {"labnetz": [], "echo": []}
        t_measure = time.monotonic()
        rounds = -(-samples // BATCH)
        for index in range(rounds):
            # ABBA order: who goes first alternates, so neither bot always follows the other.
            order = ("labnetz", "echo") if index % 2 == 0 else ("echo", "labnetz")
            for bot in order:
                for _ in range(min(BATCH, samples - len(measured[bot]))):
                    result = await ping(bot)
                    if result is not None:
                        result["round"] = index
                        measured[bot].append(result)
            if (index + 1) % 5 == 0 or index + 1 == rounds:
                p50 = {b: summary([r["rtt_ms"] for r in measured[b]])["p50"] for b in measured}
                ctx.log(
                    f"round {index + 1}/{rounds}: p50 so far labnetz {p50['labnetz']} ms, "
                    f"echo {p50['echo']} ms"
                )
        measure_seconds = time.monotonic() - t_measure

        metrics_text = await asyncio.to_thread(labnetz.metrics)
        handler = command_histogram(metrics_text)

        def turnaround(bot: str) -> list[float]:
            out = []
            for r in measured[bot]:
                reply = measurer.reply_id.get(r["event_id"])
                if reply in measurer.server_ts and r["event_id"] in measurer.server_ts:
                    out.append(float(measurer.server_ts[reply] - measurer.server_ts[r["event_id"]]))
            return out

        rtt = {b: [r["rtt_ms"] for r in measured[b]] for b in measured}
        series = {
            "labnetz": summary(rtt["labnetz"]),
            "echo": summary(rtt["echo"]),
            "labnetz server turnaround": summary(turnaround("labnetz")),
            "echo server turnaround": summary(turnaround("echo")),
        }
        ratios = {
            "p50": ratio(series["labnetz"]["p50"], series["echo"]["p50"]),
            "p95": ratio(series["labnetz"]["p95"], series["echo"]["p95"]),
            "mean": ratio(series["labnetz"]["mean"], series["echo"]["mean"]),
        }
        passed = ratios["p50"] is not None and ratios["p50"] <= TARGET_P50_RATIO
        return {
            "description": (
                "`!ping` round trip (ms): from just before room_send to the reply arriving in the "
                "measuring client's long-poll sync. Labnetz vs a bare nio echo bot, same Synapse, "
                "same run, alternating batches."
            ),
            "inputs": {
                "samples_per_bot": samples,
                "warmup_per_bot": WARMUP,
                "batch": BATCH,
                "order": "alternating batches, ABBA (who goes first alternates per round)",
                "pings": "strictly sequential: send, await reply, next; no pause",
                "reply_timeout_seconds": REPLY_TIMEOUT,
                "measuring_sync_filter": SYNC_FILTER,
                "labnetz": {
                    "encryption": labnetz.encryption,
                    "database": "SQLite file (aiosqlite, WAL)",
                    "room": "plain (unencrypted)",
                    "process": "python -m bot.cli run --config (bot/devbot.py BotProcess)",
                },
                "echo": {
                    "encryption": False,
                    "room": "plain (unencrypted)",
                    "process": "python -m bench.echo_bot (bare nio AsyncClient, no database)",
                },
                "synapse": "bot.devserver.LocalSynapse, SQLite, relaxed rate limits",
            },
            "unit": "ms",
            "series": series,
            "ratios": ratios,
            "target": {
                "metric": "ratios.p50",
                "max": TARGET_P50_RATIO,
                "text": f"labnetz p50 / echo p50 ≤ {TARGET_P50_RATIO}",
            },
            "passed": passed,
            "extra": {
                "lost": lost,
                "measure_seconds": round(measure_seconds, 1),
                "send_ms": {b: summary([r["send_ms"] for r in measured[b]]) for b in measured},
                "labnetz_command_seconds_ping": handler,
                "handler_count_includes_warmup": True,
                "measuring_client": {"syncs": measurer.syncs, "sync_errors": measurer.sync_errors},
                "per_round_p50_ms": {
                    b: [
                        summary([r["rtt_ms"] for r in measured[b] if r["round"] == i])["p50"]
                        for i in range(rounds)
                        if any(r["round"] == i for r in measured[b])
                    ]
                    for b in measured
                },
                "samples_ms": {b: [round(x, 2) for x in rtt[b]] for b in rtt},
            },
            "notes": [
                "The echo bot runs with encryption disabled; Labnetz with its default "
                "(encryption = true), in an unencrypted room.",
                "Server turnaround = reply origin_server_ts − ping origin_server_ts (1 ms "
                "resolution): the bot's share seen from Synapse, without the measuring client's "
                "own send and sync.",
                f"Labnetz handler time (labnetz_command_seconds, ping, incl. warm-up): "
                f"mean {handler.get('mean_ms')} ms over {handler.get('count')} commands.",
                "Absolute times on a shared 2-core machine are noisy; the ratios are what to "
                "compare between runs.",
            ],
        }
    finally:
        if measurer is not None:
            await measurer.stop()
        if client is not None:
            await client.close()
        if echo is not None:
            await asyncio.to_thread(echo.stop)
        if labnetz is not None:
            await asyncio.to_thread(labnetz.stop)
        await asyncio.to_thread(hs.stop)
