"""Smoke tests for the local Synapse and the nio test helpers."""

from __future__ import annotations

import json
import urllib.request

from bot.devserver import LocalSynapse

from .matrix_helpers import create_room, join_room, send_text, wait_for_join, wait_for_message


def test_synapse_answers_versions(synapse: LocalSynapse) -> None:
    with urllib.request.urlopen(synapse.url + "/_matrix/client/versions", timeout=5) as resp:
        assert resp.status == 200
        assert "versions" in json.load(resp)


def test_register_is_idempotent(synapse: LocalSynapse, make_user) -> None:
    user_id, password = make_user("twice")
    localpart = user_id[1:].split(":")[0]
    assert synapse.register(localpart, password) == user_id
    assert synapse.register(localpart, "another password") == user_id


def test_admin_api_lists_devices(synapse: LocalSynapse, make_user) -> None:
    user_id, password = make_user("dev")
    synapse.login(user_id, password)
    assert len(synapse.user_devices(user_id)) == 1


async def test_plain_room_message(make_user, nio_client) -> None:
    alice = await nio_client(*make_user("alice"))
    bob = await nio_client(*make_user("bob"))
    room_id = await create_room(alice, invite=[bob.user_id], name="smoke")
    await join_room(bob, room_id)
    await wait_for_join(alice, room_id, bob.user_id)

    await send_text(alice, room_id, "first")
    await send_text(alice, room_id, "second")
    await send_text(bob, room_id, "hello alice")

    # Asked out of order: the buffer keeps "first" for the later wait.
    second = await wait_for_message(bob, room_id, lambda e: e.body == "second")
    first = await wait_for_message(bob, room_id, lambda e: True)
    assert (first.body, second.body) == ("first", "second")
    reply = await wait_for_message(alice, room_id, lambda e: True)
    assert reply.body == "hello alice" and reply.sender == bob.user_id


async def test_encrypted_room_message(make_user, nio_client) -> None:
    alice = await nio_client(*make_user("e2ea"), encryption=True)
    bob = await nio_client(*make_user("e2eb"), encryption=True)
    room_id = await create_room(alice, invite=[bob.user_id], encrypted=True)
    await join_room(bob, room_id)
    await wait_for_join(alice, room_id, bob.user_id)
    assert alice.rooms[room_id].encrypted

    await send_text(alice, room_id, "geheim")
    event = await wait_for_message(bob, room_id, lambda e: True)
    assert event.body == "geheim"
    assert event.decrypted
