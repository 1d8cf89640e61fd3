"""Scheduled work of releases: announcement, teasers, crossposts, approval requests, DMs, message refreshes.

Each handler is idempotent: it posts with send_once (a retry fetches what an earlier attempt posted) and records
what it produced in the release, so restarts and retries never post twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord

from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.catalog.queries import get_release
from labelbot.channels import job_channel
from labelbot.db.base import utcnow
from labelbot.features.releases import _repository as repository
from labelbot.features.releases import _service as service
from labelbot.features.releases._render import Post, announcement, teaser
from labelbot.guilds.models import GuildSettings
from labelbot.guilds.service import peek_guild_settings
from labelbot.jobs import JobContext, JobFailed, MissedRule
from labelbot.jobs.sending import send_once
from labelbot.text import plain
from labelbot.timeparse import format_dt
from labelbot.ui.layout import close_with_note

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)

# More than this past the release time (the bot was down), the announcement says it is late.
ANNOUNCE_LATE_AFTER = timedelta(seconds=10)
# A teaser more than this past its moment is skipped: a countdown after the fact would mislead.
TEASER_GRACE = timedelta(minutes=2)
# Discord allows about 10 crossposts an hour per channel; a refused one is tried again this much later.
CROSSPOST_RETRY = timedelta(minutes=10)
CROSSPOST_WAIT_SECONDS = 15.0
ALREADY_CROSSPOSTED = 40033
THREAD_ALREADY_CREATED = 160004


async def _channel(bot: LabelBot, ctx: JobContext, channel_id: int | None, what: str) -> discord.abc.Messageable:
    if channel_id is None:
        raise JobFailed(f"no {what} channel is set")
    return await job_channel(bot, channel_id, what, guild_id=ctx.guild_id)


async def _load(bot: LabelBot, ctx: JobContext) -> tuple[Release | None, GuildSettings]:
    """The job's release and the server's settings, in the handler's one read before it talks to Discord."""
    assert ctx.guild_id is not None
    async with bot.sessionmaker() as session:
        release = await get_release(session, int(ctx.payload["release_id"]), ctx.guild_id)
        settings = await peek_guild_settings(session, ctx.guild_id)
    return release, settings


def _post_kwargs(post: Post) -> dict[str, Any]:
    """A release card is a Components V2 layout: no content or embeds beside it."""
    return {"view": post.layout()}


def _announcement_post(release: Release, settings: GuildSettings, *, late: bool) -> Post:
    return announcement(
        release,
        artist_name=release.artist.name,
        fan_role_id=release.artist.fan_role_id,
        all_releases_role_id=settings.all_releases_role_id,
        accent=release.artist.accent_colour,
        late=late,
    )


async def run_announce(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Post the announcement in the announcements channel, once; crosspost it as its own job."""
    release, settings = await _load(bot, ctx)
    if release is None:
        return {"skipped": "release gone"}
    if release.release_status is not ReleaseStatus.SCHEDULED and "messages" not in ctx.progress:
        return {"skipped": release.status}
    channel = await _channel(bot, ctx, settings.announcements_channel_id, "announcements")
    late = ctx.lateness > ANNOUNCE_LATE_AFTER
    post = _announcement_post(release, settings, late=late)
    message = await send_once(
        channel, ctx, "announcement", allowed_mentions=post.allowed_mentions, **_post_kwargs(post)
    )
    is_news = isinstance(channel, discord.TextChannel) and channel.is_news()
    async with bot.sessionmaker.begin() as session:
        current = await session.get(Release, release.id, with_for_update=True)
        if current is None:
            return {"skipped": "release gone", "message_id": message.id}
        if current.status == ReleaseStatus.SCHEDULED:
            current.status = str(ReleaseStatus.ANNOUNCED)
            current.announced_at = utcnow()
            current.announced_late = late
        await repository.remember_message(session, release.id, "announcement", message.channel.id, message.id)
        if is_news:
            await _schedule_crosspost(bot, session, release.id, release.guild_id, message, attempt=1, due=utcnow())
    if release.discussion_thread:
        await _open_thread(bot, ctx, release, message)
    if late:
        log.info("Release %s announced %s late", release.id, ctx.lateness)
    return {"message_id": message.id, "late": late}


async def _open_thread(bot: LabelBot, ctx: JobContext, release: Release, message: discord.Message) -> None:
    """Open the discussion thread under the announcement, once; a refusal never undoes the announcement."""
    if ctx.progress.get("thread_id") is not None:
        return
    try:
        thread = await message.create_thread(name=release.title[:100], auto_archive_duration=10080)
    except discord.HTTPException as error:
        if error.code == THREAD_ALREADY_CREATED:
            return
        log.warning("Could not open the discussion thread of release %s: %s", release.id, error)
        return
    await ctx.record_progress({"thread_id": thread.id})
    async with bot.sessionmaker.begin() as session:
        current = await session.get(Release, release.id)
        if current is not None:
            current.thread_id = thread.id


async def _schedule_crosspost(
    bot: LabelBot, session: Any, release_id: int, guild_id: int, message: Any, *, attempt: int, due: Any
) -> None:
    await bot.jobs.schedule(
        session,
        service.CROSSPOST,
        {"release_id": release_id, "channel_id": message.channel.id, "message_id": message.id, "attempt": attempt},
        due,
        guild_id=guild_id,
        key=service.crosspost_key(release_id, attempt),
        replace_done=False,
    )


async def run_crosspost(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Publish the announcement to following servers; a refusal (rate limit, outage) is retried later as a new job."""
    channel = await _channel(bot, ctx, int(ctx.payload["channel_id"]), "announcements")
    if not isinstance(channel, discord.TextChannel):
        raise JobFailed("the announcement is not in a text channel")
    message = channel.get_partial_message(int(ctx.payload["message_id"]))
    attempt = int(ctx.payload.get("attempt", 1))
    retry_in = CROSSPOST_RETRY
    try:
        await asyncio.wait_for(message.publish(), timeout=CROSSPOST_WAIT_SECONDS)
        return {"crossposted": True}
    except discord.HTTPException as error:
        if error.code == ALREADY_CROSSPOSTED:
            return {"crossposted": True, "already": True}
        if isinstance(error, discord.NotFound | discord.Forbidden):
            raise JobFailed(f"can't crosspost the announcement: {error}") from error
        reason = f"{error.status} {error.text}"
    except discord.RateLimited as limited:
        retry_in = max(CROSSPOST_RETRY, timedelta(seconds=limited.retry_after))
        reason = "rate limited"
    except TimeoutError:
        # discord.py waits out a 429 by itself; an hour-long wait would hold this worker, so leave and come back.
        reason = "rate limited"
    due = utcnow() + retry_in
    async with bot.sessionmaker.begin() as session:
        await _schedule_crosspost(
            bot, session, int(ctx.payload["release_id"]), ctx.guild_id or 0, message, attempt=attempt + 1, due=due
        )
    log.info("Crosspost of release %s refused (%s); trying again at %s", ctx.payload["release_id"], reason, due)
    return {"crossposted": False, "reason": reason, "retry_at": due.isoformat()}


async def run_teaser(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Post a silent countdown teaser (no pings, no notification)."""
    release, settings = await _load(bot, ctx)
    if release is None:
        return {"skipped": "release gone"}
    if release.release_status is not ReleaseStatus.SCHEDULED and "messages" not in ctx.progress:
        return {"skipped": release.status}
    channel = await _channel(bot, ctx, settings.announcements_channel_id, "announcements")
    post = teaser(release, artist_name=release.artist.name, accent=release.artist.accent_colour)
    message = await send_once(
        channel,
        ctx,
        "teaser",
        allowed_mentions=discord.AllowedMentions.none(),
        silent=True,
        **_post_kwargs(post),
    )
    async with bot.sessionmaker.begin() as session:
        await repository.remember_message(
            session, release.id, f"teaser:{ctx.payload.get('minutes')}", message.channel.id, message.id
        )
    return {"message_id": message.id}


async def run_approval(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Ask the moderators, in the mod-log channel, to approve or reject an artist's release."""
    from labelbot.features.releases._views import approval_view

    release, settings = await _load(bot, ctx)
    if release is None:
        return {"skipped": "release gone"}
    if ctx.payload.get("edit") is not None:
        return await _request_change_approval(bot, ctx, release, settings, str(ctx.payload["edit"]))
    if release.release_status is not ReleaseStatus.AWAITING_APPROVAL and "messages" not in ctx.progress:
        return {"skipped": release.status}
    channel = await _channel(bot, ctx, settings.mod_log_channel_id, "mod-log")
    post = _announcement_post(release, settings, late=False)
    request = (
        f"<@{release.created_by}> asks to schedule this release for "
        f"{format_dt(release.release_at)}. Approve it, or reject it with a reason."
    )
    message = await send_once(
        channel,
        ctx,
        "approval",
        allowed_mentions=discord.AllowedMentions.none(),
        view=approval_view(release.id, post, request),
    )
    async with bot.sessionmaker.begin() as session:
        await repository.remember_message(session, release.id, "approval", message.channel.id, message.id)
    return {"message_id": message.id}


async def _request_change_approval(
    bot: LabelBot, ctx: JobContext, release: Release, settings: GuildSettings, token: str
) -> dict[str, Any] | None:
    """Ask the moderators to approve an artist's change of an announced release, showing the post as it would be."""
    from labelbot.features.releases._views import CHANGE_REQUEST, change_approval_view

    pending = release.pending_edit or {}
    if pending.get("token") != token and "messages" not in ctx.progress:
        return {"skipped": "change decided or replaced"}
    async with bot.sessionmaker() as session:
        posted = await repository.message_of(session, release.id, "announcement")
    channel = await _channel(bot, ctx, settings.mod_log_channel_id, "mod-log")
    post = _announcement_post(service.proposed(release), settings, late=release.announced_late)
    where = (
        f" ([posted here](https://discord.com/channels/{release.guild_id}/{posted.channel_id}/{posted.message_id}))"
        if posted is not None
        else ""
    )
    request = (
        f"<@{pending.get('by', release.created_by)}> asks to change the {service.held_words(release)} of the "
        f"announced release **{plain(release.title)}**{where}. The post keeps showing the approved version until "
        "you approve this; reject it with a reason otherwise."
    )
    message = await send_once(
        channel,
        ctx,
        "approval",
        allowed_mentions=discord.AllowedMentions.none(),
        view=change_approval_view(release.id, token, post, request),
    )
    # The artist may have changed it again while this was posted. Under the release's row lock, so that of two
    # requests racing here one always sees the other: the current one is remembered and retires the one before;
    # one already replaced retires itself.
    retire: tuple[int, int] | None = None
    async with bot.sessionmaker.begin() as session:
        current = await session.get(Release, release.id, with_for_update=True)
        held = current.pending_edit if current is not None else None
        if held is not None and held.get("token") == token:
            earlier = await repository.message_of(session, release.id, CHANGE_REQUEST)
            if earlier is not None and earlier.message_id != message.id:
                retire = (earlier.channel_id, earlier.message_id)
            await repository.remember_message(session, release.id, CHANGE_REQUEST, message.channel.id, message.id)
        elif held is not None:
            retire = (message.channel.id, message.id)
    if retire is not None:
        await _retire_request(bot, *retire)
    return {"message_id": message.id}


async def _retire_request(bot: LabelBot, channel_id: int, message_id: int) -> None:
    """Take the buttons off a request the artist replaced with a newer change (best effort: its clicks are refused)."""
    # By id, without the cache: in a cluster the server may be another process's.
    channel = bot.get_partial_messageable(channel_id)
    try:
        await close_with_note(channel.get_partial_message(message_id), "**Replaced** by a newer change, asked below.")
    except discord.HTTPException:
        log.warning("Could not retire an earlier change request of release %s", message_id, exc_info=True)


async def run_notify(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """DM the member who created a release; closed DMs are recorded, not retried."""
    user_id = int(ctx.payload["user_id"])
    try:
        user = bot.get_user(user_id) or await bot.fetch_user(user_id)
        channel = user.dm_channel or await user.create_dm()
        message = await send_once(
            channel, ctx, "dm", allowed_mentions=discord.AllowedMentions.none(), content=str(ctx.payload["text"])
        )
    except discord.Forbidden:
        return {"skipped": "DMs closed"}
    except discord.NotFound:
        return {"skipped": "user gone"}
    return {"message_id": message.id}


async def run_refresh(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Bring the posted announcement in line with the release (after an edit or a cancellation)."""
    release, settings = await _load(bot, ctx)
    if release is None:
        return {"skipped": "release gone"}
    async with bot.sessionmaker() as session:
        posted = await repository.message_of(session, release.id, "announcement")
    if posted is None:
        return {"skipped": "no announcement"}
    channel = await _channel(bot, ctx, posted.channel_id, "announcements")
    if not isinstance(channel, discord.TextChannel | discord.Thread):
        raise JobFailed("the announcement is not in a text channel")
    post = _announcement_post(release, settings, late=release.announced_late)
    try:
        # content and embeds cleared: an announcement posted as an embed before the bot moved to Components V2
        # becomes a card too (Discord refuses a V2 message that keeps them).
        await channel.get_partial_message(posted.message_id).edit(
            content=None, embeds=[], view=post.layout(), allowed_mentions=discord.AllowedMentions.none()
        )
    except discord.NotFound:
        return {"skipped": "announcement deleted"}
    return {"edited": posted.message_id}


def register_jobs(bot: LabelBot) -> None:
    """Teach the job queue every kind of release work (from the cog's cog_load)."""

    def bind(handler: Any) -> Any:
        async def run(ctx: JobContext) -> dict[str, Any] | None:
            result: dict[str, Any] | None = await handler(bot, ctx)
            return result

        return run

    # Late is still worth posting: fans want the news, with a line saying it is late.
    bot.jobs.register(service.ANNOUNCE, bind(run_announce), missed=MissedRule.RUN_LATE, grace=ANNOUNCE_LATE_AFTER)
    bot.jobs.register(service.TEASER, bind(run_teaser), missed=MissedRule.SKIP, grace=TEASER_GRACE)
    bot.jobs.register(service.CROSSPOST, bind(run_crosspost), missed=MissedRule.RUN_LATE)
    bot.jobs.register(service.APPROVAL, bind(run_approval), missed=MissedRule.RUN_LATE)
    bot.jobs.register(service.NOTIFY, bind(run_notify), missed=MissedRule.RUN_LATE)
    bot.jobs.register(service.REFRESH, bind(run_refresh), missed=MissedRule.RUN_LATE)


def unregister_jobs(bot: LabelBot) -> None:
    for kind in (
        service.ANNOUNCE,
        service.TEASER,
        service.CROSSPOST,
        service.APPROVAL,
        service.NOTIFY,
        service.REFRESH,
    ):
        bot.jobs.unregister(kind)
