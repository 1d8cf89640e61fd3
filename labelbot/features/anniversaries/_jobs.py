"""The day job of catalogue dates: post the day's anniversaries and label dates silently, then schedule tomorrow."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import discord

from labelbot.channels import get_or_fetch_channel, served_elsewhere
from labelbot.db.base import utcnow
from labelbot.features.anniversaries import _render as render
from labelbot.features.anniversaries import _repository as repository
from labelbot.features.anniversaries import _service as service
from labelbot.guilds.service import peek_guild_settings
from labelbot.jobs import JobContext, JobFailed, MissedRule, send_once
from labelbot.models.anniversaries import CatalogueDatePost

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DayPost:
    kind: str
    key: int
    content: str


@dataclass(frozen=True)
class Day:
    zone: str
    channel_id: int | None
    wanted: bool
    posts: list[DayPost]


async def _read(bot: LabelBot, guild_id: int, day: date) -> Day:
    async with bot.sessionmaker() as session:
        settings = await peek_guild_settings(session, guild_id)
        label_dates = await repository.label_dates(session, guild_id)
        posts: list[DayPost] = []
        if settings.catalogue_anniversaries:
            releases = await repository.announced_releases(session, guild_id)
            posts += [
                DayPost(service.ANNIVERSARY, found.release.id, render.anniversary_post(found))
                for found in service.anniversaries_on(releases, day)
            ]
        todays = service.label_dates_on(label_dates, day)
        if todays:
            roster = await repository.roster(session, guild_id)
            posts += [DayPost(service.LABEL_DATE, found.id, render.label_date_post(found, roster)) for found in todays]
        return Day(
            zone=settings.timezone,
            channel_id=settings.dates_channel_id or settings.announcements_channel_id,
            wanted=settings.catalogue_anniversaries or bool(label_dates),
            posts=posts,
        )


async def run_day(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    guild_id = int(ctx.payload["guild_id"])
    day = date.fromisoformat(str(ctx.payload["day"]))
    read = await _read(bot, guild_id, day)
    today = service.local_day(read.zone, utcnow())
    if read.wanted:
        # Tomorrow first: whatever happens to today's posts, the next morning is on the calendar. After days
        # down, the next is today's (due at once if its morning has passed), not each missed day in turn. A server
        # the bot left keeps its chain until the guild purge deletes its jobs, so coming back resumes it.
        async with bot.sessionmaker.begin() as session:
            await service.schedule_next(bot, session, guild_id, read.zone, max(day, today - timedelta(days=1)))
    if bot.get_guild(guild_id) is None and not served_elsewhere(bot, guild_id):
        return {"skipped": "the bot is not in the server"}
    if today != day:
        # The bot was down all day (or the zone moved): an anniversary posted the day after is no anniversary.
        return {"skipped": "the day is over"}
    if not read.posts:
        return {"posted": []}
    if read.channel_id is None:
        raise JobFailed("no channel for anniversaries and label dates: set one with /settings channel")
    # Fetched when another process of the cluster serves the server (and is down, say).
    channel = await get_or_fetch_channel(bot, read.channel_id, guild_id=guild_id)
    if not isinstance(channel, discord.abc.Messageable):
        raise JobFailed(f"the anniversaries channel {read.channel_id} is gone or hidden from the bot")
    posted, skipped = [], []
    for post in read.posts:
        async with bot.sessionmaker.begin() as session:
            taken = await repository.take_post(
                session,
                guild_id=guild_id,
                kind=post.kind,
                key=post.key,
                on_date=day,
                job_id=ctx.id,
                channel_id=read.channel_id,
            )
            mine = taken.job_id == ctx.id and taken.message_id is None
        if not mine:
            skipped.append(f"{post.kind}:{post.key}")
            continue
        message = await send_once(
            channel,
            ctx,
            f"{post.kind}:{post.key}",
            allowed_mentions=discord.AllowedMentions.none(),
            content=post.content,
            # A date to mark, not news: it shows in the channel without buzzing anyone's phone.
            silent=True,
        )
        async with bot.sessionmaker.begin() as session:
            row = await session.get(CatalogueDatePost, taken.id)
            if row is not None:
                row.message_id = message.id
        posted.append(message.id)
    return {"posted": posted, "skipped": skipped, "late": ctx.late}


def register(bot: LabelBot) -> None:
    async def run(ctx: JobContext) -> dict[str, Any] | None:
        return await run_day(bot, ctx)

    # A morning run late is still that day's post (the handler skips a day that is over), so it runs late.
    bot.jobs.register(service.DAY, run, missed=MissedRule.RUN_LATE, grace=timedelta(hours=1))


def unregister(bot: LabelBot) -> None:
    bot.jobs.unregister(service.DAY)
