"""`!ping` round trip through a real Synapse: Labnetz next to a bare nio echo bot.

Both bots run as their own processes on the same fresh Synapse, in the same run, each in a
plain room of its own with the measuring user. The measuring client long-polls sync in the
background; one round trip is the time from just before `room_send("!ping")` to the moment
its sync delivers the reply (matched on `m.relates_to.m.in_reply_to.event_id`). Pings are
strictly sequential and the two bots alternate in batches, so machine noise hits both alike.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench import Context, ratio
from bench.roundtrip import (
    REPLY_TIMEOUT,
    SYNC_FILTER,
    Series,
    Stage,
    command_histogram,
    create_room,
    measure,
    round_trip_series,
)

NAME = "ping"
SAMPLES, QUICK_SAMPLES = 200, 40  # measured pings per bot
WARMUP = 10  # per bot, not counted
BATCH = 10  # pings to one bot before switching to the other
MAX_LOST = 5
TARGET_P50_RATIO = 1.15
# ABBA order: the first batch of a round alternates, so neither bot always follows the other.
SERIES = (Series("labnetz", "labnetz", "!ping"), Series("echo", "echo", "!ping"))


async def run(ctx: Context) -> dict[str, Any]:
    samples = QUICK_SAMPLES if ctx.quick else SAMPLES
    async with Stage(ctx) as stage:
        labnetz = await stage.start_bots(f"sqlite+aiosqlite:///{ctx.tmp / 'labnetz' / 'labnetz.db'}")
        measurer = await stage.connect()
        rooms = {
            "labnetz": await create_room(measurer.client, stage.user_id("labnetz")),
            "echo": await create_room(measurer.client, stage.user_id("echo")),
        }
        await stage.wait_joined(rooms)

        measured = await measure(ctx, measurer, rooms, SERIES, samples, WARMUP, BATCH, MAX_LOST)

        metrics_text = await asyncio.to_thread(labnetz.metrics)
        handler = command_histogram(metrics_text)
        series = round_trip_series(measurer, measured)
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
                **measured.extra(measurer),
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
