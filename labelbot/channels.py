"""Finding a channel by id: from the cache when it is there, else from Discord (one helper for every feature)."""

from __future__ import annotations

import asyncio
import time
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


# A server fetched through REST is reused this long by the jobs of the same moment (a hundred perks ending at one
# minute fetch it once, not a hundred times); short, since no gateway event updates it meanwhile.
REST_GUILD_SECONDS = 15.0


class RestGuilds:
    """Servers another process of the cluster serves, as fetched through REST for the jobs run here.

    Each is a `discord.Guild` with its roles and the bot's own member (so `guild.me`, `get_role` and the role
    checks work) but no channels and no other members. Concurrent jobs share one fetch.
    """

    def __init__(self) -> None:
        self._fetched: dict[int, tuple[float, asyncio.Task[discord.Guild]]] = {}

    async def get(self, bot: LabelBot, guild_id: int) -> discord.Guild:
        now = time.monotonic()
        held = self._fetched.get(guild_id)
        if held is None or held[0] <= now:
            if len(self._fetched) > 1000:
                self._fetched = {gid: entry for gid, entry in self._fetched.items() if entry[0] > now}
            task = asyncio.get_running_loop().create_task(
                _fetch_guild(bot, guild_id), name=f"labelbot-guild-{guild_id}"
            )
            held = self._fetched[guild_id] = (now + REST_GUILD_SECONDS, task)
        try:
            return await asyncio.shield(held[1])
        except Exception:
            if self._fetched.get(guild_id) is held:
                del self._fetched[guild_id]
            raise


async def _fetch_guild(bot: LabelBot, guild_id: int) -> discord.Guild:
    # Two requests: the server with its roles, and the bot's member (its roles say what it may hand out).
    guild = await bot.fetch_guild(guild_id, with_counts=False)
    if bot.user is not None:
        guild._add_member(await guild.fetch_member(bot.user.id))
    return guild


def cached_job_guild(bot: LabelBot, guild_id: int, gone: str) -> discord.Guild:
    """The cached server a job works on, for work only the process serving it can do (members through the gateway).

    A server another process serves is handed back to that process (any process may claim any job); a server no
    process has is gone: the job fails with `gone`.
    """
    guild = bot.get_guild(guild_id)
    if guild is not None:
        return guild
    if served_elsewhere(bot, guild_id):
        raise ComeBackLater(OTHER_PROCESS_SECONDS, f"server {guild_id} is served by another process")
    raise JobFailed(gone)


async def job_guild(bot: LabelBot, guild_id: int, gone: str) -> discord.Guild:
    """The server a job works on (role changes need its roles and the bot's place among them).

    Cached when this process serves it; in a cluster, a server another process serves is fetched through REST
    (see RestGuilds), so the job runs here even while that process is down. A server no process has, or one
    Discord says the bot is no longer in, is gone: the job fails with `gone`.
    """
    guild = bot.get_guild(guild_id)
    if guild is not None:
        return guild
    if not served_elsewhere(bot, guild_id):
        raise JobFailed(gone)
    try:
        return await bot.rest_guilds.get(bot, guild_id)
    except (discord.NotFound, discord.Forbidden) as error:
        raise JobFailed(gone) from error


async def get_or_fetch_channel(bot: LabelBot, channel_id: int, *, guild_id: int | None = None) -> AnyChannel | None:
    """The channel, or None when it is gone or hidden from the bot.

    Give the server when it is known: discord.py's `get_channel` looks through every cached server in turn (a
    few ms each lookup with 2,500 servers, and the whole list for a server another process of a cluster serves,
    before it fetches); the server's own cache is one dictionary lookup.
    """
    if guild_id is None:
        channel = bot.get_channel(channel_id)
    else:
        guild = bot.get_guild(guild_id)
        channel = guild.get_channel_or_thread(channel_id) if guild is not None else None
    if channel is not None:
        return channel
    try:
        return await bot.fetch_channel(channel_id)
    except (discord.NotFound, discord.Forbidden):
        return None


async def messageable_channel(
    bot: LabelBot, channel_id: int, *, guild_id: int | None = None
) -> discord.abc.Messageable | None:
    """The channel if the bot can post in it by id, else None."""
    channel = await get_or_fetch_channel(bot, channel_id, guild_id=guild_id)
    return channel if isinstance(channel, discord.abc.Messageable) else None


async def job_channel(
    bot: LabelBot, channel_id: int, what: str, *, guild_id: int | None = None
) -> discord.abc.Messageable:
    """The channel a job posts in; a gone or wrong channel fails the job with the reason (retrying can't help)."""
    channel = await get_or_fetch_channel(bot, channel_id, guild_id=guild_id)
    if channel is None:
        raise JobFailed(f"the {what} channel {channel_id} is gone or hidden from the bot")
    if not isinstance(channel, discord.abc.Messageable):
        raise JobFailed(f"the {what} channel {channel_id} can't hold messages")
    return channel
