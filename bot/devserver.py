"""A throw-away local Synapse on loopback, for the integration tests and the demo.

Only the standard library is used to talk to it, so sync pytest fixtures and the
demo can call it without an event loop. Nothing here imports ``commands`` or
``storage``.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.devserver_config import CONFIG_FILE, write_config

ADMIN_LOCALPART = "labnetz-devadmin"
STATE_FILE = "devserver.json"
LOG_FILE = "synapse.log"

def free_port() -> int:
    """A loopback TCP port that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As Synapse (Twisted) does: otherwise TIME_WAIT connections left by the
        # previous run make the port look busy for a minute.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class SynapseError(RuntimeError):
    """Synapse did not start, or an admin/client API call failed."""

    def __init__(self, message: str, status: int = 0, body: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.body = body or {}

    @property
    def errcode(self) -> str:
        return str(self.body.get("errcode", ""))


@dataclass
class LocalSynapse:
    directory: Path
    port: int = 0
    server_name: str = "localhost"
    strict_message_ratelimit: bool = False
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _admin_token: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory).resolve()

    # --- lifecycle ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path:
        return self.directory / LOG_FILE

    def start(self, timeout: float = 60) -> None:
        if self.is_running:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        state = self._load_state()
        stale = state.get("pid")
        if stale and self._is_our_synapse(int(stale)):
            # Two Synapses on one SQLite database corrupt each other's caches.
            raise SynapseError(
                f"a Synapse from an earlier run still uses {self.directory} "
                f"(pid {stale}); stop it first (kill {stale})"
            )
        self.port = self._choose_port(state.get("port"))
        state["port"] = self.port
        self._save_state(state)
        self._write_config(state)
        log = self.log_path.open("ab")
        try:
            # Own session: stop() can signal Synapse and anything it spawns, and a
            # Ctrl-C in the demo's terminal reaches the demo first, not Synapse.
            self._process = subprocess.Popen(
                [sys.executable, "-m", "synapse.app.homeserver", "-c", CONFIG_FILE],
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        state["pid"] = self._process.pid
        self._save_state(state)
        # A script that dies of an exception must not leave Synapse running.
        atexit.register(self.stop)
        self._wait_until_up(timeout)

    def stop(self, timeout: float = 15) -> None:
        proc = self._process
        if proc is None:
            return
        if proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                proc.wait(5)
        self._forget_process()

    def kill(self) -> None:
        proc = self._process
        if proc is None:
            return
        if proc.poll() is None:
            self._signal_group(signal.SIGKILL)
            proc.wait(5)
        self._forget_process()

    def restart(self, timeout: float = 60) -> None:
        self.stop()
        self.start(timeout)

    def __enter__(self) -> LocalSynapse:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # --- users and admin API -----------------------------------------------------

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"

    def register(
        self,
        localpart: str,
        password: str,
        admin: bool = False,
        displayname: str | None = None,
    ) -> str:
        """Create a user through the shared-secret API; an existing user is fine."""
        secret = self._load_state()["registration_shared_secret"]
        nonce = self._request("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
        mac.update(
            b"\x00".join(
                [
                    nonce.encode(),
                    localpart.encode(),
                    password.encode(),
                    b"admin" if admin else b"notadmin",
                ]
            )
        )
        body: dict[str, Any] = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        if displayname is not None:
            body["displayname"] = displayname
        try:
            resp = self._request("POST", "/_synapse/admin/v1/register", body)
        except SynapseError as err:
            if err.errcode == "M_USER_IN_USE":
                return self.user_id(localpart)
            raise
        # This API always logs in too; drop that device so device counts in tests
        # (and the key sharing E2EE does per device) only see the clients' own.
        if resp.get("access_token"):
            self._request("POST", "/_matrix/client/v3/logout", {}, token=resp["access_token"])
        return str(resp["user_id"])

    def login(self, user_id: str, password: str, device_name: str = "devserver") -> str:
        """Password login; returns a fresh access token (a new device each time)."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": password,
            "initial_device_display_name": device_name,
        }
        return str(self._request("POST", "/_matrix/client/v3/login", body)["access_token"])

    def admin_token(self) -> str:
        if self._admin_token is None:
            state = self._load_state()
            password = state.setdefault("admin_password", secrets.token_urlsafe(18))
            self._save_state(state)
            user_id = self.register(ADMIN_LOCALPART, password, admin=True)
            self._admin_token = self.login(user_id, password)
        return self._admin_token

    def admin_get(self, path: str) -> dict[str, Any]:
        return self._request("GET", path, token=self.admin_token())

    def admin_request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self._request(method, path, body, token=self.admin_token())

    def user_devices(self, user_id: str) -> list[dict[str, Any]]:
        quoted = urllib.parse.quote(user_id)
        return list(self.admin_get(f"/_synapse/admin/v2/users/{quoted}/devices")["devices"])

    # --- internals ---------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        timeout: float = 30,
    ) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = {"error": raw.decode(errors="replace")}
            raise SynapseError(
                f"{method} {path} -> HTTP {err.code}: {parsed}", err.code, parsed
            ) from None
        return json.loads(raw) if raw else {}

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                code = self._process.returncode
                self._forget_process()
                raise SynapseError(
                    f"Synapse exited with code {code} during start-up; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError, SynapseError, ValueError):
                self._request("GET", "/_matrix/client/versions", timeout=2)
                return
            time.sleep(0.1)
        self.kill()
        raise SynapseError(
            f"Synapse did not answer within {timeout:.0f} s; log {self.log_path}:\n{self.log_tail()}"
        )

    def _forget_process(self) -> None:
        atexit.unregister(self.stop)
        self._process = None
        self._admin_token = None
        state = self._load_state()
        if state.pop("pid", None) is not None:
            self._save_state(state)

    def _is_our_synapse(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            return False
        return b"synapse.app.homeserver" in cmdline and cwd == self.directory

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self._process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, sig)

    def _choose_port(self, stored: int | None) -> int:
        if self.port:
            return self.port
        # Reuse the last port so a second `make demo` keeps URLs and configs valid.
        if stored and port_is_free(int(stored)):
            return int(stored)
        return free_port()

    def _load_state(self) -> dict[str, Any]:
        path = self.directory / STATE_FILE
        try:
            state: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            state = {}
        if "registration_shared_secret" not in state:
            state["registration_shared_secret"] = secrets.token_urlsafe(32)
            self._save_state(state)
        return state

    def _save_state(self, state: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(path)

    def _write_config(self, state: dict[str, Any]) -> None:
        # Rewritten on every start: the port may have changed and the strict flag is
        # per run. Everything that must persist lives in devserver.json and the DB.
        write_config(self.directory, server_name=self.server_name, port=self.port,
                     shared_secret=state["registration_shared_secret"], log_path=self.log_path,
                     strict_message_ratelimit=self.strict_message_ratelimit)
