"""The command tree: one error pipeline for every app command and component."""

from __future__ import annotations

import logging
import re
import secrets
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from labelbot.db.outage import is_database_outage
from labelbot.errors import TryAgainLater, UserFacingError
from labelbot.interactions import reply

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)

DATABASE_DOWN = "The bot can't reach its database right now, so nothing was changed. Please try again in a minute."
MEMBER_NOT_HERE = "That member isn't in this server."
DISCORD_DOWN = "Discord had a problem on its side just now, so I couldn't finish that. Please try again in a minute."


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
    if is_database_outage(error) or isinstance(error, OSError):
        return TryAgainLater(DATABASE_DOWN).message
    if isinstance(error, discord.DiscordServerError):
        # A 5xx from Discord is an outage on its side, not a bug here: features undo what they started.
        return TryAgainLater(DISCORD_DOWN).message
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


async def handle_interaction_error(
    interaction: discord.Interaction[Any], error: BaseException, *, source: object = None
) -> None:
    """Answer the member once, ephemerally; log the unexpected with a reference id.

    `source` is the component, view or modal that failed, when there is one: it names the failure in the metrics.
    """
    message = user_message(error)
    name = interaction_name(interaction, source)
    interaction.client.dispatch("interaction_failed", interaction, name, message is None)
    if message is None:
        reference = secrets.token_hex(4)
        log.error("Unexpected error in %s (reference %s)", name, reference, exc_info=_unwrap(error))
        message = f"Something went wrong on my side; it has been logged. (reference `{reference}`)"
    try:
        await reply(interaction, message, ephemeral=True)
    except discord.HTTPException:
        log.warning("Could not tell the member about an error in %s", name, exc_info=True)


# One word of a custom_id template: "release", "fan_roles", "profile-skills". Not an id, not a random token.
_NAME_WORD = re.compile(r"[a-z][a-z_-]{0,31}")
_HEXISH = re.compile(r"[0-9a-f]{6,}")


def _stable_prefix(custom_id: str) -> str:
    """The `feature:action` words a custom_id starts with, without the ids or random parts after them."""
    words: list[str] = []
    for part in custom_id.split(":")[:2]:
        if not _NAME_WORD.fullmatch(part) or _HEXISH.fullmatch(part):
            break
        words.append(part)
    return ":".join(words)


def _named_after(source: object) -> str:
    """`feature:ClassName` for a component or modal, from the package it lives in (labelbot.features.releases -> releases)."""
    module = type(source).__module__.split(".")
    if module[:2] == ["labelbot", "features"] and len(module) > 2:
        feature = module[2]
    elif module[0] == "labelbot" and len(module) > 1:
        feature = module[1]
    else:
        feature = module[0]
    return f"{feature}:{type(source).__name__}"


def interaction_name(interaction: discord.Interaction[Any], source: object = None) -> str:
    """A metric label for what the member used: the command's name, or the component's or modal's name.

    Never the raw custom_id: ids in it (and the random id discord.py gives a modal without one) would make a new
    series for every member, message or submit.
    """
    if interaction.command is not None:
        return interaction.command.qualified_name
    data: dict[str, Any] = dict(interaction.data or {})
    prefix = _stable_prefix(str(data.get("custom_id", "")))
    if prefix:
        return prefix
    if source is not None:
        return _named_after(source)
    return "modal" if interaction.type is discord.InteractionType.modal_submit else "component"
