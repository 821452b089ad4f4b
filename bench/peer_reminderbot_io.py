"""The peer's surroundings for `bench.peer_reminderbot`: matrix-reminder-bot's account and rooms on
Synapse, its SQLite database, its config and its process (its own entry point, from its own venv).

Synchronous, standard library only (plus `bench._setup`'s log watching and process helpers,
likewise): the peer's code is never imported here.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._setup import LogWatch, log_tail, log_time, stop_process

PACKAGE = "matrix-reminder-bot"
VENV = Path(os.environ.get("LABNETZ_PEER_VENV") or Path(__file__).resolve().parent / ".peer-venv")
BOT_LOCALPART = "peer-reminderbot"
BOT_PASSWORD = "peer-reminderbot-bench-password"
TIMEZONE = "Etc/UTC"
READY_LINE = "Scheduler started"  # apscheduler's, logged right before the peer's sync_forever
LOADED_LINE = "Database initialization of type"  # storage.py, after all rows are loaded
LOGGED_IN_LINE = "Startup complete"  # main.py, after login, before SCHEDULER.start()
FAILED_LINES = ("Failed to login", "Unknown exception occurred", "Traceback")
MARKERS = (LOADED_LINE, LOGGED_IN_LINE, READY_LINE, *FAILED_LINES)
READY_TIMEOUT_S = 600.0
RUNNING_RE = re.compile(r"\(scheduled at (\d{4}-\d\d-\d\d [\d:.]+[+-]\d\d:\d\d)\)$")
_rooms_cache: dict[tuple[str, int], list[str]] = {}


def python() -> Path:
    """The peer venv's interpreter."""
    return VENV / "bin" / "python"


# --- Synapse: the peer's account and rooms ---------------------------------------------------


def _client(synapse: Any, method: str, path: str, token: str, body: Any = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(synapse.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=60) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else {}


def bot_user(synapse: Any) -> str:
    return str(synapse.register(BOT_LOCALPART, BOT_PASSWORD, displayname="matrix-reminder-bot"))


def joined_rooms(synapse: Any, count: int) -> list[str]:
    """`count` private rooms created by (so joined by) the peer's account; cached per server."""
    key = (str(synapse.directory), count)
    if key not in _rooms_cache:
        token = synapse.login(bot_user(synapse), BOT_PASSWORD, device_name="bench-setup")
        try:
            _rooms_cache[key] = [
                str(_client(synapse, "POST", "/_matrix/client/v3/createRoom", token,
                            {"preset": "private_chat", "name": f"peer bench {i}"})["room_id"])
                for i in range(count)
            ]
        finally:
            _client(synapse, "POST", "/_matrix/client/v3/logout", token, {})
    return _rooms_cache[key]


# --- the peer's database, config and process -------------------------------------------------


def create_database(path: Path, rows: list[tuple[str, datetime, str]]) -> None:
    """The schema storage.py leaves after migration 3, with one-off reminders (text, due, room).

    `due` is naive UTC, as store_reminder writes it, with the zone in its own column."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE migration_version (version INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO migration_version (version) VALUES (3)")
        conn.execute(
            "CREATE TABLE reminder (text TEXT, start_time TEXT, recurse_timedelta_s INTEGER,"
            " cron_tab TEXT, room_id TEXT NOT NULL, target_user TEXT, alarm BOOL NOT NULL,"
            " timezone TEXT)"
        )
        conn.execute("CREATE UNIQUE INDEX reminder_room_id_text ON reminder(room_id, text)")
        conn.executemany(
            "INSERT INTO reminder (text, start_time, recurse_timedelta_s, cron_tab, room_id,"
            " target_user, alarm, timezone) VALUES (?, ?, NULL, NULL, ?, NULL, 0, ?)",
            ((text, due.isoformat(), room, TIMEZONE) for text, due, room in rows),
        )
    conn.close()


def naive_utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


class PeerProcess:
    """One run of the peer's own entry point with a config in `directory`, logging to a file."""

    def __init__(self, directory: Path, synapse: Any, database: Path) -> None:
        self.directory = directory
        self.log_path = directory / "peer.log"
        self.config_path = directory / "config.yaml"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_wall = 0.0
        self._watch = LogWatch(self.log_path, MARKERS)
        (directory / "store").mkdir(parents=True, exist_ok=True)
        config = {  # JSON is YAML; the keys its config.py reads, logging at its default INFO
            "command_prefix": "!",
            "matrix": {
                "user_id": bot_user(synapse),
                "user_password": BOT_PASSWORD,
                "homeserver_url": synapse.url,
                "device_id": "PEER" + secrets.token_hex(4).upper(),
                "device_name": "matrix-reminder-bot",
            },
            "storage": {"database": f"sqlite://{database}", "store_path": str(directory / "store")},
            "reminders": {"timezone": TIMEZONE},
            "allowlist": {"enabled": False, "regexes": []},
            "blocklist": {"enabled": False, "regexes": []},
            "logging": {"level": "INFO", "file_logging": {"enabled": False},
                        "console_logging": {"enabled": True}},
        }
        self.config_path.write_text(json.dumps(config, indent=2) + "\n")

    def start(self) -> None:
        script = VENV / "bin" / "matrix-reminder-bot"
        with self.log_path.open("ab") as log:
            self.started_wall = time.time()
            self.process = subprocess.Popen(
                [python(), script, self.config_path], cwd=self.directory, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    @property
    def seen(self) -> dict[str, float]:
        """Log marker -> seconds after spawn (by the line's own timestamp)."""
        return {marker: at - self.started_wall for marker, at in self._watch.seen.items()}

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> float:
        """Seconds from spawn to the ready line; raises if the peer fails or times out."""
        process = self.process
        assert process is not None

        def failed() -> str | None:
            lines = [m for m in FAILED_LINES if m in self._watch.seen]
            if lines or process.poll() is not None:
                return str(lines or process.returncode)
            return None

        ready = self._watch.wait_for(READY_LINE, failed, timeout, PACKAGE, self.log_tail)
        return ready - self.started_wall

    def count(self, text: str) -> int:
        return self.log_path.read_text(errors="replace").count(text)

    def wake_lateness(self) -> list[float]:
        """Per job run, apscheduler's `Running job` log time minus its scheduled time (s): the
        scheduler's own share of the lateness, before the message is sent."""
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            match = RUNNING_RE.search(line)
            if match and "Running job" in line:
                scheduled = datetime.fromisoformat(match.group(1)).timestamp()
                logged = log_time(line)
                out.append((time.time() if logged is None else logged) - scheduled)
        return out

    def stop(self) -> None:
        stop_process(self.process, 15)
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)
