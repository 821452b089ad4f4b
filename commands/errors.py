"""Domain errors. The router turns each into a translated reply; nothing is committed."""

from __future__ import annotations

from typing import Any


class CommandError(Exception):
    """Base of all refusals a user can cause. `message` is an untranslated msgid."""

    def __init__(self, message: str = "", **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class BadArguments(CommandError):
    """Missing or malformed arguments: the reply adds the command's usage and an example."""


class NotAllowed(CommandError):
    """The sender lacks the role the command needs."""

    def __init__(self, role: Any) -> None:
        super().__init__("")
        self.role = role


class NotFound(CommandError):
    pass


class Conflict(CommandError):
    pass
