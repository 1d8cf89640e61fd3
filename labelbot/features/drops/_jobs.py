"""Every job of the drops feature: the teaser, the announcement at the minute, and edits of both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from labelbot.artists.models import Artist
from labelbot.channels import job_channel
from labelbot.db.base import utcnow
from labelbot.features.drops import _repository as repository
from labelbot.features.drops import _service as service
from labelbot.features.drops._render import DropView, announcement, dm_text, drop_embed
from labelbot.features.drops._views import teaser_view
from labelbot.jobs import JobContext, JobFailed, MissedRule, send_once
from labelbot.members import still_member
from labelbot.models.drops import Drop

if TYPE_CHECKING:
    from labelbot.client import LabelBot


async def _read(bot: LabelBot, drop_id: int) -> tuple[Drop, DropView, int | None, int | None] | None:
    async with bot.sessionmaker() as session:
        drop = await session.get(Drop, drop_id)
        if drop is None:
            return None
        artist = await session.get(Artist, drop.artist_id)
        found = await repository.settings(session, drop.guild_id)
        fan_role = artist.fan_role_id if artist is not None and drop.ping_fans else None
        view = service.view_of(drop, artist.name if artist is not None else "an artist")
        return drop, view, found.role_id if found is not None else None, fan_role


async def _channel(bot: LabelBot, channel_id: int, guild_id: int) -> discord.abc.Messageable:
    # From the server's cache, else through REST: in a cluster the server may be another process's.
    return await job_channel(bot, channel_id, "drops", guild_id=guild_id)


async def _record(bot: LabelBot, drop_id: int, **values: int) -> None:
    async with bot.sessionmaker.begin() as session:
        drop = await session.get(Drop, drop_id)
        if drop is not None:
            for name, value in values.items():
                setattr(drop, name, value)


async def run_teaser(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    read = await _read(bot, int(ctx.payload["drop_id"]))
    if read is None:
        return {"skipped": "drop gone"}
    drop, view, _, _ = read
    if drop.announce_message_id is not None:
        return {"skipped": "already out"}
    message = await send_once(
        await _channel(bot, drop.channel_id, drop.guild_id),
        ctx,
        "teaser",
        allowed_mentions=discord.AllowedMentions.none(),
        embed=drop_embed(view, out=False),
        view=teaser_view(drop.id),
    )
    await _record(bot, drop.id, teaser_message_id=message.id)
    return {"message_id": message.id}


async def run_announce(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    read = await _read(bot, int(ctx.payload["drop_id"]))
    if read is None:
        return {"skipped": "drop gone"}
    drop, view, drops_role, fan_role = read
    roles = [role_id for role_id in (drops_role, fan_role) if role_id is not None]
    # Exactly the drops role and the artist's fan role when chosen: the text cannot widen who is pinged.
    mentions = discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(id=role_id) for role_id in roles]
    )
    message = await send_once(
        await _channel(bot, drop.channel_id, drop.guild_id),
        ctx,
        "announce",
        allowed_mentions=mentions,
        content=announcement(view, roles),
        embed=drop_embed(view, out=True),
    )
    # The post and the DMs it owes are recorded together: a retry finds both, so nobody is DMed twice.
    async with bot.sessionmaker.begin() as session:
        current = await session.get(Drop, drop.id)
        owed = 0
        if current is not None:
            current.announce_message_id = message.id
            owed = await service.owe_dms(bot, session, current, utcnow())
    return {"message_id": message.id, "late": ctx.late, "dms": owed}


async def run_dm(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """One member's drop DM (their budget was spent when it was owed); closed DMs, or a member who left the server,
    give the budget back."""
    drop_id, user_id = int(ctx.payload["drop_id"]), int(ctx.payload["user_id"])
    read = await _read(bot, drop_id)
    async with bot.sessionmaker() as session:
        owed = await repository.dm_of(session, drop_id, user_id)
        sent = owed.message_id if owed is not None else None
    if read is None or owed is None:
        return {"skipped": "drop or DM gone"}
    if sent is not None:
        return {"message_id": sent}
    drop, view, _, _ = read
    if not await still_member(bot.http, drop.guild_id, user_id):
        # Gone since they asked: a DM could still reach them through another server, but the drop is not theirs now.
        async with bot.sessionmaker.begin() as session:
            found = await repository.dm_of(session, drop_id, user_id)
            if found is not None:
                found.left_at = utcnow()
        return {"skipped": "left the server"}
    try:
        channel = await bot.create_dm(discord.Object(id=user_id))  # type: ignore[arg-type]
        message = await send_once(
            channel,
            ctx,
            "dm",
            allowed_mentions=discord.AllowedMentions.none(),
            content=dm_text(view),
            embed=drop_embed(view, out=True),
        )
    except discord.Forbidden:
        # The member closed their DMs: nothing was sent, so nothing is spent.
        async with bot.sessionmaker.begin() as session:
            found = await repository.dm_of(session, drop_id, user_id)
            if found is not None:
                await session.delete(found)
        return {"skipped": "DMs closed"}
    async with bot.sessionmaker.begin() as session:
        found = await repository.dm_of(session, drop_id, user_id)
        if found is not None:
            found.message_id = message.id
    return {"message_id": message.id}


async def run_refresh(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    read = await _read(bot, int(ctx.payload["drop_id"]))
    if read is None:
        return {"skipped": "drop gone"}
    drop, view, _, _ = read
    channel = await _channel(bot, drop.channel_id, drop.guild_id)
    if not isinstance(channel, discord.TextChannel | discord.Thread):
        raise JobFailed("the drops channel can't hold messages")
    edited = []
    for message_id, out in ((drop.teaser_message_id, False), (drop.announce_message_id, True)):
        if message_id is None:
            continue
        try:
            await channel.get_partial_message(message_id).edit(
                embed=drop_embed(view, out=out), allowed_mentions=discord.AllowedMentions.none()
            )
            edited.append(message_id)
        except discord.NotFound:
            continue  # A moderator deleted the post: nothing to keep up to date.
    return {"edited": edited, "at": utcnow().isoformat()}


KINDS = (service.TEASER, service.ANNOUNCE, service.REFRESH, service.DM)


def register(bot: LabelBot) -> None:
    def bind(handler: Any) -> Any:
        async def run(ctx: JobContext) -> dict[str, Any] | None:
            result: dict[str, Any] | None = await handler(bot, ctx)
            return result

        return run

    # A teaser after its drop is pointless; a drop announced late is still news (posted late, as releases are).
    bot.jobs.register(service.TEASER, bind(run_teaser), missed=MissedRule.SKIP)
    bot.jobs.register(service.ANNOUNCE, bind(run_announce), missed=MissedRule.RUN_LATE)
    bot.jobs.register(service.REFRESH, bind(run_refresh), missed=MissedRule.RUN_LATE)
    bot.jobs.register(service.DM, bind(run_dm), missed=MissedRule.RUN_LATE)


def unregister(bot: LabelBot) -> None:
    for kind in KINDS:
        bot.jobs.unregister(kind)
