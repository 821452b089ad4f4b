"""The peer of the reminders benchmark: matrix-reminder-bot, measured on this machine.

The peer (PyPI `matrix-reminder-bot`, pinned to 0.4.0) runs from its own venv
(`bench/.peer-venv`, or $LABNETZ_PEER_VENV), because it pins its own matrix-nio. Nothing here
imports it: we write its config, fill its SQLite database with the schema its `storage.py` ends
at after migration 3, start its own entry point and watch its log.

All functions are synchronous and block (the firing run for over a minute); from async code call
them through `asyncio.to_thread`. `synapse` is a running `bot.devserver.LocalSynapse` with relaxed
rate limits.

- `startup(pending, workdir, synapse)`: `pending` one-off reminders due in 30+ days, in the
  peer's joined rooms, are inserted before it starts. "Ready" is its `Scheduler started` log line
  (apscheduler, INFO): by then `Storage()` has loaded every row into a `Reminder`, the login is
  done and the jobs are in the scheduler; the next statement is `sync_forever`, so the
  homeserver's sync is not counted. The time is taken from that line's own timestamp (ms) against
  the wall clock just before the process was spawned. RSS is VmRSS from /proc at ready and again
  after `SETTLE_S` (by then the initial sync has run).
- `firing(synapse, workdir, n, rooms, spread_s, pending=0)`: n one-off reminders due evenly
  over `spread_s` s across `rooms` rooms are inserted into its database before it starts (the
  peer schedules every future row it loads). The first is due `lead` seconds after the start,
  long enough for its start-up and initial sync. After the last due time plus a grace period the
  rooms are read back through Synapse's admin API; lateness is origin_server_ts minus due time.

`python -m bench.peer_reminderbot [--quick]` runs both at 0 and 100,000 pending and prints JSON.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PACKAGE = "matrix-reminder-bot"
VERSION = "0.4.0"  # the version the reference figures were measured with
VENV = Path(os.environ.get("LABNETZ_PEER_VENV") or Path(__file__).resolve().parent / ".peer-venv")
BOT_LOCALPART = "peer-reminderbot"
BOT_PASSWORD = "peer-reminderbot-bench-password"
TIMEZONE = "Etc/UTC"
READY_LINE = "Scheduler started"  # apscheduler's, logged right before the peer's sync_forever
LOADED_LINE = "Database initialization of type"  # storage.py, after all rows are loaded
LOGGED_IN_LINE = "Startup complete"  # main.py, after login, before SCHEDULER.start()
FAILED_LINES = ("Failed to login", "Unknown exception occurred", "Traceback")
SETTLE_S = 3.0
READY_TIMEOUT_S = 600.0
TEXT = "peerbench {} {}"  # run tag (the rooms are reused across runs), reminder number

_install_error: str | None = None
_rooms_cache: dict[tuple[str, int], list[str]] = {}


# --- installation ----------------------------------------------------------------------------


def _python() -> Path:
    return VENV / "bin" / "python"


def installed_version() -> str | None:
    """The peer's version in its venv, or None if it is not importable there."""
    if not _python().exists():
        return None
    probe = "import matrix_reminder_bot as m; print(m.__version__)"
    try:
        out = subprocess.run([_python(), "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def ensure_installed(workdir: Path | None = None) -> str | None:
    """Install the peer into its own venv (idempotent); a one-line reason on failure.

    `workdir` is unused: the venv lives beside this module so that runs share it."""
    global _install_error
    if installed_version():
        return None
    try:
        if not _python().exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", VENV], check=True,
                           capture_output=True, timeout=300)
        pip = [_python(), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        out = subprocess.run([*pip, f"{PACKAGE}=={VERSION}"], capture_output=True, text=True,
                             timeout=1200)
        if out.returncode != 0:  # the pinned version gone: take the newest, report which
            out = subprocess.run([*pip, PACKAGE], capture_output=True, text=True, timeout=1200)
        if out.returncode != 0:
            lines = (out.stderr or out.stdout).strip().splitlines() or ["pip failed"]
            _install_error = f"pip install {PACKAGE} failed: {lines[-1]}"
            return _install_error
    except (OSError, subprocess.SubprocessError) as err:
        _install_error = f"cannot create the peer's venv {VENV}: {err}"
        return _install_error
    if not installed_version():
        _install_error = f"{PACKAGE} installed into {VENV} but does not import"
        return _install_error
    _install_error = None
    return None


def available() -> str | None:
    """None if the peer can run (installing it first if needed); else a one-line reason."""
    if installed_version():
        return None
    return _install_error or ensure_installed()


# --- Synapse: the peer's account and rooms ---------------------------------------------------


def _client(synapse: Any, method: str, path: str, token: str, body: Any = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(synapse.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=60) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else {}


def _bot(synapse: Any) -> str:
    return str(synapse.register(BOT_LOCALPART, BOT_PASSWORD, displayname="matrix-reminder-bot"))


def joined_rooms(synapse: Any, count: int) -> list[str]:
    """`count` private rooms created by (so joined by) the peer's account; cached per server."""
    key = (str(synapse.directory), count)
    if key not in _rooms_cache:
        token = synapse.login(_bot(synapse), BOT_PASSWORD, device_name="bench-setup")
        try:
            _rooms_cache[key] = [
                str(_client(synapse, "POST", "/_matrix/client/v3/createRoom", token,
                            {"preset": "private_chat", "name": f"peer bench {i}"})["room_id"])
                for i in range(count)
            ]
        finally:
            _client(synapse, "POST", "/_matrix/client/v3/logout", token, {})
    return _rooms_cache[key]


def room_messages(synapse: Any, room_id: str, sender: str) -> list[dict[str, Any]]:
    """All m.room.message events `sender` sent to the room (admin API, no membership needed)."""
    quoted = urllib.parse.quote(room_id)
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        query = {"dir": "f", "limit": "1000", **({"from": token} if token else {})}
        page = synapse.admin_get(f"/_synapse/admin/v1/rooms/{quoted}/messages?"
                                 + urllib.parse.urlencode(query))
        chunk = page.get("chunk", [])
        events += [e for e in chunk if e.get("type") == "m.room.message" and e.get("sender") == sender]
        token = page.get("end")
        if not chunk or not token:
            return events


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


def _naive_utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def _vm(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of the process in MiB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


class PeerProcess:
    """One run of the peer's own entry point with a config in `directory`, logging to a file."""

    def __init__(self, directory: Path, synapse: Any, database: Path) -> None:
        self.directory = directory
        self.log_path = directory / "peer.log"
        self.config_path = directory / "config.yaml"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_wall = 0.0
        self.seen: dict[str, float] = {}  # log marker -> seconds after spawn (log timestamp)
        self._offset = 0
        (directory / "store").mkdir(parents=True, exist_ok=True)
        config = {  # JSON is YAML; the keys its config.py reads, logging at its default INFO
            "command_prefix": "!",
            "matrix": {
                "user_id": _bot(synapse),
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
                [_python(), script, self.config_path], cwd=self.directory, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def _scan(self) -> None:
        with self.log_path.open("rb") as log:
            log.seek(self._offset)
            data = log.read()
        end = data.rfind(b"\n") + 1
        self._offset += end
        for raw in data[:end].splitlines():
            line = raw.decode(errors="replace")
            for marker in (LOADED_LINE, LOGGED_IN_LINE, READY_LINE, *FAILED_LINES):
                if marker in line and marker not in self.seen:
                    self.seen[marker] = self._stamp(line)

    def _stamp(self, line: str) -> float:
        try:  # "2026-11-27 10:40:01,123 | name [LEVEL] message", local time
            logged = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        except ValueError:
            logged = time.time()
        return logged - self.started_wall

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> float:
        """Seconds from spawn to the ready line; raises if the peer fails or times out."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._scan()
            failed = [m for m in FAILED_LINES if m in self.seen]
            if failed or self.process.poll() is not None:
                raise RuntimeError(f"{PACKAGE} failed to start ({failed or self.process.returncode}):"
                                   f"\n{self.log_tail()}")
            if READY_LINE in self.seen:
                return self.seen[READY_LINE]
            time.sleep(0.01)
        raise TimeoutError(f"{PACKAGE} not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def count(self, text: str) -> int:
        return self.log_path.read_text(errors="replace").count(text)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _run_dir(workdir: Path, name: str) -> Path:
    directory = Path(workdir) / f"peer-{name}-{secrets.token_hex(3)}"
    directory.mkdir(parents=True)
    return directory


def _filler(
    count: int, room_ids: list[str], tag: str, first: int = 0
) -> list[tuple[str, datetime, str]]:
    """`count` one-off reminders due from 30 days on, round-robin over the rooms."""
    base = time.time() + 30 * 86400
    return [
        (TEXT.format(tag, first + k), _naive_utc(base + k * 60), room_ids[k % len(room_ids)])
        for k in range(count)
    ]


# --- the measurements ------------------------------------------------------------------------


def startup(pending: int, workdir: Path, synapse: Any, rooms: int = 20) -> dict[str, Any]:
    """Time from spawn to ready and RSS, with `pending` reminders in the peer's database."""
    directory = _run_dir(workdir, f"startup-{pending}")
    room_ids = joined_rooms(synapse, rooms)
    database = directory / "peer.db"
    create_database(database, _filler(pending, room_ids, "start"))
    peer = PeerProcess(directory, synapse, database)
    peer.start()
    try:
        ready_s = peer.wait_ready()
        assert peer.process is not None
        at_ready = _vm(peer.process.pid)
        time.sleep(SETTLE_S)
        settled = _vm(peer.process.pid)
        added = peer.count("Added job")
    finally:
        peer.stop()
    return {
        "ready_s": round(ready_s, 3),
        "rss_mib": at_ready.get("VmRSS", 0.0),
        "rss_settled_mib": settled.get("VmRSS", 0.0),
        "hwm_settled_mib": settled.get("VmHWM", 0.0),
        "version": installed_version() or "?",
        "pending": pending,
        "jobs_scheduled": added,
        "loaded_s": round(peer.seen.get(LOADED_LINE, float("nan")), 3),
        "logged_in_s": round(peer.seen.get(LOGGED_IN_LINE, float("nan")), 3),
        "log": str(peer.log_path),
    }


def firing(
    synapse: Any,
    workdir: Path,
    n: int = 1000,
    rooms: int = 20,
    spread_s: float = 60.0,
    *,
    pending: int = 0,
    lead_s: float | None = None,
    grace_s: float = 15.0,
) -> dict[str, Any]:
    """n reminders due evenly over `spread_s` across `rooms` rooms (plus `pending` far-future
    ones); lateness from each due time to its message's origin_server_ts."""
    directory = _run_dir(workdir, f"firing-{n}-{pending}")
    tag = secrets.token_hex(4)
    room_ids = joined_rooms(synapse, rooms)
    lead = lead_s if lead_s is not None else 15.0 + pending / 2000
    first_due = time.time() + lead
    step = spread_s / (n - 1) if n > 1 else 0.0
    due = [first_due + k * step for k in range(n)]
    rows = [(TEXT.format(tag, k), _naive_utc(due[k]), room_ids[k % rooms]) for k in range(n)]
    database = directory / "peer.db"
    create_database(database, rows + _filler(pending, room_ids, tag, first=n))
    peer = PeerProcess(directory, synapse, database)
    peer.start()
    try:
        ready_s = peer.wait_ready()
        ready_before_due = peer.started_wall + ready_s < first_due
        time.sleep(max(0.0, due[-1] + grace_s - time.time()))
        bot = _bot(synapse)
        seen = _collect(synapse, room_ids, bot, n, tag)
        missed = peer.count("was missed by")
    finally:
        peer.stop()
    first_ts: dict[int, int] = {}
    duplicates = 0
    for k, stamps in seen.items():
        first_ts[k] = min(stamps)
        duplicates += len(stamps) - 1
    lateness = [first_ts[k] / 1000 - due[k] for k in sorted(first_ts) if k < n]
    return {
        "lateness_s": [round(x, 4) for x in lateness],
        "delivered": len(lateness),
        "expected": n,
        "duplicates": duplicates,
        "version": installed_version() or "?",
        "pending": pending,
        "lead_s": round(lead, 1),
        "ready_s": round(ready_s, 3),
        "ready_before_first_due": ready_before_due,
        "missed_by_scheduler": missed,  # apscheduler's "Run time of job ... was missed by"
        "log": str(peer.log_path),
    }


def _collect(
    synapse: Any, room_ids: list[str], sender: str, n: int, tag: str
) -> dict[int, list[int]]:
    """Reminder number -> origin_server_ts of each message for it; re-read until all n are
    there or nothing changed for 10 s."""
    pattern = re.compile(rf"peerbench {tag} (\d+)")
    last_total, stable_since = -1, time.monotonic()
    while True:
        seen: dict[int, list[int]] = {}
        for room_id in room_ids:
            for event in room_messages(synapse, room_id, sender):
                match = pattern.search(str(event.get("content", {}).get("body", "")))
                if match:
                    seen.setdefault(int(match.group(1)), []).append(int(event["origin_server_ts"]))
        total = sum(len(v) for v in seen.values())
        if total != last_total:
            last_total, stable_since = total, time.monotonic()
        if sum(1 for k in seen if k < n) >= n or time.monotonic() - stable_since >= 10:
            return seen
        time.sleep(2)


# --- stand-alone run -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    import argparse
    import tempfile

    from bench import summary
    from bot.devserver import LocalSynapse

    parser = argparse.ArgumentParser(prog="python -m bench.peer_reminderbot")
    parser.add_argument("--quick", action="store_true", help="10,000 pending, 200 reminders/20 s")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args(argv)
    reason = available()
    if reason:
        print(json.dumps({"available": False, "reason": reason}))
        return 1
    big, n, spread = (10_000, 200, 20.0) if args.quick else (100_000, 1000, 60.0)
    workdir = Path(tempfile.mkdtemp(prefix="labnetz-peer-"))
    synapse = LocalSynapse(workdir / "synapse")
    synapse.start()
    out: dict[str, Any] = {"version": installed_version(), "loadavg_before": os.getloadavg(),
                           "startup": {}, "firing": {}}
    try:
        for pending in (0, big):
            t0 = time.monotonic()
            out["startup"][str(pending)] = startup(pending, workdir, synapse)
            out["startup"][str(pending)]["took_s"] = round(time.monotonic() - t0, 1)
        for pending in (0, big):
            t0 = time.monotonic()
            # The first reminder falls due well after the peer is ready (it drops missed ones).
            lead = 15.0 + 2 * out["startup"][str(pending)]["ready_s"]
            result = firing(synapse, workdir, n=n, spread_s=spread, pending=pending, lead_s=lead)
            result["took_s"] = round(time.monotonic() - t0, 1)
            result["lateness"] = summary(result.pop("lateness_s"), digits=3)
            out["firing"][str(pending)] = result
    finally:
        synapse.stop()
    out["loadavg_after"] = os.getloadavg()
    print(json.dumps(out, indent=2))
    if not args.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"kept {workdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
