"""Roles, ordered by reach, and the sender's resolved roles (`Principal`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from commands.i18n import N_

# Power level at which Matrix room moderators count as coordinators (COMMANDS.md).
MODERATOR_LEVEL = 50


class Role(enum.IntEnum):
    EVERYONE = 0
    MEMBER = 1
    COORDINATOR = 2
    MANAGER = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.EVERYONE: N_("everyone"),
    Role.MEMBER: N_("lab member"),
    Role.COORDINATOR: N_("lab coordinator"),
    Role.MANAGER: N_("federal community manager"),
    Role.ADMIN: N_("administrator"),
}


@dataclass(frozen=True)
class Principal:
    """What the sender may do, resolved from config, grants and cached Matrix state."""

    user_id: str
    admin: bool = False
    manager: bool = False
    coordinator_of: frozenset[int] = field(default_factory=frozenset)
    member_of: frozenset[int] = field(default_factory=frozenset)
    room_power: int = 0
    in_direct_room: bool = False

    def has(self, role: Role, lab_id: int | None = None) -> bool:
        """Whether the sender holds `role` here; `lab_id` is the lab the command acts on."""
        if role is Role.EVERYONE or self.admin:
            return True
        if role is Role.ADMIN:
            return False
        if self.manager:
            return True
        if role is Role.MANAGER:
            return False
        if lab_id is not None and lab_id in self.coordinator_of:
            return True
        # A room not linked to a lab is governed by its own moderators (and a DM by its user).
        room_moderator = lab_id is None and (
            self.room_power >= MODERATOR_LEVEL or self.in_direct_room
        )
        if role is Role.COORDINATOR:
            return room_moderator
        return room_moderator or (lab_id is not None and lab_id in self.member_of)

    def has_in_some_lab(self, role: Role) -> bool:
        """Whether `role` is held here or in at least one lab: the check before a command whose
        lab is only known from its arguments (`--lab`); the handler then checks that lab."""
        if self.has(role, None):
            return True
        if role is Role.COORDINATOR:
            return bool(self.coordinator_of)
        if role is Role.MEMBER:
            return bool(self.member_of or self.coordinator_of)
        return False

    def may_use(self, role: Role, room_lab: int | None) -> bool:
        """The check before any command: the room's lab if it has one, else any lab."""
        return self.has(role, room_lab) if room_lab is not None else self.has_in_some_lab(role)

    def highest(self) -> Role:
        for role in sorted(Role, reverse=True):
            if role is not Role.EVERYONE and self.has(role):
                return role
        return Role.EVERYONE
