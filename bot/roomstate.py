"""Room state as the bot knows it from sync: members, power levels, creators, names.

This is what role resolution reads, so that handling a command asks the homeserver nothing.
nio keeps members and power levels up to date from state events; the creators of rooms of
version 12+ (who hold no power level but outrank everyone) are tracked here.
"""

from __future__ import annotations

from nio import AsyncClient, RoomCreateEvent

CREATOR_LEVEL = 2**31


def creators_outrank_levels(room_version: str) -> bool:
    if room_version.startswith("org.matrix.hydra"):
        return True
    return room_version.isdigit() and int(room_version) >= 12


def creators_in(events: list[object]) -> frozenset[str] | None:
    for event in events:
        if isinstance(event, RoomCreateEvent):
            extra = event.source.get("content", {}).get("additional_creators", [])
            return frozenset([event.sender, *(u for u in extra if isinstance(u, str))])
    return None


class RoomState:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.creators: dict[str, frozenset[str]] = {}

    def power_level(self, room_id: str, user_id: str) -> int:
        room = self.client.rooms.get(room_id)
        if room is None:
            return 0
        if user_id in self.creators.get(room_id, ()) and creators_outrank_levels(room.room_version):
            return CREATOR_LEVEL
        return room.power_levels.get_user_level(user_id)

    def is_direct(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return room is not None and room.member_count <= 2

    def joined_rooms_of(self, user_id: str) -> list[str]:
        return [
            room_id
            for room_id, room in self.client.rooms.items()
            if user_id in room.users and user_id not in room.invited_users
        ]

    def users_with_level(self, room_id: str, level: int) -> list[str]:
        room = self.client.rooms.get(room_id)
        if room is None:
            return []
        return sorted(
            user_id
            for user_id in room.users
            if user_id != self.client.user_id
            and user_id not in room.invited_users
            and self.power_level(room_id, user_id) >= level
        )

    def room_name(self, room_id: str) -> str | None:
        room = self.client.rooms.get(room_id)
        return (room.name or room.canonical_alias) if room else None

    def display_name(self, room_id: str, user_id: str) -> str:
        room = self.client.rooms.get(room_id)
        user = room.users.get(user_id) if room else None
        return (user.display_name if user else None) or user_id
