"""Finding a channel by id: from the cache when it is there, else from Discord (one helper for every feature)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.jobs import JobFailed

if TYPE_CHECKING:
    from bot.client import LabelBot

AnyChannel = discord.abc.GuildChannel | discord.Thread | discord.abc.PrivateChannel


async def get_or_fetch_channel(bot: LabelBot, channel_id: int) -> AnyChannel | None:
    """The channel, or None when it is gone or hidden from the bot."""
    channel = bot.get_channel(channel_id)
    if channel is not None:
        return channel
    try:
        return await bot.fetch_channel(channel_id)
    except (discord.NotFound, discord.Forbidden):
        return None


async def messageable_channel(bot: LabelBot, channel_id: int) -> discord.abc.Messageable | None:
    """The channel if the bot can post in it by id, else None."""
    channel = await get_or_fetch_channel(bot, channel_id)
    return channel if isinstance(channel, discord.abc.Messageable) else None


async def job_channel(bot: LabelBot, channel_id: int, what: str) -> discord.abc.Messageable:
    """The channel a job posts in; a gone or wrong channel fails the job with the reason (retrying can't help)."""
    channel = await get_or_fetch_channel(bot, channel_id)
    if channel is None:
        raise JobFailed(f"the {what} channel {channel_id} is gone or hidden from the bot")
    if not isinstance(channel, discord.abc.Messageable):
        raise JobFailed(f"the {what} channel {channel_id} can't hold messages")
    return channel
