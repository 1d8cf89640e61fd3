"""The UserFacingError family: failures whose text is shown to the member as is, ephemerally."""

from __future__ import annotations

from discord import app_commands


class UserFacingError(app_commands.AppCommandError):
    """An expected failure; `str(error)` is one clear sentence for the member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(UserFacingError):
    """What the member typed cannot be used."""


class NotFound(UserFacingError):
    """The thing the member named does not exist (in this server)."""


class NotAllowed(UserFacingError, app_commands.CheckFailure):
    """The member may not do this; the message says who may."""


class Conflict(UserFacingError):
    """The action clashes with the current state (a duplicate name, an already-closed request)."""


class BotLacksPermissions(UserFacingError):
    """Discord would refuse the bot; the message names what is missing and where."""


class TryAgainLater(UserFacingError):
    """A dependency (the database, Discord) is not answering; nothing was changed."""
