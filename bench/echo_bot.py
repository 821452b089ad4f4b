"""A bare matrix-nio echo bot: the baseline the `ping` benchmark compares Labnetz with.

    python -m bench.echo_bot --homeserver URL --user @echo:localhost --password PW

It logs in, does one initial sync (whose history it ignores), then long-polls
`sync(timeout=30000, since=...)`. It joins every invite, and answers every new `m.text`
"!ping" from someone else with an `m.notice` "pong" in reply to it. Nothing else: no
database, no outbox, no E2EE (encryption is disabled), no metrics. That is the minimal
equivalent of what Labnetz does for `!ping`, so the difference is Labnetz's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any

from nio import AsyncClient, AsyncClientConfig, LoginResponse, RoomMessageText, SyncResponse

# The same filter Labnetz syncs with (bot/client.py), so both bots get the same sync bodies.
SYNC_FILTER: dict[str, Any] = {
    "room": {"timeline": {"limit": 100}, "state": {"lazy_load_members": False}},
    "presence": {"not_types": ["*"]},
}

log = logging.getLogger("echo_bot")


async def reply_pong(client: AsyncClient, room_id: str, event_id: str) -> None:
    content = {
        "msgtype": "m.notice",
        "body": "pong",
        "m.relates_to": {"m.in_reply_to": {"event_id": event_id}},
    }
    resp = await client.room_send(room_id, "m.room.message", content)
    if not hasattr(resp, "event_id"):
        log.warning("reply to %s failed: %s", event_id, resp)


async def join(client: AsyncClient, room_id: str) -> None:
    resp = await client.join(room_id)
    log.info("join %s: %s", room_id, type(resp).__name__)


async def run(homeserver: str, user: str, password: str, device_name: str) -> None:
    config = AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False, max_limit_exceeded=0)
    client = AsyncClient(homeserver, user, config=config)
    tasks: set[asyncio.Task[None]] = set()

    def spawn(coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        resp = await client.login(password, device_name=device_name)
        if not isinstance(resp, LoginResponse):
            raise SystemExit(f"login failed: {resp}")
        first = await client.sync(timeout=0, full_state=True, sync_filter=SYNC_FILTER)
        if not isinstance(first, SyncResponse):
            raise SystemExit(f"initial sync failed: {first}")
        for room_id in first.rooms.invite:
            spawn(join(client, room_id))
        token = first.next_batch
        print("READY", flush=True)
        while True:
            sync = await client.sync(timeout=30000, since=token, sync_filter=SYNC_FILTER)
            if not isinstance(sync, SyncResponse):
                log.warning("sync failed: %s", sync)
                await asyncio.sleep(1)
                continue
            token = sync.next_batch
            for room_id in sync.rooms.invite:
                spawn(join(client, room_id))
            for room_id, info in sync.rooms.join.items():
                for event in info.timeline.events:
                    if (
                        isinstance(event, RoomMessageText)
                        and event.sender != client.user_id
                        and event.body.strip() == "!ping"
                    ):
                        await reply_pong(client, room_id, event.event_id)
    finally:
        for task in tasks:
            task.cancel()
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.echo_bot", description=__doc__.split("\n")[0])
    parser.add_argument("--homeserver", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--device-name", default="echo-bot")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("nio").setLevel(logging.WARNING)

    async def guarded() -> None:
        main_task = asyncio.current_task()
        assert main_task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, main_task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await run(args.homeserver, args.user, args.password, args.device_name)

    asyncio.run(guarded())
    return 0


if __name__ == "__main__":
    sys.exit(main())
