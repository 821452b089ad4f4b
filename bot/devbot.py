"""The bot as a real process (`labnetz run`), so tests and benchmarks can stop, kill -9 and restart it.

Used by the integration tests and by `bench/`. Only the standard library and
`bot.devserver` are imported, so it works without an event loop.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bot.devserver import LocalSynapse, free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class BotProcess:
    hs: LocalSynapse
    directory: Path
    user_id: str
    password: str
    database_url: str
    admins: list[str] = field(default_factory=list)
    allowed_servers: list[str] = field(default_factory=lambda: ["localhost"])
    federal_room: str = ""
    encryption: bool = True
    space: bool = False
    delivery_concurrency: int = 8
    web_port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def config_path(self) -> Path:
        return self.directory / "labnetz.toml"

    @property
    def log_path(self) -> Path:
        return self.directory / "bot.log"

    @property
    def store(self) -> Path:
        return self.directory / "store"

    def write_config(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        q = json.dumps
        self.config_path.write_text(
            "\n".join(
                [
                    "[matrix]",
                    f"homeserver = {q(self.hs.url)}",
                    f"user_id = {q(self.user_id)}",
                    f"password = {q(self.password)}",
                    f"store_path = {q(str(self.store))}",
                    f"encryption = {str(self.encryption).lower()}",
                    f"allowed_servers = {q(self.allowed_servers)}",
                    "[network]",
                    f"admins = {q(self.admins)}",
                    f"federal_room = {q(self.federal_room)}",
                    f"space = {str(self.space).lower()}",
                    "[database]",
                    f"url = {q(self.database_url)}",
                    "[web]",
                    f"port = {self.web_port}",
                    "[delivery]",
                    f"concurrency = {self.delivery_concurrency}",
                    "retry_base_seconds = 0.2",
                    "retry_max_seconds = 2.0",
                    "[logging]",
                    'level = "INFO"',
                ]
            )
            + "\n"
        )

    def start(self, wait: bool = True, timeout: float = 60) -> None:
        self.write_config()
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(self.config_path)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        log.close()
        self.starts += 1
        if wait:
            self.wait_healthy(timeout)

    def health(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/health", timeout=2) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, {}

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=2) as resp:
            return resp.read().decode()

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise AssertionError(f"bot exited with {self._process.returncode}:\n{self.log_tail()}")
            if self.health()[0] == 200:
                return
            time.sleep(0.1)
        raise AssertionError(f"bot not healthy within {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 20) -> int:
        if self._process is None:
            return 0
        self._process.send_signal(signal.SIGTERM)
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            code = self._process.wait()
        self._process = None
        return code

    def kill(self) -> None:
        """kill -9: no chance to finish anything."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def credentials(self) -> dict[str, str]:
        return json.loads((self.store / "credentials.json").read_text())
