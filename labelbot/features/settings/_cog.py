"""The /settings commands and the mod-log posts of the audit trail."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from labelbot.audit.service import entries_for_guild, record_command
from labelbot.client import LabelBot
from labelbot.db.base import utcnow
from labelbot.errors import InvalidInput
from labelbot.features.settings import _dates as dates
from labelbot.features.settings._service import (
    CHANNEL_NAMES,
    LIMITS,
    ROLE_NAMES,
    TOGGLE_NAMES,
    check_channel,
    check_role,
    set_channel,
    set_limit,
    set_member_zone,
    set_role,
    set_timezone,
    set_toggle,
)
from labelbot.guilds.models import GuildSettings
from labelbot.guilds.service import CHANNEL_KINDS, ROLE_KINDS, TOGGLES, own_zone, peek_guild_settings
from labelbot.interactions import bot_member, defer, guild_of, reply
from labelbot.jobs import JobWorker, ScheduledJob
from labelbot.models.anniversaries import next_occurrence
from labelbot.permissions import MODERATOR_HINT, missing_bot_permissions, moderator_only
from labelbot.registry import SettingDefault
from labelbot.text import clip, plain
from labelbot.timeparse import format_dt
from labelbot.ui.paginator import Paginator, pages_of_lines
from labelbot.web.hooks import SECRET_ROTATION_GRACE, rotate_webhook_secret
from labelbot.zone_option import zone_autocomplete

log = logging.getLogger(__name__)

JOBS_SHOWN = 10
ERROR_SHOWN = 150

CHANNEL_CHOICES = [app_commands.Choice(name=CHANNEL_NAMES[kind], value=kind) for kind in CHANNEL_KINDS]
ROLE_CHOICES = [app_commands.Choice(name=ROLE_NAMES[kind], value=kind) for kind in ROLE_KINDS]
LIMIT_CHOICES = [app_commands.Choice(name=limit.name.capitalize(), value=key) for key, limit in LIMITS.items()]
TOGGLE_CHOICES = [app_commands.Choice(name=TOGGLE_NAMES[name], value=name) for name in TOGGLES]


class PostingChannelTransformer(app_commands.Transformer["LabelBot"]):
    """A text, announcement or forum channel (spelled out: discord.py would add media channels for a forum)."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return [discord.ChannelType.text, discord.ChannelType.news, discord.ChannelType.forum]

    async def transform(
        self, interaction: discord.Interaction[LabelBot], value: app_commands.AppCommandChannel, /
    ) -> discord.TextChannel | discord.ForumChannel:
        resolved = value.resolve()
        if not isinstance(resolved, discord.TextChannel | discord.ForumChannel):
            raise InvalidInput(f"I can't see {value.mention}; check that I have View Channel there.")
        return resolved


PostingChannel = app_commands.Transform[discord.TextChannel | discord.ForumChannel, PostingChannelTransformer]


def _shown(value: Any) -> str:
    """A feature setting's value as /settings show writes it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)


def _choice_text(what: str, mention: str | None, changed: bool) -> str:
    """What /settings channel or role answers: `what` (e.g. "mod log channel") set to `mention`, or unset (None)."""
    if not changed:
        return f"The {what} already is {mention}." if mention else f"No {what} is set."
    return f"The {what} is now {mention}." if mention else f"The {what} is unset."


def _minutes(offsets: list[int]) -> str:
    def one(minutes: int) -> str:
        if minutes % (24 * 60) == 0:
            return f"{minutes // (24 * 60)} d"
        if minutes % 60 == 0:
            return f"{minutes // 60} h"
        return f"{minutes} min"

    return ", ".join(one(m) for m in offsets) + " before" if offsets else "none"


def settings_embed(
    guild: discord.Guild,
    settings: GuildSettings,
    stored: bool,
    member_zone: str | None,
    missing_permissions: list[str] | None = None,
    changed: list[tuple[str, SettingDefault, Any]] | None = None,
) -> discord.Embed:
    """Everything configured for the server; mentions render as names and ping nobody."""
    embed = discord.Embed(title=f"Labelbot settings of {guild.name}"[:256], colour=discord.Colour.blurple())
    embed.add_field(name="Time zone", value=settings.timezone)
    embed.add_field(
        name="Your own time zone",
        value=member_zone or f"not set (times you type are read in {settings.timezone})",
    )

    def line(name: str, found: int | None, mention: str, exists: Callable[[int], object], gone: str) -> str:
        """One channel or role setting: not set, its mention, or its mention and why it no longer works."""
        if found is None:
            return f"{name.capitalize()}: not set"
        return f"{name.capitalize()}: {mention.format(found)}" + ("" if exists(found) is not None else f" ({gone})")

    channels = [
        line(CHANNEL_NAMES[kind], getattr(settings, column), "<#{}>", guild.get_channel, "deleted or hidden from me")
        for kind, column in CHANNEL_KINDS.items()
    ]
    roles = [
        line(ROLE_NAMES[kind], getattr(settings, column), "<@&{}>", guild.get_role, "deleted")
        for kind, column in ROLE_KINDS.items()
    ]
    embed.add_field(name="Channels", value="\n".join(channels), inline=False)
    embed.add_field(name="Roles", value="\n".join(roles), inline=False)
    embed.add_field(
        name="Features",
        value="\n".join(
            f"{TOGGLE_NAMES[name].capitalize()}: {'on' if getattr(settings, column) else 'off'}"
            for name, column in TOGGLES.items()
        ),
        inline=False,
    )
    embed.add_field(
        name="Reminders",
        value=(
            f"Release teasers: {_minutes(settings.teaser_offsets_minutes)}\n"
            f"Party and event reminders: {_minutes(settings.reminder_offsets_minutes)}"
        ),
        inline=False,
    )
    embed.add_field(
        name="Collab requests",
        value=(
            f"Expire after {settings.collab_expiry_days} days; at most {settings.collab_max_open} open per member; "
            f"at most {settings.collab_daily_alerts} alerts per member a day; "
            f"at most {settings.collab_daily_posts} new per member a day"
        ),
        inline=False,
    )
    embed.add_field(
        name="Announce-now cooldown",
        value=f"{settings.announce_cooldown_minutes} minutes between two announcements of one artist "
        "(moderators are exempt)"
        if settings.announce_cooldown_minutes
        else "off",
        inline=False,
    )
    if missing_permissions is not None:
        embed.add_field(
            name="My permissions",
            value=clip(
                "Missing in this server, so these won't work until a moderator grants them:\n"
                + "\n".join(f"- {line}" for line in missing_permissions)
                if missing_permissions
                else "I have every permission I use.",
                1024,
            ),
            inline=False,
        )
    if changed is not None:
        # What each feature registered as its own settings' defaults (bot.features.settings), and where this
        # server departs from them.
        lines = [f"{setting.label}: {_shown(value)} (default {_shown(setting.value)})" for _, setting, value in changed]
        embed.add_field(
            name="Changed from the defaults",
            value=clip("\n".join(lines), 1024) if lines else "nothing: every feature setting is at its default",
            inline=False,
        )
    embed.add_field(
        name="Last changed",
        value=format_dt(settings.updated_at, "F") + f" ({format_dt(settings.updated_at, 'R')})"
        if stored
        else "never: these are the defaults",
        inline=False,
    )
    return embed


# How the settings' changes read in the mod log and /settings audit.
AUDIT_TITLES = {
    "settings.timezone": "Server time zone changed",
    "settings.channel": "Channel setting changed",
    "settings.role": "Role setting changed",
    "settings.toggle": "Feature toggled",
    "settings.my_timezone": "Member time zone changed",
    "settings.limit": "Quota changed",
    "settings.webhook_secret": "Webhook secret rotated",
    "settings.dates_add": "Label date added",
    "settings.dates_remove": "Label date removed",
}

# Told to the feature that posts anniversaries and label dates (it schedules the server's mornings); the settings
# cog imports no other feature.
DATES_CHANGED = "catalogue_dates_changed"


class SettingsCog(commands.Cog, name="Settings"):
    """Set the server up: time zone, channels, roles, feature toggles, and an audit trail in the mod log."""

    # Moderators only, so Discord's client hides it from members (a hint a server admin may change: every
    # subcommand still checks). A member's own setting lives under /me, or the group would show to everyone.
    settings_group = app_commands.Group(
        name="settings",
        description="How Labelbot works in this server.",
        guild_only=True,
        default_permissions=MODERATOR_HINT,
    )
    dates_group = app_commands.Group(
        name="dates", description="The label's own dates, such as Bandcamp Fridays.", parent=settings_group
    )
    me_group = app_commands.Group(name="me", description="Your own settings in this server.", guild_only=True)

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.features.audit_titles.add(AUDIT_TITLES)

    async def cog_unload(self) -> None:
        self.bot.features.audit_titles.remove(AUDIT_TITLES)

    # -- moderators --------------------------------------------------------------------------------------------

    @settings_group.command(name="show")
    @moderator_only()
    async def show(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Show everything configured for this server."""
        guild = guild_of(interaction)
        await defer(interaction)
        missing = missing_bot_permissions((await bot_member(interaction)).guild_permissions)
        async with self.bot.sessionmaker() as session:
            settings = await peek_guild_settings(session, guild.id)
            stored = settings in session
            zone = await own_zone(session, interaction.user.id)
        changed = self.bot.features.settings.changed(settings)
        await reply(interaction, embed=settings_embed(guild, settings, stored, zone, missing, changed))

    @settings_group.command(name="timezone")
    @app_commands.autocomplete(zone=zone_autocomplete)
    @moderator_only()
    async def timezone(self, interaction: discord.Interaction[LabelBot], zone: str) -> None:
        """Set the time zone times are read in when a member has not set their own.

        Args:
            zone: A time zone such as Europe/Berlin or America/New_York.
        """
        guild = guild_of(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            change = await set_timezone(self.bot, session, guild.id, interaction.user.id, zone)
        if not change.changed:
            await reply(interaction, f"The server's time zone already is {change.after}.")
            return
        # The mornings of anniversaries and label dates follow the server's zone.
        self.bot.dispatch(DATES_CHANGED, guild.id)
        await reply(interaction, f"Times are now read in **{change.after}** (was {change.before}).")

    @settings_group.command(name="channel")
    @app_commands.choices(kind=CHANNEL_CHOICES)
    @moderator_only()
    async def channel(
        self,
        interaction: discord.Interaction[LabelBot],
        kind: app_commands.Choice[str],
        channel: PostingChannel | None = None,
    ) -> None:
        """Choose the channel for announcements, listening parties, the collab board, events or the mod log.

        Args:
            kind: Which of the bot's channels to set.
            channel: The channel; leave it out to unset this one.
        """
        guild = guild_of(interaction)
        await defer(interaction)
        warnings: list[str] = []
        if channel is not None:
            warnings = check_channel(kind.value, channel, await bot_member(interaction))
        async with self.bot.sessionmaker.begin() as session:
            change = await set_channel(
                self.bot, session, guild.id, interaction.user.id, kind.value, channel.id if channel else None
            )
        text = _choice_text(
            f"{CHANNEL_NAMES[kind.value]} channel", channel.mention if channel else None, change.changed
        )
        await reply(interaction, "\n".join([text, *warnings]))

    @settings_group.command(name="role")
    @app_commands.choices(kind=ROLE_CHOICES)
    @moderator_only()
    async def role(
        self,
        interaction: discord.Interaction[LabelBot],
        kind: app_commands.Choice[str],
        role: discord.Role | None = None,
    ) -> None:
        """Choose the moderator role, the artist role, or the role pinged for every release.

        Args:
            kind: Which role to set.
            role: The role; leave it out to unset this one.
        """
        guild = guild_of(interaction)
        await defer(interaction)
        me = await bot_member(interaction)
        async with self.bot.sessionmaker.begin() as session:
            if role is not None:
                settings = await peek_guild_settings(session, guild.id)
                handed_out_as = await self.bot.features.role_grants.handed_out_as(session, guild.id, role.id)
                check_role(kind.value, role, me, settings, handed_out_as)
            change = await set_role(
                self.bot, session, guild.id, interaction.user.id, kind.value, role.id if role else None
            )
        await reply(
            interaction, _choice_text(f"{ROLE_NAMES[kind.value]} role", role.mention if role else None, change.changed)
        )

    @settings_group.command(name="toggle")
    @app_commands.choices(name=TOGGLE_CHOICES)
    @moderator_only()
    async def toggle(
        self, interaction: discord.Interaction[LabelBot], name: app_commands.Choice[str], enabled: bool
    ) -> None:
        """Switch a feature on or off (approvals, artists creating events, catalogue anniversaries, ...).

        Args:
            name: The feature.
            enabled: On or off.
        """
        guild = guild_of(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            change = await set_toggle(self.bot, session, guild.id, interaction.user.id, name.value, enabled)
            settings = await peek_guild_settings(session, guild.id)
        text = f"{TOGGLE_NAMES[name.value].capitalize()} is {'already ' if not change.changed else 'now '}"
        text += "on." if enabled else "off."
        if enabled and name.value == "catalogue_anniversaries":
            if change.changed:
                self.bot.dispatch(DATES_CHANGED, guild.id)
            text += _dates_channel_hint(settings)
        await reply(interaction, text)

    @settings_group.command(name="web-page")
    @app_commands.choices(
        state=[app_commands.Choice(name="on", value="on"), app_commands.Choice(name="off", value="off")]
    )
    @moderator_only()
    async def web_page(self, interaction: discord.Interaction[LabelBot], state: app_commands.Choice[str]) -> None:
        """Publish the label's public web page (upcoming releases, parties, events, catalogue), or take it down.

        Args:
            state: On publishes the page; off takes it down.
        """
        guild = guild_of(interaction)
        await defer(interaction)
        enabled = state.value == "on"
        async with self.bot.sessionmaker.begin() as session:
            change = await set_toggle(self.bot, session, guild.id, interaction.user.id, "web_page", enabled)
        prefix = "The public web page is " + ("already " if not change.changed else "now ")
        if not enabled:
            await reply(interaction, prefix + "off.")
            return
        web = self.bot.settings.web
        base = web.public_url or f"http://{web.host}:{self.bot.web.port or web.port}"
        await reply(
            interaction,
            prefix + f"on: <{base.rstrip('/')}/label/{guild.id}>\n"
            "It shows only what fans already see here: scheduled and announced releases, and the parties and "
            "events in channels everyone can read. Add `?embed=1` to embed it on the label's site.",
        )

    @settings_group.command(name="limit")
    @app_commands.choices(name=LIMIT_CHOICES)
    @moderator_only()
    async def limit(
        self,
        interaction: discord.Interaction[LabelBot],
        name: app_commands.Choice[str],
        value: app_commands.Range[int, 0, 100_000],
    ) -> None:
        """Set a quota: collab requests a member may post a day, or the announce-now cooldown of an artist.

        Args:
            name: Which number to set.
            value: The new number (for the cooldown, minutes; 0 switches it off).
        """
        guild = guild_of(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            change = await set_limit(self.bot, session, guild.id, interaction.user.id, name.value, value)
        limit = LIMITS[name.value]
        what = limit.name.capitalize()
        if not change.changed:
            await reply(interaction, f"{what} already is {value}{limit.unit}.")
            return
        await reply(interaction, f"{what} is now {value}{limit.unit} (was {change.before}{limit.unit}).")

    @settings_group.command(name="jobs")
    @moderator_only()
    async def jobs(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Show this server's next scheduled jobs, the ones that failed lately, and the workers running them."""
        guild = guild_of(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker() as session:
            pending = await self.bot.jobs.pending_for_guild(session, guild.id, JOBS_SHOWN)
            failed = await self.bot.jobs.failed_for_guild(session, guild.id, JOBS_SHOWN)
            workers = await self.bot.jobs.workers_alive(session)
        embed = discord.Embed(title="Scheduled jobs", colour=discord.Colour.blurple())
        embed.add_field(
            name="Next up",
            value=clip("\n".join(_pending_line(job) for job in pending) or "Nothing is scheduled.", 1024),
            inline=False,
        )
        embed.add_field(
            name="Failed in the last 7 days",
            value=clip("\n".join(_failed_line(job) for job in failed) or "Nothing failed.", 1024),
            inline=False,
        )
        embed.add_field(
            name="Workers alive",
            # None alive means scheduled work is not running at all: say so, it is what a moderator must act on.
            value=clip("\n".join(_worker_line(w) for w in workers) or "None: scheduled work is not running.", 1024),
            inline=False,
        )
        await reply(interaction, embed=embed)

    @settings_group.command(name="audit")
    @moderator_only()
    async def audit(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Show the latest changes made through the bot: who, what and when."""
        guild = guild_of(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker() as session:
            entries = await entries_for_guild(session, guild.id, limit=100)
        lines = [
            f"{format_dt(entry.created_at, 'R')} <@{entry.actor_id}> · {self.bot.features.audit_titles.title(entry.action)}"
            f" · {discord.utils.escape_markdown(entry.target)}"
            for entry in entries
        ]
        pages = pages_of_lines("Audit trail", lines, per_page=15, empty="Nothing has been changed through me yet.")
        await Paginator(interaction.user.id, pages).send(interaction)

    @settings_group.command(name="webhook-secret")
    @moderator_only()
    async def webhook_secret(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Make a new secret for signed webhooks (your website or distributor); the old one works 24 more hours."""
        guild = guild_of(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            secret = await rotate_webhook_secret(session, guild.id)
            # The secret itself stays out of the audit trail and the mod log.
            await record_command(
                interaction,
                session,
                action="settings.webhook_secret",
                target="webhook secret",
                before=None,
                after={"rotated": True},
            )
        await reply(
            interaction,
            f"New webhook secret (shown once, keep it safe): ||`{secret}`||\n"
            "Sign each request to `/hooks/releases` with it. Requests signed with the previous secret are still "
            f"accepted for {SECRET_ROTATION_GRACE.total_seconds() / 3600:.0f} hours, then refused.",
        )

    async def label_date_choices(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker() as session:
            found = await dates.dates_of(session, interaction.guild_id)
        wanted = dates.name_key(current)
        return [
            app_commands.Choice(
                name=f"{d.name} · {d.on_date.isoformat()}{' · yearly' if d.yearly else ''}"[:100], value=str(d.id)
            )
            for d in found
            if wanted in d.name_key
        ][:25]

    @dates_group.command(name="add")
    @moderator_only()
    async def dates_add(
        self, interaction: discord.Interaction[LabelBot], name: str, day: str, yearly: bool = False
    ) -> None:
        """Add a date the label marks; that morning I post a silent reminder with the roster's links.

        Args:
            name: What the day is, e.g. Bandcamp Friday.
            day: The day, e.g. 2027-03-05 or "friday" (the server's time zone).
            yearly: Mark it on the same day every year.
        """
        guild = guild_of(interaction)
        await defer(interaction)
        clean = dates.check_name(name)
        async with self.bot.sessionmaker.begin() as session:
            zone = (await peek_guild_settings(session, guild.id)).timezone
            on = dates.read_day(day, zone, utcnow())
            await dates.add(self.bot, session, guild.id, interaction.user.id, name=clean, day=on, yearly=yearly)
            hint = _dates_channel_hint(await peek_guild_settings(session, guild.id))
        self.bot.dispatch(DATES_CHANGED, guild.id)
        when = f"every year on {on:%d %B} from {on.isoformat()}" if yearly else f"on {on:%A %d %B %Y}"
        await reply(
            interaction,
            f"**{plain(clean)}** is a label date {when}: that morning (9:00, {zone}) I post a silent reminder with "
            f"the roster's links.{hint}",
        )

    @dates_group.command(name="remove")
    @app_commands.autocomplete(date=label_date_choices)
    @moderator_only()
    async def dates_remove(self, interaction: discord.Interaction[LabelBot], date: str) -> None:
        """Remove a label date; no more reminders for it.

        Args:
            date: The label date.
        """
        guild = guild_of(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            removed = await dates.remove(self.bot, session, guild.id, interaction.user.id, date)
        await reply(
            interaction, f"**{plain(removed.name)}** ({removed.on_date.isoformat()}) is no longer a label date."
        )

    @dates_group.command(name="list")
    @moderator_only()
    async def dates_list(self, interaction: discord.Interaction[LabelBot]) -> None:
        """List the label's dates and when each comes next."""
        guild = guild_of(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker() as session:
            settings = await peek_guild_settings(session, guild.id)
            found = await dates.dates_of(session, guild.id)
        today = dates.local_today(settings.timezone, utcnow())
        lines = []
        for label_date in found:
            upcoming = next_occurrence(label_date, today)
            shown = f"next {upcoming.isoformat()}" if upcoming is not None else "passed"
            every = " · yearly" if label_date.yearly else ""
            lines.append(f"**{plain(label_date.name)}** · {label_date.on_date.isoformat()}{every} · {shown}")
        pages = pages_of_lines(
            "Label dates",
            lines,
            per_page=15,
            empty="No label dates yet: add one with /settings dates add.",
        )
        await Paginator(interaction.user.id, pages).send(interaction)

    # -- everyone ----------------------------------------------------------------------------------------------

    @me_group.command(name="timezone")
    @app_commands.autocomplete(zone=zone_autocomplete)
    async def my_timezone(self, interaction: discord.Interaction[LabelBot], zone: str | None = None) -> None:
        """Set the time zone the times you type are read in (leave it out to use the server's).

        Args:
            zone: Your time zone, such as Europe/Berlin or America/New_York.
        """
        guild = guild_of(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            change = await set_member_zone(self.bot, session, guild.id, interaction.user.id, zone)
            server_zone = (await peek_guild_settings(session, guild.id)).timezone
        if change.after is None:
            text = f"Times you type are read in the server's time zone, {server_zone}."
        elif not change.changed:
            text = f"Your time zone already is {change.after}."
        else:
            text = f"Times you type are now read in **{change.after}**."
        await reply(interaction, text)


def _dates_channel_hint(settings: GuildSettings) -> str:
    """What to add when anniversaries and label dates have nowhere to go yet."""
    if settings.dates_channel_id or settings.announcements_channel_id:
        return ""
    return " Choose where they go with `/settings channel` (anniversaries and label dates, or announcements)."


def _pending_line(job: ScheduledJob) -> str:
    running = " (running now)" if job.status == "claimed" else ""
    return (
        f"`{job.kind}` {format_dt(job.due_at, 'F')} ({format_dt(job.due_at, 'R')}){running} · attempts {job.attempts}"
    )


def _worker_line(worker: JobWorker) -> str:
    return f"`{worker.host}` pid {worker.pid} · last beat {format_dt(worker.last_beat, 'R')} · up since {format_dt(worker.started_at, 'R')}"


def _failed_line(job: ScheduledJob) -> str:
    when = format_dt(job.finished_at, "R") if job.finished_at else "—"
    error = discord.utils.escape_markdown(clip(job.last_error or "no error recorded", ERROR_SHOWN))
    return f"`{job.kind}` failed {when} after {job.attempts} attempts: {error}"
