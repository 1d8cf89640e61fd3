"""/event create, edit, cancel, list, info, /event-admin attendees, and their units of work; the events calendar."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from labelbot.audit.service import record
from labelbot.client import LabelBot
from labelbot.context import MemberContext, member_context
from labelbot.db.base import utcnow
from labelbot.errors import InvalidInput, NotFound
from labelbot.features.events import _recurrence, _repository
from labelbot.features.events._render import card_content
from labelbot.gatherings import GatheringFeature, cards, fanout, install, lifecycle, native, rsvp, uninstall
from labelbot.gatherings.models import Gathering, NativeStatus
from labelbot.interactions import defer, member_of, reply
from labelbot.members import display_names
from labelbot.models.events import (
    CommunityEvent,
    EventOccurrence,
    OccurrenceStatus,
    PlaceKind,
    Recurrence,
)
from labelbot.permissions import moderator_group, require_moderator
from labelbot.timeparse import format_dt, parse_duration, parse_when
from labelbot.ui.paginator import Paginator, pages_of_lines

if TYPE_CHECKING:
    from labelbot.client import LabelBot
from labelbot.features.events import _jobs, _parsing, _render, _service
from labelbot.features.events._recurrence import RECURRENCE_LABELS
from labelbot.features.events._views import DmButton, RsvpButton

log = logging.getLogger(__name__)

CHOICES_MAX = 25
Scope = Literal["this", "series"]
SCOPE_CHOICES = [
    app_commands.Choice(name="only this occurrence", value="this"),
    app_commands.Choice(name="the whole series", value="series"),
]
REPEAT_CHOICES = [app_commands.Choice(name=label, value=value.value) for value, label in RECURRENCE_LABELS.items()]


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


class EventsCog(commands.Cog, name="Events"):
    """Community events (AMAs, contests, meetups) with RSVPs, waitlists, reminders and repeats."""

    event_group = app_commands.Group(
        name="event",
        description="Community events (AMAs, contests, meetups) with RSVPs, waitlists, reminders and repeats.",
        guild_only=True,
    )
    admin_group = moderator_group("event", "Community events (moderators).")

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot
        self.feature = GatheringFeature(
            kind=_service.KIND, noun="event", render_card=_render.render_card, reminder_text=_render.reminder_text
        )

    async def cog_load(self) -> None:
        bot = self.bot
        install(bot, self.feature)
        lifecycle.register(bot, _service.KIND, _service.discard_rows)
        _jobs.register(bot)
        bot.add_dynamic_items(RsvpButton, DmButton)
        bot.features.calendar.add_source("events", _service.calendar_entries)
        bot.features.audit_titles.add(_render.AUDIT_TITLES)
        bot.features.settings.add("events", *_render.SETTING_DEFAULTS)

    async def cog_unload(self) -> None:
        bot = self.bot
        uninstall(bot, self.feature)
        lifecycle.unregister(bot, _service.KIND)
        _jobs.unregister(bot)
        bot.remove_dynamic_items(RsvpButton, DmButton)
        bot.features.calendar.remove_source("events")
        bot.features.audit_titles.remove(_render.AUDIT_TITLES)
        bot.features.settings.remove("events")

    # -- create ---------------------------------------------------------------------------------------------------

    @event_group.command(name="create")
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
            context = await member_context(interaction, session)
            _service.require_creator(context)
            zone, settings = context.zone, context.settings
            if ping is not None:
                await _service.check_ping_role(session, context, ping)
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
        draft = _parsing.EventDraft(
            title=_parsing.clean_title(title),
            description=_parsing.clean_description(description),
            starts_at=starts.at.replace(microsecond=0),
            zone=starts.zone,
            duration=parse_duration(duration),
            place=_parsing.Place(kind, channel=room, location=location.strip() if location else None),
            capacity=capacity,
            reminder_offsets_seconds=_parsing.parse_reminders(reminders),
            ping_role_id=ping.id if ping is not None else None,
            recurrence=recurrence,
            until=_parsing.parse_until(until, starts.zone) if until else None,
            count=count,
            open_thread=thread,
            card_channel=card_channel,
        )
        event, occurrence, _ = await create_event(bot, guild, member, draft)
        message = f"Scheduled **{discord.utils.escape_markdown(event.title)}** (#{event.id}) for {format_dt(occurrence.starts_at, 'F')}"
        described = _render.repeats(event)
        if described:
            message += f", repeating {described}"
        message += f". The card is in {card_channel.mention}."
        await reply(interaction, message)

    # -- edit ------------------------------------------------------------------------------------------------------

    @event_group.command(name="edit")
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
        guild, _ = _member(interaction)
        await defer(interaction)
        context = await member_context(interaction)
        zone = context.zone
        changes = _parsing.Changes(
            title=_parsing.clean_title(title) if title is not None else None,
            description=_parsing.clean_description(description) if description is not None else None,
            starts_at=parse_when(start, zone=zone).at.replace(microsecond=0) if start else None,
            duration=parse_duration(duration) if duration else None,
            capacity=capacity,
            clear_capacity=no_capacity,
        )
        if changes == _parsing.Changes():
            raise InvalidInput("Nothing to change: give a new title, start, length, description or capacity.")
        series = scope == "series"
        changed, occurrence = await edit_event(self.bot, guild, context, event, changes, series=series)
        what = "The series" if series else f"Occurrence {occurrence.number}"
        await reply(
            interaction,
            f"{what} of **{discord.utils.escape_markdown(changed.title)}** is updated; "
            f"next: {format_dt(occurrence.starts_at, 'F')}. Those who answered were told if the time changed.",
        )

    # -- cancel ----------------------------------------------------------------------------------------------------

    @event_group.command(name="cancel")
    @app_commands.choices(scope=SCOPE_CHOICES)
    async def cancel(self, interaction: discord.Interaction[LabelBot], event: EventOption, scope: str) -> None:
        """Cancel an event's next occurrence, or the whole series; those who answered are told.

        Args:
            event: The event to cancel.
            scope: Only the next (or current) occurrence, or the whole series.
        """
        guild, _ = _member(interaction)
        await defer(interaction)
        series = scope == "series"
        context = await member_context(interaction)
        cancelled, occurrence = await cancel_event(self.bot, guild, context, event, series=series)
        title = discord.utils.escape_markdown(cancelled.title)
        if series or cancelled.recurrence is None:
            text = f"**{title}** is cancelled."
        else:
            text = f"Occurrence {occurrence.number} of **{title}** ({format_dt(occurrence.starts_at, 'F')}) is cancelled; the series goes on."
        await reply(interaction, text)

    # -- list, info, attendees ---------------------------------------------------------------------------------------

    @event_group.command(name="list")
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

    @event_group.command(name="info")
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

    @admin_group.command(name="attendees")
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
            answers = await rsvp.all_answers(session, gathering.id)
            counts = await rsvp.counts(session, gathering.id)
        names = await display_names(guild, [answer.user_id for answer in answers])
        data = _render.attendees_csv(answers, names)
        name = f"event-{found.id}-occurrence-{occurrence.number}-attendees.csv"
        await reply(
            interaction,
            f"Answers to **{discord.utils.escape_markdown(found.title)}** on {format_dt(occurrence.starts_at, 'F')}: "
            f"{_render.count_line(counts, gathering.capacity)}.",
            file=discord.File(io.BytesIO(data), filename=name),
        )


# -- the units of work of create, edit and cancel: read, then talk to Discord, then write ----------


async def create_event(
    bot: LabelBot, guild: discord.Guild, actor: discord.Member, draft: _parsing.EventDraft
) -> tuple[CommunityEvent, EventOccurrence, Gathering]:
    """Create the series and its first occurrence, mirrored and announced; nothing is left behind on failure."""
    _parsing.check_draft(draft)
    native.check_place(guild, draft.place.native())
    # Read, then talk to Discord, then write: the rows and the intent first, Discord with no session open,
    # then the outcome in one short transaction (or everything taken back).
    async with bot.sessionmaker.begin() as session:
        event = CommunityEvent(
            guild_id=guild.id,
            title=draft.title,
            description=draft.description,
            zone=draft.zone,
            anchor_at=draft.starts_at,
            duration_seconds=int(draft.duration.total_seconds()),
            place_kind=draft.place.kind,
            place_channel_id=draft.place.channel.id if draft.place.channel is not None else None,
            location=draft.place.location,
            capacity=draft.capacity,
            reminder_offsets_seconds=draft.reminder_offsets_seconds,
            ping_role_id=draft.ping_role_id,
            recurrence=draft.recurrence,
            until=draft.until,
            count=draft.count,
            card_channel_id=draft.card_channel.id,
            open_thread=draft.open_thread,
            created_by=actor.id,
        )
        session.add(event)
        await session.flush()
        occurrence = _service.new_occurrence(event, draft.starts_at, 1)
        session.add(occurrence)
        await session.flush()
        gathering = _service.new_gathering(event, occurrence)
        session.add(gathering)
        await session.flush()
        await lifecycle.expect_creation(bot, session, gathering)
        content = await card_content(bot, session, event, occurrence, gathering)
    done = _service.SideEffects()
    try:
        await _service.mirror(bot, guild, event, occurrence, content, done, gathering_id=gathering.id)
        async with bot.sessionmaker.begin() as session:
            loaded = await _service.load(session, occurrence.id)
            assert loaded is not None, "the rows of an event being created are deleted only by its own undo"
            event, occurrence, gathering = loaded
            await _service.attach(bot, session, event, occurrence, gathering, done)
            await bot.jobs.cancel(session, lifecycle.abandon_key(gathering))
            await record(
                bot,
                session,
                guild_id=guild.id,
                actor_id=actor.id,
                action="event.create",
                target=event.title,
                before=None,
                after=_service.audit_values(event),
            )
    except BaseException:
        await done.undo(bot, guild.id)
        await lifecycle.discard(bot, gathering.id, _service.discard_rows)
        raise
    return event, occurrence, gathering


async def edit_event(
    bot: LabelBot,
    guild: discord.Guild,
    actor: MemberContext,
    event_id: int,
    changes: _parsing.Changes,
    *,
    series: bool,
) -> tuple[CommunityEvent, EventOccurrence]:
    """Change this occurrence only, or the series (and its current occurrence); tell those who answered."""
    async with bot.sessionmaker.begin() as session:
        event = await _repository.get_event(session, guild.id, event_id)
        if event is None or event.cancelled:
            raise NotFound("There's no such event here (or it was cancelled).")
        _service.require_organiser(actor, event)
        occurrence, gathering = await _service.current_of(session, event)
        if occurrence.status == OccurrenceStatus.ACTIVE and changes.starts_at is not None:
            raise InvalidInput("This occurrence is happening now, so its start can't move; edit the series instead.")
        before = {**_service.audit_values(event), "occurrence": occurrence.number}
        duration = changes.duration or timedelta(seconds=event.duration_seconds)
        _parsing.check_duration(duration, PlaceKind(event.place_kind))
        if not changes.clear_capacity:
            _parsing.check_capacity(changes.capacity)
        starts_at = changes.starts_at or occurrence.starts_at
        moved = changes.starts_at is not None or changes.duration is not None

        if series:
            if changes.title is not None:
                event.title = changes.title
            if changes.description is not None:
                event.description = changes.description
            event.duration_seconds = int(duration.total_seconds())
            if changes.capacity is not None or changes.clear_capacity:
                event.capacity = None if changes.clear_capacity else changes.capacity
            rule = _service.rule_of(event)
            if changes.starts_at is not None:
                if rule is not None:
                    # The series now counts from the new start; a counted one keeps the occurrences it had left.
                    remaining = _recurrence.remaining_count(rule, occurrence.slot_at)
                    rule = _recurrence.Rule(rule.recurrence, changes.starts_at, rule.zone, rule.until, remaining)
                    event.count = remaining
                event.anchor_at = changes.starts_at
                occurrence.slot_at = changes.starts_at
            if rule is not None:
                _recurrence.check(rule, duration)
            if not occurrence.detached:
                occurrence.title = None
                occurrence.description = None
        else:
            occurrence.detached = True
            if changes.title is not None:
                occurrence.title = changes.title
            if changes.description is not None:
                occurrence.description = changes.description
        if changes.capacity is not None or changes.clear_capacity:
            gathering.capacity = None if changes.clear_capacity else changes.capacity
        occurrence.starts_at = starts_at
        occurrence.ends_at = starts_at + duration
        gathering.title = _service.occurrence_title(event, occurrence)
        gathering.starts_at = occurrence.starts_at
        gathering.ends_at = occurrence.ends_at
        await session.flush()
        promoted = await rsvp.fill_from_waitlist(session, gathering)

        await bot.jobs.cancel_prefix(session, f"{_service.job_prefix(occurrence)}remind:")
        await _service.schedule_occurrence_jobs(bot, session, event, occurrence, gathering)
        await cards.request_card_refresh(bot, session, gathering, now=True)
        title = discord.utils.escape_mentions(gathering.title)
        if moved:
            await fanout.schedule_notice(
                bot,
                session,
                gathering,
                name=f"edit:{utcnow().timestamp():.0f}",
                text=f"📅 **{title}** moved: it now starts {format_dt(starts_at)} ({format_dt(starts_at, 'R')}).",
            )
        if promoted:
            await fanout.schedule_notice(
                bot,
                session,
                gathering,
                name=f"promoted:{utcnow().timestamp():.0f}",
                text=f"🎟️ A place opened up: you're now going to **{title}**.",
                audience=fanout.AUDIENCE_USERS,
                user_ids=promoted,
            )
        rule = _service.rule_of(event)
        native_edit: dict[str, Any] = {
            "name": gathering.title,
            "description": _service.occurrence_description(event, occurrence),
            "starts_at": occurrence.starts_at if occurrence.status == OccurrenceStatus.SCHEDULED else None,
            "ends_at": occurrence.ends_at,
            "recurrence_rule": _recurrence.discord_rule(rule, occurrence.starts_at) if rule and series else None,
        }
        await record(
            bot,
            session,
            guild_id=guild.id,
            actor_id=actor.user_id,
            action="event.edit" if series else "event.edit_occurrence",
            target=gathering.title,
            before=before,
            after={**_service.audit_values(event), "occurrence": occurrence.number},
        )
    # Discord's copy follows once the edit is committed: no transaction waits on Discord.
    if gathering.native_event_id is not None:
        await native.edit_native_event(bot, guild.id, gathering.native_event_id, **native_edit)
    return event, occurrence


async def cancel_event(
    bot: LabelBot, guild: discord.Guild, actor: MemberContext, event_id: int, *, series: bool
) -> tuple[CommunityEvent, EventOccurrence]:
    """Cancel this occurrence (the series rolls on) or the whole series; those who answered are told."""
    async with bot.sessionmaker.begin() as session:
        event = await _repository.get_event(session, guild.id, event_id)
        if event is None or event.cancelled:
            raise NotFound("There's no such event here (or it was already cancelled).")
        _service.require_organiser(actor, event)
        occurrence, gathering = await _service.current_of(session, event)
        now = utcnow()
        occurrence.status = OccurrenceStatus.CANCELLED
        gathering.cancelled_at = now
        gathering.native_status = NativeStatus.CANCELLED
        if series:
            event.cancelled_at = now
        await bot.jobs.cancel_prefix(session, _service.job_prefix(occurrence))
        title = discord.utils.escape_mentions(gathering.title)
        await fanout.schedule_notice(
            bot,
            session,
            gathering,
            name="cancelled",
            text=f"❌ **{title}** on {format_dt(occurrence.starts_at)} is cancelled"
            + (" (the whole series)." if series or event.recurrence is None else "; the series goes on."),
        )
        await cards.request_card_refresh(bot, session, gathering, now=True)
        await record(
            bot,
            session,
            guild_id=guild.id,
            actor_id=actor.user_id,
            action="event.cancel" if series else "event.cancel_occurrence",
            target=gathering.title,
            before={"occurrence": occurrence.number, "starts": occurrence.starts_at.isoformat()},
            after={"cancelled": "series" if series else "occurrence"},
        )
    if gathering.native_event_id is not None:
        await native.set_native_status(bot, guild.id, gathering.native_event_id, NativeStatus.CANCELLED)
    if not series and event.recurrence is not None:
        await _jobs.roll_forward(bot, event.id, after=occurrence, ctx=None)
    return event, occurrence
