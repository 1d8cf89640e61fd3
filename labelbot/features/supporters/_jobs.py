"""The supporters' job: a member's perk role follows their grants (given now, taken at the minute they end)."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord

from labelbot.artists.models import Artist
from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.channels import get_or_fetch_channel, job_guild
from labelbot.db.base import utcnow
from labelbot.features.supporters import _repository as repository
from labelbot.features.supporters._render import listen_early
from labelbot.features.supporters._service import EARLY_CLOSE, EARLY_OPEN, ROLE_JOB, follow_release
from labelbot.guilds.service import peek_guild_settings
from labelbot.jobs import JobContext, JobFailed, MissedRule, send_once
from labelbot.models.supporters import EarlyWindow, SupporterPerk, SupporterStanding
from labelbot.permissions import role_refusal

# What the perk's role may do in the early channel while it is open.
EARLY_ALLOW = discord.Permissions(view_channel=True, read_message_history=True)

if TYPE_CHECKING:
    from labelbot.client import LabelBot


async def run_role(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Add or remove the perk's role so it matches the member's live grants; what was done is recorded once.

    Read, then Discord, then record: a crash between the role change and the record repeats a change Discord
    treats as a no-op, never a second different one.
    """
    perk_id, user_id = int(ctx.payload["perk_id"]), int(ctx.payload["user_id"])
    now = utcnow()
    async with bot.sessionmaker() as session:
        perk = await session.get(SupporterPerk, perk_id)
        if perk is None:
            return {"skipped": "perk removed"}
        standing = await repository.standing(session, perk_id, user_id)
        held = standing is not None and standing.role_held
        should_hold = bool(await repository.live_grants(session, perk.guild_id, user_id, perk_id, now))
        settings = await peek_guild_settings(session, perk.guild_id)
        guild_id, role_id, name = perk.guild_id, perk.role_id, perk.name
    if should_hold == held:
        return {"unchanged": held}
    guild = await job_guild(bot, guild_id, f"the server {guild_id} is not available to the bot")
    if should_hold:
        role = guild.get_role(role_id)
        if role is None:
            raise JobFailed(f"the role of the perk “{name}” is gone")
        refusal = role_refusal(role, guild.me, settings)
        if refusal is not None:
            raise JobFailed(refusal)
        await bot.http.add_role(guild_id, user_id, role_id, reason=f"Supporter perk “{name}”")
    else:
        # The member left or the role is gone: nothing to take back.
        with contextlib.suppress(discord.NotFound):
            await bot.http.remove_role(guild_id, user_id, role_id, reason=f"Supporter perk “{name}” ended")
    async with bot.sessionmaker.begin() as session:
        standing = await repository.standing(session, perk_id, user_id)
        if standing is None:
            session.add(SupporterStanding(perk_id=perk_id, user_id=user_id, guild_id=guild_id, role_held=should_hold))
        else:
            standing.role_held = should_hold
    return {"role_held": should_hold}


async def run_early_open(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Open the early channel to the perk's role, then post the listen-early links there (once each).

    The overwrite is put before the post, so the ping reaches members who can already read it; a retry puts the
    same overwrite again (a no-op for Discord) and finds the post already made.
    """
    window_id = int(ctx.payload["window_id"])
    async with bot.sessionmaker() as session:
        window = await session.get(EarlyWindow, window_id)
        perk = await session.get(SupporterPerk, window.perk_id) if window is not None else None
        release = await session.get(Release, window.release_id) if window is not None else None
        if window is None or perk is None or release is None:
            return {"skipped": "window, perk or release gone"}
        if release.status == ReleaseStatus.CANCELLED:
            return {"skipped": "release cancelled"}
        if release.status in (ReleaseStatus.DRAFT, ReleaseStatus.AWAITING_APPROVAL):
            # Sent back to a draft: the window opens once the release is scheduled again (which moves it).
            return {"skipped": "release not scheduled"}
        if window.closed_at is not None:
            return {"skipped": "already closed"}
        # The release was postponed since the window was set: it opens later, with the release.
        opens_at = release.release_at - timedelta(hours=window.hours_before)
        postponed = window.opened_at is None and opens_at != window.opens_at and opens_at > utcnow()
        artist = await session.get(Artist, release.artist_id)
        channel_id, role_id, links = window.channel_id, perk.role_id, window.links
        title, public_at = release.title, release.release_at
        artist_name = artist.name if artist is not None else "the artist"
    if postponed:
        # The release was postponed since: the window opens (and closes) later with it; this run is replaced.
        async with bot.sessionmaker.begin() as session:
            window = await session.get(EarlyWindow, window_id)
            release = await session.get(Release, window.release_id) if window is not None else None
            if window is not None and release is not None:
                await follow_release(bot, session, window, release)
        return {"skipped": "release postponed"}
    # Fetched when another process of the cluster serves the server (and is down, say).
    channel = await get_or_fetch_channel(bot, channel_id, guild_id=ctx.guild_id)
    if not isinstance(channel, discord.TextChannel):
        raise JobFailed(f"the early channel {channel_id} is gone or hidden from the bot")
    await bot.http.edit_channel_permissions(
        channel_id, role_id, str(EARLY_ALLOW.value), "0", 0, reason="Supporters' early window opens"
    )
    message = await send_once(
        channel,
        ctx,
        "listen-early",
        allowed_mentions=discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(id=role_id)]),
        content=listen_early(title, artist_name, role_id, links, public_at),
    )
    async with bot.sessionmaker.begin() as session:
        found = await session.get(EarlyWindow, window_id)
        if found is not None:
            found.opened_at = found.opened_at or utcnow()
            found.post_message_id = message.id
            moved = await session.get(Release, found.release_id)
            if moved is not None and moved.release_at - timedelta(hours=found.hours_before) != found.opens_at:
                # The release was brought forward: the closing follows it.
                await follow_release(bot, session, found, moved)
    return {"message_id": message.id, "late": ctx.late}


async def run_early_close(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Close the early channel to the perk's role again (its overwrite removed; a retry finds it gone)."""
    window_id = int(ctx.payload["window_id"])
    async with bot.sessionmaker() as session:
        window = await session.get(EarlyWindow, window_id)
        perk = await session.get(SupporterPerk, window.perk_id) if window is not None else None
        if window is None or perk is None:
            return {"skipped": "window or perk gone"}
        release = await session.get(Release, window.release_id)
        closes_at = (
            release.release_at + timedelta(hours=window.hours_after)
            if release is not None and window.hours_after is not None
            else None
        )
        postponed = closes_at is not None and closes_at != window.closes_at and closes_at > utcnow()
        channel_id, role_id = window.channel_id, perk.role_id
    if postponed:
        # The release was postponed after the window opened: it closes later with it; this run is replaced.
        async with bot.sessionmaker.begin() as session:
            window = await session.get(EarlyWindow, window_id)
            release = await session.get(Release, window.release_id) if window is not None else None
            if window is not None and release is not None:
                await follow_release(bot, session, window, release)
        return {"skipped": "release postponed"}
    with contextlib.suppress(discord.NotFound):
        await bot.http.delete_channel_permissions(channel_id, role_id, reason="Supporters' early window closes")
    async with bot.sessionmaker.begin() as session:
        found = await session.get(EarlyWindow, window_id)
        if found is not None:
            found.closed_at = found.closed_at or utcnow()
    return {"closed": True}


def register(bot: LabelBot) -> None:
    async def role(ctx: JobContext) -> dict[str, Any] | None:
        return await run_role(bot, ctx)

    async def early_open(ctx: JobContext) -> dict[str, Any] | None:
        return await run_early_open(bot, ctx)

    async def early_close(ctx: JobContext) -> dict[str, Any] | None:
        return await run_early_close(bot, ctx)

    # A role that should have been taken away while the bot was down is taken away late, never left in place.
    bot.jobs.register(ROLE_JOB, role, missed=MissedRule.RUN_LATE)
    # An early window whose moment passed while the bot was down still opens (and closes) late.
    bot.jobs.register(EARLY_OPEN, early_open, missed=MissedRule.RUN_LATE)
    bot.jobs.register(EARLY_CLOSE, early_close, missed=MissedRule.RUN_LATE)


def unregister(bot: LabelBot) -> None:
    for kind in (ROLE_JOB, EARLY_OPEN, EARLY_CLOSE):
        bot.jobs.unregister(kind)
