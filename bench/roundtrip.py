"""Shared pieces of the round-trip benchmarks (`ping`, `labs`): a measuring client, the echo bot.

One round trip is the time from just before the measuring user's `room_send` to the moment its
background long-poll sync delivers the bot's reply, matched on
`m.relates_to.m.in_reply_to.event_id`. `EchoProcess` runs `bench/echo_bot.py`, the bare nio bot
that answers `!ping` and is the floor every benchmark here compares Labnetz with.
"""

from __future__ import annotations

import asyncio
import os
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
    from bench import summary

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


async def stop_all(measurer: Any, client: Any, echo: Any, labnetz: Any, hs: LocalSynapse) -> None:
    """Stop what a round-trip benchmark started, whatever of it was started."""
    if measurer is not None:
        await measurer.stop()
    if client is not None:
        await client.close()
    if echo is not None:
        await asyncio.to_thread(echo.stop)
    if labnetz is not None:
        await asyncio.to_thread(labnetz.stop)
    await asyncio.to_thread(hs.stop)
