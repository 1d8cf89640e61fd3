"""Scheduled work of the board: matching alerts, the warning before expiry, and expiry itself.

Handlers are idempotent: sends go through send_once, and state is checked before anything is changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from labelbot.channels import get_or_fetch_channel
from labelbot.db.base import utcnow
from labelbot.features.collabs import _repository as repo
from labelbot.features.collabs import _service as service
from labelbot.features.collabs._board import NO_MENTIONS, refresh_post
from labelbot.features.collabs._render import request_embed
from labelbot.features.collabs._views import ALERTS, EXPIRE, WARN, post_link, post_view, warning_view
from labelbot.jobs import JobContext, MissedRule, send_once
from labelbot.models.collabs import AlertVia, RequestStatus
from labelbot.text import clip, plain

if TYPE_CHECKING:
    from labelbot.client import LabelBot

# Mentions per board line: ~25 characters each keeps a line far inside 2000 characters.
MENTIONS_PER_LINE = 50


def register(bot: LabelBot) -> None:
    async def alerts(ctx: JobContext) -> dict[str, Any] | None:
        return await send_alerts(bot, ctx)

    async def warn(ctx: JobContext) -> dict[str, Any] | None:
        return await warn_poster(bot, ctx)

    async def expire(ctx: JobContext) -> dict[str, Any] | None:
        return await expire_request(bot, ctx)

    bot.jobs.register(ALERTS, alerts, missed=MissedRule.RUN_LATE)
    bot.jobs.register(WARN, warn, missed=MissedRule.RUN_LATE)
    bot.jobs.register(EXPIRE, expire, missed=MissedRule.RUN_LATE)


def unregister(bot: LabelBot) -> None:
    for kind in (ALERTS, WARN, EXPIRE):
        bot.jobs.unregister(kind)


async def _dm_channel(bot: LabelBot, user_id: int) -> discord.DMChannel | None:
    try:
        user = bot.get_user(user_id) or await bot.fetch_user(user_id)
        return user.dm_channel or await user.create_dm()
    except discord.NotFound:
        return None


async def send_alerts(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """DM those who chose DMs; one ping line in the post's thread for the rest and for closed DMs."""
    request_id = int(ctx.payload["request_id"])
    async with bot.sessionmaker() as session:
        request = await repo.request(session, request_id)
        if request is None or request.status != RequestStatus.OPEN:
            return {"skipped": "not open"}
        alerts = await repo.alerts_for(session, request_id)
        skills = await service.request_skills(session, request_id)
    title = plain(clip(request.title, 100))
    bounced: list[int] = [int(u) for u in ctx.progress.get("bounced", [])]
    board_users = [a.user_id for a in alerts if a.via == AlertVia.BOARD]
    for alert in alerts:
        if alert.via != AlertVia.DM or alert.user_id in bounced:
            continue
        channel = await _dm_channel(bot, alert.user_id)
        try:
            if channel is None:
                bounced.append(alert.user_id)
                continue
            await send_once(
                channel,
                ctx,
                f"dm:{alert.user_id}",
                allowed_mentions=NO_MENTIONS,
                content=f"A new collab request wants your skills: “{title}” {post_link(request)}",
                embed=request_embed(request, skills),
                view=post_view(request.id),
            )
        except discord.Forbidden:
            bounced.append(alert.user_id)
            await ctx.record_progress({"bounced": bounced})
            async with bot.sessionmaker.begin() as session:
                await service.mark_dms_closed(session, request.guild_id, alert.user_id)
    ping = board_users + bounced
    if ping and request.thread_id is not None:
        thread = await get_or_fetch_channel(bot, request.thread_id)
        if isinstance(thread, discord.Thread):
            for index in range(0, len(ping), MENTIONS_PER_LINE):
                chunk = ping[index : index + MENTIONS_PER_LINE]
                await send_once(
                    thread,
                    ctx,
                    f"board:{index // MENTIONS_PER_LINE}",
                    allowed_mentions=discord.AllowedMentions(users=[discord.Object(u) for u in chunk]),
                    content="This request wants your skills: " + " ".join(f"<@{u}>" for u in chunk),
                )
    return {"dms": len(alerts) - len(board_users) - len(bounced), "board": len(ping), "bounced": bounced}


async def warn_poster(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Ask the poster, before expiry, whether to keep the request open or close it."""
    request_id = int(ctx.payload["request_id"])
    async with bot.sessionmaker() as session:
        request = await repo.request(session, request_id)
    if request is None or request.status != RequestStatus.OPEN or request.expires_at is None:
        return {"skipped": "not open"}
    if request.expires_at <= utcnow():
        return {"skipped": "already expired"}
    text = (
        f"Your collab request “{plain(clip(request.title, 100))}” closes "
        f"{discord.utils.format_dt(request.expires_at, 'R')}. Keep it open, or close it? {post_link(request)}"
    )
    channel = await _dm_channel(bot, request.poster_id)
    if channel is not None:
        try:
            message = await send_once(
                channel, ctx, "dm", allowed_mentions=NO_MENTIONS, content=text, view=warning_view(request.id)
            )
            return {"dm": message.id}
        except discord.Forbidden:
            pass
    thread = await get_or_fetch_channel(bot, request.thread_id) if request.thread_id else None
    if not isinstance(thread, discord.Thread):
        return {"skipped": "poster unreachable"}
    message = await send_once(
        thread,
        ctx,
        "thread",
        allowed_mentions=discord.AllowedMentions(users=[discord.Object(request.poster_id)]),
        content=f"<@{request.poster_id}> {text}",
        view=warning_view(request.id),
    )
    return {"thread": message.id}


async def expire_request(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Close an open request whose time is up, and archive (and, in a forum, lock) its post."""
    request_id = int(ctx.payload["request_id"])
    async with bot.sessionmaker.begin() as session:
        request = await repo.request(session, request_id)
        if request is None:
            return {"skipped": "gone"}
        if request.status == RequestStatus.OPEN:
            if request.expires_at is not None and request.expires_at > utcnow():
                return {"skipped": "extended"}
            service.close(request, status=RequestStatus.EXPIRED, actor_id=None, filled_by=None)
            await bot.jobs.cancel(session, f"collab:{request_id}:warn")
        elif request.status != RequestStatus.EXPIRED or ctx.progress.get("archived"):
            return {"skipped": request.status}
        skills = await service.request_skills(session, request_id)
    await refresh_post(bot, request, skills, archive=True, note="This request expired and is closed.", ctx=ctx)
    await ctx.record_progress({"archived": True})
    return {"expired": request_id}
