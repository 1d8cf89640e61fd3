"""Finding a channel by id: from the cache when it is there, else from Discord (one helper for every feature)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from labelbot.jobs import ComeBackLater, JobFailed

if TYPE_CHECKING:
    from labelbot.client import LabelBot

AnyChannel = discord.abc.GuildChannel | discord.Thread | discord.abc.PrivateChannel
# A job that needs a server another process of the cluster serves is handed back this long for that process.
OTHER_PROCESS_SECONDS = 5.0


def served_elsewhere(bot: LabelBot, guild_id: int) -> bool:
    """Whether the server belongs to a shard another process of the cluster runs (Discord's (id >> 22) % count)."""
    shard_ids = bot.shard_ids
    if bot.shard_count is None or not shard_ids:
        return False
    return (guild_id >> 22) % bot.shard_count not in shard_ids


def job_guild(bot: LabelBot, guild_id: int, gone: str) -> discord.Guild:
    """The cached server a job works on (role changes need its roles and the bot's place among them).

    In a cluster, a server another process serves is handed back to that process (any process may claim any job);
    a server no process has is gone: the job fails with `gone`.
    """
    guild = bot.get_guild(guild_id)
    if guild is not None:
        return guild
    if served_elsewhere(bot, guild_id):
        raise ComeBackLater(OTHER_PROCESS_SECONDS, f"server {guild_id} is served by another process")
    raise JobFailed(gone)


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
