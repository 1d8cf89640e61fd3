"""Record changes in the audit trail and post them, exactly once, to the server's mod-log channel."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit.models import AuditEntry
from bot.db.base import utcnow
from bot.guilds.service import peek_guild_settings
from bot.jobs import JobContext, JobFailed, MissedRule
from bot.jobs.sending import send_once
from bot.privacy.columns import FORGOTTEN_MEMBER_ID

if TYPE_CHECKING:
    from bot.client import LabelBot
    from bot.jobs.models import ScheduledJob

log = logging.getLogger(__name__)

AUDIT_POST = "audit.post"
FIELD_LIMIT = 1024

# How each action reads in the mod log; anything else shows its raw name.
ACTION_TITLES: dict[str, str] = {
    "settings.timezone": "Server time zone changed",
    "settings.channel": "Channel setting changed",
    "settings.role": "Role setting changed",
    "settings.toggle": "Feature toggled",
    "settings.my_timezone": "Member time zone changed",
    "settings.limit": "Quota changed",
    "artist.add": "Artist added",
    "artist.edit": "Artist edited",
    "artist.link": "Manager linked",
    "artist.unlink": "Manager unlinked",
    "artist.remove": "Artist removed",
    "settings.webhook_secret": "Webhook secret rotated",
    "party.schedule": "Listening party scheduled",
    "party.edit": "Listening party changed",
    "party.cancel": "Listening party cancelled",
    "party.start_now": "Listening party started early",
    "event.create": "Event created",
    "event.edit": "Event series edited",
    "event.edit_occurrence": "Event occurrence edited",
    "event.cancel": "Event series cancelled",
    "event.cancel_occurrence": "Event occurrence cancelled",
    "calendar.reset": "Calendar link reset",
    "fan_roles.panel_create": "Role panel created",
    "fan_roles.panel_add": "Role added to a panel",
    "fan_roles.panel_remove": "Role taken off a panel",
    "fan_roles.panel_delete": "Role panel deleted",
    "fan_roles.role_gone": "Deleted role dropped from a panel",
    "fan_roles.tier_set": "Loyalty tier set",
    "fan_roles.tier_remove": "Loyalty tier removed",
    "supporters.perk_create": "Supporter perk created",
    "supporters.perk_edit": "Supporter perk changed",
    "supporters.perk_remove": "Supporter perk removed",
    "supporters.codes_create": "Claim codes issued",
    "drops.setup": "Drops role and channel set",
    "drops.create": "Drop created",
    "drops.edit": "Drop changed",
    "supporters.import": "Shop orders imported",
    "supporters.claim_throttled": "Member throttled after wrong claim codes",
}


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
    channel = bot.get_channel(channel_id)
    if channel is None:
        try:
            channel = await bot.fetch_channel(channel_id)
        except (discord.NotFound, discord.Forbidden) as error:
            raise JobFailed(f"the mod-log channel {channel_id} is gone or hidden from the bot") from error
    if not isinstance(channel, discord.abc.Messageable):
        raise JobFailed(f"the mod-log channel {channel_id} can't hold messages")
    return channel


async def post_entry(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Post one audit entry to the mod log, once, whatever retries and restarts happen."""
    async with bot.sessionmaker() as session:
        entry = await session.get(AuditEntry, int(ctx.payload["entry_id"]))
    if entry is None:
        return {"skipped": "entry gone"}
    channel = await _mod_log(bot, entry.guild_id)
    if channel is None:
        return {"skipped": "no mod-log channel"}
    message = await send_once(
        channel, ctx, "entry", allowed_mentions=discord.AllowedMentions.none(), embed=entry_embed(entry)
    )
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
        embed.add_field(name="Kind", value=_clip(job.kind, FIELD_LIMIT))
        embed.add_field(name="Attempts", value=str(job.attempts))
        embed.add_field(name="Was due", value=discord.utils.format_dt(job.due_at, "F"))
        embed.add_field(name="Error", value=_clip(job.last_error or "—", FIELD_LIMIT), inline=False)
        embed.set_footer(text=f"Job #{job.id}")
        await channel.send(embed=embed, allowed_mentions=discord.AllowedMentions.none())
    except (discord.HTTPException, JobFailed):
        log.warning("Could not post the failure of job %s to the mod log", job.id, exc_info=True)


def _actor(actor_id: int) -> str:
    # A member who asked to be forgotten keeps their entries, but under nobody's name.
    return "A forgotten member" if actor_id == FORGOTTEN_MEMBER_ID else f"<@{actor_id}>"


def entry_embed(entry: AuditEntry) -> discord.Embed:
    """The mod-log post of an entry; every mention in it renders without pinging."""
    embed = discord.Embed(
        title=ACTION_TITLES.get(entry.action, entry.action),
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
    return _clip("\n".join(lines), FIELD_LIMIT)


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


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
