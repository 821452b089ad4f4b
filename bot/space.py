"""The network's Matrix Space: one Space for the network, one sub-Space per Bundesland with linked labs.

The database is the truth; the Spaces on the homeserver are brought to match it by `reconcile()`,
which only writes differences, so it is safe to run at every start and after every lab change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from nio import AsyncClient, ErrorResponse, RoomCreateResponse, RoomGetStateResponse
from nio.api import RoomVisibility
from sqlalchemy import delete, select

from bot.client import TRANSPORT_ERRORS
from commands.geo import STATES
from storage import Database
from storage.models import Meta

log = logging.getLogger(__name__)

NETWORK_KEY = "space:network"
CHILD = "m.space.child"
PARENT = "m.space.parent"
DEBOUNCE = 0.5  # seconds: a burst of links (e.g. a migration script) reconciles once
RETRY_FIRST, RETRY_MAX = 1.0, 300.0


class SpaceError(Exception):
    """The homeserver answered with an error; the loop retries later."""

    def __init__(self, what: str, resp: ErrorResponse) -> None:
        super().__init__(f"{what}: {resp}")
        self.retry_after = (resp.retry_after_ms or 0) / 1000


def state_key(code: str) -> str:
    return f"space:{code}"


class SpaceManager:
    def __init__(
        self,
        client: AsyncClient,
        db: Database,
        *,
        network_name: str,
        language: str,
        server_name: str,
        admins: Iterable[str] = (),
    ) -> None:
        self.client = client
        self.db = db
        self.network_name = network_name
        self.language = language
        self.via = [server_name]
        self.admins = list(admins)
        self._kicked = asyncio.Event()

    def name_of(self, code: str | None) -> str:
        if code is None:
            return self.network_name
        german, english = STATES.get(code, (code, code))
        return f"{self.network_name} – {german if self.language == 'de' else english}"

    # --- the loop ------------------------------------------------------------------

    def kick(self) -> None:
        """Labs or links changed: reconcile soon (cheap, callable from anywhere in the loop)."""
        self._kicked.set()

    async def run(self) -> None:
        """Reconcile at start and after each kick; errors are logged and retried, never raised."""
        self._kicked.set()
        delay = RETRY_FIRST
        first = True
        while True:
            await self._kicked.wait()
            await asyncio.sleep(DEBOUNCE)
            self._kicked.clear()  # kicks from now on mean "again after this run"
            try:
                changes = await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                wait = max(delay, getattr(err, "retry_after", 0.0))
                transient = isinstance(err, (SpaceError, *TRANSPORT_ERRORS))
                log.log(
                    logging.WARNING if transient else logging.ERROR,
                    "space reconcile failed (%r); retrying in %.0f s", err, wait,
                    exc_info=not transient,
                )
                await asyncio.sleep(wait)
                delay = min(delay * 2, RETRY_MAX)
                self._kicked.set()
                continue
            delay = RETRY_FIRST
            if changes or first:  # the start is always logged: operators see the Space is in sync
                log.info("space reconciled%s: %d change(s)", " at start" if first else "", changes)
            first = False

    # --- reconciling ---------------------------------------------------------------

    async def reconcile(self) -> int:
        """Bring the Spaces to the database's structure; the number of changes made."""
        async with self.db.transaction() as store:
            states = {lab.id: lab.state for lab in await store.labs.all()}
            links = await store.labs.all_links()
            rows = await store.session.scalars(select(Meta).where(Meta.key.like("space:%")))
            known = {row.key: row.value for row in rows}
        wanted: dict[str, set[str]] = {}  # Bundesland code -> linked lab rooms
        for room_id, lab_id in links:
            if lab_id in states:
                wanted.setdefault(states[lab_id], set()).add(room_id)

        changes = 0
        network, created = await self._ensure(NETWORK_KEY, None, known)
        changes += created
        subs: dict[str, str] = {}  # code -> sub-Space id, for every sub-Space we manage
        for key, value in known.items():
            if key != NETWORK_KEY:
                subs[key.removeprefix("space:")] = value
        for code in sorted(wanted):
            subs[code], created = await self._ensure(state_key(code), code, known)
            changes += created

        network_children = {subs[code] for code in wanted}
        changes += await self._sync_space(NETWORK_KEY, network, None, network_children, None)
        for code, space_id in sorted(subs.items()):
            parent = network if code in wanted else None
            # A Bundesland without linked rooms keeps its (empty) sub-Space for reuse.
            changes += await self._sync_space(
                state_key(code), space_id, code, wanted.get(code, set()), parent, lab_rooms=True
            )
        return changes

    async def _ensure(self, key: str, code: str | None, known: dict[str, str]) -> tuple[str, int]:
        """The Space stored under `key`, created (and remembered) if there is none yet."""
        if key in known:
            return known[key], 0
        resp = await self.client.room_create(
            space=True,
            name=self.name_of(code),
            visibility=RoomVisibility.private,
            # Public join rule: everyone on the homeserver may see and join the network's
            # structure. The network is meant to be transparent; the rooms keep their own rules.
            initial_state=[{"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "public"}}],
        )
        if not isinstance(resp, RoomCreateResponse):
            raise SpaceError(f"creating the space {key}", resp)
        space_id = str(resp.room_id)
        # Stored at once: a retry after a later failure must reuse it, not create another.
        async with self.db.transaction() as store:
            store.session.add(Meta(key=key, value=space_id))
        known[key] = space_id
        log.info("created the space %s (%s) for %s", space_id, self.name_of(code), key)
        # Invited one by one after creation: a bad admin id must not fail (and so repeat) the creation.
        for admin in self.admins:
            try:
                invited = await self.client.room_invite(space_id, admin)
            except TRANSPORT_ERRORS as err:
                invited = err  # type: ignore[assignment]
            if isinstance(invited, (ErrorResponse, *TRANSPORT_ERRORS)):
                log.warning("could not invite %s to the space %s: %s", admin, space_id, invited)
        return space_id, 1

    async def _sync_space(
        self,
        key: str,
        space_id: str,
        code: str | None,
        children: set[str],
        parent: str | None,
        lab_rooms: bool = False,
    ) -> int:
        state = await self._state(key, space_id)
        present: dict[str, str] = {}  # child -> sender of its m.space.child event
        parents: set[str] = set()
        name = None
        for event in state:
            if event.get("type") == CHILD and event.get("content"):
                present[event["state_key"]] = event.get("sender", "")
            elif event.get("type") == PARENT and event.get("content"):
                parents.add(event["state_key"])
            elif event.get("type") == "m.room.name":
                name = event.get("content", {}).get("name")

        changes = 0
        if name != self.name_of(code):  # e.g. the network was renamed in the config
            await self._put(space_id, "m.room.name", {"name": self.name_of(code)})
            changes += 1
        for child in sorted(children - present.keys()):
            await self._put(space_id, CHILD, {"via": self.via}, child)
            changes += 1
            if lab_rooms:
                await self._try_parent(child, space_id, {"via": self.via, "canonical": True})
        for child in sorted(present.keys() - children):
            if present[child] != self.client.user_id:
                continue  # put there by a person: theirs to keep
            await self._put(space_id, CHILD, {}, child)  # empty content removes the child
            changes += 1
            if lab_rooms:
                await self._try_parent(child, space_id, {})
        # The sub-Space points back at the network Space (clients show it as the "parent").
        if code is not None:
            for stale in sorted(parents - {parent} if parent else parents):
                await self._put(space_id, PARENT, {}, stale)
                changes += 1
            if parent is not None and parent not in parents:
                await self._put(space_id, PARENT, {"via": self.via, "canonical": True}, parent)
                changes += 1
        return changes

    async def _state(self, key: str, space_id: str) -> list[dict[str, Any]]:
        resp = await self.client.room_get_state(space_id)
        if isinstance(resp, RoomGetStateResponse):
            return list(resp.events)
        if resp.status_code == "M_FORBIDDEN":
            # The bot is no longer in it (kicked, room purged): forget it, the retry makes a new one.
            log.warning("lost access to the space %s (%s); it will be replaced", space_id, key)
            async with self.db.transaction() as store:
                await store.session.execute(delete(Meta).where(Meta.key == key))
        raise SpaceError(f"reading the state of {space_id}", resp)

    async def _put(self, room_id: str, event_type: str, content: dict[str, Any], key: str = "") -> None:
        resp = await self.client.room_put_state(room_id, event_type, content, state_key=key)
        if isinstance(resp, ErrorResponse):
            raise SpaceError(f"setting {event_type} {key!r} in {room_id}", resp)

    async def _try_parent(self, room_id: str, space_id: str, content: dict[str, Any]) -> None:
        """m.space.parent in a lab room: nice to have, but the bot often lacks the power for it."""
        resp = await self.client.room_put_state(room_id, PARENT, content, state_key=space_id)
        if isinstance(resp, ErrorResponse):
            level = logging.DEBUG if resp.status_code == "M_FORBIDDEN" else logging.WARNING
            log.log(level, "m.space.parent not set in %s: %s", room_id, resp)
