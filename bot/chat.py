"""`labnetz chat`: a tiny terminal Matrix client, so anyone can try the bot without Element.

Lines typed (or piped) on stdin are sent to one room; messages from others in that
room are printed as they arrive. Piped input makes it scriptable::

    printf '!ping\\n' | labnetz chat --homeserver http://127.0.0.1:8008 \\
        --user @anna:localhost --password ... --room '#bundesteam:localhost'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinError,
    LocalProtocolError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomMessageEmote,
    RoomMessageNotice,
    RoomMessageText,
    RoomResolveAliasResponse,
    RoomSendResponse,
    WhoamiResponse,
)

PASSWORD_ENV = "LABNETZ_CHAT_PASSWORD"
CREDENTIALS_FILE = "credentials.json"
EOF_WAIT_SECONDS = 5.0
# After stdin ends, leave once replies have stopped for this long (or EOF_WAIT_SECONDS).
EOF_QUIET_SECONDS = 1.5


def default_store_dir(user_id: str) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in user_id.lstrip("@"))
    return cache / "labnetz-chat" / safe


def format_message(when: datetime, sender: str, body: str) -> str:
    prefix = f"[{when:%H:%M}] {sender}: "
    lines = body.splitlines() or [""]
    indent = " " * min(len(prefix), 12)
    return "\n".join([prefix + lines[0], *(indent + line for line in lines[1:])])


class _Chat:
    def __init__(
        self, client: AsyncClient, room_id: str, out: TextIO, save_token: Callable[[], None]
    ) -> None:
        self.client = client
        self.room_id = room_id
        self.out = out
        self.save_token = save_token
        self.last_incoming = 0.0
        client.add_event_callback(
            self._on_message, (RoomMessageText, RoomMessageNotice, RoomMessageEmote)
        )
        client.add_event_callback(self._on_undecryptable, MegolmEvent)

    def own_name(self) -> str:
        room = self.client.rooms.get(self.room_id)
        user_id = self.client.user_id
        return (room.user_name(user_id) if room else None) or user_id

    def show(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def _on_message(self, room: MatrixRoom, event: Any) -> None:
        if room.room_id != self.room_id or event.sender == self.client.user_id:
            return
        self.last_incoming = time.monotonic()
        when = datetime.fromtimestamp(event.server_timestamp / 1000)
        name = room.user_name(event.sender) or event.sender
        body = f"* {event.body}" if isinstance(event, RoomMessageEmote) else event.body
        self.show(format_message(when, name, body))

    async def _on_undecryptable(self, room: MatrixRoom, event: MegolmEvent) -> None:
        if room.room_id != self.room_id:
            return
        self.last_incoming = time.monotonic()
        when = datetime.fromtimestamp(event.server_timestamp / 1000)
        self.show(format_message(when, event.sender, "[nicht entschlüsselbar / undecryptable]"))

    async def sync_loop(self) -> None:
        client = self.client
        backoff = 1.0
        while True:
            try:
                resp = await client.sync(timeout=30000)
                ok = hasattr(resp, "next_batch")
                if ok:
                    await _crypto_housekeeping(client)
            except (OSError, aiohttp.ClientError) as err:  # TimeoutError is an OSError
                ok, resp = False, err
            if ok:
                backoff = 1.0
                self.save_token()
                continue
            self.show(f"! Sync-Fehler / sync error: {resp}")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30)

    async def send(self, body: str) -> bool:
        try:
            resp = await self.client.room_send(
                self.room_id,
                "m.room.message",
                {"msgtype": "m.text", "body": body},
                ignore_unverified_devices=True,
            )
        except (LocalProtocolError, OSError, aiohttp.ClientError) as err:
            resp = err
        if not isinstance(resp, RoomSendResponse):
            self.show(f"! Senden fehlgeschlagen / send failed: {resp}")
            return False
        return True


async def _crypto_housekeeping(client: AsyncClient) -> None:
    if client.olm is None:
        return
    # room_send() runs the same key requests concurrently; nio then raises
    # LocalProtocolError ("No key query required") here, which is harmless.
    with contextlib.suppress(LocalProtocolError):
        if client.should_upload_keys:
            await client.keys_upload()
    with contextlib.suppress(LocalProtocolError):
        if client.should_query_keys:
            await client.keys_query()
    with contextlib.suppress(LocalProtocolError):
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
    await client.send_to_device_messages()


def _load_credentials(store_dir: Path, homeserver: str, user_id: str) -> dict[str, str] | None:
    try:
        creds = json.loads((store_dir / CREDENTIALS_FILE).read_text())
    except (OSError, ValueError):
        return None
    if creds.get("homeserver") != homeserver or creds.get("user_id") != user_id:
        return None
    if not creds.get("access_token") or not creds.get("device_id"):
        return None
    return creds


def _save_credentials(store_dir: Path, homeserver: str, client: AsyncClient) -> None:
    path = store_dir / CREDENTIALS_FILE
    data = {
        "homeserver": homeserver,
        "user_id": client.user_id,
        "device_id": client.device_id,
        "access_token": client.access_token,
        # Resuming from the last token matters: Synapse caches sync responses per
        # device and request for minutes, so a restored device that syncs again
        # without `since` gets the previous run's responses replayed.
        "next_batch": client.next_batch or "",
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)


async def _log_in(
    client: AsyncClient, homeserver: str, password: str, store_dir: Path
) -> tuple[str, str]:
    """Reuse the saved device if its token still works.

    Returns (error text or '', sync token to resume from or '').
    """
    # client.user is what we were given; client.user_id stays empty until logged in.
    creds = _load_credentials(store_dir, homeserver, client.user)
    if creds is not None:
        client.restore_login(client.user, creds["device_id"], creds["access_token"])
        if isinstance(await client.whoami(), WhoamiResponse):
            return "", creds.get("next_batch", "")
        # Token revoked or the homeserver was reset: fall back to a password login.
        client.access_token = ""
    if not password:
        return f"Kein Passwort angegeben / no password given (--password or ${PASSWORD_ENV})", ""
    resp = await client.login(password, device_name="labnetz-chat")
    if not isinstance(resp, LoginResponse):
        return f"Anmeldung fehlgeschlagen / login failed: {resp.message}", ""
    _save_credentials(store_dir, homeserver, client)
    return "", ""


async def _enter_room(client: AsyncClient, room: str) -> tuple[str, str]:
    """Resolve and join the room; returns (room_id, error)."""
    room_id = room
    if room.startswith("#"):
        resolved = await client.room_resolve_alias(room)
        if not isinstance(resolved, RoomResolveAliasResponse):
            return "", f"Raum nicht gefunden / room not found: {room}"
        room_id = resolved.room_id
    if room_id not in client.rooms:
        joined = await client.join(room)
        if isinstance(joined, JoinError):
            return "", f"Beitritt fehlgeschlagen / could not join {room}: {joined.message}"
        deadline = time.monotonic() + 10
        while room_id not in client.rooms and time.monotonic() < deadline:
            await client.sync(timeout=500)
    return room_id, ""


def _start_stdin_reader(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    # A daemon thread, not loop.connect_read_pipe: it works for ttys, pipes and plain
    # files alike, and a blocked read never holds up the exit.
    def pump() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=pump, name="labnetz-chat-stdin", daemon=True).start()


async def run_chat(
    homeserver: str,
    user_id: str,
    password: str,
    room: str,
    store_dir: Path | None,
    *,
    encryption: bool = True,
    out: TextIO = sys.stdout,
    eof_wait: float = EOF_WAIT_SECONDS,
) -> int:
    store = Path(store_dir) if store_dir is not None else default_store_dir(user_id)
    store.mkdir(parents=True, exist_ok=True)
    config = AsyncClientConfig(encryption_enabled=encryption, store_sync_tokens=False)
    client = AsyncClient(homeserver, user_id, store_path=str(store), config=config)
    sync_task: asyncio.Task[None] | None = None
    try:
        error, since = await _log_in(client, homeserver, password, store)
        if error:
            print(error, file=sys.stderr)
            return 1
        # The first sync only establishes "now"; older messages are not printed. `since`
        # is passed, not put in client.next_batch: nio ignores a response whose token
        # equals next_batch, and full state is needed to know the rooms.
        first = await client.sync(timeout=0, full_state=True, since=since or None)
        if not hasattr(first, "next_batch"):
            print(f"Sync fehlgeschlagen / sync failed: {first}", file=sys.stderr)
            return 1
        await _crypto_housekeeping(client)
        room_id, error = await _enter_room(client, room)
        if error:
            print(error, file=sys.stderr)
            return 1
        chat = _Chat(client, room_id, out, lambda: _save_credentials(store, homeserver, client))
        sync_task = asyncio.create_task(chat.sync_loop())
        interactive = sys.stdin.isatty()
        chat.show(
            f"Verbunden mit {room} als {client.user_id}. "
            "Tippen Sie eine Nachricht, /quit beendet.\n"
            f"Connected to {room} as {client.user_id}. Type a message, /quit exits."
        )
        return await _input_loop(chat, interactive, eof_wait)
    finally:
        if sync_task is not None:
            sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sync_task
        await client.close()


async def _input_loop(chat: _Chat, interactive: bool, eof_wait: float) -> int:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    _start_stdin_reader(loop, lines)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    stop_wait = asyncio.create_task(stop.wait())
    try:
        while True:
            next_line = asyncio.create_task(lines.get())
            await asyncio.wait({next_line, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                next_line.cancel()
                chat.show("\nAuf Wiedersehen. / Goodbye.")
                return 0
            line = next_line.result()
            if line is None:
                await _drain_replies(chat, eof_wait, stop)
                return 0
            text = line.strip()
            if not text:
                continue
            if text.startswith("/quit"):
                chat.show("Auf Wiedersehen. / Goodbye.")
                return 0
            if not interactive:
                # Piped input is not echoed by a terminal; show what was sent.
                chat.show(format_message(datetime.now(), chat.own_name(), text))
            await chat.send(text)
    finally:
        stop_wait.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def _drain_replies(chat: _Chat, eof_wait: float, stop: asyncio.Event) -> None:
    """After EOF: wait for replies, leaving early once they have stopped coming."""
    started = time.monotonic()
    deadline = started + eof_wait
    while time.monotonic() < deadline and not stop.is_set():
        last = chat.last_incoming
        if last > started and time.monotonic() - last >= EOF_QUIET_SECONDS:
            return
        await asyncio.sleep(0.1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--homeserver", required=True, help="e.g. http://127.0.0.1:8008")
    parser.add_argument("--user", required=True, help="full user id, e.g. @anna:localhost")
    parser.add_argument(
        "--password",
        default=None,
        help=f"password (or set ${PASSWORD_ENV}; not needed once logged in)",
    )
    parser.add_argument("--room", required=True, help="room id or alias, e.g. '#bundesteam:localhost'")
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        help="directory for login and E2EE keys (default ~/.cache/labnetz-chat/<user>)",
    )
    parser.add_argument(
        "--no-encryption", action="store_true", help="do not load E2EE (encrypted rooms unreadable)"
    )


def main_from_args(args: argparse.Namespace) -> int:
    # nio logs every undecryptable old event and missing Olm session as a warning;
    # in a terminal chat those drown the conversation.
    logging.getLogger("nio").setLevel(logging.ERROR)
    password = args.password or os.environ.get(PASSWORD_ENV, "")
    store = args.store or default_store_dir(args.user)
    if not password and _load_credentials(store, args.homeserver, args.user) is None:
        if sys.stdin.isatty():
            password = getpass.getpass(f"Passwort / password for {args.user}: ")
    try:
        return asyncio.run(
            run_chat(
                args.homeserver,
                args.user,
                password,
                args.room,
                store,
                encryption=not args.no_encryption,
            )
        )
    except KeyboardInterrupt:
        # Ctrl-C before the room was entered (during login or joining).
        print("\nAbgebrochen. / Interrupted.", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labnetz chat", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return main_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
