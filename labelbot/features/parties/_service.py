"""Listening-party rules: reading what members type, scheduling, changes, answers and attendance."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists.models import Artist
from labelbot.artists.service import reload_artist
from labelbot.audit.service import record
from labelbot.catalog.models import Release
from labelbot.catalog.queries import get_release
from labelbot.context import MemberContext, member_context
from labelbot.db import batch
from labelbot.db.base import utcnow
from labelbot.errors import BotLacksPermissions, Conflict, InvalidInput, NotFound
from labelbot.features.parties import _repository as repository
from labelbot.features.parties._render import mmss
from labelbot.gatherings import fanout, lifecycle, native, rsvp
from labelbot.gatherings.cards import request_card_refresh
from labelbot.gatherings.models import Answer, Gathering, NativeStatus
from labelbot.guilds.service import peek_guild_settings
from labelbot.interactions import guild_of
from labelbot.jobs import JobStatus, ScheduledJob
from labelbot.models.parties import (
    CLOSING_NOTE_MAX,
    DESCRIPTION_MAX,
    NOTE_MAX,
    TITLE_MAX,
    ListeningParty,
    PartyStatus,
)
from labelbot.text import clip, plain
from labelbot.timeparse import TimeParseError, format_dt, parse_duration, parse_when, parse_zone

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)

KIND = "party"
CAPACITY_MAX = 10_000
TRACKS_MAX = 60
TRACK_TITLE_MAX = 100
PARTY_LENGTH_MAX = timedelta(hours=12)
# Discord refuses a native event starting in the past; a few seconds ahead leaves room to create it.
MIN_LEAD = timedelta(seconds=5)
COUNTDOWN_AHEAD = timedelta(minutes=1)
COUNTDOWN_MIN_LEAD = timedelta(seconds=4)
# Job kinds of the party's own timeline (the shared card/notice/remind jobs are "party.card" and so on).
COUNTDOWN_JOB = "party.countdown"
START_JOB = "party.start"
TRACK_JOB = "party.track"
END_JOB = "party.end"
NATIVE_JOB = "party.native"
# "Remind me by DM" pressed when no reminder is left before the start: the DM goes out at the start instead.
START_DM_JOB = "party.start_dm"
# The bot may not set the voice channel's status (or open the stage): the host is told once, and no track tries again.
VOICE_REFUSED_JOB = "party.voice_refused"
# A live party cancelled: its voice channel's status is cleared and the stage it opened is closed.
CLEANUP_JOB = "party.cleanup"
# Discord's stage topic limit (https://discord.com/developers/docs/resources/stage-instance).
STAGE_TOPIC_MAX = 120

# "Title - 3:45", "Title (3:45)", "Title 3m20s", "Title — 45s"
_TRACK_LINE = re.compile(
    r"^(?:\d{1,3}[.)]\s+)?(?P<title>.+?)\s*[-–—:(\[]?\s*"
    r"(?P<duration>\d{1,2}:\d{2}(?::\d{2})?|\d+(?:\.\d+)?\s*(?:h|hours?|m|mins?|minutes?|s|secs?|seconds?)"
    r"(?:\s*\d+\s*(?:m|mins?|minutes?|s|secs?|seconds?))*)\s*[)\]]?$",
    re.IGNORECASE,
)
_NUMBERED_NOTE = re.compile(r"^\s*(?P<index>\d{1,3})\s*[.:)\-]\s*(?P<note>.*)$")


@dataclass(frozen=True)
class Track:
    title: str
    seconds: int
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "seconds": self.seconds, "note": self.note}


@dataclass
class PartyDraft:
    """A party as the member described it, read and checked, not yet created."""

    guild_id: int
    host_id: int
    title: str
    starts_at: datetime
    zone: str
    tracks: list[Track]
    text_channel: discord.TextChannel
    voice_channel: discord.StageChannel | discord.VoiceChannel | None = None
    capacity: int | None = None
    description: str | None = None
    closing_note: str | None = None
    reminder_offsets: list[int] | None = None
    release_id: int | None = None
    artist_id: int | None = None
    artist_name: str | None = None
    # The past party this one replays (/party replay).
    replay_of: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# -- reading input ------------------------------------------------------------------------------------------


def clean_text(text: str | None, limit: int, what: str) -> str | None:
    """Strip and check a member-written text; refuse it when too long (never silently cut)."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if len(text) > limit:
        raise InvalidInput(f"The {what} can be at most {limit} characters; yours has {len(text)}.")
    return text


def parse_tracklist(text: str) -> list[Track]:
    """Read "Title - 3:45" lines (or `|`/`;`-separated) into tracks; refuse any line without a readable duration."""
    lines = [line.strip() for line in re.split(r"[\n|;]", text) if line.strip()]
    if not lines:
        raise InvalidInput('The tracklist is empty; write one track per line, like "Intro - 1:30".')
    if len(lines) > TRACKS_MAX:
        raise InvalidInput(f"A party can play at most {TRACKS_MAX} tracks; the tracklist has {len(lines)}.")
    tracks = []
    for number, line in enumerate(lines, start=1):
        match = _TRACK_LINE.match(line)
        shown = plain(line[:60])
        if match is None:
            raise InvalidInput(
                f"I can't read a duration in track {number} (“{shown}”); write it like “Song title - 3:45”."
            )
        try:
            duration = track_duration(match.group("duration"))
        except TimeParseError:
            raise InvalidInput(
                f"I can't read the duration of track {number} (“{shown}”); write it like “Song title - 3:45”."
            ) from None
        title = match.group("title").strip(" -–—:([")
        if not title:
            raise InvalidInput(f"Track {number} (“{shown}”) has no title.")
        if len(title) > TRACK_TITLE_MAX:
            raise InvalidInput(f"Track {number}'s title is longer than {TRACK_TITLE_MAX} characters.")
        seconds = round(duration.total_seconds())
        if seconds < 1:
            raise InvalidInput(f"Track {number} (“{shown}”) has to last at least a second.")
        tracks.append(Track(title=title, seconds=seconds))
    if sum(track.seconds for track in tracks) > PARTY_LENGTH_MAX.total_seconds():
        raise InvalidInput("A listening party can last at most 12 hours; the tracklist is longer than that.")
    return tracks


def track_duration(text: str) -> timedelta:
    """A track's length: "3:45" is minutes and seconds (as on every tracklist), "1:02:03" adds hours."""
    if ":" in text:
        parts = [int(part) for part in text.split(":")]
        hours, minutes, seconds = ([0, *parts] if len(parts) == 2 else parts)[-3:]
        if seconds >= 60 or (len(parts) == 3 and minutes >= 60):
            raise TimeParseError(f"“{text}” is not a track length.")
        return timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return parse_duration(text)


def attach_notes(tracks: list[Track], notes: str | None) -> list[Track]:
    """Give each track the artist's note: one line per track in order, or lines starting with the track number."""
    if not notes or not notes.strip():
        return tracks
    lines = [line for line in notes.splitlines() if line.strip()]
    by_index: dict[int, str] = {}
    numbered = all(_NUMBERED_NOTE.match(line) for line in lines)
    for position, line in enumerate(lines):
        if numbered:
            match = _NUMBERED_NOTE.match(line)
            assert match is not None
            index, note = int(match.group("index")) - 1, match.group("note").strip()
        else:
            index, note = position, line.strip()
        if not 0 <= index < len(tracks):
            raise InvalidInput(f"There's a note for track {index + 1}, but the tracklist has {len(tracks)} tracks.")
        if len(note) > NOTE_MAX:
            raise InvalidInput(f"The note for track {index + 1} can be at most {NOTE_MAX} characters.")
        by_index[index] = note
    return [Track(t.title, t.seconds, by_index.get(i) or t.note) for i, t in enumerate(tracks)]


def parse_capacity(capacity: int | None) -> int | None:
    if capacity is None:
        return None
    if capacity < 0 or capacity > CAPACITY_MAX:
        raise InvalidInput(f"Capacity has to be between 0 and {CAPACITY_MAX:,} (leave it out for no limit).")
    return capacity


def parse_offsets(text: str | None) -> list[int] | None:
    """Read reminder times like "24h, 1h, 10m" into seconds before the start; "none" turns reminders off."""
    if text is None or not text.strip():
        return None
    if text.strip().lower() in {"none", "off", "no"}:
        return []
    seconds = []
    for part in re.split(r"[,;]", text):
        if not part.strip():
            continue
        duration = parse_duration(part)
        if duration > timedelta(days=14):
            raise InvalidInput("Reminders can be at most 14 days before the start.")
        seconds.append(max(1, round(duration.total_seconds())))
    if len(seconds) > 5:
        raise InvalidInput("A party can have at most 5 reminders.")
    return sorted(set(seconds), reverse=True)


def check_text_channel(channel: discord.abc.GuildChannel | None) -> discord.TextChannel:
    """The channel where the card and the party's posts go; the bot must be able to post and open threads."""
    if not isinstance(channel, discord.TextChannel):
        raise InvalidInput("Set a parties channel first (/settings channel parties), or run this in a text channel.")
    me = channel.guild.me
    permissions = channel.permissions_for(me)
    missing = [
        name.replace("_", " ")
        for name in (
            "view_channel",
            "send_messages",
            "embed_links",
            "create_public_threads",
            "send_messages_in_threads",
        )
        if not getattr(permissions, name)
    ]
    if missing:
        raise BotLacksPermissions(f"I need {', '.join(missing)} in {channel.mention} to run parties there.")
    return channel


def native_place(
    draft_voice: discord.StageChannel | discord.VoiceChannel | None, text: discord.TextChannel
) -> native.NativePlace:
    if draft_voice is not None:
        return native.NativePlace(channel=draft_voice)
    return native.NativePlace(location=f"#{text.name} ({text.jump_url})")


def native_description(party: ListeningParty) -> str:
    lines = [party.description or "A listening party: everybody presses play together."]
    lines.append("")
    lines.extend(f"{i}. {t['title']}" for i, t in enumerate(party.tracks, start=1))
    return clip("\n".join(lines), native.DESCRIPTION_MAX)


# -- reading what /party schedule was given --------------------------------------------------------------------


@dataclass
class ScheduleRequest:
    """What /party schedule was given, kept while the member fills in the form."""

    title: str | None
    release: str | None
    start: str
    tracklist: str | None
    artist: Artist | None
    channel: discord.StageChannel | discord.VoiceChannel | None
    capacity: int | None
    description: str | None
    reminders: str | None
    zone: str | None


async def precheck(
    interaction: discord.Interaction[LabelBot], session: AsyncSession, request: ScheduleRequest
) -> tuple[str, str | None]:
    """Refuse early what the form would not fix; return the title to show and the release's tracklist."""
    guild = guild_of(interaction)
    context = await member_context(interaction, session)
    zone = parse_zone(request.zone) if request.zone else context.zone
    parse_when(request.start, zone=zone, earliest=MIN_LEAD)
    parse_capacity(request.capacity)
    parse_offsets(request.reminders)
    release = await _release(session, guild.id, request.release) if request.release else None
    _authorize(context, release.artist if release else request.artist)
    release_tracks = None
    if release is not None and release.tracks and all(t.duration_seconds for t in release.tracks):
        release_tracks = "\n".join(
            f"{t.title} - {mmss(int(t.duration_seconds or 0))}"
            for t in sorted(release.tracks, key=lambda t: t.position)
        )
    title = request.title or (release.title if release else None)
    if not title:
        raise InvalidInput("Give the party a title, or pick a release to play.")
    return title, release_tracks


async def _release(session: AsyncSession, guild_id: int, value: str) -> Release:
    release = await get_release(session, int(value), guild_id) if value.isdigit() else None
    if release is None:
        raise NotFound("There is no such release in this server; pick one from the list.")
    return release


def _authorize(context: MemberContext, artist: Artist | None) -> None:
    """Artists schedule for themselves, moderators for anyone; a party with no artist is a moderator's."""
    if artist is None:
        context.require_moderator()
    else:
        context.require_artist_access(artist)


async def read_draft(
    interaction: discord.Interaction[LabelBot],
    session: AsyncSession,
    request: ScheduleRequest,
    *,
    tracklist: str | None,
    notes: str | None,
    closing_note: str | None,
) -> PartyDraft:
    """Read and check everything the member gave; nothing is written here."""
    guild = guild_of(interaction)
    context = await member_context(interaction, session)
    zone = parse_zone(request.zone) if request.zone else context.zone
    starts = parse_when(request.start, zone=zone, earliest=MIN_LEAD)
    capacity = parse_capacity(request.capacity)
    offsets = parse_offsets(request.reminders)
    release = await _release(session, guild.id, request.release) if request.release else None
    artist = release.artist if release is not None else request.artist
    if artist is not None and release is None:
        artist = await reload_artist(session, artist)
    _authorize(context, artist)
    if tracklist and tracklist.strip():
        tracks = parse_tracklist(tracklist)
    elif release is not None:
        if not release.tracks or not all(t.duration_seconds for t in release.tracks):
            raise InvalidInput(f"“{plain(release.title)}” has no tracklist with durations; give one in `tracklist`.")
        tracks = [
            Track(t.title, int(t.duration_seconds or 0)) for t in sorted(release.tracks, key=lambda t: t.position)
        ]
    else:
        raise InvalidInput('Give the tracklist, one track per line like "Intro - 1:30", or pick a release.')
    tracks = attach_notes(tracks, notes)
    title = clean_text(request.title or (release.title if release else None), TITLE_MAX, "title")
    if not title:
        raise InvalidInput("Give the party a title, or pick a release to play.")
    return PartyDraft(
        guild_id=guild.id,
        host_id=interaction.user.id,
        title=title,
        starts_at=starts.at,
        zone=starts.zone,
        tracks=tracks,
        text_channel=party_text_channel(interaction, context),
        voice_channel=request.channel,
        capacity=capacity,
        description=clean_text(request.description, DESCRIPTION_MAX, "description"),
        closing_note=clean_text(closing_note, CLOSING_NOTE_MAX, "closing note"),
        reminder_offsets=offsets,
        release_id=release.id if release is not None else None,
        artist_id=artist.id if artist is not None else None,
    )


def party_text_channel(interaction: discord.Interaction[LabelBot], context: MemberContext) -> discord.TextChannel:
    """The server's parties channel, else the channel the command was run in; checked for what a party needs."""
    guild = guild_of(interaction)
    settings = context.settings
    text_channel = guild.get_channel(settings.parties_channel_id) if settings.parties_channel_id else None
    if text_channel is None:
        text_channel = interaction.channel if isinstance(interaction.channel, discord.TextChannel) else None
    return check_text_channel(text_channel)


# -- replaying a past party -----------------------------------------------------------------------------------


async def read_replay(
    interaction: discord.Interaction[LabelBot],
    session: AsyncSession,
    original_id: int,
    *,
    start: str,
    zone: str | None,
    reminders: str | None,
) -> PartyDraft:
    """A new run of a past party: its tracklist, notes, description, closing note, place and capacity, at `start`.

    Its answers, reminders, ratings and attendance start afresh; nothing is written here.
    """
    guild = guild_of(interaction)
    context = await member_context(interaction, session)
    found = await repository.get_with_gathering(session, original_id)
    if found is None or found[0].guild_id != guild.id:
        raise NotFound("There is no such listening party in this server; pick one from the list.")
    original, gathering = found
    if original.status != PartyStatus.ENDED:
        raise Conflict(
            f"Only a party that has ended can be replayed; “{plain(original.title)}” has {_status_words(original)}."
        )
    artist = await session.get(Artist, original.artist_id) if original.artist_id is not None else None
    _authorize(context, artist)
    starts = parse_when(start, zone=parse_zone(zone) if zone else context.zone, earliest=MIN_LEAD)
    offsets = parse_offsets(reminders) if reminders is not None else original.reminder_offsets_seconds
    voice = guild.get_channel(original.voice_channel_id) if original.voice_channel_id else None
    return PartyDraft(
        guild_id=guild.id,
        host_id=interaction.user.id,
        title=original.title,
        starts_at=starts.at,
        zone=starts.zone,
        tracks=[Track(str(t["title"]), int(t["seconds"]), t.get("note")) for t in original.tracks],
        text_channel=party_text_channel(interaction, context),
        voice_channel=voice if isinstance(voice, discord.StageChannel | discord.VoiceChannel) else None,
        capacity=gathering.capacity,
        description=original.description,
        closing_note=original.closing_note,
        reminder_offsets=[int(o) for o in offsets] if offsets is not None else None,
        release_id=original.release_id,
        artist_id=original.artist_id,
        replay_of=original.id,
    )


# -- creating -----------------------------------------------------------------------------------------------


async def add_party(bot: LabelBot, session: AsyncSession, draft: PartyDraft) -> tuple[ListeningParty, Gathering]:
    """Write the party, its gathering and the intent to create its native event; the caller then asks Discord."""
    party = ListeningParty(
        guild_id=draft.guild_id,
        title=draft.title,
        release_id=draft.release_id,
        artist_id=draft.artist_id,
        host_id=draft.host_id,
        description=draft.description,
        voice_channel_id=draft.voice_channel.id if draft.voice_channel else None,
        text_channel_id=draft.text_channel.id,
        starts_at=draft.starts_at,
        zone=draft.zone,
        tracks=[track.as_json() for track in draft.tracks],
        closing_note=draft.closing_note,
        reminder_offsets_seconds=draft.reminder_offsets,
        status=PartyStatus.SCHEDULED,
        prompted=[],
        missed=[],
        revision=0,
        replay_of_id=draft.replay_of,
    )
    session.add(party)
    await session.flush()
    gathering = Gathering(
        kind=KIND,
        ref_id=party.id,
        guild_id=party.guild_id,
        title=party.title,
        starts_at=party.starts_at,
        ends_at=party.ends_at,
        zone=party.zone,
        capacity=draft.capacity,
        card_channel_id=draft.text_channel.id,
        dm_cap=250,
        dms_sent=0,
    )
    session.add(gathering)
    await session.flush()
    party.gathering_id = gathering.id
    await lifecycle.expect_creation(bot, session, gathering)
    return party, gathering


async def finish_creation(
    bot: LabelBot, session: AsyncSession, guild_id: int, party_id: int, done: lifecycle.Mirror, host_id: int
) -> ListeningParty:
    """Record what Discord made for a new party (native event, card) and schedule its timeline."""
    party, gathering = await load(session, guild_id, party_id)
    await lifecycle.creation_finished(bot, session, gathering, done)
    await schedule_timeline(bot, session, party, gathering)
    await _record(bot, session, party, gathering, actor_id=host_id, action="party.schedule", before=None)
    return party


async def discard_rows(session: AsyncSession, gathering: Gathering) -> None:
    """A party whose creation never finished: its row goes (its attendance and thread rows cascade)."""
    await session.execute(delete(ListeningParty).where(ListeningParty.id == gathering.ref_id))


def snapshot(party: ListeningParty, gathering: Gathering | None) -> dict[str, Any]:
    """What the audit trail records of a party."""
    return {
        "id": party.id,
        "title": party.title,
        "starts_at": party.starts_at.isoformat(),
        "tracks": len(party.tracks),
        "capacity": gathering.capacity if gathering else None,
        "status": party.status,
    }


async def reminder_offsets(session: AsyncSession, party: ListeningParty) -> list[int]:
    """Seconds ahead of the start: the party's own, else the server's defaults."""
    if party.reminder_offsets_seconds is not None:
        return [int(s) for s in party.reminder_offsets_seconds]
    settings = await peek_guild_settings(session, party.guild_id)
    return [int(m) * 60 for m in settings.reminder_offsets_minutes]


async def schedule_timeline(bot: LabelBot, session: AsyncSession, party: ListeningParty, gathering: Gathering) -> None:
    """Schedule reminders, countdown and start (the start job schedules the tracks and the end)."""
    await fanout.schedule_reminders(bot, session, gathering, await reminder_offsets(session, party))
    countdown_at = countdown_moment(party.starts_at, utcnow())
    if countdown_at is not None:
        await bot.jobs.schedule(
            session,
            COUNTDOWN_JOB,
            {"party_id": party.id},
            countdown_at,
            guild_id=party.guild_id,
            key=countdown_key(party),
        )
    else:
        await bot.jobs.cancel(session, countdown_key(party))
    await bot.jobs.schedule(
        session, START_JOB, {"party_id": party.id}, party.starts_at, guild_id=party.guild_id, key=start_key(party)
    )


def countdown_moment(starts_at: datetime, now: datetime) -> datetime | None:
    """A minute before the start; halfway there when less than a minute is left; None when it is too close."""
    if starts_at - COUNTDOWN_AHEAD > now:
        return starts_at - COUNTDOWN_AHEAD
    left = starts_at - now
    return now + left / 2 if left >= COUNTDOWN_MIN_LEAD else None


def countdown_key(party: ListeningParty) -> str:
    return f"party:{party.id}:countdown"


def start_key(party: ListeningParty) -> str:
    return f"party:{party.id}:start"


def track_key(party: ListeningParty, index: int) -> str:
    return f"party:{party.id}:track:{index}"


def end_key(party: ListeningParty) -> str:
    return f"party:{party.id}:end"


# -- loading ------------------------------------------------------------------------------------------------


async def load(
    session: AsyncSession, guild_id: int, party_id: int, *, lock: bool = False
) -> tuple[ListeningParty, Gathering]:
    found = await repository.get_with_gathering(session, party_id, lock=lock)
    if found is None or found[0].guild_id != guild_id:
        raise NotFound("There is no such listening party in this server.")
    return found


# -- changes ------------------------------------------------------------------------------------------------


@dataclass
class PartyChanges:
    title: str | None = None
    starts_at: datetime | None = None
    zone: str | None = None
    capacity: int | None = None
    clear_capacity: bool = False
    description: str | None = None
    reminder_offsets: list[int] | None = None

    def any(self) -> bool:
        return (
            any(
                value is not None
                for value in (self.title, self.starts_at, self.capacity, self.description, self.reminder_offsets)
            )
            or self.clear_capacity
        )


async def edit_party(
    bot: LabelBot, session: AsyncSession, party_id: int, guild_id: int, actor_id: int, changes: PartyChanges
) -> tuple[ListeningParty, Gathering]:
    """Move or retitle a party not started yet: its timeline follows, and those who answered hear.

    Discord's copy (the native event) follows with `mirror_edit` once the caller has committed.
    """
    if not changes.any():
        raise InvalidInput("Tell me what to change: a new start, title, capacity, description or reminders.")
    party, gathering = await load(session, guild_id, party_id, lock=True)
    if party.status != PartyStatus.SCHEDULED:
        raise Conflict(f"“{party.title}” has {_status_words(party)}, so it can't be edited.")
    before = snapshot(party, gathering)
    moved = changes.starts_at is not None and changes.starts_at != party.starts_at
    if changes.title is not None:
        party.title = gathering.title = changes.title
    if changes.description is not None:
        party.description = changes.description
    if changes.starts_at is not None:
        party.starts_at = gathering.starts_at = changes.starts_at
        gathering.ends_at = party.ends_at
    if changes.zone is not None:
        party.zone = gathering.zone = changes.zone
    if changes.clear_capacity:
        gathering.capacity = None
    elif changes.capacity is not None:
        gathering.capacity = changes.capacity
    if changes.reminder_offsets is not None:
        party.reminder_offsets_seconds = changes.reminder_offsets
    party.revision += 1
    promoted = await rsvp.fill_from_waitlist(session, gathering)
    await schedule_timeline(bot, session, party, gathering)
    await request_card_refresh(bot, session, gathering, now=True)
    if moved or changes.title is not None:
        await fanout.schedule_notice(
            bot,
            session,
            gathering,
            name=f"edit:{party.revision}",
            text=(
                f"📅 **{plain(party.title)}** changed: it now starts {format_dt(party.starts_at, 'F')} "
                f"({format_dt(party.starts_at, 'R')})."
            ),
        )
    await _tell_promoted(bot, session, party, gathering, promoted)
    await _record(bot, session, party, gathering, actor_id=actor_id, action="party.edit", before=before)
    return party, gathering


async def mirror_edit(bot: LabelBot, party: ListeningParty, gathering: Gathering) -> None:
    """Bring the native event in line with an edited party; called with no session open (it waits on Discord)."""
    if gathering.native_event_id is not None:
        await native.edit_native_event(
            bot,
            party.guild_id,
            gathering.native_event_id,
            name=party.title,
            description=native_description(party),
            starts_at=party.starts_at,
            ends_at=party.ends_at,
        )


async def cancel_party(
    bot: LabelBot, session: AsyncSession, party_id: int, guild_id: int, actor_id: int
) -> ListeningParty:
    """Cancel a party: its timeline stops, its native event is cancelled, its card says so, those who answered hear."""
    party, gathering = await load(session, guild_id, party_id, lock=True)
    if not party.is_open:
        raise Conflict(f"“{party.title}” has already {_status_words(party)}.")
    before = snapshot(party, gathering)
    now = utcnow()
    was_live = party.status == PartyStatus.LIVE
    party.status = PartyStatus.CANCELLED
    party.cancelled_at = gathering.cancelled_at = now
    await bot.jobs.cancel_prefix(session, f"party:{party.id}:")
    if was_live and party.voice_channel_id is not None:
        # The voice channel's "Now playing" line and the stage the party opened go with it.
        await bot.jobs.schedule(
            session, CLEANUP_JOB, {"party_id": party.id}, now, guild_id=guild_id, key=cleanup_key(party)
        )
    await bot.jobs.schedule(
        session,
        NATIVE_JOB,
        {"party_id": party.id, "status": NativeStatus.CANCELLED.value},
        now,
        guild_id=guild_id,
        key=f"party:{party.id}:native:cancel",
    )
    await fanout.schedule_notice(
        bot,
        session,
        gathering,
        name="cancel",
        text=f"❌ **{plain(party.title)}** ({format_dt(party.starts_at, 'F')}) was cancelled. Sorry!",
    )
    await request_card_refresh(bot, session, gathering, now=True)
    await _record(bot, session, party, gathering, actor_id=actor_id, action="party.cancel", before=before)
    return party


async def start_now(
    bot: LabelBot, session: AsyncSession, party_id: int, guild_id: int, actor_id: int
) -> ListeningParty:
    """Start a scheduled party at once: the whole timeline moves to now."""
    party, gathering = await load(session, guild_id, party_id, lock=True)
    if party.status != PartyStatus.SCHEDULED:
        raise Conflict(f"“{party.title}” has {_status_words(party)}, so it can't be started.")
    before = snapshot(party, gathering)
    party.starts_at = gathering.starts_at = utcnow()
    gathering.ends_at = party.ends_at
    party.revision += 1
    await fanout.cancel_reminders(bot, session, gathering)
    await bot.jobs.cancel(session, countdown_key(party))
    await bot.jobs.schedule(
        session, START_JOB, {"party_id": party.id}, party.starts_at, guild_id=guild_id, key=start_key(party)
    )
    await _record(bot, session, party, gathering, actor_id=actor_id, action="party.start_now", before=before)
    return party


async def _record(
    bot: LabelBot,
    session: AsyncSession,
    party: ListeningParty,
    gathering: Gathering,
    *,
    actor_id: int,
    action: str,
    before: dict[str, Any] | None,
) -> None:
    """The audit entry of a change to a party: `before` (None for a new one), then the party as it is now."""
    await record(
        bot,
        session,
        guild_id=party.guild_id,
        actor_id=actor_id,
        action=action,
        target=party.title,
        before=before,
        after=snapshot(party, gathering),
    )


def _status_words(party: ListeningParty) -> str:
    return {
        PartyStatus.SCHEDULED: "not started yet",
        PartyStatus.LIVE: "already started",
        PartyStatus.ENDED: "already ended",
        PartyStatus.CANCELLED: "been cancelled",
    }[PartyStatus(party.status)]


# -- answers and attendance -----------------------------------------------------------------------------------


_ANSWERING = "parties_answering"


def answer_hint(party_id: int, user_id: int) -> tuple[str, int, int]:
    """What an RSVP click tells its batch (labelbot/db/batch.py): its answers are read together."""
    return ("parties.answer", party_id, user_id)


def _answers(hint: tuple[object, ...], party_id: int) -> bool:
    return len(hint) == 3 and hint[:2] == ("parties.answer", party_id)


async def answer(
    bot: LabelBot, session: AsyncSession, party_id: int, guild_id: int, user_id: int, new: Answer
) -> tuple[ListeningParty, rsvp.RsvpOutcome]:
    """Record a member's RSVP; the card's count follows soon (edits coalesced), promoted members are told."""
    # The clicks of a burst share one transaction (labelbot/db/batch.py): the party is read once for all of them.
    loaded: dict[int, tuple[ListeningParty, Gathering]] = batch.transaction_note(session, _ANSWERING, dict)
    if party_id not in loaded:
        loaded[party_id] = await load(session, guild_id, party_id)
        # Every member answering this party in the batch: their earlier answers in one query, read under the
        # gathering's lock (PostgreSQL) as each answer alone would be.
        await rsvp.lock_gathering(session, loaded[party_id][1].id)
        batch_mates = [hint[2] for hint in batch.hints(session) if isinstance(hint, tuple) and _answers(hint, party_id)]
        await rsvp.read_ahead(session, loaded[party_id][1].id, {user_id, *batch_mates})
    party, gathering = loaded[party_id]
    if party.guild_id != guild_id:
        raise NotFound("There is no such listening party in this server.")
    if party.status in (PartyStatus.ENDED, PartyStatus.CANCELLED):
        raise Conflict(f"“{party.title}” has {_status_words(party)}, so it takes no more answers.")
    outcome = await rsvp.answer(session, gathering.id, user_id, new)
    await promise_start_dm(bot, session, party, user_id, outcome)
    if outcome.changed:
        await request_card_refresh(bot, session, gathering)
    await _tell_promoted(bot, session, party, gathering, outcome.promoted)
    return party, outcome


async def _tell_promoted(
    bot: LabelBot, session: AsyncSession, party: ListeningParty, gathering: Gathering, promoted: list[int]
) -> None:
    for user_id in promoted:
        await fanout.schedule_notice(
            bot,
            session,
            gathering,
            name=f"promoted:{user_id}:{time.time_ns()}",
            text=(
                f"🎉 A spot opened up: you're now **going** to **{plain(party.title)}**, "
                f"{format_dt(party.starts_at, 'F')} ({format_dt(party.starts_at, 'R')})."
            ),
            audience=fanout.AUDIENCE_USERS,
            user_ids=[user_id],
        )


async def mark_here(session: AsyncSession, party_id: int, guild_id: int, user_id: int) -> tuple[ListeningParty, bool]:
    """Record that a member is at the party (only while it runs); False if they already were."""
    party, _ = await load(session, guild_id, party_id)
    if party.status == PartyStatus.SCHEDULED:
        raise Conflict(f"“{party.title}” hasn't started yet; come back {format_dt(party.starts_at, 'R')}.")
    if party.status != PartyStatus.LIVE:
        raise Conflict(f"“{party.title}” has {_status_words(party)}.")
    added = await repository.record_attendance(session, party.id, user_id)
    return party, added


# -- the DM at the start, for those no reminder will reach -----------------------------------------------------


def start_dm_key(party: ListeningParty, user_id: int) -> str:
    return f"party:{party.id}:startdm:{user_id}"


async def reminder_pending(session: AsyncSession, party: ListeningParty) -> bool:
    """True while a reminder of this party is still to go out (it will carry the DM)."""
    found = await session.scalar(
        select(ScheduledJob.id)
        .where(
            ScheduledJob.key.startswith(f"{KIND}:{party.id}:remind:", autoescape=True),
            ScheduledJob.status.in_([JobStatus.PENDING, JobStatus.CLAIMED]),
            ScheduledJob.due_at > utcnow(),
        )
        .limit(1)
    )
    return found is not None


async def promise_start_dm(
    bot: LabelBot, session: AsyncSession, party: ListeningParty, user_id: int, outcome: rsvp.RsvpOutcome
) -> bool:
    """Keep the promise of "Remind me by DM" when no reminder is left: a DM at the start; True if one is owed.

    Without it a fan who asks minutes before the start is promised a DM that never comes. A fan who changes
    their answer is owed nothing; pressing again never owes a second DM (a done job is left done).
    """
    key = start_dm_key(party, user_id)
    if Answer.REMIND not in (outcome.answer, outcome.previous):
        # Only a "Remind me" answer ever schedules the DM, and changing it cancels the DM: none can be pending.
        return False
    if outcome.answer != Answer.REMIND or await reminder_pending(session, party):
        await bot.jobs.cancel(session, key)
        return False
    await bot.jobs.schedule(
        session,
        START_DM_JOB,
        {"party_id": party.id, "user_id": user_id},
        max(party.starts_at, utcnow()),
        guild_id=party.guild_id,
        key=key,
        replace_done=False,
    )
    return True


async def start_dm_owed(bot: LabelBot, session: AsyncSession, party_id: int, user_id: int) -> bool:
    """True when this member's DM is to come at the start (for the button's answer)."""
    job = await bot.jobs.get(session, f"{KIND}:{party_id}:startdm:{user_id}")
    return job is not None and job.status in (JobStatus.PENDING, JobStatus.CLAIMED)


def voice_refused_key(party: ListeningParty, what: str = "status") -> str:
    """The once-only word to the host about a refused voice status ("status"), stage ("stage") or card pin ("pin")."""
    return f"party:{party.id}:voice-refused" if what == "status" else f"party:{party.id}:{what}-refused"


def cleanup_key(party: ListeningParty) -> str:
    return f"party:{party.id}:cleanup"


# -- rate this track -------------------------------------------------------------------------------------------


async def rate_track(
    session: AsyncSession, party_id: int, guild_id: int, user_id: int, track_index: int, stars: int
) -> tuple[ListeningParty, int | None]:
    """Record a member's stars for a track while the party runs; return the party and their earlier stars.

    Ratings close when the party's last track ends (the recap counts them then), not when the end job runs.
    """
    party = await repository.get_in_guild(session, guild_id, party_id)
    if party is None:
        raise NotFound("That party no longer exists.")
    if party.status == PartyStatus.SCHEDULED:
        raise Conflict(f"“{party.title}” hasn't started yet, so there is nothing to rate.")
    if party.status != PartyStatus.LIVE or utcnow() >= party.ends_at:
        raise Conflict(f"“{party.title}” is over, so its ratings are closed. The recap has the results.")
    if not 0 <= track_index < len(party.tracks) or not 1 <= stars <= 5:
        raise InvalidInput("That track isn't on this party's tracklist.")
    earlier = await repository.rating_of(session, party.id, track_index, user_id)
    if earlier != stars:
        await repository.rate_track(session, party.id, track_index, user_id, stars)
    return party, earlier
