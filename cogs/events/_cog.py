"""/event create, edit, cancel, list, info, attendees; the jobs that run each occurrence; the events calendar."""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime, timedelta
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import LabelBot
from bot.db.base import utcnow
from bot.errors import InvalidInput
from bot.gatherings import GatheringFeature, install, lifecycle, rsvp, uninstall
from bot.guilds.service import member_zone, peek_guild_settings
from bot.interactions import defer, member_of, reply
from bot.jobs import JobContext, MissedRule
from bot.models.events import PlaceKind, Recurrence
from bot.permissions import require_moderator
from bot.timeparse import format_dt, parse_duration, parse_when
from bot.ui.paginator import Paginator, pages_of_lines
from cogs.events import _render, _repository, _service
from cogs.events._recurrence import RECURRENCE_LABELS
from cogs.events._views import DmButton, RsvpButton

log = logging.getLogger(__name__)

CHOICES_MAX = 25
Scope = Literal["this", "series"]
SCOPE_CHOICES = [
    app_commands.Choice(name="only this occurrence", value="this"),
    app_commands.Choice(name="the whole series", value="series"),
]
REPEAT_CHOICES = [app_commands.Choice(name=label, value=value.value) for value, label in RECURRENCE_LABELS.items()]
NO_REMINDERS = {"none", "off", "no", "0"}


def parse_reminders(text: str | None) -> list[int] | None:
    """ "24h, 1h, 10m" -> seconds before the start; None keeps the server's defaults; "none" means no reminders."""
    if text is None or not text.strip():
        return None
    if text.strip().casefold() in NO_REMINDERS:
        return []
    offsets: set[int] = set()
    for part in (piece.strip() for piece in re.split(r"[,;]", text)):
        if not part:
            continue
        offset = parse_duration(part)
        if offset > _service.REMINDER_MAX:
            raise InvalidInput("A reminder can be at most 30 days before the start.")
        offsets.add(int(offset.total_seconds()))
    if len(offsets) > _service.REMINDERS_MAX:
        raise InvalidInput(f"Up to {_service.REMINDERS_MAX} reminders per event, please.")
    return sorted(offsets, reverse=True)


def parse_until(text: str, zone: str, *, now: datetime | None = None) -> datetime:
    """An end date: a bare date means the end of that day, in the member's zone."""
    parsed = parse_when(text, zone=zone, now=now, earliest=None)
    local = parsed.local()
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return (local + timedelta(days=1) - timedelta(seconds=1)).astimezone(parsed.at.tzinfo)
    return parsed.at


class EventTransformer(app_commands.Transformer[LabelBot]):
    """A community event of this server, picked from autocomplete (the value is its id)."""

    async def transform(self, interaction: discord.Interaction[LabelBot], value: str, /) -> int:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        async with interaction.client.sessionmaker() as session:
            return (await _service.find_event(session, interaction.guild_id, value)).id

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction[LabelBot], value: str, /
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        async with interaction.client.sessionmaker() as session:
            events = await _repository.search_open(session, interaction.guild_id, value, limit=CHOICES_MAX)
        return [app_commands.Choice(name=f"{event.title} (#{event.id})"[:100], value=str(event.id)) for event in events]


EventOption = app_commands.Transform[int, EventTransformer]


def _member(interaction: discord.Interaction[LabelBot]) -> tuple[discord.Guild, discord.Member]:
    member = member_of(interaction)
    return member.guild, member


@app_commands.guild_only()
class EventsCog(commands.GroupCog, name="Events", group_name="event"):
    """Community events (AMAs, contests, meetups) with RSVPs, waitlists, reminders and repeats."""

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot
        self.feature = GatheringFeature(
            kind=_service.KIND, noun="event", render_card=_render.render_card, reminder_text=_render.reminder_text
        )
        super().__init__()

    async def cog_load(self) -> None:
        bot = self.bot
        install(bot, self.feature)
        lifecycle.register(bot, _service.KIND, _service.discard_rows)

        async def start(ctx: JobContext) -> dict[str, Any] | None:
            return await _service.on_start(bot, ctx)

        async def end(ctx: JobContext) -> dict[str, Any] | None:
            return await _service.on_end(bot, ctx)

        # A start whose event is already over means nothing; the handler checks the end itself.
        bot.jobs.register(_service.START_JOB, start, missed=MissedRule.RUN_LATE, grace=timedelta(minutes=1))
        # The end must always run: it completes the native event and brings up the next occurrence.
        bot.jobs.register(_service.END_JOB, end, missed=MissedRule.RUN_LATE)
        bot.add_dynamic_items(RsvpButton, DmButton)
        bot.features.calendar.add_source("events", _service.calendar_entries)
        bot.features.audit_titles.add(_render.AUDIT_TITLES)

    async def cog_unload(self) -> None:
        bot = self.bot
        uninstall(bot, self.feature)
        lifecycle.unregister(bot, _service.KIND)
        bot.jobs.unregister(_service.START_JOB)
        bot.jobs.unregister(_service.END_JOB)
        bot.remove_dynamic_items(RsvpButton, DmButton)
        bot.features.calendar.remove_source("events")
        bot.features.audit_titles.remove(_render.AUDIT_TITLES)

    # -- create ---------------------------------------------------------------------------------------------------

    @app_commands.command(name="create")
    @app_commands.choices(repeat=REPEAT_CHOICES)
    async def create(
        self,
        interaction: discord.Interaction[LabelBot],
        title: app_commands.Range[str, 1, 100],
        start: app_commands.Range[str, 1, 100],
        duration: app_commands.Range[str, 1, 40] = "1h",
        description: app_commands.Range[str, 0, 1000] | None = None,
        room: discord.StageChannel | discord.VoiceChannel | None = None,
        location: app_commands.Range[str, 1, 100] | None = None,
        capacity: app_commands.Range[int, 0, 10_000] | None = None,
        reminders: app_commands.Range[str, 1, 100] | None = None,
        repeat: str | None = None,
        until: app_commands.Range[str, 1, 100] | None = None,
        count: app_commands.Range[int, 1, 500] | None = None,
        ping: discord.Role | None = None,
        thread: bool = True,
    ) -> None:
        """Schedule a community event (moderators; artists when the server allows it).

        Args:
            title: What it is called (up to 100 characters).
            start: When it starts, e.g. "friday 8pm", "2026-12-04 18:00", "in 2h" (your time zone).
            duration: How long it runs, e.g. "90m", "2h" (default 1h).
            description: What it is about.
            room: A stage or voice channel to hold it in.
            location: Or a place or URL outside Discord.
            capacity: Seats; more "Going" answers join a waitlist.
            reminders: When to remind, e.g. "24h, 1h, 10m" ("none" for none; default: the server's).
            repeat: How it repeats.
            until: Repeat until this date.
            count: Or repeat this many times in all.
            ping: A role to ping when it is announced and when it starts.
            thread: Open a discussion thread under the event card.
        """
        guild, member = _member(interaction)
        await defer(interaction)
        bot = self.bot
        async with bot.sessionmaker() as session:
            moderator = await _service.require_creator(bot, session, member)
            zone = await member_zone(session, member.id, guild.id)
            settings = await peek_guild_settings(session, guild.id)
            if ping is not None:
                await _service.check_ping_role(session, member, ping, moderator)
        card_channel = guild.get_channel(settings.events_channel_id) if settings.events_channel_id else None
        if card_channel is None:
            card_channel = interaction.channel if isinstance(interaction.channel, discord.TextChannel) else None
        if not isinstance(card_channel, discord.TextChannel):
            raise InvalidInput("Set an events channel with /settings channel, or run this in a text channel.")
        if room is not None and location is not None:
            raise InvalidInput("Give a room (stage or voice channel) or a location, not both.")
        if room is not None:
            # What Discord resolved may be a partial channel; the cached one carries the permissions to check.
            cached = guild.get_channel(room.id)
            if not isinstance(cached, discord.StageChannel | discord.VoiceChannel):
                raise InvalidInput("I can't see that channel yet; try again in a moment.")
            room = cached
        starts = parse_when(start, zone=zone)
        if starts.at <= utcnow() + timedelta(seconds=1):
            raise InvalidInput("The start has to be in the future.")
        recurrence = Recurrence(repeat) if repeat else None
        kind = (
            PlaceKind.STAGE
            if isinstance(room, discord.StageChannel)
            else PlaceKind.VOICE
            if room is not None
            else PlaceKind.EXTERNAL
        )
        draft = _service.EventDraft(
            title=_service.clean_title(title),
            description=_service.clean_description(description),
            starts_at=starts.at.replace(microsecond=0),
            zone=starts.zone,
            duration=parse_duration(duration),
            place=_service.Place(kind, channel=room, location=location.strip() if location else None),
            capacity=capacity,
            reminder_offsets_seconds=parse_reminders(reminders),
            ping_role_id=ping.id if ping is not None else None,
            recurrence=recurrence,
            until=parse_until(until, starts.zone) if until else None,
            count=count,
            open_thread=thread,
            card_channel=card_channel,
        )
        event, occurrence, _ = await _service.create_event(bot, guild, member, draft)
        message = f"Scheduled **{discord.utils.escape_markdown(event.title)}** (#{event.id}) for {format_dt(occurrence.starts_at, 'F')}"
        described = _render.repeats(event)
        if described:
            message += f", repeating {described}"
        message += f". The card is in {card_channel.mention}."
        await reply(interaction, message)

    # -- edit ------------------------------------------------------------------------------------------------------

    @app_commands.command(name="edit")
    @app_commands.choices(scope=SCOPE_CHOICES)
    async def edit(
        self,
        interaction: discord.Interaction[LabelBot],
        event: EventOption,
        scope: str,
        title: app_commands.Range[str, 1, 100] | None = None,
        start: app_commands.Range[str, 1, 100] | None = None,
        duration: app_commands.Range[str, 1, 40] | None = None,
        description: app_commands.Range[str, 0, 1000] | None = None,
        capacity: app_commands.Range[int, 0, 10_000] | None = None,
        no_capacity: bool = False,
    ) -> None:
        """Change an event: only its next occurrence, or the whole series.

        Args:
            event: The event to change.
            scope: Only the next (or current) occurrence, or the whole series.
            title: A new title.
            start: A new start (for the series: the new time of the series from this occurrence on).
            duration: A new length.
            description: A new description.
            capacity: A new number of seats (people waiting move up if it grows).
            no_capacity: Remove the limit on seats.
        """
        guild, member = _member(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker() as session:
            zone = await member_zone(session, member.id, guild.id)
        changes = _service.Changes(
            title=_service.clean_title(title) if title is not None else None,
            description=_service.clean_description(description) if description is not None else None,
            starts_at=parse_when(start, zone=zone).at.replace(microsecond=0) if start else None,
            duration=parse_duration(duration) if duration else None,
            capacity=capacity,
            clear_capacity=no_capacity,
        )
        if changes == _service.Changes():
            raise InvalidInput("Nothing to change: give a new title, start, length, description or capacity.")
        series = scope == "series"
        changed, occurrence = await _service.edit_event(self.bot, guild, member, event, changes, series=series)
        what = "The series" if series else f"Occurrence {occurrence.number}"
        await reply(
            interaction,
            f"{what} of **{discord.utils.escape_markdown(changed.title)}** is updated; "
            f"next: {format_dt(occurrence.starts_at, 'F')}. Those who answered were told if the time changed.",
        )

    # -- cancel ----------------------------------------------------------------------------------------------------

    @app_commands.command(name="cancel")
    @app_commands.choices(scope=SCOPE_CHOICES)
    async def cancel(self, interaction: discord.Interaction[LabelBot], event: EventOption, scope: str) -> None:
        """Cancel an event's next occurrence, or the whole series; those who answered are told.

        Args:
            event: The event to cancel.
            scope: Only the next (or current) occurrence, or the whole series.
        """
        guild, member = _member(interaction)
        await defer(interaction)
        series = scope == "series"
        cancelled, occurrence = await _service.cancel_event(self.bot, guild, member, event, series=series)
        title = discord.utils.escape_markdown(cancelled.title)
        if series or cancelled.recurrence is None:
            text = f"**{title}** is cancelled."
        else:
            text = f"Occurrence {occurrence.number} of **{title}** ({format_dt(occurrence.starts_at, 'F')}) is cancelled; the series goes on."
        await reply(interaction, text)

    # -- list, info, attendees ---------------------------------------------------------------------------------------

    @app_commands.command(name="list")
    async def list_events(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Show upcoming events."""
        guild, member = _member(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker() as session:
            occurrences = await _repository.upcoming(session, guild.id, utcnow())
            events = await _repository.events_by_id(session, sorted({o.event_id for o in occurrences}))
            lines = []
            for occurrence in occurrences:
                gathering = await _repository.gathering_of(session, occurrence.id)
                if gathering is None:
                    continue
                going = (await rsvp.counts(session, gathering.id)).going
                lines.append(_render.list_line(events[occurrence.event_id], occurrence, going, gathering.capacity))
        pages = pages_of_lines("Upcoming events", lines, empty="No events coming up. Moderators: /event create.")
        await Paginator(member.id, pages).send(interaction)

    @app_commands.command(name="info")
    async def info(self, interaction: discord.Interaction[LabelBot], event: EventOption) -> None:
        """Show an event: when, where, how it repeats and who's going.

        Args:
            event: The event to show.
        """
        guild, _ = _member(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker() as session:
            found = await _repository.get_event(session, guild.id, event)
            assert found is not None
            occurrence = await _repository.current_occurrence(session, found.id)
            gathering = await _repository.gathering_of(session, occurrence.id) if occurrence else None
            counts = await rsvp.counts(session, gathering.id) if gathering else None
        starts = _render.upcoming_starts(found, occurrence.starts_at if occurrence else utcnow())
        capacity = gathering.capacity if gathering is not None else found.capacity
        await reply(interaction, embed=_render.info_embed(found, occurrence, counts, capacity, starts))

    @app_commands.command(name="attendees")
    async def attendees(self, interaction: discord.Interaction[LabelBot], event: EventOption) -> None:
        """Download who answered what to an event's next (or latest) occurrence, as CSV (moderators).

        Args:
            event: The event.
        """
        guild, _ = _member(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker() as session:
            await require_moderator(interaction, session)
            found = await _repository.get_event(session, guild.id, event)
            assert found is not None
            occurrence = await _repository.current_occurrence(session, found.id)
            occurrence = occurrence or await _repository.latest_occurrence(session, found.id)
            if occurrence is None:
                raise InvalidInput("That event has no occurrences yet.")
            gathering = await _repository.gathering_of(session, occurrence.id)
            assert gathering is not None
            data = await _service.attendees_csv(session, guild, gathering)
            counts = await rsvp.counts(session, gathering.id)
        name = f"event-{found.id}-occurrence-{occurrence.number}-attendees.csv"
        await reply(
            interaction,
            f"Answers to **{discord.utils.escape_markdown(found.title)}** on {format_dt(occurrence.starts_at, 'F')}: "
            f"{_render.count_line(counts, gathering.capacity)}.",
            file=discord.File(io.BytesIO(data), filename=name),
        )
