"""The bot against a real Synapse, through real nio clients: answers, E2EE, restarts, outages."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path

from nio import AsyncClient

from bot.devbot import BotProcess
from bot.devserver import LocalSynapse

from .matrix_helpers import (
    bot_in_room_on,
    command_reply,
    create_room,
    joined_room_with_bot,
    replies_to,
    room_bodies,
    send_text,
    start_bot_with_federal_room,
    sync_once,
    wait_for_join,
    wait_for_message,
)

MakeBot = Callable[..., BotProcess]
MakeUser = Callable[..., tuple[str, str]]
NioClient = Callable[..., Awaitable[AsyncClient]]
BotAndUser = Callable[..., Awaitable[tuple[BotProcess, AsyncClient, str]]]


async def test_ping_round_trip_in_a_plain_room(bot_and_user: BotAndUser) -> None:
    bot, user, room = await bot_and_user("anna")

    reply = await command_reply(user, room, "!ping")
    content = reply.source["content"]
    assert reply.sender == bot.user_id
    assert (content["msgtype"], content["body"]) == ("m.notice", "pong")
    assert content["m.mentions"] == {"user_ids": [user.user_id]}
    assert 'labnetz_commands_total{command="ping",outcome="ok"} 1.0' in bot.metrics()
    status, health = bot.health()
    assert status == 200 and health["logged_in"] is True


async def test_ping_round_trip_in_an_encrypted_room_is_answered_encrypted(
    bot_and_user: BotAndUser
) -> None:
    bot, user, room = await bot_and_user("enc", encryption=True)

    reply = await command_reply(user, room, "!ping")
    assert reply.body == "pong"
    assert reply.decrypted, "the reply should have arrived encrypted"
    german = await command_reply(user, room, "!hilfe")
    assert "Befehle von Open Gov Labs" in german.body and german.decrypted


async def test_unknown_command_gets_a_suggestion(bot_and_user: BotAndUser) -> None:
    bot, user, room = await bot_and_user("typo")
    reply = await command_reply(user, room, "!hilfee")
    assert "Den Befehl „hilfee“ kenne ich nicht." in reply.body
    assert "Meinten Sie !hilfe?" in reply.body


async def test_a_second_bot_on_the_same_database_refuses_to_start(
    bot_and_user: BotAndUser, make_bot: MakeBot, database_url: str
) -> None:
    """Two bots on one database could send the same outbox row from two devices: the second stops."""
    bot, user, room = await bot_and_user("single")
    second = make_bot(database_url)
    second.start(wait=False)
    deadline = time.monotonic() + 60
    while second.running:
        assert time.monotonic() < deadline, second.log_tail()
        await asyncio.sleep(0.2)
    assert second.stop() == 1
    assert "another Labnetz process is running on this database" in second.log_tail()
    assert "pong" in (await command_reply(user, room, "!ping")).body  # the first one carries on


async def test_restart_keeps_the_device_and_answers_nothing_twice(
    bot_and_user: BotAndUser, synapse: LocalSynapse
) -> None:
    bot, user, room = await bot_and_user("restart")
    await command_reply(user, room, "!ping")
    device = bot.credentials()["device_id"]

    bot.stop()
    while_down = await send_text(user, room, "!ping")  # sent while the bot is down
    bot.start()
    await wait_for_message(user, room, replies_to(while_down), timeout=30)

    bot.kill()  # kill -9 this time
    bot.start()
    await command_reply(user, room, "!ping", timeout=30)
    await asyncio.sleep(1.5)  # room for a wrong extra answer to show up

    assert bot.credentials()["device_id"] == device
    assert [d["device_id"] for d in synapse.user_devices(bot.user_id)] == [device]
    bodies = await room_bodies(user, room, bot.user_id)
    assert bodies[0].startswith("Guten Tag! Ich bin der Bot des Netzwerks Open Gov Labs.")
    assert bodies[1:] == ["pong", "pong", "pong"]


async def test_committed_outbox_rows_are_delivered_exactly_once_after_a_crash(
    bot_and_user: BotAndUser, database_url: str
) -> None:
    """Row A was committed but never sent; row B reached Synapse but the bot died before
    recording it. After the restart each is in the room exactly once."""
    from nio import AsyncClientConfig, RoomSendResponse

    from bot.sender import transaction_id
    from storage import Database

    bot, user, room = await bot_and_user("crash")
    bot.kill()

    db = Database(database_url)
    await db.migrate()
    now = __import__("datetime").datetime.now(__import__("datetime").UTC)
    async with db.transaction() as store:
        a = await store.outbox.add(room, {"msgtype": "m.notice", "body": "probe A"}, now=now, purpose="test")
        b = await store.outbox.add(room, {"msgtype": "m.notice", "body": "probe B"}, now=now, purpose="test")
    creds = bot.credentials()
    same_device = AsyncClient(bot.hs.url, creds["user_id"], config=AsyncClientConfig(encryption_enabled=False))
    same_device.restore_login(creds["user_id"], creds["device_id"], creds["access_token"])
    sent = await same_device.room_send(
        room, "m.room.message", {"msgtype": "m.notice", "body": "probe B"},
        tx_id=transaction_id(db.installation_id, b.id),
    )
    await same_device.close()
    assert isinstance(sent, RoomSendResponse)

    bot.start()
    deadline = time.monotonic() + 30
    while True:
        async with db.transaction() as store:
            rows = [await store.outbox.get(a.id), await store.outbox.get(b.id)]
        if all(r is not None and r.state == "sent" for r in rows):
            break
        assert time.monotonic() < deadline, f"rows not delivered: {rows}"
        await asyncio.sleep(0.2)
    await db.close()
    assert rows[1] is not None and rows[1].event_id == sent.event_id  # Synapse de-duplicated it
    bodies = await room_bodies(user, room, bot.user_id)
    assert bodies.count("probe A") == 1 and bodies.count("probe B") == 1


async def test_invite_from_an_allowed_server_is_accepted_and_others_are_declined(
    make_bot: MakeBot, make_user: MakeUser, nio_client: NioClient, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/strict.db"
    picky = make_bot(url, allowed_servers=["example.org"])
    picky.start()
    user = await nio_client(*make_user("inviter"))
    room = await create_room(user, invite=[picky.user_id])
    deadline = time.monotonic() + 20
    while True:
        await sync_once(user, timeout=500)
        members = await user.joined_members(room)
        state = await user.room_get_state_event(room, "m.room.member", picky.user_id)
        if getattr(state, "content", {}).get("membership") == "leave":
            break
        assert picky.user_id not in [m.user_id for m in members.members]
        assert time.monotonic() < deadline, "the invite from a foreign server was never declined"


async def test_bot_survives_the_homeserver_being_down_for_ten_seconds(
    make_bot: MakeBot, tmp_path: Path, nio_client: NioClient
) -> None:
    with LocalSynapse(directory=tmp_path / "hs-outage") as hs:
        bot = make_bot(f"sqlite+aiosqlite:///{tmp_path}/outage.db", hs=hs)
        uid = hs.register("outage-user", "pw-outage")
        async with bot_in_room_on(hs, bot, uid, "pw-outage", tmp_path / "outage-store") as (user, room):
            await command_reply(user, room, "!ping")

            hs.stop()
            await asyncio.sleep(10)
            assert bot.running, f"the bot exited during the outage:\n{bot.log_tail()}"
            hs.start()

            reply = await command_reply(user, room, "!ping", timeout=40)
            assert reply.body == "pong"


async def test_rate_limited_replies_are_waited_out_and_all_arrive_once(
    make_bot: MakeBot, tmp_path: Path
) -> None:
    with LocalSynapse(directory=tmp_path / "hs-strict", strict_message_ratelimit=True) as hs:
        bot = make_bot(f"sqlite+aiosqlite:///{tmp_path}/strict.db", hs=hs)
        uid = hs.register("hasty", "pw-hasty")
        quoted = urllib.parse.quote(uid)
        hs.admin_request(
            "POST", f"/_synapse/admin/v1/users/{quoted}/override_ratelimit",
            {"messages_per_second": 0, "burst_count": 0},
        )
        async with bot_in_room_on(hs, bot, uid, "pw-hasty", tmp_path / "hasty-store") as (user, room):
            pings = [await send_text(user, room, "!ping") for _ in range(12)]
            for ping in pings:
                await wait_for_message(user, room, replies_to(ping), timeout=60)
            assert (await room_bodies(user, room, bot.user_id)).count("pong") == 12
            throttled = [
                line for line in bot.metrics().splitlines()
                if line.startswith('labnetz_deliveries_total{result="throttled"}')
            ]
            assert throttled and float(throttled[0].split()[-1]) > 0, "Synapse never throttled the bot"


async def test_an_undecryptable_message_gets_one_notice(
    make_bot: MakeBot, make_user: MakeUser, nio_client: NioClient, tmp_path: Path
) -> None:
    bot = make_bot(f"sqlite+aiosqlite:///{tmp_path}/undecryptable.db")
    bot.start()
    user = await nio_client(*make_user("secretive"), encryption=True)
    room = await joined_room_with_bot(bot, user, encrypted=True)
    # Withhold the room key from the bot's device: its copy of the message stays undecryptable.
    if user.should_query_keys:
        await user.keys_query()
    for device in user.device_store.active_user_devices(bot.user_id):
        user.blacklist_device(device)
    first = await send_text(user, room, "!ping")
    await send_text(user, room, "!ping")
    notice = await wait_for_message(user, room, replies_to(first), timeout=30)
    assert "Ich konnte Ihre Nachricht nicht entschlüsseln" in notice.body
    assert notice.source["content"]["msgtype"] == "m.notice"
    await asyncio.sleep(2)
    await sync_once(user, timeout=500)
    texts = await room_bodies(user, room, bot.user_id)
    assert sum("nicht entschlüsseln" in t for t in texts) == 1, texts


async def test_federal_room_is_joined_and_its_moderators_are_managers(
    make_bot: MakeBot, make_user: MakeUser, nio_client: NioClient, tmp_path: Path
) -> None:
    owner = await nio_client(*make_user("bund"))
    bot, federal = await start_bot_with_federal_room(make_bot, f"sqlite+aiosqlite:///{tmp_path}/federal.db", owner)
    await wait_for_join(owner, federal, bot.user_id, timeout=30)
    reply = await command_reply(owner, federal, "!werbinich")
    assert "Community-Manager:in des Bundesteams" in reply.body
    status = await command_reply(owner, federal, "!status")
    assert "Status von Open Gov Labs" in status.body and "Zustellungen:" in status.body
