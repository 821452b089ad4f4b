"""Product logic: one module per capability, pure handlers, no Matrix imports."""

from __future__ import annotations

from commands import (  # noqa: F401  (register commands and due handlers)
    booking,
    digest,
    milestone_notices,
    relay_digest,
    rolecmds,
)
from commands.experts import experts_group
from commands.general import general
from commands.labs import labs_group
from commands.milestones import milestones_group
from commands.registry import Registry
from commands.relay import announce_group  # announcements and the relay: one help group
from commands.reminders import reminders_group
from commands.spaces import spaces_group


def build_registry() -> Registry:
    """Every capability's command group, in the order help lists them."""
    return Registry(
        [general, labs_group, spaces_group, experts_group, milestones_group, reminders_group, announce_group]
    )
