"""Product logic: one module per capability, pure handlers, no Matrix imports."""

from __future__ import annotations

from commands import booking, rolecmds  # noqa: F401  (register into their groups)
from commands.general import general
from commands.labs import labs_group
from commands.registry import Registry
from commands.relay import announce_group  # announcements and the relay: one help group
from commands.spaces import spaces_group


def build_registry() -> Registry:
    """Every capability's command group, in the order help lists them."""
    return Registry([general, labs_group, spaces_group, announce_group])
