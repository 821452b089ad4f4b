"""Set-up pieces the benchmarks share: a local Synapse with fresh accounts, and child processes.

- `local_synapse(ctx)`: a fresh `bot.devserver.LocalSynapse` in the benchmark's temp dir,
  started for the block and stopped afterwards (also on errors).
- `register_accounts(hs, name=localpart, ...)`: one account per localpart, each with a new
  random password.
- `vm(pid)`, `cpu_seconds(pid)`: a process's VmRSS/VmHWM (MiB) and user + system CPU seconds,
  read from /proc.
- `LogWatch`: the first line of a log (from an offset on) that contains each of some markers,
  timed by the line's own timestamp; `stop_process`, `log_tail`: the rest of running a child.
- `room_messages(hs, room, sender)`: what a user sent to a room, read back through the admin API.

Synchronous and standard library only at import (`bench.peer_reminderbot_io` relies on that);
`local_synapse` imports `bot.devserver` when it is called.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

LOG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S,%f"  # Python logging's default asctime, local time


# --- a local Synapse and its accounts --------------------------------------------------------


@asynccontextmanager
async def local_synapse(ctx: Any) -> AsyncIterator[Any]:
    """A fresh LocalSynapse in `ctx.tmp / "synapse"`, up for the block, stopped afterwards."""
    from bot.devserver import LocalSynapse

    hs = LocalSynapse(directory=ctx.tmp / "synapse")
    try:
        await asyncio.to_thread(hs.start)
        ctx.log(f"Synapse up at {hs.url}")
        yield hs
    finally:
        await asyncio.to_thread(hs.stop)


@dataclass(frozen=True)
class Account:
    user_id: str
    password: str


def register_accounts(hs: Any, **localparts: str) -> dict[str, Account]:
    """Register one account per `name=localpart`, each with a new random password."""
    out: dict[str, Account] = {}
    for name, localpart in localparts.items():
        password = secrets.token_hex(12)
        out[name] = Account(str(hs.register(localpart, password)), password)
    return out


def room_messages(hs: Any, room_id: str, sender: str) -> list[dict[str, Any]]:
    """All m.room.message events `sender` sent to the room (admin API, no membership needed)."""
    quoted = urllib.parse.quote(room_id)
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        query = {"dir": "f", "limit": "1000", **({"from": token} if token else {})}
        page = hs.admin_get(f"/_synapse/admin/v1/rooms/{quoted}/messages?" + urllib.parse.urlencode(query))
        chunk = page.get("chunk", [])
        events += [e for e in chunk if e.get("type") == "m.room.message" and e.get("sender") == sender]
        token = page.get("end")
        if not chunk or not token:
            return events


# --- child processes -------------------------------------------------------------------------


def vm(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of the process in MiB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used (utime + stime from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def log_time(line: str) -> float | None:
    """Epoch seconds of a line that starts with logging's default timestamp; None if it does not."""
    try:
        return datetime.strptime(line[:23], LOG_TIME_FORMAT).timestamp()
    except ValueError:
        return None


class LogWatch:
    """The lines a process adds to its log from `offset` on, read in complete lines; `seen`
    holds, per marker, the time of the first line containing it (the line's own timestamp, or
    the wall clock when it has none)."""

    def __init__(self, path: Path, markers: Sequence[str], offset: int = 0) -> None:
        self.path = path
        self.markers = tuple(markers)
        self.offset = offset
        self.seen: dict[str, float] = {}

    def scan(self) -> None:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            data = log.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        chunk = data[:end]
        if not any(m.encode() in chunk for m in self.markers):  # most lines match nothing
            return
        for raw in chunk.splitlines():
            line = raw.decode(errors="replace")
            for marker in self.markers:
                if marker in line and marker not in self.seen:
                    logged = log_time(line)
                    self.seen[marker] = time.time() if logged is None else logged

    def wait_for(
        self,
        marker: str,
        failed: Callable[[], str | None],
        timeout: float,
        what: str,
        tail: Callable[[], str],
    ) -> float:
        """The time of `marker`'s line, polling every 10 ms; raises RuntimeError when `failed()`
        names a reason, TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.scan()
            reason = failed()
            if reason:
                raise RuntimeError(f"{what} failed to start ({reason}):\n{tail()}")
            if marker in self.seen:
                return self.seen[marker]
            time.sleep(0.01)
        raise TimeoutError(f"{what} not ready within {timeout:.0f} s:\n{tail()}")
