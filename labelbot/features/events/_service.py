"""Community events' rules and state changes: who may organise, an occurrence's rows, its Discord side, finding,
the attendee list and the calendar (the caller owns the unit of work).

Each occurrence is a shared `Gathering` (labelbot/gatherings): RSVPs, capacity and waitlist, reminders, card refreshes
and the native event mirror are the same code listening parties use. The bot holds one occurrence of a series at
a time; when it ends (or is cancelled) the bot rolls the series forward to the next one itself, as a job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.calendar import CalendarEntry
from labelbot.errors import BotLacksPermissions, InvalidInput, NotAllowed, NotFound
from labelbot.features.events import _recurrence, _repository
from labelbot.features.events._parsing import Place
from labelbot.gatherings import fanout, lifecycle, native
from labelbot.gatherings.feature import CardContent
from labelbot.gatherings.models import Gathering, NativeStatus
from labelbot.guilds.service import peek_guild_settings
from labelbot.jobs import JobContext
from labelbot.jobs.sending import send_once
from labelbot.models.events import (
    CommunityEvent,
    EventOccurrence,
    OccurrenceStatus,
    PlaceKind,
    Recurrence,
)

if TYPE_CHECKING:
    from labelbot.client import LabelBot
    from labelbot.context import MemberContext


KIND = _repository.KIND
START_JOB = "event.start"
END_JOB = "event.end"


@dataclass
class SideEffects(lifecycle.Mirror):
    """What was made on Discord while bringing an occurrence up (the shared undo), and its thread's id."""

    thread_id: int | None = None


def rule_of(event: CommunityEvent) -> _recurrence.Rule | None:
    if event.recurrence is None:
        return None
    return _recurrence.Rule(Recurrence(event.recurrence), event.anchor_at, event.zone, event.until, event.count)


def require_creator(context: MemberContext) -> bool:
    """Moderators may create events; artists too when the server allows it. Return whether a moderator."""
    if context.is_moderator:
        return True
    settings = context.settings
    artist_role = settings.artist_role_id
    is_artist = (artist_role is not None and any(r.id == artist_role for r in context.member.roles)) or bool(
        context.managed_artist_ids
    )
    if is_artist and settings.artists_create_events:
        return False
    if is_artist:
        raise NotAllowed("Only moderators can create events here; a moderator can let artists with the events toggle.")
    raise NotAllowed("Only moderators (and artists, if the server allows it) can create events.")


def require_organiser(context: MemberContext, event: CommunityEvent) -> None:
    """Moderators may change any event; its creator may change their own."""
    if context.is_moderator or context.user_id == event.created_by:
        return
    raise NotAllowed("Only moderators and the event's creator can change it.")


async def check_ping_role(session: AsyncSession, context: MemberContext, role: discord.Role) -> None:
    """Nobody makes the bot ping @everyone; an artist may ping only the fan role of an artist they manage."""
    if role.is_default():
        raise InvalidInput("I won't ping @everyone for an event; pick a role members opted in to.")
    if context.is_moderator:
        return
    fan_roles = await _repository.fan_roles_of(session, context.managed_artist_ids)
    if role.id not in fan_roles:
        raise NotAllowed(f"You can ping only the fan role of an artist you manage, not {role.mention}.")


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


def ping_of(event: CommunityEvent) -> tuple[str, discord.AllowedMentions]:
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

    ping, mentions = ping_of(event)
    # An event's card is an embed with its buttons (parties' cards are Components V2 layouts).
    assert content.embed is not None
    assert isinstance(content.view, discord.ui.View)
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


async def discard_rows(session: AsyncSession, gathering: Gathering) -> None:
    """An occurrence whose bringing-up never finished goes; the first one takes its series with it."""
    occurrence = await session.get(EventOccurrence, gathering.ref_id)
    if occurrence is None:
        return
    if occurrence.number == 1:
        await session.execute(delete(CommunityEvent).where(CommunityEvent.id == occurrence.event_id))
    else:
        await session.execute(delete(EventOccurrence).where(EventOccurrence.id == occurrence.id))


def audit_values(event: CommunityEvent) -> dict[str, Any]:
    return {
        "title": event.title,
        "starts": event.anchor_at.isoformat(),
        "minutes": event.duration_seconds // 60,
        "capacity": event.capacity,
        "repeats": event.recurrence,
        "place_channel_id": event.place_channel_id,
        "ping_role_id": event.ping_role_id,
    }


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


async def load(session: AsyncSession, occurrence_id: int) -> tuple[CommunityEvent, EventOccurrence, Gathering] | None:
    occurrence = await session.get(EventOccurrence, occurrence_id)
    if occurrence is None:
        return None
    event = await session.get(CommunityEvent, occurrence.event_id)
    gathering = await _repository.gathering_of(session, occurrence.id)
    if event is None or gathering is None:
        return None
    return event, occurrence, gathering


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
                # An override of its slot in the series (RECURRENCE-ID), so calendar apps show one changed meeting.
                changed = _entry(event, occurrence, f"event-{event.id}@labelbot", location)
                entries.append(replace(changed, recurrence_id=occurrence.slot_at))
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
