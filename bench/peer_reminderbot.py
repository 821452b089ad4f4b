"""The peer of the reminders benchmark: matrix-reminder-bot, measured on this machine.

The peer (PyPI `matrix-reminder-bot`, pinned to 0.4.0, the newest if that is gone; results carry
"version") runs from its own venv, `bench/.peer-venv` (or $LABNETZ_PEER_VENV; gitignored), as it
pins its own matrix-nio. It runs as shipped, E2EE on (nio 0.26 uses the vodozemac wheel, no olm
build), logging at its default INFO. Nothing here imports it: `bench/peer_reminderbot_io.py`
writes its config, fills its SQLite database with the schema its `storage.py` has after
migration 3, starts its own entry point and watches its log.

All functions are synchronous and block; from async code call them via `asyncio.to_thread`.
`synapse` is a running `bot.devserver.LocalSynapse` with relaxed rate limits. The results have
the keys of the interface plus extras (log path, sub-timings); the extras may be ignored.

- `startup(pending, workdir, synapse)` (5-70 s): `pending` one-off reminders due 30+ days
  ahead, in 20 rooms the peer's account has joined, are in its database before it starts.
  "Ready" is the `Scheduler started` line (apscheduler): by then `Storage()` has loaded every row
  into a `Reminder` and its job, the login is done and `SCHEDULER.start()` has put the jobs in
  its job store; the next statement is `sync_forever`, so the homeserver's sync is not counted.
  `ready_s` is that line's own timestamp (ms) minus the wall clock just before the spawn.
  `rss_mib` is VmRSS at ready, `rss_settled_mib` after `SETTLE_S` (initial sync done);
  `cpu_s` its user + system CPU seconds at ready (steadier than `ready_s` on a busy machine).
- `firing(synapse, workdir, n, rooms, spread_s, *, pending=0, lead_s=None)` (spread_s + 30 s
  or more): n one-off reminders due evenly over `spread_s` s, round-robin across `rooms`
  rooms, are in its database before it starts (it schedules every future row it loads; rows
  already due at start it deletes unsent). The first is due `lead_s` after the spawn (default
  15 s + 1 s per 2,000 pending): the peer must be ready by then, see `ready_before_first_due`.
  After the last due time + `grace_s` the rooms are read back through Synapse's admin API;
  lateness is origin_server_ts minus the due time (first copy), duplicates are extra copies.

`python -m bench.peer_reminderbot [--quick] [--keep]` runs both at 0 and 100,000 pending
(firing with the lead at twice the start-up measured just before) and prints JSON (4-7 min).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import summary
from bench._setup import cpu_seconds, room_messages, vm
from bench.peer_reminderbot_io import (
    LOADED_LINE,
    LOGGED_IN_LINE,
    PACKAGE,
    VENV,
    PeerProcess,
    bot_user,
    create_database,
    joined_rooms,
    naive_utc,
    python,
)

VERSION = "0.4.0"  # the version the reference figures were measured with
SETTLE_S = 3.0
TEXT = "peerbench {} {}"  # run tag (the rooms are reused across runs), reminder number
_install_error: str | None = None
_version: str | None = None


# --- installation ----------------------------------------------------------------------------


def installed_version() -> str | None:
    """The peer's version in its venv, or None if it is not importable there."""
    global _version
    if _version:
        return _version
    if not python().exists():
        return None
    probe = "import matrix_reminder_bot as m; print(m.__version__)"
    try:
        out = subprocess.run([python(), "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    _version = out.stdout.strip() or None
    return _version


def ensure_installed(workdir: Path | None = None) -> str | None:
    """Install the peer into its own venv (idempotent); a one-line reason on failure.

    `workdir` is unused: the venv lives beside this module so that runs share it."""
    global _install_error
    if installed_version():
        return None
    try:
        if not python().exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", VENV], check=True,
                           capture_output=True, timeout=300)
        pip = [python(), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
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
        (TEXT.format(tag, first + k), naive_utc(base + k * 60), room_ids[k % len(room_ids)])
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
        at_ready = vm(peer.process.pid)
        cpu_s = cpu_seconds(peer.process.pid)  # less sensitive than ready_s to a busy machine
        time.sleep(SETTLE_S)
        settled = vm(peer.process.pid)
        added = peer.count("Added job")
    finally:
        peer.stop()
    return {
        "ready_s": round(ready_s, 3),
        "cpu_s": round(cpu_s, 2),
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
    rows = [(TEXT.format(tag, k), naive_utc(due[k]), room_ids[k % rooms]) for k in range(n)]
    database = directory / "peer.db"
    create_database(database, rows + _filler(pending, room_ids, tag, first=n))
    peer = PeerProcess(directory, synapse, database)
    peer.start()
    try:
        ready_s = peer.wait_ready()
        ready_before_due = peer.started_wall + ready_s < first_due
        assert peer.process is not None
        time.sleep(max(0.0, first_due - time.time()))
        cpu_before = cpu_seconds(peer.process.pid)
        time.sleep(max(0.0, due[-1] + grace_s - time.time()))
        bot = bot_user(synapse)
        seen = _collect(synapse, room_ids, bot, n, tag)
        missed = peer.count("was missed by")
        wake = peer.wake_lateness()
        cpu_firing = cpu_seconds(peer.process.pid) - cpu_before
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
        "bot_cpu_s_while_firing": round(cpu_firing, 2),  # from the first due time to the end
        "scheduler_wake_s": summary(wake, digits=3),  # its job start minus due time, from its log
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
