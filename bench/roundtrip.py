"""Shared pieces of the round-trip benchmarks (`ping`, `labs`, `booking`'s second part): a
measuring client, the echo bot, their set-up and the measuring loop.

One round trip is the time from just before the measuring user's `room_send` to the moment its
background long-poll sync delivers the bot's reply, matched on
`m.relates_to.m.in_reply_to.event_id`. `EchoProcess` runs `bench/echo_bot.py`, the bare nio bot
that answers `!ping` and is the floor every benchmark here compares Labnetz with.

`Stage` holds what such a benchmark starts on its Synapse (accounts, Labnetz, the echo bot, the
measuring client) and stops it again; `measure()` runs the warm-up and the rotating batches of
several series; `round_trip_series()` summarises them with their server turnaround.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    LoginResponse,
    RoomCreateError,
    RoomInviteResponse,
    RoomMessage,
    RoomSendResponse,
    SyncResponse,
)

from bench import summary
from bench._setup import Account, LogWatch, local_synapse, log_tail, register_accounts, stop_process
from bot.devbot import BotProcess
from bot.devserver import LocalSynapse

REPLY_TIMEOUT = 30.0  # seconds; a command without a reply by then counts as lost
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
        """One `!ping` round trip; None if no reply came within REPLY_TIMEOUT."""
        return await self.send(room_id, "!ping")

    async def send(self, room_id: str, body: str) -> dict[str, Any] | None:
        """One round trip for the `m.text` `body`; None if no reply came within REPLY_TIMEOUT."""
        assert self.task is not None
        started = time.perf_counter()
        resp = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": body}
        )
        sent = time.perf_counter()
        if not isinstance(resp, RoomSendResponse):
            raise RuntimeError(f"sending {body} to {room_id} failed: {resp}")
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
        process = self.process

        def exited() -> str | None:
            return None if process.poll() is None else f"exited with {process.returncode}"

        LogWatch(self.log_path, ("READY",)).wait_for("READY", exited, timeout, "echo bot", self.log_tail)

    def stop(self, timeout: float = 10) -> None:
        stop_process(self.process, timeout)
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)


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


async def create_room(client: AsyncClient, invite: str | None = None) -> str:
    """A private room; `invite` (if given) is invited at creation."""
    resp = await client.room_create(invite=[invite] if invite else [])
    if isinstance(resp, RoomCreateError):
        raise RuntimeError(f"room_create failed: {resp}")
    return str(resp.room_id)


def measurement_extra(
    measured: dict[str, list[dict[str, Any]]],
    rtt: dict[str, list[float]],
    rounds: int,
    measurer: Measurer,
    lost: Any,
    measure_seconds: float,
) -> dict[str, Any]:
    """What every round-trip benchmark reports besides its series: send times, per-round
    medians, the raw samples and the measuring client's health."""
    return {
        "lost": lost,
        "measure_seconds": round(measure_seconds, 1),
        "send_ms": {n: summary([r["send_ms"] for r in measured[n]]) for n in measured},
        "measuring_client": {"syncs": measurer.syncs, "sync_errors": measurer.sync_errors},
        "per_round_p50_ms": {
            n: [
                summary([r["rtt_ms"] for r in measured[n] if r["round"] == i])["p50"]
                for i in range(rounds)
                if any(r["round"] == i for r in measured[n])
            ]
            for n in measured
        },
        "samples_ms": {n: [round(x, 2) for x in rtt[n]] for n in rtt},
    }


async def join_as(hs: LocalSynapse, user_id: str, password: str, room_id: str, store: Path) -> None:
    """Log `user_id` in, join `room_id` (invited already), log out again."""
    client = await login(hs, user_id, password, store)
    try:
        resp = await client.join(room_id)
        if not isinstance(resp, JoinResponse):
            raise RuntimeError(f"{user_id} could not join {room_id}: {resp}")
    finally:
        await client.close()


class Stage:
    """One round-trip benchmark's parts, as an async context manager.

    Entering starts a fresh local Synapse in the temp dir and registers `labnetz-bot`,
    `echo-bot`, `bench-user` (the measuring user) and, with `member=True`, `bench-member` (a
    second user in the lab room, so that it is a group room and not a direct chat). The rest
    starts when the benchmark says so, in the order it needs. Leaving stops whatever of it was
    started, then Synapse, also on errors.
    """

    def __init__(self, ctx: Any, member: bool = False) -> None:
        self.ctx = ctx
        self.member = member
        self.accounts: dict[str, Account] = {}
        self.labnetz: BotProcess | None = None
        self.echo: EchoProcess | None = None
        self.client: AsyncClient | None = None
        self.measurer: Measurer | None = None
        self._exit = AsyncExitStack()

    async def __aenter__(self) -> Stage:
        async with AsyncExitStack() as stack:
            self.hs: LocalSynapse = await stack.enter_async_context(local_synapse(self.ctx))
            stack.push_async_callback(self.close)
            names = {"labnetz": "labnetz-bot", "echo": "echo-bot", "user": "bench-user"}
            if self.member:
                names["member"] = "bench-member"
            self.accounts = register_accounts(self.hs, **names)
            self._exit = stack.pop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._exit.aclose()

    def user_id(self, name: str) -> str:
        return self.accounts[name].user_id

    async def connect(self) -> Measurer:
        """Log the measuring user in and start its background sync."""
        user = self.accounts["user"]
        self.client = await login(self.hs, user.user_id, user.password, self.ctx.tmp / "user-store")
        self.measurer = Measurer(self.client)
        self.measurer.start()
        return self.measurer

    async def start_bots(self, database_url: str) -> BotProcess:
        """Labnetz (`bot/devbot.py`, on `database_url`) and the echo bot, started side by side."""
        labnetz = self.accounts["labnetz"]
        self.labnetz = BotProcess(
            hs=self.hs,
            directory=self.ctx.tmp / "labnetz",
            user_id=labnetz.user_id,
            password=labnetz.password,
            database_url=database_url,
        )
        self.echo = EchoProcess(self.hs, self.ctx.tmp / "echo", self.user_id("echo"), self.accounts["echo"].password)
        await asyncio.gather(
            asyncio.to_thread(self.labnetz.start), asyncio.to_thread(self.echo.start, self.ctx.root)
        )
        self.ctx.log(f"Labnetz healthy (web port {self.labnetz.web_port}); echo bot ready")
        return self.labnetz

    async def lab_and_echo_rooms(self) -> dict[str, str]:
        """The lab room (with `bench-member`, who joins) and the echo room (the echo bot invited),
        both created by the measuring user; Labnetz is invited later with `invite_labnetz`."""
        assert self.client is not None
        rooms = {
            "labnetz": await create_room(self.client, self.user_id("member")),
            "echo": await create_room(self.client, self.user_id("echo")),
        }
        member = self.accounts["member"]
        await join_as(self.hs, member.user_id, member.password, rooms["labnetz"], self.ctx.tmp / "member-store")
        return rooms

    async def invite_labnetz(self, room_id: str) -> None:
        assert self.client is not None
        invited = await self.client.room_invite(room_id, self.user_id("labnetz"))
        if not isinstance(invited, RoomInviteResponse):
            raise RuntimeError(f"inviting Labnetz failed: {invited}")

    async def wait_joined(self, rooms: dict[str, str]) -> None:
        """Until each bot has joined its room (`rooms`: bot name -> room id) and Labnetz has
        greeted in its room."""
        measurer = self.measurer
        assert measurer is not None
        for bot, room in rooms.items():
            bot_id = self.user_id(bot)
            await measurer.wait_until(lambda r=room, b=bot_id: measurer.joined(r, b), 60, f"{bot} to join")
        labnetz_id = self.user_id("labnetz")
        await measurer.wait_until(
            lambda: any(e.sender == labnetz_id for e in measurer.messages.get(rooms["labnetz"], [])),
            60,
            "the Labnetz greeting",
        )
        self.ctx.log("both bots joined their rooms; Labnetz greeted")

    async def close(self) -> None:
        """Stop the measuring client, the echo bot and Labnetz, whatever of them was started."""
        if self.measurer is not None:
            await self.measurer.stop()
        if self.client is not None:
            await self.client.close()
        if self.echo is not None:
            await asyncio.to_thread(self.echo.stop)
        if self.labnetz is not None:
            await asyncio.to_thread(self.labnetz.stop)


@dataclass(frozen=True)
class Series:
    """One measured series: `body` (or a function giving each command's body) to `bot`'s room."""

    name: str
    bot: str
    body: str | Callable[[], str]


@dataclass
class Measured:
    samples: dict[str, list[dict[str, Any]]]  # series -> round trips (rtt_ms, send_ms, round, body)
    lost: dict[str, int]
    rounds: int
    seconds: float

    def extra(self, measurer: Measurer) -> dict[str, Any]:
        rtt = {n: [r["rtt_ms"] for r in self.samples[n]] for n in self.samples}
        return measurement_extra(self.samples, rtt, self.rounds, measurer, self.lost, self.seconds)


async def measure(
    ctx: Any,
    measurer: Measurer,
    rooms: dict[str, str],
    series: Sequence[Series],
    samples: int,
    warmup: int,
    batch: int,
    max_lost: int,
) -> Measured:
    """`warmup` commands per series (not counted), then rounds of one batch of `batch` per
    series, the first batch of a round rotating, until each series has `samples` round trips.
    Strictly sequential; more than `max_lost` lost commands in a series end the benchmark."""
    lost = {s.name: 0 for s in series}

    async def send(one: Series) -> dict[str, Any] | None:
        body = one.body() if callable(one.body) else one.body
        result = await measurer.send(rooms[one.bot], body)
        if result is None:
            lost[one.name] += 1
            ctx.log(f"lost a {body} to {one.bot} (no reply within {REPLY_TIMEOUT:.0f} s)")
            if lost[one.name] > max_lost:
                raise RuntimeError(f"{one.name}: more than {max_lost} commands lost")
        else:
            result["body"] = body
        return result

    for one in series:
        for _ in range(warmup):
            await send(one)
    ctx.log(f"warm-up done ({warmup} commands per series)")

    measured: dict[str, list[dict[str, Any]]] = {s.name: [] for s in series}
    t_measure = time.monotonic()
    rounds = -(-samples // batch)
    order = list(series)
    for index in range(rounds):
        # Rotate who goes first, so no series always follows the same other one.
        shift = index % len(order)
        for one in order[shift:] + order[:shift]:
            for _ in range(min(batch, samples - len(measured[one.name]))):
                result = await send(one)
                if result is not None:
                    result["round"] = index
                    measured[one.name].append(result)
        if (index + 1) % 5 == 0 or index + 1 == rounds:
            p50 = {n: summary([r["rtt_ms"] for r in measured[n]])["p50"] for n in measured}
            ctx.log(f"round {index + 1}/{rounds}: p50 so far " + ", ".join(f"{n} {v} ms" for n, v in p50.items()))
    return Measured(measured, lost, rounds, time.monotonic() - t_measure)


def server_turnaround(measurer: Measurer, samples: list[dict[str, Any]]) -> list[float]:
    """Reply origin_server_ts - command origin_server_ts (ms), per sample whose both are known."""
    out = []
    for r in samples:
        reply = measurer.reply_id.get(r["event_id"])
        if reply in measurer.server_ts and r["event_id"] in measurer.server_ts:
            out.append(float(measurer.server_ts[reply] - measurer.server_ts[r["event_id"]]))
    return out


def round_trip_series(measurer: Measurer, measured: Measured, prefix: str = "") -> dict[str, dict[str, Any]]:
    """`<prefix><series>` (round trip) for every series, then `<prefix><series> server turnaround`."""
    series = {f"{prefix}{n}": summary([r["rtt_ms"] for r in samples]) for n, samples in measured.samples.items()}
    for n, samples in measured.samples.items():
        series[f"{prefix}{n} server turnaround"] = summary(server_turnaround(measurer, samples))
    return series
