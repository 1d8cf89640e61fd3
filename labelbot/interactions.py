"""Helpers for answering interactions whatever state they are in."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

NO_MENTIONS = discord.AllowedMentions.none()


async def reply(
    interaction: discord.Interaction[Any],
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    embeds: list[discord.Embed] | None = None,
    view: discord.ui.View | discord.ui.LayoutView | None = None,
    file: discord.File | None = None,
    ephemeral: bool = True,
    allowed_mentions: discord.AllowedMentions = NO_MENTIONS,
    wait: bool = False,
) -> discord.InteractionMessage | discord.WebhookMessage | None:
    """Send a reply, as the first response or as a followup if the interaction was already answered.

    Returns the message Discord made, editable through the interaction even when ephemeral, read from Discord's
    answer to this one request (no second request to fetch it): always for a first response, whose answer
    discord.py reads anyway; for a followup only with `wait=True`, which asks Discord to send the message back
    (the others would pay for building a message nobody reads).
    """
    kwargs: dict[str, Any] = {"allowed_mentions": allowed_mentions, "ephemeral": ephemeral}
    if content is not None:
        kwargs["content"] = content
    if embed is not None:
        kwargs["embed"] = embed
    if embeds is not None:
        kwargs["embeds"] = embeds
    if view is not None:
        kwargs["view"] = view
    if file is not None:
        kwargs["file"] = file
    if interaction.response.is_done():
        if wait:
            return await interaction.followup.send(wait=True, **kwargs)
        await interaction.followup.send(**kwargs)
        return None
    callback = await interaction.response.send_message(**kwargs)
    return callback.resource if isinstance(callback.resource, discord.InteractionMessage) else None


async def defer(interaction: discord.Interaction[Any], *, ephemeral: bool = True, thinking: bool = True) -> None:
    """Acknowledge now, before work that may wait on the database or Discord."""
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral, thinking=thinking)


def guild_of(interaction: discord.Interaction[Any]) -> discord.Guild:
    """The server the interaction came from (commands are guild-only; a DM gets the pipeline's sentence)."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    return interaction.guild


def member_of(interaction: discord.Interaction[Any]) -> discord.Member:
    """The member who used the interaction, with their roles and permissions in that server."""
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        raise app_commands.NoPrivateMessage()
    return interaction.user


async def bot_member(interaction: discord.Interaction[Any]) -> discord.Member:
    """The bot's own member in the interaction's server, for permission and role-position checks."""
    guild = guild_of(interaction)
    if guild.me is not None:
        return guild.me
    assert interaction.client.user is not None
    return await guild.fetch_member(interaction.client.user.id)
