"""Loyalty tiers as scheduled work: one member after a party, or everyone (a sync) in paced, resumable batches.

Without the members intent the bot can't list a server's members, and it doesn't need to: a tier depends only
on parties attended, so the members a sync looks at are exactly those in the attendance table. Their current
roles come from the gateway (a member request by ids, 100 at a time, allowed without the intent), so only
members whose tier is wrong cost a role request. Progress is recorded after every batch in the job's result,
so a sync interrupted by a restart carries on after the last member it finished.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord

from labelbot.channels import cached_job_guild, job_guild, served_elsewhere
from labelbot.features.fan_roles import _render as render
from labelbot.features.fan_roles import _repository as repository
from labelbot.features.fan_roles._service import (
    COUNTS_REFRESH,
    RoleChange,
    TierRule,
    schedule_counts_refresh,
    split_entries,
    tier_change,
)
from labelbot.guilds.models import GuildSettings
from labelbot.guilds.service import peek_guild_settings
from labelbot.jobs import JobContext, JobFailed, MissedRule
from labelbot.jobs.sending import recorded_message_id, send_once
from labelbot.models.fan_roles import FanRolePanel
from labelbot.permissions import role_refusal
from labelbot.role_counts import role_member_counts
from labelbot.role_requests import RoleOutcome, RoleRequestFailed, RoleRequests

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)

TIER_SYNC = "fan_roles.tier_sync"
TIER_MEMBER = "fan_roles.tier_member"
# Discord answers a member request for at most 100 ids.
BATCH = 100
# The mod-log progress message is edited at most this often (a channel takes ~5 edits / 5 s).
PROGRESS_EVERY_SECONDS = 10.0
PROGRESS_PART = "progress"


def sync_key(guild_id: int) -> str:
    return f"fan_roles:tier_sync:{guild_id}"


def member_key(guild_id: int, user_id: int) -> str:
    return f"fan_roles:tier:{guild_id}:{user_id}"


def _usable_tiers(
    guild: discord.Guild, rules: list[TierRule], settings: GuildSettings
) -> tuple[list[TierRule], list[str]]:
    """The tiers whose roles exist and are safe to hand out now, and why the others are skipped."""
    usable, skipped = [], []
    for rule in rules:
        role = guild.get_role(rule.role_id)
        if role is None:
            skipped.append(f"the tier role {rule.role_id} no longer exists")
            continue
        refusal = role_refusal(role, guild.me, settings)
        if refusal is not None:
            skipped.append(refusal)
            continue
        usable.append(rule)
    return usable, skipped


def progress_embed(progress: dict[str, Any], *, state: str, skipped: list[str] | None = None) -> discord.Embed:
    checked, total = int(progress.get("checked", 0)), int(progress.get("total", 0))
    lines = [
        f"{checked} of {total} members checked",
        f"{int(progress.get('changed', 0))} had their tier changed",
    ]
    if progress.get("gone"):
        lines.append(f"{int(progress['gone'])} are no longer in the server")
    lines.append(state)
    embed = discord.Embed(title="Loyalty tier sync", description="\n".join(lines), colour=discord.Colour.purple())
    if skipped:
        embed.add_field(name="Skipped tiers", value="\n".join(skipped)[:1024], inline=False)
    return embed


def register(bot: LabelBot) -> None:
    """Every job of the feature, in one place."""
    work = TierWork(bot)
    # A sync of thousands of members runs at the role limit's pace for many minutes; it resumes where it stopped.
    bot.jobs.register(TIER_SYNC, work.run_sync, missed=MissedRule.RUN_LATE, time_limit=timedelta(hours=1))
    bot.jobs.register(TIER_MEMBER, work.run_member, missed=MissedRule.RUN_LATE)

    async def run_counts(ctx: JobContext) -> dict[str, Any]:
        return await refresh_counts(bot, ctx)

    # A refresh missed while down is still worth doing once: the counts are as stale as they were.
    bot.jobs.register(COUNTS_REFRESH, run_counts, missed=MissedRule.RUN_LATE)


def unregister(bot: LabelBot) -> None:
    bot.jobs.unregister(TIER_SYNC)
    bot.jobs.unregister(TIER_MEMBER)
    bot.jobs.unregister(COUNTS_REFRESH)


class TierWork:
    """The job handlers of loyalty tiers."""

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot

    def _requests(self) -> RoleRequests:
        return self.bot.features.role_grants.requests(self.bot)

    async def _rules(self, guild_id: int) -> tuple[list[TierRule], GuildSettings]:
        async with self.bot.sessionmaker() as session:
            rules = [TierRule(t.role_id, t.threshold) for t in await repository.tiers(session, guild_id)]
            settings = await peek_guild_settings(session, guild_id)
        return rules, settings

    def _gone(self, ctx: JobContext) -> str:
        return f"the bot is no longer in server {ctx.guild_id}"

    async def _member_roles(self, guild: discord.Guild, user_id: int) -> set[int] | None:
        """The ids of the member's roles, or None if they left: from the gateway when this process serves the
        server, else through REST (a server of another process of the cluster)."""
        if self.bot.get_guild(guild.id) is guild:
            found = await guild.query_members(user_ids=[user_id], limit=1, cache=False)
            return {role.id for role in found[0].roles} if found else None
        try:
            member = await guild.fetch_member(user_id)
        except discord.NotFound:
            return None
        return {role.id for role in member.roles}

    async def _apply(self, guild: discord.Guild, user_id: int, change: RoleChange, *, background: bool) -> bool:
        """Make the change; False if the member left meanwhile."""
        requests = self._requests()
        try:
            for role_id in change.added:
                if await requests.add(guild.id, user_id, role_id, reason="Loyalty tier", background=background) is (
                    RoleOutcome.MEMBER_GONE
                ):
                    return False
            for role_id in change.removed:
                if (
                    await requests.remove(guild.id, user_id, role_id, reason="Loyalty tier", background=background)
                    is RoleOutcome.MEMBER_GONE
                ):
                    return False
        except RoleRequestFailed as error:
            if error.status == 403:
                raise JobFailed(
                    "Discord refused a tier role change: give the bot Manage Roles and put its role above the tiers"
                ) from error
            raise
        return True

    async def run_member(self, ctx: JobContext) -> dict[str, Any]:
        """Bring one member's tier up to date (after a party they attended)."""
        guild = await job_guild(self.bot, ctx.guild_id or 0, self._gone(ctx))
        user_id = int(ctx.payload["user_id"])
        rules, settings = await self._rules(guild.id)
        keep_lower = settings.tier_keep_lower
        rules, _ = _usable_tiers(guild, rules, settings)
        if not rules:
            return {"skipped": "no tiers"}
        async with self.bot.sessionmaker() as session:
            attended = await repository.attendance_count(session, guild.id, user_id)
        held = await self._member_roles(guild, user_id)
        if held is None:
            return {"skipped": "member left"}
        change = tier_change(attended, rules, keep_lower, held)
        await self._apply(guild, user_id, change, background=False)
        return {"attended": attended, "added": change.added, "removed": change.removed}

    async def run_sync(self, ctx: JobContext) -> dict[str, Any]:
        """Recompute the tier of every member with attendance, batch by batch, resuming where a run stopped.

        Only the process serving the server runs it (another hands it back): it asks the gateway for 100 members
        a request, which through REST (no members intent, so one member a request) would cost a hundred times
        the requests of the cluster's shared global limit, for work that is not due at any minute.
        """
        guild = cached_job_guild(self.bot, ctx.guild_id or 0, self._gone(ctx))
        rules, settings = await self._rules(guild.id)
        keep_lower = settings.tier_keep_lower
        rules, skipped = _usable_tiers(guild, rules, settings)
        progress: dict[str, Any] = {
            "after": int(ctx.progress.get("after", 0)),
            "checked": int(ctx.progress.get("checked", 0)),
            "changed": int(ctx.progress.get("changed", 0)),
            "gone": int(ctx.progress.get("gone", 0)),
            "runs": int(ctx.progress.get("runs", 0)) + 1,
        }
        if progress["after"]:
            progress["resumed_at"] = progress["checked"]
        async with self.bot.sessionmaker() as session:
            progress["total"] = int(ctx.progress.get("total") or await repository.attendee_count(session, guild.id))
        log_channel = await self._mod_log(guild)
        if log_channel is not None:
            state = "Carrying on after a restart…" if ctx.progress.get("after") else "Working…"
            await send_once(
                log_channel,
                ctx,
                PROGRESS_PART,
                allowed_mentions=discord.AllowedMentions.none(),
                embed=progress_embed(progress, state=state, skipped=skipped),
            )
        last_shown = time.monotonic()
        while True:
            async with self.bot.sessionmaker() as session:
                batch = await repository.attendance_after(session, guild.id, progress["after"], BATCH)
            if not batch:
                break
            members = await guild.query_members(user_ids=[user_id for user_id, _ in batch], limit=BATCH, cache=False)
            held_by = {member.id: {role.id for role in member.roles} for member in members}
            for user_id, attended in batch:
                held = held_by.get(user_id)
                if held is None:
                    progress["gone"] += 1
                else:
                    change = tier_change(attended, rules, keep_lower, held) if rules else RoleChange()
                    if change:
                        if await self._apply(guild, user_id, change, background=True):
                            progress["changed"] += 1
                        else:
                            progress["gone"] += 1
                progress["checked"] += 1
            progress["after"] = batch[-1][0]
            await ctx.record_progress(dict(progress))
            if log_channel is not None and time.monotonic() - last_shown >= PROGRESS_EVERY_SECONDS:
                last_shown = time.monotonic()
                await self._show(log_channel, ctx, progress, "Working…", skipped)
        if log_channel is not None:
            await self._show(log_channel, ctx, progress, "Finished.", skipped)
        stats = self._requests().stats
        log.info(
            "Tier sync of guild %s done: %s; %d role requests so far (%d in the background), %d REST answers 429",
            guild.id,
            progress,
            stats.requests,
            stats.background,
            self.bot.pacer.stats.rate_limited,
        )
        return {**progress, "done": True}

    async def _mod_log(self, guild: discord.Guild) -> discord.TextChannel | None:
        async with self.bot.sessionmaker() as session:
            channel_id = (await peek_guild_settings(session, guild.id)).mod_log_channel_id
        channel = guild.get_channel(channel_id) if channel_id is not None else None
        return channel if isinstance(channel, discord.TextChannel) else None

    async def _show(
        self, channel: discord.TextChannel, ctx: JobContext, progress: dict[str, Any], state: str, skipped: list[str]
    ) -> None:
        message_id = recorded_message_id(ctx, PROGRESS_PART)
        if message_id is None:
            return
        try:
            await channel.get_partial_message(message_id).edit(
                embed=progress_embed(progress, state=state, skipped=skipped)
            )
        except discord.HTTPException:
            # Progress is a courtesy; the sync itself must not fail over a deleted or rate-limited message.
            log.warning("Could not update the tier sync progress in channel %s", channel.id, exc_info=True)


async def refresh_counts(bot: LabelBot, ctx: JobContext) -> dict[str, Any]:
    """Count every role once, and edit the posted panels whose counts changed (and only those)."""
    guild_id = int(ctx.payload["guild_id"])
    guild = bot.get_guild(guild_id)
    if guild is None and not served_elsewhere(bot, guild_id):
        return {"skipped": "the bot is not in the server"}
    async with bot.sessionmaker.begin() as session:
        posted = [panel for panel in await repository.panels(session, guild_id) if panel.message_ids]
        if posted:
            # The next periodic refresh; a press meanwhile brings it forward again.
            await schedule_counts_refresh(bot, session, guild_id, periodic=True)
    if not posted:
        return {"skipped": "no posted panels"}
    counts = await role_member_counts(bot, guild_id)
    if counts is None:
        return {"skipped": "Discord gave no counts"}
    edited: list[int] = []
    for panel in posted:
        shown = render.shown_counts(panel.entries, counts)
        if shown == panel.fan_counts:
            continue
        # A server another process of the cluster serves: its panels are edited through REST all the same.
        channel = (
            guild.get_channel(panel.channel_id)
            if guild is not None
            else bot.get_partial_messageable(panel.channel_id, guild_id=guild_id)
        )
        if not isinstance(channel, discord.TextChannel | discord.PartialMessageable):
            continue
        parts = split_entries(panel.entries, panel.style)
        for index, message_id in enumerate(panel.message_ids[: len(parts)]):
            embed = render.panel_embed(panel, parts[index], index, len(parts), shown)
            try:
                await channel.get_partial_message(message_id).edit(
                    embed=embed, allowed_mentions=discord.AllowedMentions.none()
                )
            except discord.NotFound:
                continue  # Deleted by hand: the next /roles-admin panel post puts it back.
        async with bot.sessionmaker.begin() as session:
            stored = await session.get(FanRolePanel, panel.id)
            if stored is not None:
                stored.fan_counts = shown
        edited.append(panel.id)
    return {"edited": edited}
