"""How events look: the card, the start post, reminders, list lines and the info embed."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.features.events import _recurrence
from labelbot.features.events._views import card_view
from labelbot.gatherings import rsvp
from labelbot.gatherings.feature import CardContent
from labelbot.gatherings.models import Gathering, GatheringRsvp
from labelbot.guilds.models import DEFAULT_REMINDER_OFFSETS_MINUTES
from labelbot.models.events import CommunityEvent, EventOccurrence, OccurrenceStatus, PlaceKind, Recurrence
from labelbot.registry import SettingDefault
from labelbot.spreadsheet import spreadsheet_cell
from labelbot.text import clip
from labelbot.timeparse import format_dt

if TYPE_CHECKING:
    from labelbot.client import LabelBot

COLOURS = {
    OccurrenceStatus.SCHEDULED: discord.Colour.blurple(),
    OccurrenceStatus.ACTIVE: discord.Colour.green(),
    OccurrenceStatus.ENDED: discord.Colour.dark_grey(),
    OccurrenceStatus.CANCELLED: discord.Colour.red(),
}
FIELD_MAX = 1024


def where(event: CommunityEvent) -> str:
    if event.place_kind in (PlaceKind.STAGE, PlaceKind.VOICE) and event.place_channel_id:
        return f"<#{event.place_channel_id}>"
    if event.location:
        return discord.utils.escape_mentions(event.location)
    return f"<#{event.card_channel_id}>"


def repeats(event: CommunityEvent) -> str | None:
    if event.recurrence is None:
        return None
    rule = _recurrence.Rule(Recurrence(event.recurrence), event.anchor_at, event.zone, event.until, event.count)
    return _recurrence.describe(rule)


def length(seconds: int) -> str:
    minutes = seconds // 60
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def count_line(counts: rsvp.Counts, capacity: int | None) -> str:
    going = f"{counts.going}/{capacity}" if capacity is not None else str(counts.going)
    parts = [f"✅ Going **{going}**"]
    if counts.waitlisted:
        parts.append(f"⏳ Waitlist **{counts.waitlisted}**")
    parts.append(f"🤔 Maybe **{counts.maybe}**")
    return " · ".join(parts)


async def card_content(
    bot: LabelBot, session: AsyncSession, event: CommunityEvent, occurrence: EventOccurrence, gathering: Gathering
) -> CardContent:
    """The card of one occurrence, with the live count."""
    status = OccurrenceStatus(occurrence.status)
    title = occurrence.title or event.title
    description = occurrence.description if occurrence.description is not None else event.description
    prefix = {OccurrenceStatus.CANCELLED: "Cancelled: ", OccurrenceStatus.ENDED: "Ended: "}.get(status, "")
    embed = discord.Embed(
        title=clip(prefix + title, 256), description=clip(description, 4000) or None, colour=COLOURS[status]
    )
    when = f"{format_dt(occurrence.starts_at, 'F')} ({format_dt(occurrence.starts_at, 'R')})"
    if status == OccurrenceStatus.ACTIVE:
        when = f"Happening now, until {format_dt(occurrence.ends_at, 't')}"
    embed.add_field(name="When", value=when, inline=False)
    embed.add_field(name="Length", value=length(int((occurrence.ends_at - occurrence.starts_at).total_seconds())))
    embed.add_field(name="Where", value=clip(where(event), FIELD_MAX))
    described = repeats(event)
    if described:
        embed.add_field(name="Repeats", value=clip(described, FIELD_MAX))
    counts = await rsvp.counts(session, gathering.id)
    embed.add_field(name="Answers", value=count_line(counts, gathering.capacity), inline=False)
    if occurrence.thread_id:
        embed.add_field(name="Talk about it", value=f"<#{occurrence.thread_id}>")
    embed.set_footer(text=f"Event #{event.id} · occurrence {occurrence.number}")
    open_for_answers = status in (OccurrenceStatus.SCHEDULED, OccurrenceStatus.ACTIVE)
    return CardContent(embed=embed, view=card_view(gathering.id, open_for_answers=open_for_answers))


async def render_card(bot: LabelBot, session: AsyncSession, gathering: Gathering) -> CardContent | None:
    """The card as the shared card-refresh job asks for it."""
    occurrence = await session.get(EventOccurrence, gathering.ref_id)
    if occurrence is None:
        return None
    event = await session.get(CommunityEvent, occurrence.event_id)
    if event is None:
        return None
    return await card_content(bot, session, event, occurrence, gathering)


def reminder_text(gathering: Gathering, seconds: int) -> str:
    title = discord.utils.escape_mentions(gathering.title)
    return f"⏰ **{title}** starts {format_dt(gathering.starts_at, 'R')} ({format_dt(gathering.starts_at, 'F')})."


def start_post(event: CommunityEvent, occurrence: EventOccurrence, ping: str, *, late: bool) -> str:
    title = discord.utils.escape_mentions(occurrence.title or event.title)
    text = f"🎉 **{title}** is starting now in {where(event)}!"
    if occurrence.thread_id:
        text += f" Chat in <#{occurrence.thread_id}>."
    if late:
        text += " (Posted late: I was offline at the start.)"
    return f"{ping} {text}".strip()[:2000]


def list_line(event: CommunityEvent, occurrence: EventOccurrence, going: int, capacity: int | None) -> str:
    title = discord.utils.escape_markdown(occurrence.title or event.title)
    seats = f"{going}/{capacity}" if capacity is not None else str(going)
    line = (
        f"`#{event.id}` **{title}** · {format_dt(occurrence.starts_at, 'F')} ({format_dt(occurrence.starts_at, 'R')})"
    )
    line += f" · going {seats}"
    if event.recurrence:
        line += " · 🔁"
    return line


def info_embed(
    event: CommunityEvent,
    occurrence: EventOccurrence | None,
    counts: rsvp.Counts | None,
    capacity: int | None,
    upcoming: list[datetime],
) -> discord.Embed:
    embed = discord.Embed(
        title=clip(("Cancelled: " if event.cancelled else "") + event.title, 256),
        description=clip(event.description, 4000) or None,
        colour=discord.Colour.red() if event.cancelled else discord.Colour.blurple(),
    )
    if occurrence is not None:
        embed.add_field(
            name="Next" if occurrence.status == OccurrenceStatus.SCHEDULED else "Now",
            value=f"{format_dt(occurrence.starts_at, 'F')} ({format_dt(occurrence.starts_at, 'R')})",
            inline=False,
        )
    else:
        embed.add_field(name="Next", value="Nothing coming: the event is over or cancelled.", inline=False)
    embed.add_field(name="Length", value=length(event.duration_seconds))
    embed.add_field(name="Where", value=clip(where(event), FIELD_MAX))
    embed.add_field(name="Capacity", value=str(capacity) if capacity is not None else "no limit")
    described = repeats(event)
    if described:
        embed.add_field(name="Repeats", value=clip(described, FIELD_MAX), inline=False)
    if len(upcoming) > 1:
        embed.add_field(
            name="Then", value=clip("\n".join(format_dt(moment, "F") for moment in upcoming[1:6]), FIELD_MAX)
        )
    if counts is not None:
        embed.add_field(name="Answers", value=count_line(counts, capacity), inline=False)
    embed.add_field(name="Organiser", value=f"<@{event.created_by}>")
    embed.set_footer(text=f"Event #{event.id} · times in your own time zone")
    return embed


def upcoming_starts(event: CommunityEvent, after: datetime, limit: int = 6) -> list[datetime]:
    if event.recurrence is None:
        return [event.anchor_at]
    rule = _recurrence.Rule(Recurrence(event.recurrence), event.anchor_at, event.zone, event.until, event.count)
    found: list[datetime] = []
    moment: datetime | None = after - timedelta(seconds=1)
    while moment is not None and len(found) < limit:
        moment = _recurrence.next_after(rule, moment)
        if moment is not None:
            found.append(moment)
    return found


# How the event actions read in the mod log and /settings audit.
AUDIT_TITLES = {
    "event.create": "Event created",
    "event.edit": "Event series edited",
    "event.edit_occurrence": "Event occurrence edited",
    "event.cancel": "Event series cancelled",
    "event.cancel_occurrence": "Event occurrence cancelled",
}


def attendees_csv(answers: Sequence[GatheringRsvp], names: Mapping[int, str]) -> bytes:
    """Who answered what, one row per member, for moderators; a member who left has no name."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["user_id", "name", "answer", "waitlisted", "waitlist_position", "dm_reminders", "answered_at"])
    position = 0
    for answer in answers:
        if answer.waitlisted:
            position += 1
        # Display names are chosen by members: none of them may run as a formula in the moderator's spreadsheet.
        writer.writerow(
            [
                answer.user_id,
                spreadsheet_cell(names.get(answer.user_id, "")),
                answer.answer,
                "yes" if answer.waitlisted else "no",
                position if answer.waitlisted else "",
                "yes" if answer.wants_dm else "no",
                answer.answered_at.isoformat(),
            ]
        )
    return buffer.getvalue().encode()


# This feature's own server settings and what a new server starts with (registered in cog_load).
SETTING_DEFAULTS = (
    SettingDefault("artists_create_events", False, "Artists may create events"),
    SettingDefault(
        "reminder_offsets_minutes", list(DEFAULT_REMINDER_OFFSETS_MINUTES), "Event reminders (minutes before)"
    ),
)
