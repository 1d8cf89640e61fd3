"""A server that removes the bot is purged after a grace period, unless the bot is back in it by then.

The purge is a durable job (it survives restarts); rejoining cancels it. The grace period is
`privacy.guild_purge_days` (default 30), so a server that kicks the bot by mistake loses nothing.

A server that removed the bot while it was offline sends no event: once the bot is ready, it looks for servers
that still have data but are not among its own (only those its shards would serve, so in a cluster each process
judges its own servers) and schedules their purge, once; a purge already scheduled keeps its date.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord

from labelbot.channels import OTHER_PROCESS_SECONDS, served_elsewhere
from labelbot.db.base import utcnow
from labelbot.db.outage import log_failure
from labelbot.jobs import ComeBackLater, JobContext, MissedRule
from labelbot.privacy.service import guilds_with_data, purge_guild

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)

GUILD_PURGE = "privacy.guild_purge"


def purge_key(guild_id: int) -> str:
    return f"privacy:guild:{guild_id}:purge"


async def schedule_purge(bot: LabelBot, guild_id: int) -> None:
    """The bot was removed from the server: purge its data once the grace period is over."""
    due = utcnow() + timedelta(days=bot.settings.privacy.guild_purge_days)
    async with bot.sessionmaker.begin() as session:
        # No guild_id on the row: the purge deletes the server's jobs, and must not delete itself.
        await bot.jobs.schedule(session, GUILD_PURGE, {"guild_id": guild_id}, due, key=purge_key(guild_id))
    log.info("Removed from guild %s; its data will be purged at %s unless the bot is added back", guild_id, due)


async def cancel_purge(bot: LabelBot, guild_id: int) -> bool:
    """The bot is in the server (again): keep its data."""
    async with bot.sessionmaker.begin() as session:
        cancelled = await bot.jobs.cancel(session, purge_key(guild_id))
    if cancelled:
        log.info("Back in guild %s within the grace period; its data is kept", guild_id)
    return cancelled


async def run_purge(bot: LabelBot, ctx: JobContext) -> dict[str, Any]:
    guild_id = int(ctx.payload["guild_id"])
    if served_elsewhere(bot, guild_id):
        # In a cluster only the process serving the server can tell whether the bot is back in it.
        raise ComeBackLater(OTHER_PROCESS_SECONDS, f"server {guild_id} is served by another process")
    if bot.get_guild(guild_id) is not None:
        # Added back while the bot was down (no join event reached us): the server keeps its data.
        return {"skipped": "the bot is in the server again"}
    async with bot.sessionmaker.begin() as session:
        removed = await purge_guild(session, guild_id)
    log.info("Purged guild %s: %d rows", guild_id, removed)
    return {"rows": removed}


async def sweep_departed_guilds(bot: LabelBot) -> list[int]:
    """Schedule the purge of servers that removed the bot while it was offline; return their ids."""
    async with bot.sessionmaker() as session:
        with_data = await guilds_with_data(session)
        departed = [gid for gid in sorted(with_data) if bot.get_guild(gid) is None and not served_elsewhere(bot, gid)]
        missing = [gid for gid in departed if await bot.jobs.get(session, purge_key(gid)) is None]
    for guild_id in missing:
        await schedule_purge(bot, guild_id)
    return missing


def register_guild_purge(bot: LabelBot) -> None:
    """Teach the job queue the purge and listen for the bot leaving and joining servers (setup_hook, once)."""

    async def purge(ctx: JobContext) -> dict[str, Any] | None:
        return await run_purge(bot, ctx)

    async def on_guild_remove(guild: discord.Guild) -> None:
        await schedule_purge(bot, guild.id)

    async def on_guild_join(guild: discord.Guild) -> None:
        await cancel_purge(bot, guild.id)

    swept = False

    async def on_ready() -> None:
        # Once per process: a later READY (a new gateway session) brings the same servers.
        nonlocal swept
        if swept:
            return
        swept = True
        try:
            await sweep_departed_guilds(bot)
        except Exception:
            log_failure(log, "Could not look for servers that removed the bot while it was offline")

    # Late is fine: the grace period is a minimum, and the data must go even if the bot was down at the time.
    bot.jobs.register(GUILD_PURGE, purge, missed=MissedRule.RUN_LATE)
    bot.add_listener(on_guild_remove, "on_guild_remove")
    bot.add_listener(on_guild_join, "on_guild_join")
    bot.add_listener(on_ready, "on_ready")
