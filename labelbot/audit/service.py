"""Record changes in the audit trail and post them, exactly once, to the server's mod-log channel."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.audit.models import AuditEntry
from labelbot.channels import job_channel
from labelbot.db.base import utcnow
from labelbot.guilds.service import peek_guild_settings
from labelbot.jobs import JobContext, JobFailed, MissedRule
from labelbot.jobs.sending import send_once
from labelbot.privacy.columns import FORGOTTEN_MEMBER_ID
from labelbot.text import clip

if TYPE_CHECKING:
    from labelbot.client import LabelBot
    from labelbot.jobs.models import ScheduledJob

log = logging.getLogger(__name__)

AUDIT_POST = "audit.post"
FIELD_LIMIT = 1024


async def record(
    bot: LabelBot,
    session: AsyncSession,
    *,
    guild_id: int,
    actor_id: int,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    post: bool = True,
) -> AuditEntry:
    """Add an entry in the caller's transaction, and (with `post`) queue its mod-log post in the same one.

    Both commit or neither does, so a change is never posted without being made, nor made unrecorded.
    """
    entry = AuditEntry(
        guild_id=guild_id,
        actor_id=actor_id,
        action=action,
        target=target[:200],
        before=before,
        after=after,
        created_at=utcnow(),
    )
    session.add(entry)
    await session.flush()
    if post and (await peek_guild_settings(session, guild_id)).mod_log_channel_id is not None:
        await bot.jobs.schedule(
            session, AUDIT_POST, {"entry_id": entry.id}, entry.created_at, guild_id=guild_id, key=f"audit:{entry.id}"
        )
    return entry


async def record_command(
    interaction: discord.Interaction[LabelBot],
    session: AsyncSession,
    *,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    """`record` a change a member made with a command in a server: the server and the actor are the interaction's."""
    assert interaction.guild_id is not None, "audited commands are guild-only"
    return await record(
        interaction.client,
        session,
        guild_id=interaction.guild_id,
        actor_id=interaction.user.id,
        action=action,
        target=target,
        before=before,
        after=after,
    )


async def entries_for_guild(session: AsyncSession, guild_id: int, limit: int = 25) -> list[AuditEntry]:
    """The server's most recent audit entries, newest first."""
    rows = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.guild_id == guild_id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(rows)


def register_audit_jobs(bot: LabelBot) -> None:
    """Teach the job queue to post audit entries (called once, by the bot's setup_hook)."""

    async def post(ctx: JobContext) -> dict[str, Any] | None:
        return await post_entry(bot, ctx)

    # A late post is still worth having: the trail is the point.
    bot.jobs.register(AUDIT_POST, post, missed=MissedRule.RUN_LATE)


async def _mod_log(bot: LabelBot, guild_id: int) -> discord.abc.Messageable | None:
    async with bot.sessionmaker() as session:
        channel_id = (await peek_guild_settings(session, guild_id)).mod_log_channel_id
    if channel_id is None:
        return None
    return await job_channel(bot, channel_id, "mod-log")


async def post_entry(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Post one audit entry to the mod log, once, whatever retries and restarts happen."""
    async with bot.sessionmaker() as session:
        entry = await session.get(AuditEntry, int(ctx.payload["entry_id"]))
    if entry is None:
        return {"skipped": "entry gone"}
    channel = await _mod_log(bot, entry.guild_id)
    if channel is None:
        return {"skipped": "no mod-log channel"}
    embed = entry_embed(entry, bot.features.audit_titles.title(entry.action))
    message = await send_once(channel, ctx, "entry", allowed_mentions=discord.AllowedMentions.none(), embed=embed)
    return {"message_id": message.id}


async def post_job_failure(bot: LabelBot, job: ScheduledJob) -> None:
    """Tell the server's moderators that a scheduled job gave up (best effort: a failure here is only logged)."""
    if job.guild_id is None:
        return
    try:
        channel = await _mod_log(bot, job.guild_id)
        if channel is None:
            return
        embed = discord.Embed(title="A scheduled job failed", colour=discord.Colour.red(), timestamp=utcnow())
        embed.add_field(name="Kind", value=clip(job.kind, FIELD_LIMIT))
        embed.add_field(name="Attempts", value=str(job.attempts))
        embed.add_field(name="Was due", value=discord.utils.format_dt(job.due_at, "F"))
        embed.add_field(name="Error", value=clip(job.last_error or "—", FIELD_LIMIT), inline=False)
        embed.set_footer(text=f"Job #{job.id}")
        await channel.send(embed=embed, allowed_mentions=discord.AllowedMentions.none())
    except (discord.HTTPException, JobFailed):
        log.warning("Could not post the failure of job %s to the mod log", job.id, exc_info=True)


def _actor(actor_id: int) -> str:
    # A member who asked to be forgotten keeps their entries, but under nobody's name.
    return "A forgotten member" if actor_id == FORGOTTEN_MEMBER_ID else f"<@{actor_id}>"


def entry_embed(entry: AuditEntry, title: str) -> discord.Embed:
    """The mod-log post of an entry, under its action's title; every mention in it renders without pinging."""
    embed = discord.Embed(
        title=title,
        description=f"{_actor(entry.actor_id)} changed **{discord.utils.escape_markdown(entry.target)}**",
        colour=discord.Colour.dark_gold(),
        timestamp=entry.created_at,
    )
    embed.add_field(name="Before", value=render_values(entry.before), inline=False)
    embed.add_field(name="After", value=render_values(entry.after), inline=False)
    embed.set_footer(text=f"Audit #{entry.id} · {entry.action}")
    return embed


def render_values(values: dict[str, Any] | None) -> str:
    """Show recorded values as lines, ids of channels, roles and members as mentions."""
    if not values:
        return "—"
    lines = [
        f"{key.removesuffix('_id').replace('_', ' ')}: {_render_value(key, value)}" for key, value in values.items()
    ]
    return clip("\n".join(lines), FIELD_LIMIT)


def _render_value(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if key.endswith("channel_id"):
        return f"<#{value}>"
    if key.endswith("role_id"):
        return f"<@&{value}>"
    if key.endswith("user_id"):
        return f"<@{value}>"
    if isinstance(value, str):
        return discord.utils.escape_mentions(value)
    return discord.utils.escape_mentions(json.dumps(value, ensure_ascii=False))
