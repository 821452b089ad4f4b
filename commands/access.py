"""Who may do what: roles from the config, grants, and cached Matrix room state.

Resolution reads room state that the bot keeps from sync (memberships, power levels) and
two indexed queries; it never asks the homeserver.
"""

from __future__ import annotations

from typing import Protocol

from commands.context import NetworkSettings
from commands.directory import Directory
from commands.roles import MODERATOR_LEVEL, Principal
from storage import Store

MANAGER = "manager"
COORDINATOR = "coordinator"


class MatrixState(Protocol):
    """Cached room state (from sync), so that resolving roles asks the homeserver nothing."""

    def power_level(self, room_id: str, user_id: str) -> int: ...

    def is_direct(self, room_id: str) -> bool: ...

    def joined_rooms_of(self, user_id: str) -> list[str]: ...

    def users_with_level(self, room_id: str, level: int) -> list[str]: ...

    def room_name(self, room_id: str) -> str | None: ...


async def resolve(
    store: Store,
    state: MatrixState,
    network: NetworkSettings,
    sender: str,
    room_id: str,
    directory: Directory | None = None,
) -> tuple[Principal, int | None]:
    """The sender's principal, and the lab the room is linked to (if any)."""
    rooms = state.joined_rooms_of(sender)
    if directory is not None:
        links = await directory.labs_of_rooms(store, {*rooms, room_id})
        grants = await directory.grants_of(store, sender)
    else:
        links = await store.labs.labs_of_rooms({*rooms, room_id})
        grants = await store.grants.of_user(sender)
    member_of = {links[r] for r in rooms if r in links}
    coordinator_of = {
        links[r] for r in rooms if r in links and state.power_level(r, sender) >= MODERATOR_LEVEL
    }
    manager = False
    for role, granted_lab in grants:
        if role == MANAGER:
            manager = True
        elif role == COORDINATOR and granted_lab is not None:
            coordinator_of.add(granted_lab)
    federal = network.federal_room_id
    if federal and state.power_level(federal, sender) >= MODERATOR_LEVEL:
        manager = True
    lab_id = links.get(room_id)
    principal = Principal(
        user_id=sender,
        admin=sender in network.admins,
        manager=manager,
        coordinator_of=frozenset(coordinator_of),
        member_of=frozenset(member_of | coordinator_of),
        room_power=state.power_level(room_id, sender),
        in_direct_room=state.is_direct(room_id),
    )
    return principal, lab_id


async def coordinators(store: Store, state: MatrixState, lab_id: int) -> list[str]:
    """Who coordinates the lab: grants, and moderators of its linked rooms."""
    users = {g.user_id for g in await store.grants.all(lab_id) if g.role == COORDINATOR}
    for room_id in await store.labs.rooms(lab_id):
        users.update(state.users_with_level(room_id, MODERATOR_LEVEL))
    return sorted(users)
