"""Community events: creating, editing and cancelling series and occurrences, and running each occurrence.

Each occurrence is a shared `Gathering` (bot/gatherings): RSVPs, capacity and waitlist, reminders, card refreshes
and the native event mirror are the same code listening parties use. The bot holds one occurrence of a series at
a time; when it ends (or is cancelled) the bot rolls the series forward to the next one itself, as a job.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit.service import record
from bot.calendar import CalendarEntry
from bot.db.base import utcnow
from bot.errors import BotLacksPermissions, InvalidInput, NotAllowed, NotFound
from bot.gatherings import cards, fanout, lifecycle, native, rsvp
from bot.gatherings.feature import CardContent
from bot.gatherings.models import Gathering, NativeStatus
from bot.guilds.service import peek_guild_settings
from bot.jobs import JobContext
from bot.jobs.sending import send_once
from bot.models.events import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    CommunityEvent,
    EventOccurrence,
    OccurrenceStatus,
    PlaceKind,
    Recurrence,
)
from bot.spreadsheet import spreadsheet_cell
from cogs.events import _recurrence, _repository
from cogs.events._render import card_content, start_post

if TYPE_CHECKING:
    from bot.client import LabelBot

log = logging.getLogger(__name__)

KIND = _repository.KIND
START_JOB = "event.start"
END_JOB = "event.end"
CAPACITY_MAX = 10_000
STAGE_MAX = timedelta(hours=24)
DURATION_MAX = timedelta(days=7)
REMINDERS_MAX = 5
REMINDER_MAX = timedelta(days=30)


@dataclass(frozen=True)
class Place:
    """Where an event happens: a stage or voice channel, or a place/URL outside Discord."""

    kind: PlaceKind
    channel: discord.StageChannel | discord.VoiceChannel | None = None
    location: str | None = None

    def native(self) -> native.NativePlace:
        return native.NativePlace(channel=self.channel, location=self.location)


@dataclass(frozen=True)
class EventDraft:
    """What a moderator asked for, read and checked, before anything is written."""

    title: str
    description: str
    starts_at: datetime
    zone: str
    duration: timedelta
    place: Place
    capacity: int | None
    reminder_offsets_seconds: list[int] | None
    ping_role_id: int | None
    recurrence: Recurrence | None
    until: datetime | None
    count: int | None
    open_thread: bool
    card_channel: discord.TextChannel


@dataclass
class SideEffects(lifecycle.Mirror):
    """What was made on Discord while bringing an occurrence up (the shared undo), and its thread's id."""

    thread_id: int | None = None


@dataclass(frozen=True)
class Changes:
    """An edit: only what is not None changes."""

    title: str | None = None
    description: str | None = None
    starts_at: datetime | None = None
    duration: timedelta | None = None
    capacity: int | None = None
    clear_capacity: bool = False


# -- reading input -------------------------------------------------------------------------------------------


def clean_title(text: str) -> str:
    title = " ".join(text.split())
    if not title:
        raise InvalidInput("The event needs a title.")
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"A title can be at most {TITLE_MAX} characters (Discord's limit for events).")
    return title


def clean_description(text: str | None) -> str:
    description = (text or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(f"A description can be at most {DESCRIPTION_MAX} characters (Discord's limit for events).")
    return description


def check_duration(duration: timedelta, place_kind: PlaceKind) -> None:
    if place_kind == PlaceKind.STAGE and duration > STAGE_MAX:
        raise InvalidInput("A stage event can last at most 24 hours; shorten it or hold it somewhere else.")
    if duration > DURATION_MAX:
        raise InvalidInput("An event can last at most 7 days.")


def check_capacity(capacity: int | None) -> None:
    if capacity is not None and not 0 <= capacity <= CAPACITY_MAX:
        raise InvalidInput(f"Capacity goes from 0 to {CAPACITY_MAX:,}; leave it empty for no limit.")


def rule_of(event: CommunityEvent) -> _recurrence.Rule | None:
    if event.recurrence is None:
        return None
    return _recurrence.Rule(Recurrence(event.recurrence), event.anchor_at, event.zone, event.until, event.count)


def check_draft(draft: EventDraft) -> None:
    """Everything about a new event that can be refused without asking Discord."""
    check_duration(draft.duration, draft.place.kind)
    check_capacity(draft.capacity)
    if draft.recurrence is None:
        if draft.until is not None or draft.count is not None:
            raise InvalidInput("An end date or a number of times only makes sense for a repeating event.")
        return
    rule = _recurrence.Rule(draft.recurrence, draft.starts_at, draft.zone, draft.until, draft.count)
    _recurrence.check(rule, draft.duration)


# -- permissions ---------------------------------------------------------------------------------------------


async def require_creator(bot: LabelBot, session: AsyncSession, member: discord.Member) -> bool:
    """Moderators may create events; artists too when the server allows it. Return whether a moderator."""
    from bot.artists import repository as artists
    from bot.permissions import is_moderator

    settings = await peek_guild_settings(session, member.guild.id)
    if is_moderator(member, settings, bot.settings.discord.owner_ids):
        return True
    is_artist = (
        settings.artist_role_id is not None and any(r.id == settings.artist_role_id for r in member.roles)
    ) or (bool(await artists.managed_by(session, member.guild.id, member.id)))
    if is_artist and settings.artists_create_events:
        return False
    if is_artist:
        raise NotAllowed("Only moderators can create events here; a moderator can let artists with the events toggle.")
    raise NotAllowed("Only moderators (and artists, if the server allows it) can create events.")


async def require_organiser(
    bot: LabelBot, session: AsyncSession, member: discord.Member, event: CommunityEvent
) -> None:
    """Moderators may change any event; its creator may change their own."""
    from bot.permissions import is_moderator

    settings = await peek_guild_settings(session, member.guild.id)
    if is_moderator(member, settings, bot.settings.discord.owner_ids) or member.id == event.created_by:
        return
    raise NotAllowed("Only moderators and the event's creator can change it.")


async def check_ping_role(session: AsyncSession, member: discord.Member, role: discord.Role, moderator: bool) -> None:
    """Nobody makes the bot ping @everyone; an artist may ping only the fan role of an artist they manage."""
    from bot.artists import repository as artists

    if role.is_default():
        raise InvalidInput("I won't ping @everyone for an event; pick a role members opted in to.")
    if moderator:
        return
    managed = await artists.managed_by(session, member.guild.id, member.id)
    if not any(artist.fan_role_id == role.id for artist in managed):
        raise NotAllowed(f"You can ping only the fan role of an artist you manage, not {role.mention}.")


# -- bringing an occurrence up ----------------------------------------------------------------------------------


def occurrence_title(event: CommunityEvent, occurrence: EventOccurrence) -> str:
    return occurrence.title or event.title


def occurrence_description(event: CommunityEvent, occurrence: EventOccurrence) -> str:
    return occurrence.description if occurrence.description is not None else event.description


def place_of(guild: discord.Guild, event: CommunityEvent, card_channel: discord.abc.GuildChannel | None) -> Place:
    kind = PlaceKind(event.place_kind)
    channel = guild.get_channel(event.place_channel_id) if event.place_channel_id else None
    if isinstance(channel, discord.StageChannel | discord.VoiceChannel):
        return Place(kind, channel=channel)
    location = event.location or (f"#{card_channel.name}" if card_channel is not None else "Discord")
    return Place(PlaceKind.EXTERNAL, location=location)


def reminder_seconds(event: CommunityEvent, server_default_minutes: list[int]) -> list[int]:
    if event.reminder_offsets_seconds is not None:
        return [int(s) for s in event.reminder_offsets_seconds]
    return [int(m) * 60 for m in server_default_minutes]


def new_occurrence(event: CommunityEvent, slot_at: datetime, number: int) -> EventOccurrence:
    return EventOccurrence(
        event_id=event.id,
        guild_id=event.guild_id,
        number=number,
        slot_at=slot_at,
        starts_at=slot_at,
        ends_at=slot_at + timedelta(seconds=event.duration_seconds),
        status=OccurrenceStatus.SCHEDULED,
        detached=False,
    )


def new_gathering(event: CommunityEvent, occurrence: EventOccurrence) -> Gathering:
    return Gathering(
        kind=KIND,
        ref_id=occurrence.id,
        guild_id=event.guild_id,
        title=occurrence_title(event, occurrence),
        starts_at=occurrence.starts_at,
        ends_at=occurrence.ends_at,
        zone=event.zone,
        capacity=event.capacity,
        card_channel_id=event.card_channel_id,
    )


def job_prefix(occurrence: EventOccurrence) -> str:
    # The gathering's own keys (reminders, notices, card) start with "event:<occurrence id>:" too.
    return f"{KIND}:{occurrence.id}:"


async def schedule_occurrence_jobs(
    bot: LabelBot, session: AsyncSession, event: CommunityEvent, occurrence: EventOccurrence, gathering: Gathering
) -> None:
    settings = await peek_guild_settings(session, event.guild_id)
    await fanout.schedule_reminders(bot, session, gathering, reminder_seconds(event, settings.reminder_offsets_minutes))
    payload = {"occurrence_id": occurrence.id}
    await bot.jobs.schedule(
        session, START_JOB, payload, occurrence.starts_at, guild_id=event.guild_id, key=f"{job_prefix(occurrence)}start"
    )
    await bot.jobs.schedule(
        session, END_JOB, payload, occurrence.ends_at, guild_id=event.guild_id, key=f"{job_prefix(occurrence)}end"
    )


def _ping(event: CommunityEvent) -> tuple[str, discord.AllowedMentions]:
    if event.ping_role_id is None:
        return "", discord.AllowedMentions.none()
    return f"<@&{event.ping_role_id}>", discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(event.ping_role_id)]
    )


async def mirror(
    bot: LabelBot,
    guild: discord.Guild,
    event: CommunityEvent,
    occurrence: EventOccurrence,
    content: CardContent,
    done: SideEffects,
    *,
    ctx: JobContext | None = None,
    reuse_native: int | None = None,
    gathering_id: int | None = None,
) -> None:
    """The Discord side of bringing an occurrence up: its native event, its card (and thread). No database here.

    With `ctx` (rolling forward from a job) every step is idempotent: what an earlier attempt made is reused.
    Call it outside any transaction: recording progress takes a connection of its own (SQLite has only one).
    """
    card_channel = guild.get_channel(event.card_channel_id)
    if not isinstance(card_channel, discord.TextChannel):
        raise InvalidInput("The events channel is gone; set another with /settings channel.")
    place = place_of(guild, event, card_channel)
    title = occurrence_title(event, occurrence)
    description = occurrence_description(event, occurrence)
    rule = rule_of(event)
    recurrence = _recurrence.discord_rule(rule, occurrence.starts_at) if rule is not None else None
    slot = occurrence.slot_at.isoformat()

    recorded = ctx.progress.get(f"native:{slot}") if ctx is not None else None
    if recorded is not None:
        done.native_event_id, done.kept_native = int(recorded), True
    elif reuse_native is not None:
        await native.edit_native_event(
            bot,
            guild.id,
            reuse_native,
            name=title,
            description=description,
            starts_at=occurrence.starts_at,
            ends_at=occurrence.ends_at,
            recurrence_rule=recurrence,
        )
        done.native_event_id, done.kept_native = reuse_native, True
    else:
        await native.ensure_room(bot, guild.id)
        details: dict[str, Any] = {
            "name": title,
            "description": description,
            "starts_at": occurrence.starts_at,
            "ends_at": occurrence.ends_at,
            "place": place.native(),
            "recurrence_rule": recurrence,
            "reason": f"Event #{event.id}",
        }
        if gathering_id is not None:
            # A creation from a command: the id is noted at once, for the abandon job should the bot die now.
            await lifecycle.create_native(bot, gathering_id, guild.id, done, **details)
        else:
            done.native_event_id = await native.create_native_event(bot, guild.id, **details)
        if ctx is not None:
            await ctx.record_progress({f"native:{slot}": done.native_event_id})
            done.kept_native = True

    ping, mentions = _ping(event)
    if ctx is not None:
        done.card = await send_once(
            card_channel,
            ctx,
            f"card:{slot}",
            content=ping or None,
            embed=content.embed,
            view=content.view,
            allowed_mentions=mentions,
        )
        # A retry after a crash made new rows: point the card's buttons at them.
        await done.card.edit(embed=content.embed, view=content.view)
    else:
        try:
            done.card = await card_channel.send(
                content=ping or None, embed=content.embed, view=content.view, allowed_mentions=mentions
            )
        except discord.Forbidden:
            raise BotLacksPermissions(
                f"I can't post the event card in {card_channel.mention}; give me Send Messages and Embed Links there."
            ) from None

    if event.open_thread:
        thread_id = ctx.progress.get(f"thread:{slot}") if ctx is not None else None
        if thread_id is None:
            done.thread = await done.card.create_thread(name=title[:100], auto_archive_duration=1440)
            thread_id = done.thread.id
            if ctx is not None:
                await ctx.record_progress({f"thread:{slot}": thread_id})
        done.thread_id = int(thread_id)


async def attach(
    bot: LabelBot,
    session: AsyncSession,
    event: CommunityEvent,
    occurrence: EventOccurrence,
    gathering: Gathering,
    done: SideEffects,
) -> None:
    """Record what `mirror` made on the rows, and schedule the occurrence's reminders, start and end."""
    assert done.card is not None
    gathering.native_event_id = done.native_event_id
    gathering.native_status = NativeStatus.SCHEDULED
    gathering.card_channel_id = done.card.channel.id
    gathering.card_message_id = done.card.id
    occurrence.thread_id = done.thread_id
    await session.flush()
    await schedule_occurrence_jobs(bot, session, event, occurrence, gathering)


# -- create ---------------------------------------------------------------------------------------------------


async def create_event(
    bot: LabelBot, guild: discord.Guild, actor: discord.Member, draft: EventDraft
) -> tuple[CommunityEvent, EventOccurrence, Gathering]:
    """Create the series and its first occurrence, mirrored and announced; nothing is left behind on failure."""
    check_draft(draft)
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
        occurrence = new_occurrence(event, draft.starts_at, 1)
        session.add(occurrence)
        await session.flush()
        gathering = new_gathering(event, occurrence)
        session.add(gathering)
        await session.flush()
        await lifecycle.expect_creation(bot, session, gathering)
        content = await card_content(bot, session, event, occurrence, gathering)
    done = SideEffects()
    try:
        await mirror(bot, guild, event, occurrence, content, done, gathering_id=gathering.id)
        async with bot.sessionmaker.begin() as session:
            loaded = await _load(session, occurrence.id)
            assert loaded is not None, "the rows of an event being created are deleted only by its own undo"
            event, occurrence, gathering = loaded
            await attach(bot, session, event, occurrence, gathering, done)
            await bot.jobs.cancel(session, lifecycle.abandon_key(gathering))
            await record(
                bot,
                session,
                guild_id=guild.id,
                actor_id=actor.id,
                action="event.create",
                target=event.title,
                before=None,
                after=_audit_values(event),
            )
    except BaseException:
        await done.undo(bot, guild.id)
        await lifecycle.discard(bot, gathering.id, discard_rows)
        raise
    return event, occurrence, gathering


async def discard_rows(session: AsyncSession, gathering: Gathering) -> None:
    """An occurrence whose bringing-up never finished goes; the first one takes its series with it."""
    occurrence = await session.get(EventOccurrence, gathering.ref_id)
    if occurrence is None:
        return
    if occurrence.number == 1:
        await session.execute(delete(CommunityEvent).where(CommunityEvent.id == occurrence.event_id))
    else:
        await session.execute(delete(EventOccurrence).where(EventOccurrence.id == occurrence.id))


def _audit_values(event: CommunityEvent) -> dict[str, Any]:
    return {
        "title": event.title,
        "starts": event.anchor_at.isoformat(),
        "minutes": event.duration_seconds // 60,
        "capacity": event.capacity,
        "repeats": event.recurrence,
        "place_channel_id": event.place_channel_id,
        "ping_role_id": event.ping_role_id,
    }


# -- finding -----------------------------------------------------------------------------------------------------


async def find_event(session: AsyncSession, guild_id: int, value: str) -> CommunityEvent:
    """An event by the id autocomplete gives, or by its exact title."""
    text = value.strip().lstrip("#")
    if text.isdigit():
        event = await _repository.get_event(session, guild_id, int(text))
        if event is not None:
            return event
    for event in await _repository.search_open(session, guild_id, value, limit=25):
        if event.title.casefold() == value.strip().casefold():
            return event
    raise NotFound("There's no such event here; pick one from the list.")


async def current_of(session: AsyncSession, event: CommunityEvent) -> tuple[EventOccurrence, Gathering]:
    occurrence = await _repository.current_occurrence(session, event.id)
    if occurrence is None:
        raise NotFound(f"“{event.title}” has no upcoming occurrence; it is over or cancelled.")
    gathering = await _repository.gathering_of(session, occurrence.id)
    assert gathering is not None
    return occurrence, gathering


# -- running an occurrence ---------------------------------------------------------------------------------------


async def _load(session: AsyncSession, occurrence_id: int) -> tuple[CommunityEvent, EventOccurrence, Gathering] | None:
    occurrence = await session.get(EventOccurrence, occurrence_id)
    if occurrence is None:
        return None
    event = await session.get(CommunityEvent, occurrence.event_id)
    gathering = await _repository.gathering_of(session, occurrence.id)
    if event is None or gathering is None:
        return None
    return event, occurrence, gathering


async def on_start(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """The start: the native event goes live and the start post goes up (once)."""
    async with bot.sessionmaker.begin() as session:
        loaded = await _load(session, int(ctx.payload["occurrence_id"]))
        if loaded is None:
            return {"skipped": "gone"}
        event, occurrence, gathering = loaded
        if occurrence.status in (OccurrenceStatus.CANCELLED, OccurrenceStatus.ENDED):
            return {"skipped": occurrence.status}
        if utcnow() >= occurrence.ends_at:
            return {"skipped": "already over"}
        occurrence.status = OccurrenceStatus.ACTIVE
        gathering.native_status = NativeStatus.ACTIVE
        await cards.request_card_refresh(bot, session, gathering, now=True)
    if gathering.native_event_id is not None:
        await native.set_native_status(bot, event.guild_id, gathering.native_event_id, NativeStatus.ACTIVE)
    channel = await cards.card_channel(bot, gathering)
    if channel is None:
        return {"skipped": "no channel"}
    ping, mentions = _ping(event)
    message = await send_once(
        channel, ctx, "start", content=start_post(event, occurrence, ping, late=ctx.late), allowed_mentions=mentions
    )
    return {"message_id": message.id}


async def on_end(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """The end: the native event is completed, the card says so, and the series rolls on to its next occurrence."""
    async with bot.sessionmaker.begin() as session:
        loaded = await _load(session, int(ctx.payload["occurrence_id"]))
        if loaded is None:
            return {"skipped": "gone"}
        event, occurrence, gathering = loaded
        if occurrence.status != OccurrenceStatus.CANCELLED:
            occurrence.status = OccurrenceStatus.ENDED
            gathering.native_status = NativeStatus.COMPLETED
            await cards.request_card_refresh(bot, session, gathering, now=True)
    if gathering.native_event_id is not None:
        await native.set_native_status(bot, event.guild_id, gathering.native_event_id, NativeStatus.COMPLETED)
    return await roll_forward(bot, event.id, after=occurrence, ctx=ctx)


async def roll_forward(
    bot: LabelBot, event_id: int, *, after: EventOccurrence, ctx: JobContext | None
) -> dict[str, Any] | None:
    """Bring up the series' next occurrence after `after`, if there is one (and none is up already)."""
    # Asked before any transaction: SQLite has one connection, and this reads in a session of its own.
    reuse = await _reusable_native(bot, after.guild_id, after)
    async with bot.sessionmaker.begin() as session:
        event = await session.get(CommunityEvent, event_id)
        if event is None or event.cancelled:
            return {"next": None}
        guild = bot.get_guild(event.guild_id)
        if guild is None:
            return {"skipped": "server gone"}
        rule = rule_of(event)
        if rule is None:
            return {"next": None}
        open_now = await _repository.current_occurrence(session, event.id)
        if open_now is not None and open_now.id != after.id:
            return {"next": open_now.id}
        # Skip slots whose moment passed while the bot was away.
        slot = _recurrence.next_after(rule, max(after.slot_at, utcnow()))
        if slot is None:
            return {"next": None, "series": "over"}
        occurrence = await _repository.occurrence_at(session, event.id, slot)
        if occurrence is None:
            occurrence = new_occurrence(event, slot, after.number + 1)
            session.add(occurrence)
            await session.flush()
        gathering = await _repository.gathering_of(session, occurrence.id)
        if gathering is None:
            gathering = new_gathering(event, occurrence)
            session.add(gathering)
            await session.flush()
        content = await card_content(bot, session, event, occurrence, gathering)
    # The rows are committed first, so the card's buttons name a gathering that exists; a failure below is
    # retried by the job (each step reusing what it already made), or, from a command, undone here.
    done = SideEffects()
    try:
        await mirror(bot, guild, event, occurrence, content, done, ctx=ctx, reuse_native=reuse)
        async with bot.sessionmaker.begin() as session:
            occurrence = await session.get(EventOccurrence, occurrence.id) or occurrence
            gathering = await _repository.gathering_of(session, occurrence.id) or gathering
            await attach(bot, session, event, occurrence, gathering, done)
    except BaseException:
        if ctx is None:
            await done.undo(bot, guild.id)
            async with bot.sessionmaker.begin() as session:
                stale = await session.get(EventOccurrence, occurrence.id)
                if stale is not None:
                    stale.status = OccurrenceStatus.CANCELLED
        raise
    return {"next": occurrence.id}


async def _reusable_native(bot: LabelBot, guild_id: int, after: EventOccurrence) -> int | None:
    """Discord moves a recurring native event on to its next occurrence itself; then the bot reuses it."""
    async with bot.sessionmaker() as session:
        previous = await _repository.gathering_of(session, after.id)
    if previous is None or previous.native_event_id is None:
        return None
    status = await native.native_status(bot, guild_id, previous.native_event_id)
    return previous.native_event_id if status == NativeStatus.SCHEDULED and after.status != "cancelled" else None


# -- edit --------------------------------------------------------------------------------------------------------


async def edit_event(
    bot: LabelBot,
    guild: discord.Guild,
    actor: discord.Member,
    event_id: int,
    changes: Changes,
    *,
    series: bool,
) -> tuple[CommunityEvent, EventOccurrence]:
    """Change this occurrence only, or the series (and its current occurrence); tell those who answered."""
    async with bot.sessionmaker.begin() as session:
        event = await _repository.get_event(session, guild.id, event_id)
        if event is None or event.cancelled:
            raise NotFound("There's no such event here (or it was cancelled).")
        await require_organiser(bot, session, actor, event)
        occurrence, gathering = await current_of(session, event)
        if occurrence.status == OccurrenceStatus.ACTIVE and changes.starts_at is not None:
            raise InvalidInput("This occurrence is happening now, so its start can't move; edit the series instead.")
        before = {**_audit_values(event), "occurrence": occurrence.number}
        duration = changes.duration or timedelta(seconds=event.duration_seconds)
        check_duration(duration, PlaceKind(event.place_kind))
        if not changes.clear_capacity:
            check_capacity(changes.capacity)
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
            rule = rule_of(event)
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
        gathering.title = occurrence_title(event, occurrence)
        gathering.starts_at = occurrence.starts_at
        gathering.ends_at = occurrence.ends_at
        await session.flush()
        promoted = await rsvp.fill_from_waitlist(session, gathering)

        await bot.jobs.cancel_prefix(session, f"{job_prefix(occurrence)}remind:")
        await schedule_occurrence_jobs(bot, session, event, occurrence, gathering)
        await cards.request_card_refresh(bot, session, gathering, now=True)
        title = discord.utils.escape_mentions(gathering.title)
        if moved:
            await fanout.schedule_notice(
                bot,
                session,
                gathering,
                name=f"edit:{utcnow().timestamp():.0f}",
                text=f"📅 **{title}** moved: it now starts <t:{int(starts_at.timestamp())}:F> "
                f"(<t:{int(starts_at.timestamp())}:R>).",
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
        rule = rule_of(event)
        native_edit: dict[str, Any] = {
            "name": gathering.title,
            "description": occurrence_description(event, occurrence),
            "starts_at": occurrence.starts_at if occurrence.status == OccurrenceStatus.SCHEDULED else None,
            "ends_at": occurrence.ends_at,
            "recurrence_rule": _recurrence.discord_rule(rule, occurrence.starts_at) if rule and series else None,
        }
        await record(
            bot,
            session,
            guild_id=guild.id,
            actor_id=actor.id,
            action="event.edit" if series else "event.edit_occurrence",
            target=gathering.title,
            before=before,
            after={**_audit_values(event), "occurrence": occurrence.number},
        )
    # Discord's copy follows once the edit is committed: no transaction waits on Discord.
    if gathering.native_event_id is not None:
        await native.edit_native_event(bot, guild.id, gathering.native_event_id, **native_edit)
    return event, occurrence


# -- cancel ------------------------------------------------------------------------------------------------------


async def cancel_event(
    bot: LabelBot, guild: discord.Guild, actor: discord.Member, event_id: int, *, series: bool
) -> tuple[CommunityEvent, EventOccurrence]:
    """Cancel this occurrence (the series rolls on) or the whole series; those who answered are told."""
    async with bot.sessionmaker.begin() as session:
        event = await _repository.get_event(session, guild.id, event_id)
        if event is None or event.cancelled:
            raise NotFound("There's no such event here (or it was already cancelled).")
        await require_organiser(bot, session, actor, event)
        occurrence, gathering = await current_of(session, event)
        now = utcnow()
        occurrence.status = OccurrenceStatus.CANCELLED
        gathering.cancelled_at = now
        gathering.native_status = NativeStatus.CANCELLED
        if series:
            event.cancelled_at = now
        await bot.jobs.cancel_prefix(session, job_prefix(occurrence))
        title = discord.utils.escape_mentions(gathering.title)
        await fanout.schedule_notice(
            bot,
            session,
            gathering,
            name="cancelled",
            text=f"❌ **{title}** on <t:{int(occurrence.starts_at.timestamp())}:F> is cancelled"
            + (" (the whole series)." if series or event.recurrence is None else "; the series goes on."),
        )
        await cards.request_card_refresh(bot, session, gathering, now=True)
        await record(
            bot,
            session,
            guild_id=guild.id,
            actor_id=actor.id,
            action="event.cancel" if series else "event.cancel_occurrence",
            target=gathering.title,
            before={"occurrence": occurrence.number, "starts": occurrence.starts_at.isoformat()},
            after={"cancelled": "series" if series else "occurrence"},
        )
    if gathering.native_event_id is not None:
        await native.set_native_status(bot, guild.id, gathering.native_event_id, NativeStatus.CANCELLED)
    if not series and event.recurrence is not None:
        await roll_forward(bot, event.id, after=occurrence, ctx=None)
    return event, occurrence


# -- attendees and the calendar -----------------------------------------------------------------------------------


async def attendees_csv(session: AsyncSession, guild: discord.Guild, gathering: Gathering) -> bytes:
    """Who answered what, one row per member, for moderators."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["user_id", "name", "answer", "waitlisted", "waitlist_position", "dm_reminders", "answered_at"])
    position = 0
    for answer in await rsvp.all_answers(session, gathering.id):
        member = guild.get_member(answer.user_id)
        if answer.waitlisted:
            position += 1
        # Display names are chosen by members: none of them may run as a formula in the moderator's spreadsheet.
        writer.writerow(
            [
                answer.user_id,
                spreadsheet_cell(member.display_name) if member is not None else "",
                answer.answer,
                "yes" if answer.waitlisted else "no",
                position if answer.waitlisted else "",
                "yes" if answer.wants_dm else "no",
                answer.answered_at.isoformat(),
            ]
        )
    return buffer.getvalue().encode()


async def calendar_entries(session: AsyncSession, guild_id: int, since: datetime) -> list[CalendarEntry]:
    """The server's events for the calendar feed: a repeating series as one RRULE entry, changed ones apart."""
    entries: list[CalendarEntry] = []
    by_event: dict[int, list[EventOccurrence]] = {}
    for occurrence in await _repository.occurrences_for_guild(session, guild_id):
        by_event.setdefault(occurrence.event_id, []).append(occurrence)
    for event in await _repository.series_for_calendar(session, guild_id):
        occurrences = sorted(by_event.get(event.id, []), key=lambda o: o.slot_at)
        rule = rule_of(event)
        final = _recurrence.last(rule) if rule is not None else event.anchor_at
        if final is not None and final + timedelta(seconds=event.duration_seconds) < since:
            continue
        location = event.location or ""
        if rule is None:
            for occurrence in occurrences:
                entries.append(_entry(event, occurrence, f"event-{event.id}@labelbot", location))
            continue
        exdates: list[datetime] = []
        for occurrence in occurrences:
            if occurrence.slot_at < event.anchor_at:
                # Before the series was re-timed: no longer on the rule, so listed on its own.
                entries.append(_entry(event, occurrence, f"event-{event.id}-{occurrence.id}@labelbot", location))
            elif occurrence.status == OccurrenceStatus.CANCELLED:
                exdates.append(occurrence.slot_at)
            elif occurrence.detached:
                exdates.append(occurrence.slot_at)
                entries.append(_entry(event, occurrence, f"event-{event.id}-{occurrence.id}@labelbot", location))
        entries.append(
            CalendarEntry(
                uid=f"event-{event.id}@labelbot",
                kind="event",
                title=event.title,
                starts_at=event.anchor_at,
                ends_at=event.anchor_at + timedelta(seconds=event.duration_seconds),
                zone=event.zone,
                description=event.description,
                location=location,
                rrule=_recurrence.rrule_text(rule),
                exdates=tuple(exdates),
                cancelled=event.cancelled,
                updated_at=event.updated_at,
            )
        )
    return entries


def _entry(event: CommunityEvent, occurrence: EventOccurrence, uid: str, location: str) -> CalendarEntry:
    return CalendarEntry(
        uid=uid,
        kind="event",
        title=occurrence_title(event, occurrence),
        starts_at=occurrence.starts_at,
        ends_at=occurrence.ends_at,
        zone=event.zone,
        description=occurrence_description(event, occurrence),
        location=location,
        cancelled=occurrence.status == OccurrenceStatus.CANCELLED or event.cancelled,
        updated_at=occurrence.updated_at,
    )
