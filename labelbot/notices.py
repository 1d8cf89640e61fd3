"""Notices to every server's moderators about the bot itself: a schema newer than the code, a failed migration."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from labelbot import __version__
from labelbot.db.base import utcnow
from labelbot.db.models import BotState

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)

SCHEMA_NEWER_KEY = "notice:schema-newer"


async def mod_log_channels(engine: AsyncEngine) -> list[int]:
    """The mod-log channel of every server that set one, read with plain SQL so any schema version answers."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT mod_log_channel_id FROM guild_settings WHERE mod_log_channel_id IS NOT NULL")
        )
        return [int(row[0]) for row in rows]


def notice_embed(title: str, description: str) -> discord.Embed:
    return discord.Embed(title=title, description=description, colour=discord.Colour.orange(), timestamp=utcnow())


async def post_notice(client: discord.Client, channel_ids: list[int], embed: discord.Embed) -> int:
    """Post the notice in each channel (best effort: a channel that is gone or closed to the bot is skipped)."""
    posted = 0
    for channel_id in channel_ids:
        try:
            channel = client.get_channel(channel_id) or await client.fetch_channel(channel_id)
            if isinstance(channel, discord.abc.Messageable):
                await channel.send(embed=embed, allowed_mentions=discord.AllowedMentions.none())
                posted += 1
        except discord.HTTPException:
            log.warning("Could not post a notice in channel %s", channel_id, exc_info=True)
    return posted


def schema_newer_text(revisions: set[str], version: str) -> str:
    return (
        f"The database was migrated by a newer Labelbot (schema {', '.join(sorted(revisions))}) than the one running "
        f"now ({version}). It keeps running, but what the newer version added may misbehave. Run the newer version "
        'again, or restore the backup taken before the update (README, "Updating").'
    )


def migration_failed_text(error: BaseException, version: str) -> str:
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (
        f"Labelbot {version} could not migrate the database and did not start: {detail[:500]}. "
        "The server operator should restore the backup taken before the update, or run the previous version "
        '(README, "Updating").'
    )


async def announce_with_rest_only(token: str, channel_ids: list[int], embed: discord.Embed) -> None:
    """Post a notice without a gateway connection (the bot is not starting); failures are only logged."""
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(token)
        await post_notice(client, channel_ids, embed)
    except discord.HTTPException:
        log.warning("Could not post the failed-migration notice", exc_info=True)
    finally:
        await client.close()


async def announce_schema_newer(bot: LabelBot, revisions: set[str]) -> None:
    """Tell every server's moderators once per newer schema (not at every restart) that the code is older."""
    marker = ",".join(sorted(revisions))
    async with bot.sessionmaker() as session:
        state = await session.get(BotState, SCHEMA_NEWER_KEY)
        if state is not None and state.value == marker:
            return
    channels = await mod_log_channels(bot.engine)
    embed = notice_embed("Labelbot is older than its database", schema_newer_text(revisions, __version__))
    await post_notice(bot, channels, embed)
    async with bot.sessionmaker.begin() as session:
        await session.merge(BotState(key=SCHEMA_NEWER_KEY, value=marker))
