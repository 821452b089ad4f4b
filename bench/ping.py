"""`!ping` round trip through a real Synapse: Labnetz next to a bare nio echo bot.

Both bots run as their own processes on the same fresh Synapse, in the same run, each in a
plain room of its own with the measuring user. The measuring client long-polls sync in the
background; one round trip is the time from just before `room_send("!ping")` to the moment
its sync delivers the reply (matched on `m.relates_to.m.in_reply_to.event_id`). Pings are
strictly sequential and the two bots alternate in batches, so machine noise hits both alike.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from nio import AsyncClient

from bench import Context, ratio, summary
from bench.roundtrip import (
    REPLY_TIMEOUT,
    SYNC_FILTER,
    EchoProcess,
    Measurer,
    command_histogram,
    create_room,
    login,
    measurement_extra,
    stop_all,
)
from bot.devbot import BotProcess
from bot.devserver import LocalSynapse

NAME = "ping"
SAMPLES, QUICK_SAMPLES = 200, 40  # measured pings per bot
WARMUP = 10  # per bot, not counted
BATCH = 10  # pings to one bot before switching to the other
MAX_LOST = 5
TARGET_P50_RATIO = 1.15


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
                "labnetz_command_seconds_ping": handler,
                "handler_count_includes_warmup": True,
                **measurement_extra(measured, rtt, rounds, measurer, lost, measure_seconds),
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
        await stop_all(measurer, client, echo, labnetz, hs)
