"""A broadcast to 500 lab rooms, next to a raw floor: one plain nio client sending the same 500
messages at the same concurrency.

Set-up: one Synapse (bench/devserver relaxed rate limits), a manager who creates the federal room
and 500 lab rooms with the bot and a third member invited (the member joins every room), 500 labs over the 16 Bundesländer seeded directly into the
bot's database (each linked to one room), then Labnetz starts and joins (and greets) every room.

Measured, alternating: the floor (the manager's client sends the announcement's content to all
500 rooms through an asyncio semaphore
of 8; time from the first send to the last response) and Labnetz (time from just before the
manager's `!ankuendigen` is sent until the last copy's send returned, read from the outbox's
`sent_at`; plus when the command's reply and the final progress edit ("500/500 zugestellt")
reached Synapse). The measuring client does not sync during either run.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from nio import AsyncClient, RoomCreateResponse, RoomSendResponse, SyncResponse
from sqlalchemy import func, select

from bench import Context, ratio, summary
from bench._setup import local_synapse, register_accounts
from bench.roundtrip import SYNC_FILTER, login
from bot.devbot import BotProcess
from bot.devserver import LocalSynapse
from bot.i18n import translator
from commands.announce_work import copy_content
from commands.geo import STATES
from storage import Database
from storage.models import OutboxRow

NAME = "announce"
ROOMS, QUICK_ROOMS = 500, 100
ROUNDS, QUICK_ROUNDS = 3, 1
CONCURRENCY = 8  # the bot's default delivery concurrency, and the floor's
PACED_SECONDS_PER_ROOM = 2.0  # maubot rss-style pacing
TARGET_RATIO = 1.3
TEXT = ("Liebe Labore, das **Netzwerktreffen** findet am Freitag, 4. Dezember, um 14 Uhr statt. "
        "Bitte melden Sie bis Mittwoch zurück, wer aus Ihrem Labor teilnimmt.\n\n- Ort: online\n- Dauer: 90 Minuten")


async def create_rooms(client: AsyncClient, invite: list[str], count: int, ctx: Context) -> list[str]:
    rooms: list[str] = []
    for start in range(0, count, 20):
        made = await asyncio.gather(*(client.room_create(name=f"OGL {i}", invite=invite)
                                      for i in range(start, min(start + 20, count))))
        for resp in made:
            if not isinstance(resp, RoomCreateResponse):
                raise RuntimeError(f"room_create failed: {resp}")
            rooms.append(resp.room_id)
        if (start // 20) % 5 == 4:
            ctx.log(f"{len(rooms)} rooms created")
    return rooms


async def seed(url: str, rooms: list[str], manager: str) -> None:
    db = Database(url)
    await db.migrate()
    now = datetime.now(UTC)
    codes = list(STATES)
    async with db.transaction() as store:
        for index, room in enumerate(rooms):
            lab = await store.labs.create(slug=f"ogl-{index}", name=f"OGL {index}", city=f"Stadt {index}",
                                          state=codes[index % len(codes)], level="kommune", host=None,
                                          host_legal_form=None, timezone="Europe/Berlin", created_by=manager,
                                          now=now)
            await store.labs.link(room, lab.id, manager, now)
    await db.close()


async def outbox_state(db: Database, reference: str | None = None, purpose: str | None = None) -> dict[str, Any]:
    async with db.transaction() as store:
        stmt = select(OutboxRow.state, func.count(), func.max(OutboxRow.sent_at)).group_by(OutboxRow.state)
        if reference is not None:
            stmt = stmt.where(OutboxRow.reference == reference)
        if purpose is not None:
            stmt = stmt.where(OutboxRow.purpose == purpose)
        rows = (await store.session.execute(stmt)).all()
    counts = {state: count for state, count, _ in rows}
    last = max((sent for _, _, sent in rows if sent is not None), default=None)
    return {"counts": counts, "last_sent_at": last}


async def floor_run(client: AsyncClient, rooms: list[str], content: dict[str, Any]) -> float:
    """One plain client, the same messages, the same concurrency: seconds until the last response."""
    limit = asyncio.Semaphore(CONCURRENCY)
    failures: list[Any] = []

    async def one(room: str) -> None:
        async with limit:
            resp = await client.room_send(room, "m.room.message", content)
            if not isinstance(resp, RoomSendResponse):
                failures.append(resp)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(room) for room in rooms))
    elapsed = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"floor: {len(failures)} sends failed, e.g. {failures[0]}")
    return elapsed


async def bot_run(client: AsyncClient, db: Database, federal: str, number: int, count: int,
                  bot_id: str) -> dict[str, float]:
    """`!ankuendigen` in the federal room; seconds until every copy is sent (the outbox's sent_at),
    and until the reply and the final progress edit reached Synapse (their origin_server_ts).
    The measuring client does not sync during the broadcast (the floor's client does not either):
    completion is read from the bot's database."""
    done_text = f"{count}/{count} zugestellt"
    t0_wall = datetime.now(UTC)
    t0 = time.perf_counter()
    resp = await client.room_send(federal, "m.room.message", {"msgtype": "m.text", "body": f"!ankuendigen {TEXT}"})
    if not isinstance(resp, RoomSendResponse):
        raise RuntimeError(f"command not sent: {resp}")
    while True:
        state = await outbox_state(db, reference=f"announcement:{number}")
        if state["counts"].get("sent") == count:
            break
        if time.perf_counter() - t0 > 600:
            raise RuntimeError(f"broadcast #{number} not done within 600 s: {state['counts']}")
        await asyncio.sleep(0.25)
    seen = {"delivered": (state["last_sent_at"] - t0_wall).total_seconds()}
    start_ms = t0_wall.timestamp() * 1000
    while "progress" not in seen:
        if time.perf_counter() - t0 > 700:
            raise RuntimeError(f"broadcast #{number}: no final progress edit")
        sync = await client.sync(timeout=1000, since=client.next_batch, sync_filter=SYNC_FILTER)
        joined = sync.rooms.join if isinstance(sync, SyncResponse) else {}
        for event in joined[federal].timeline.events if federal in joined else []:
            body = getattr(event, "body", "") or ""
            if event.sender != bot_id:
                continue
            at = (event.server_timestamp - start_ms) / 1000
            if f"Ankündigung #{number} wird zugestellt" in body:
                seen.setdefault("reply", at)
            if f"Ankündigung #{number}:" in body and done_text in body:
                seen.setdefault("progress", at)
    return seen


async def settle(client: AsyncClient, federal: str, bot_id: str) -> None:
    """A `!ping` answered: the bot has worked through its sync backlog (e.g. the floor's 500
    messages) before the next run starts."""
    resp = await client.room_send(federal, "m.room.message", {"msgtype": "m.text", "body": "!ping"})
    if not isinstance(resp, RoomSendResponse):
        raise RuntimeError(f"ping not sent: {resp}")
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        sync = await client.sync(timeout=1000, since=client.next_batch, sync_filter=SYNC_FILTER)
        joined = sync.rooms.join if isinstance(sync, SyncResponse) else {}
        for event in joined[federal].timeline.events if federal in joined else []:
            relates = event.source.get("content", {}).get("m.relates_to", {})
            if event.sender == bot_id and relates.get("m.in_reply_to", {}).get("event_id") == resp.event_id:
                return
    raise RuntimeError("the bot did not answer !ping within 120 s")


async def run(ctx: Context) -> dict[str, Any]:
    async with local_synapse(ctx) as hs:
        return await _run(ctx, hs)


async def _run(ctx: Context, hs: LocalSynapse) -> dict[str, Any]:
    count = QUICK_ROOMS if ctx.quick else ROOMS
    rounds = QUICK_ROUNDS if ctx.quick else ROUNDS
    bot: BotProcess | None = None
    client: AsyncClient | None = None
    db: Database | None = None
    try:
        accounts = register_accounts(hs, bot="labnetz-bot", manager="bench-manager", member="bench-member")
        passwords = {name: account.password for name, account in accounts.items()}
        bot_id, manager_id, member_id = (accounts[name].user_id for name in ("bot", "manager", "member"))
        client = await login(hs, manager_id, passwords["manager"], ctx.tmp / "manager-store")
        federal = (await client.room_create(name="Bundesteam", invite=[bot_id])).room_id
        t_setup = time.monotonic()
        rooms = await create_rooms(client, [bot_id, member_id], count, ctx)
        # A third member in every lab room, as in real lab rooms: then the floor's messages are not
        # direct-chat commands to the bot, and both sides send the same m.text.
        member = await login(hs, member_id, passwords["member"], ctx.tmp / "member-store")
        try:
            for start in range(0, count, 20):
                await asyncio.gather(*(member.join(room) for room in rooms[start:start + 20]))
        finally:
            await member.close()
        ctx.log(f"{count} lab rooms created (3 members each) in {time.monotonic() - t_setup:.0f} s")
        url = f"sqlite+aiosqlite:///{ctx.tmp / 'labnetz' / 'labnetz.db'}"
        await seed(url, rooms, manager_id)
        db = Database(url)
        bot = BotProcess(hs=hs, directory=ctx.tmp / "labnetz", user_id=bot_id, password=passwords["bot"],
                         database_url=url, federal_room=federal, delivery_concurrency=CONCURRENCY)
        await asyncio.to_thread(bot.start)
        t_join = time.monotonic()
        while True:  # joined and greeted every room: nothing pending in the outbox
            state = await outbox_state(db, purpose="greeting")
            if state["counts"].get("sent", 0) >= count + 1 and not state["counts"].get("pending"):
                break
            if time.monotonic() - t_join > 600:
                raise RuntimeError(f"bot did not join and greet in time: {state}")
            await asyncio.sleep(1)
        ctx.log(f"bot joined and greeted {count + 1} rooms in {time.monotonic() - t_join:.0f} s")
        await client.sync(timeout=0, since=client.next_batch, sync_filter=SYNC_FILTER)

        content = copy_content(translator("de"), "Bundesteam", TEXT)
        floors: list[float] = []
        broadcasts: list[dict[str, float]] = []
        for index in range(rounds):
            await settle(client, federal, bot_id)
            floors.append(await floor_run(client, rooms, content))
            ctx.log(f"round {index + 1}: floor {floors[-1]:.2f} s")
            await settle(client, federal, bot_id)
            broadcasts.append(await bot_run(client, db, federal, index + 1, count, bot_id))
            ctx.log(f"round {index + 1}: Labnetz delivered in {broadcasts[-1]['delivered']:.2f} s "
                    f"(reply seen {broadcasts[-1].get('reply', float('nan')):.2f} s, "
                    f"final progress seen {broadcasts[-1]['progress']:.2f} s)")
        delivered = [b["delivered"] for b in broadcasts]
        progress = [b["progress"] for b in broadcasts]
        replies = [b["reply"] for b in broadcasts if "reply" in b]
        floor_p50 = summary(floors)["p50"]
        labnetz_p50 = summary(delivered)["p50"]
        per_round = [round(d / f, 3) for d, f in zip(delivered, floors, strict=True)]
        r = ratio(labnetz_p50, floor_p50)
        return {
            "description": f"Broadcast to {count} lab rooms: Labnetz `!ankuendigen` vs one plain nio client "
                           f"sending the same {count} messages, both at concurrency {CONCURRENCY}",
            "inputs": {"rooms": count, "rounds": rounds, "concurrency": CONCURRENCY,
                       "text_chars": len(TEXT), "paced_seconds_per_room": PACED_SECONDS_PER_ROOM},
            "unit": "s",
            "series": {
                "floor: plain nio client": summary(floors),
                "labnetz: all copies sent": summary(delivered),
                "labnetz: final progress seen": summary(progress),
                "labnetz: reply seen": summary(replies, 3),
            },
            "ratios": {
                "labnetz/floor (p50)": r,
                "speed-up over 2 s/room pacing": ratio(count * PACED_SECONDS_PER_ROOM, labnetz_p50, 1),
                "labnetz/floor per round (worst)": max(per_round),
            },
            "target": {"metric": "ratios.labnetz/floor (p50)", "max": TARGET_RATIO,
                       "text": f"all copies sent within {TARGET_RATIO}× the raw floor"},
            "passed": r is not None and r <= TARGET_RATIO,
            "extra": {"floors_s": [round(x, 3) for x in floors], "delivered_s": [round(x, 3) for x in delivered],
                      "progress_s": [round(x, 3) for x in progress], "per_round_ratio": per_round},
            "notes": [
                "Labnetz's time runs from just before the manager's command is sent to the last copy's "
                "send response (the outbox's sent_at), so it includes the command's trip to the bot, "
                "parsing, target selection and writing 500 outbox rows in one transaction.",
                "Both send the same m.text content (it notifies, so Synapse evaluates push rules for it); "
                "each lab room has three members, so the bot does not take the floor's messages for commands.",
                "Floor and Labnetz alternate, so both see the same Synapse state; the bot runs during the floor "
                "too. Before each run a `!ping` must be answered, so the bot's sync has caught up.",
                f"2 s/room pacing would take {count * PACED_SECONDS_PER_ROOM:.0f} s for {count} rooms.",
            ],
        }
    finally:
        if db is not None:
            await db.close()
        if client is not None:
            await client.close()
        if bot is not None:
            await asyncio.to_thread(bot.stop)
