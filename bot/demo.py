"""`labnetz demo` (what `make demo` runs): local Synapse, demo labs and users, and the bot.

Everything lives under one directory (default ``.demo``) and is reused on the next run:
Synapse's database and port, the users' passwords, the rooms and the bot's config.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import AsyncClient, AsyncClientConfig, LoginResponse, RoomResolveAliasResponse

from bot.demobanner import print_banner
from bot.demoexperts import enter_experts
from bot.demoseed import ADMIN, BOT, DEMO_USERS, ROOMS, seed_labs
from bot.devserver import LocalSynapse, SynapseError, free_port, port_is_free

HEALTH_TIMEOUT = 60.0


@dataclass
class DemoPaths:
    root: Path

    @property
    def users(self) -> Path:
        return self.root / "users.json"

    @property
    def rooms(self) -> Path:
        return self.root / "rooms.json"

    @property
    def config(self) -> Path:
        return self.root / "labnetz.toml"

    @property
    def bot_log(self) -> Path:
        return self.root / "bot.log"

    @property
    def bot_pid(self) -> Path:
        return self.root / "bot.pid"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def ensure_users(hs: LocalSynapse, paths: DemoPaths) -> dict[str, str]:
    """Register the bot and demo users; passwords are generated once and kept."""
    passwords = _read_json(paths.users)
    for localpart in [BOT, *DEMO_USERS]:
        passwords.setdefault(localpart, secrets.token_urlsafe(9))
    _write_private(paths.users, json.dumps(passwords, indent=2) + "\n")
    hs.register(BOT, passwords[BOT], displayname="Labnetz")
    for localpart, name in DEMO_USERS.items():
        hs.register(localpart, passwords[localpart], displayname=name)
    return passwords


async def _login(hs: LocalSynapse, localpart: str, password: str) -> AsyncClient:
    # Setup needs no E2EE: creating rooms and joining are plain API calls.
    client = AsyncClient(
        hs.url,
        hs.user_id(localpart),
        config=AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False),
    )
    resp = await client.login(password, device_name="labnetz-demo-setup")
    if not isinstance(resp, LoginResponse):
        await client.close()
        raise SynapseError(f"demo login of {localpart} failed: {resp}")
    return client


async def _logout(client: AsyncClient) -> None:
    # Every setup run logs in afresh; logging out deletes that device again, so
    # reruns don't pile up devices the users' real clients would have to encrypt for.
    with contextlib.suppress(Exception):
        await client.logout()
    await client.close()


async def ensure_rooms(hs: LocalSynapse, paths: DemoPaths, passwords: dict[str, str]) -> dict[str, str]:
    """Create the federal and lab rooms once (as demo-admin) and have everyone join."""
    known = _read_json(paths.rooms)
    invitees = [hs.user_id(BOT), *(hs.user_id(u) for u in DEMO_USERS if u != ADMIN)]
    admin = await _login(hs, ADMIN, passwords[ADMIN])
    rooms: dict[str, str] = {}
    try:
        for alias, (name, encrypted) in ROOMS.items():
            full_alias = f"#{alias}:{hs.server_name}"
            resolved = await admin.room_resolve_alias(full_alias)
            if isinstance(resolved, RoomResolveAliasResponse):
                rooms[full_alias] = resolved.room_id
                continue
            initial_state = []
            if encrypted:
                initial_state.append(
                    {
                        "type": "m.room.encryption",
                        "state_key": "",
                        "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                    }
                )
            created = await admin.room_create(
                alias=alias, name=name, invite=invitees, initial_state=initial_state
            )
            room_id = getattr(created, "room_id", None)
            if not room_id:
                raise SynapseError(f"could not create {full_alias}: {created}")
            rooms[full_alias] = room_id
    finally:
        await _logout(admin)
    if rooms != known:
        paths.rooms.write_text(json.dumps(rooms, indent=2) + "\n")
    # Joining is idempotent; doing it on every run also repairs an interrupted setup.
    for localpart in DEMO_USERS:
        if localpart == ADMIN:
            continue
        client = await _login(hs, localpart, passwords[localpart])
        try:
            for alias, room_id in rooms.items():
                resp = await client.join(room_id)
                if not hasattr(resp, "room_id"):
                    print(f"  ! {localpart} could not join {alias}: {resp}", file=sys.stderr)
        finally:
            await _logout(client)
    return rooms


def _toml_str(value: str) -> str:
    # A JSON string is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=False)


def ensure_config(hs: LocalSynapse, paths: DemoPaths, passwords: dict[str, str]) -> dict[str, Any]:
    """Write labnetz.toml once; afterwards only keep its homeserver URL current."""
    if paths.config.exists():
        text = paths.config.read_text()
        if f"homeserver = {_toml_str(hs.url)}" not in text:
            # Synapse had to move to another port (the old one was taken).
            text = re.sub(
                r'(?m)^homeserver = ".*"$', f"homeserver = {_toml_str(hs.url)}", text, count=1
            )
            _write_private(paths.config, text)
        return tomllib.loads(text)
    root = paths.root.resolve()
    web_port = 8080 if port_is_free(8080) else free_port()
    server = hs.server_name
    text = f"""# Labnetz demo configuration, written by `labnetz demo`. Edit freely; it is kept.

[matrix]
homeserver = {_toml_str(hs.url)}
user_id = {_toml_str(hs.user_id(BOT))}
password = {_toml_str(passwords[BOT])}
device_name = "labnetz-demo"
display_name = "Labnetz"
store_path = {_toml_str(str(root / "store"))}
encryption = true
command_prefix = "!"
allowed_servers = [{_toml_str(server)}]

[network]
name = "Open Gov Labs (Demo)"
space = true
federal_room = {_toml_str(f"#bundesteam:{server}")}
timezone = "Europe/Berlin"
language = "de"
admins = [{_toml_str(hs.user_id(ADMIN))}]

[database]
url = {_toml_str(f"sqlite+aiosqlite:///{root / 'labnetz.db'}")}

[web]
enabled = true
host = "127.0.0.1"
port = {web_port}
public_url = {_toml_str(f"http://127.0.0.1:{web_port}")}
"""
    _write_private(paths.config, text)
    return tomllib.loads(text)


def _alive_with(pid: int, marker: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return marker in cmdline


def start_bot(paths: DemoPaths) -> subprocess.Popen[bytes]:
    with contextlib.suppress(OSError, ValueError):
        old = int(paths.bot_pid.read_text())
        if _alive_with(old, "bot.cli"):
            raise SynapseError(
                f"a bot from an earlier demo run is still running (pid {old}); stop it first"
            )
    env = dict(os.environ)
    # Importable even when labnetz is not installed into this interpreter.
    source_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, env.get("PYTHONPATH")]))
    with paths.bot_log.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(paths.config)],
            cwd=paths.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Own session: Ctrl-C reaches only the demo, which then stops the bot
            # before Synapse, so the bot never sees its homeserver vanish first.
            start_new_session=True,
        )
    paths.bot_pid.write_text(f"{proc.pid}\n")
    return proc


def wait_for_health(proc: subprocess.Popen[bytes], url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError, urllib.error.URLError):
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        time.sleep(0.3)
    return False


def stop_bot(proc: subprocess.Popen[bytes], paths: DemoPaths, timeout: float = 15) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    paths.bot_pid.unlink(missing_ok=True)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_demo(directory: Path, start_the_bot: bool = True) -> int:
    paths = DemoPaths(directory.resolve())
    paths.root.mkdir(parents=True, exist_ok=True)

    def interrupt(_signum: int, _frame: object) -> None:
        # SIGTERM takes the same way out as Ctrl-C, so the finally below always
        # stops the bot and Synapse, whatever step we are in.
        raise KeyboardInterrupt

    old_handlers = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    hs = LocalSynapse(directory=paths.root / "synapse")
    bot: subprocess.Popen[bytes] | None = None
    print("Starte Synapse ... / starting Synapse ...", flush=True)
    try:
        started = time.monotonic()
        hs.start()
        print(f"  Synapse läuft / is up at {hs.url} ({time.monotonic() - started:.1f} s)", flush=True)
        passwords = ensure_users(hs, paths)
        print("Räume einrichten ... / setting up rooms ...", flush=True)
        rooms = asyncio.run(ensure_rooms(hs, paths, passwords))
        config = ensure_config(hs, paths, passwords)
        asyncio.run(
            seed_labs(config["database"]["url"], rooms, hs.user_id(ADMIN), hs.user_id("anna"))
        )
        web_url: str | None = None
        if start_the_bot:
            print("Starte den Bot ... / starting the bot ...", flush=True)
            bot = start_bot(paths)
            web_url = f"http://127.0.0.1:{config['web']['port']}"
            if not wait_for_health(bot, web_url + "/health", HEALTH_TIMEOUT):
                state = "beendet / exited" if bot.poll() is not None else "nicht gesund / not healthy"
                print(
                    f"\nDer Bot ist {state} (nach {HEALTH_TIMEOUT:.0f} s). / The bot is {state}.\n"
                    f"Letzte Zeilen aus / last lines of {paths.bot_log}:\n{_tail(paths.bot_log)}",
                    file=sys.stderr,
                )
                return 1
            print("Demo-Expert:innen eintragen ... / entering demo experts ...", flush=True)
            try:
                asyncio.run(enter_experts(
                    lambda localpart: _login(hs, localpart, passwords[localpart]), _logout, hs.user_id, rooms,
                    hs.server_name, hs.user_id(BOT), config["database"]["url"],
                ))
            except (RuntimeError, TimeoutError) as err:  # the demo still runs; say what is missing
                print(f"  ! Demo-Expert:innen fehlen / demo experts missing: {err}", file=sys.stderr)
        print_banner(hs, passwords, web_url)
        while True:
            if bot is not None and bot.poll() is not None:
                print(
                    f"\nDer Bot hat sich beendet (Code {bot.returncode}). / The bot exited.\n"
                    f"{_tail(paths.bot_log)}",
                    file=sys.stderr,
                )
                return 1
            if not hs.is_running:
                print(f"\nSynapse hat sich beendet. / Synapse exited.\n{hs.log_tail()}", file=sys.stderr)
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    except SynapseError as err:
        print(f"Fehler / error: {err}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not interrupt the orderly shutdown.
        for sig in old_handlers:
            signal.signal(sig, signal.SIG_IGN)
        if bot is not None:
            print("\nBot wird beendet ... / stopping the bot ...", flush=True)
            stop_bot(bot, paths)
        print("Synapse wird beendet ... / stopping Synapse ...", flush=True)
        hs.stop()
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        print("Auf Wiedersehen! / Goodbye!", flush=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir", type=Path, default=Path(".demo"), help="state directory (default .demo)"
    )
    parser.add_argument(
        "--no-bot",
        action="store_true",
        help="only homeserver, users and rooms (run the bot yourself with the printed config)",
    )


def main_from_args(args: argparse.Namespace) -> int:
    # nio logs a failed alias lookup ("room does not exist yet") as an error.
    logging.getLogger("nio").setLevel(logging.CRITICAL)
    return run_demo(args.dir, start_the_bot=not args.no_bot)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labnetz demo", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return main_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
