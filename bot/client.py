"""Matrix connection: login that survives restarts, E2EE housekeeping, a sync loop with backoff."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    SyncResponse,
    WhoamiResponse,
)
from nio.exceptions import LocalProtocolError

from bot.config import MatrixConfig

log = logging.getLogger(__name__)

CREDENTIALS = "credentials.json"
SYNC_TOKEN = "sync_token"
# More than Synapse's default of 10 timeline events per room, so a burst of commands (or a
# short downtime) is seen whole; a longer gap is reported as `limited` and logged.
SYNC_FILTER = {
    "room": {"timeline": {"limit": 100}, "state": {"lazy_load_members": False}},
    "presence": {"not_types": ["*"]},
}
TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


class LoginFailed(Exception):
    pass


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


_ENDPOINT = re.compile(r"/_matrix/client/(?:v\d+|r0)/(?:rooms/[^/]+/)?([a-z_]+)")


def endpoint_kind(path: str) -> str:
    """'sync', 'send', 'state', 'join', 'keys', … from a client-server API path."""
    match = _ENDPOINT.search(path)
    return match.group(1) if match else "other"


class CountingClient(AsyncClient):
    """An AsyncClient that reports every homeserver request, for /metrics and for tests that
    check what handling a command costs."""

    def __init__(self, *args: Any, on_request: Callable[[str], None] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.on_request = on_request

    async def send(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        if self.on_request is not None:
            self.on_request(endpoint_kind(path))
        return await super().send(method, path, *args, **kwargs)


class MatrixConnection:
    """Owns the nio client. Device id, access token and sync token live in `store_path`."""

    def __init__(
        self,
        config: MatrixConfig,
        *,
        sync_timeout_ms: int = 30_000,
        on_request: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.store = Path(config.store_path)
        self.store.mkdir(parents=True, exist_ok=True)
        self.sync_timeout_ms = sync_timeout_ms
        self.client = CountingClient(
            config.homeserver,
            config.user_id,
            on_request=on_request,
            store_path=str(self.store),
            config=AsyncClientConfig(
                encryption_enabled=config.encryption,
                store_sync_tokens=False,
                # Fail fast instead of nio's silent sleeps: the sender and sync loop own retries.
                max_limit_exceeded=0,
                max_timeouts=0,
                request_timeout=sync_timeout_ms / 1000 + 30,
            ),
        )
        self.synced = asyncio.Event()
        self.last_sync: float | None = None  # loop time of the last successful sync
        self._stopping = asyncio.Event()

    # --- login -----------------------------------------------------------------------

    async def login(self) -> None:
        """Reuse the saved device; otherwise log in once and save it. Retries while unreachable."""
        delay = 1.0
        while True:
            try:
                await self._login_once()
                return
            except TRANSPORT_ERRORS as err:
                log.warning("homeserver unreachable during login (%s); retrying in %.0f s", err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    async def _login_once(self) -> None:
        saved = self._load_credentials()
        if saved:
            self.client.restore_login(saved["user_id"], saved["device_id"], saved["access_token"])
            who = await self.client.whoami()
            if isinstance(who, WhoamiResponse):
                log.info("logged in as %s, device %s (restored)", saved["user_id"], saved["device_id"])
                return
            if getattr(who, "status_code", None) != "M_UNKNOWN_TOKEN":
                raise LoginFailed(f"whoami failed: {who}")
            log.warning("saved access token was rejected; logging in again")
        if self.config.access_token:
            self.client.access_token = self.config.access_token
            who = await self.client.whoami()
            if not isinstance(who, WhoamiResponse) or not who.device_id:
                raise LoginFailed(f"access token not accepted: {who}")
            self.client.restore_login(who.user_id, who.device_id, self.config.access_token)
            self._save_credentials(who.user_id, who.device_id, self.config.access_token)
            return
        resp = await self.client.login(self.config.password, device_name=self.config.device_name)
        if not isinstance(resp, LoginResponse):
            raise LoginFailed(f"login as {self.config.user_id} failed: {resp}")
        self._save_credentials(resp.user_id, resp.device_id, resp.access_token)
        log.info("logged in as %s, new device %s", resp.user_id, resp.device_id)

    async def ensure_display_name(self) -> None:
        """Users address the bot by its display name (`Labnetz: hilfe`), so keep it as configured."""
        try:
            current = await self.client.get_displayname()
            if getattr(current, "displayname", None) != self.config.display_name:
                await self.client.set_displayname(self.config.display_name)
        except TRANSPORT_ERRORS as err:
            log.warning("could not check the display name: %r", err)

    def _load_credentials(self) -> dict[str, str] | None:
        path = self.store / CREDENTIALS
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("user_id") != self.config.user_id or data.get("homeserver") != self.config.homeserver:
            return None
        return data

    def _save_credentials(self, user_id: str, device_id: str, token: str) -> None:
        data = {
            "homeserver": self.config.homeserver,
            "user_id": user_id,
            "device_id": device_id,
            "access_token": token,
        }
        path = self.store / CREDENTIALS
        _write_atomic(path, json.dumps(data))
        path.chmod(0o600)

    @property
    def device_id(self) -> str | None:
        return self.client.device_id

    # --- sync --------------------------------------------------------------------------

    def load_sync_token(self) -> str | None:
        path = self.store / SYNC_TOKEN
        return path.read_text(encoding="utf-8").strip() or None if path.exists() else None

    def save_sync_token(self, token: str) -> None:
        _write_atomic(self.store / SYNC_TOKEN, token)

    async def sync_forever(
        self,
        on_sync: Callable[[SyncResponse, bool], Awaitable[None]],
        *,
        backoff_cap: float = 15.0,
    ) -> None:
        """Sync until stopped. `on_sync(response, first)` runs after nio processed the events.

        The token is saved only after the events were handled, so a crash repeats a sync
        instead of losing it (handled events are de-duplicated in the database).
        """
        token = self.load_sync_token()
        first = token is None
        synced_once = False  # the first sync of a run returns at once, so /health turns green
        delay = 1.0
        while not self._stopping.is_set():
            try:
                resp = await self.client.sync(
                    timeout=self.sync_timeout_ms if synced_once else 0,
                    sync_filter=SYNC_FILTER,
                    since=token,
                    # Full state on the first sync of every run: nio knows only the rooms a sync
                    # showed it, and cannot send (encrypt) to a room it does not know.
                    full_state=(not synced_once) or None,
                    set_presence="online",
                )
            except (*TRANSPORT_ERRORS, LocalProtocolError) as err:
                await self._backoff(f"sync failed: {err!r}", delay)
                delay = min(delay * 2, backoff_cap)
                continue
            if not isinstance(resp, SyncResponse):
                retry_after = getattr(resp, "retry_after_ms", None)
                if retry_after:  # M_LIMIT_EXCEEDED: wait exactly as asked
                    await self._backoff(f"sync throttled: {resp}", retry_after / 1000, jitter=False)
                    continue
                await self._backoff(f"sync error: {resp}", delay)
                delay = min(delay * 2, backoff_cap)
                continue
            delay = 1.0
            try:
                await self._encryption_housekeeping()
            except TRANSPORT_ERRORS as err:
                log.warning("key housekeeping failed: %r", err)
            try:
                await on_sync(resp, first)
            except Exception:
                # Not saving the token repeats this sync; handled events are de-duplicated.
                log.exception("handling a sync response failed")
                await self._backoff("sync handling failed", delay)
                delay = min(delay * 2, backoff_cap)
                continue
            token = resp.next_batch
            self.save_sync_token(token)
            first = False
            synced_once = True
            self.last_sync = asyncio.get_running_loop().time()
            self.synced.set()

    async def _backoff(self, reason: str, delay: float, jitter: bool = True) -> None:
        wait = delay * (0.8 + 0.4 * random.random()) if jitter else delay
        log.warning("%s; retrying in %.1f s", reason, wait)
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=wait)
        except TimeoutError:
            pass

    async def _encryption_housekeeping(self) -> None:
        if not self.config.encryption:
            return
        client = self.client
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    def seconds_since_sync(self) -> float | None:
        if self.last_sync is None:
            return None
        return asyncio.get_running_loop().time() - self.last_sync

    def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        self.stop()
        await self.client.close()
