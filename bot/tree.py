"""The command tree: one error pipeline for every app command and component."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from bot.errors import TryAgainLater, UserFacingError
from bot.interactions import reply

if TYPE_CHECKING:
    from bot.client import LabelBot

log = logging.getLogger(__name__)

DATABASE_DOWN = "The bot can't reach its database right now, so nothing was changed. Please try again in a minute."
MEMBER_NOT_HERE = "That member isn't in this server."


class LabelTree(app_commands.CommandTree["LabelBot"]):
    """Shows expected failures as they are, and an apology with a reference for anything else."""

    async def on_error(self, interaction: discord.Interaction[LabelBot], error: app_commands.AppCommandError) -> None:
        await handle_interaction_error(interaction, error)


# Member options: discord.py fails the conversion when the chosen user is not (or no longer) in the server.
_MEMBER_OPTIONS = (discord.AppCommandOptionType.user, discord.AppCommandOptionType.mentionable)


def _unwrap(error: BaseException) -> BaseException:
    while isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError) and error.__cause__:
        error = error.__cause__
    return error


def user_message(error: BaseException) -> str | None:
    """The sentence to show for an expected failure, or None when it is a bug."""
    if isinstance(error, app_commands.TransformerError) and error.type in _MEMBER_OPTIONS:
        return MEMBER_NOT_HERE
    error = _unwrap(error)
    if isinstance(error, UserFacingError):
        return error.message
    if isinstance(error, OperationalError | PoolTimeoutError | ConnectionError | OSError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    ):
        return TryAgainLater(DATABASE_DOWN).message
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} seconds."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works only in a server."
    if isinstance(error, app_commands.BotMissingPermissions):
        missing = ", ".join(p.replace("_", " ") for p in error.missing_permissions)
        return f"I need these permissions here first: {missing}."
    if isinstance(error, app_commands.MissingPermissions):
        missing = ", ".join(p.replace("_", " ") for p in error.missing_permissions)
        return f"You need these permissions for that: {missing}."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return None


async def handle_interaction_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Answer the member once, ephemerally; log the unexpected with a reference id."""
    message = user_message(error)
    name = interaction.command.qualified_name if interaction.command else _custom_id(interaction)
    interaction.client.dispatch("interaction_failed", interaction, name, message is None)
    if message is None:
        reference = secrets.token_hex(4)
        log.error("Unexpected error in %s (reference %s)", name, reference, exc_info=_unwrap(error))
        message = f"Something went wrong on my side; it has been logged. (reference `{reference}`)"
    try:
        await reply(interaction, message, ephemeral=True)
    except discord.HTTPException:
        log.warning("Could not tell the member about an error in %s", name, exc_info=True)


def _custom_id(interaction: discord.Interaction[Any]) -> str:
    data: dict[str, Any] = dict(interaction.data or {})
    return str(data.get("custom_id", "interaction"))
