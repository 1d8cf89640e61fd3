"""What parties look like in Discord: the card, the live posts, the recap, listings."""

from __future__ import annotations

from datetime import datetime

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from bot.gatherings import rsvp
from bot.gatherings.models import Gathering
from bot.guilds.models import DEFAULT_REMINDER_OFFSETS_MINUTES
from bot.models.parties import ListeningParty, PartyStatus
from bot.registry import SettingDefault
from bot.text import clip, plain
from bot.timeparse import format_dt

FIELD_MAX = 1024
COLOURS = {
    PartyStatus.SCHEDULED: discord.Colour.blurple(),
    PartyStatus.LIVE: discord.Colour.green(),
    PartyStatus.ENDED: discord.Colour.dark_grey(),
    PartyStatus.CANCELLED: discord.Colour.red(),
}


def mmss(seconds: int) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


def tracklist_text(party: ListeningParty, *, limit: int = FIELD_MAX) -> str:
    lines = [f"{i}. {plain(t['title'])} ({mmss(t['seconds'])})" for i, t in enumerate(party.tracks, start=1)]
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    for line in lines:
        if len("\n".join([*kept, line])) > limit - 20:
            break
        kept.append(line)
    return "\n".join([*kept, f"… and {len(lines) - len(kept)} more"])


async def card_embed(session: AsyncSession, party: ListeningParty, gathering: Gathering) -> discord.Embed:
    """The party's card as things stand: when, what plays, how many are going (its buttons come from _views)."""
    status = PartyStatus(party.status)
    heading = {
        PartyStatus.SCHEDULED: "🎧 Listening party",
        PartyStatus.LIVE: "🔴 Listening party: live now",
        PartyStatus.ENDED: "Listening party: over",
        PartyStatus.CANCELLED: "❌ Listening party: cancelled",
    }[status]
    embed = discord.Embed(
        title=clip(f"{heading}: {party.title}", 256),
        description=clip(plain(party.description), 4000) if party.description else None,
        colour=COLOURS[status],
    )
    embed.add_field(name="Starts", value=f"{format_dt(party.starts_at, 'F')} ({format_dt(party.starts_at, 'R')})")
    embed.add_field(name="Length", value=mmss(int(party.length.total_seconds())))
    if party.voice_channel_id:
        embed.add_field(name="Listen together in", value=f"<#{party.voice_channel_id}>")
    counts = await rsvp.counts(session, gathering.id)
    going = f"{counts.going}" if gathering.capacity is None else f"{counts.going} / {gathering.capacity}"
    if counts.waitlisted:
        going += f" (+{counts.waitlisted} waiting)"
    embed.add_field(name="Going", value=going)
    embed.add_field(name="Maybe", value=str(counts.maybe))
    embed.add_field(name="Reminded by DM", value=str(counts.remind))
    embed.add_field(name="Tracklist", value=tracklist_text(party) or "—", inline=False)
    if party.thread_id and status == PartyStatus.LIVE:
        embed.add_field(name="Talk about it", value=f"<#{party.thread_id}>", inline=False)
    embed.set_footer(text=f"Party #{party.id} · /party now tells you what's playing")
    return embed


def takes_answers(party: ListeningParty) -> bool:
    """Whether the card still carries its RSVP buttons (a finished or cancelled party's card has none)."""
    return PartyStatus(party.status) in (PartyStatus.SCHEDULED, PartyStatus.LIVE)


def scheduled_text(party: ListeningParty) -> str:
    return (
        f"Scheduled **{plain(party.title)}** for {format_dt(party.starts_at, 'F')} "
        f"({format_dt(party.starts_at, 'R')}): the card is in <#{party.text_channel_id}> and the event is in "
        "the server's event list."
    )


def reminder_text(gathering: Gathering, seconds: int) -> str:
    return (
        f"⏰ **{plain(gathering.title)}**: the listening party starts {format_dt(gathering.starts_at, 'R')} "
        f"({format_dt(gathering.starts_at, 'F')}). Get your headphones ready!"
    )


def start_dm_text(party: ListeningParty, *, late: bool) -> str:
    """The DM at the start, for a fan who asked for one when no reminder was left."""
    if late:
        lead = f"▶️ **{plain(party.title)}** started {format_dt(party.starts_at, 'R')}: press play and jump in."
    else:
        lead = f"▶️ **{plain(party.title)}** is starting now: press play!"
    return f"{lead}\nThe prompts are in the party's channel, <#{party.text_channel_id}>."


VOICE_STATUS_MAX = 500


def now_playing_status(party: ListeningParty, index: int) -> str:
    """The voice channel's status line during a track: "Now playing 3/10 · Night Drive"."""
    title = plain(str(party.tracks[index]["title"]))
    return clip(f"Now playing {index + 1}/{len(party.tracks)} · {title}", VOICE_STATUS_MAX)


def voice_refused_text(party: ListeningParty) -> str:
    return (
        f"🔇 I can't show what's playing in <#{party.voice_channel_id}> for **{plain(party.title)}**: I need the "
        "**Set Voice Channel Status** permission there. The party goes on without it; I won't ask again for it."
    )


def countdown_text(party: ListeningParty) -> str:
    first = party.tracks[0]["title"] if party.tracks else "the first track"
    return (
        f"⏳ **{plain(party.title)}** starts {format_dt(party.starts_at, 'R')}! "
        f"Cue up **{plain(first)}** and get ready to press play together."
    )


def play_text(party: ListeningParty, *, late_by: float | None, current: int) -> str:
    if late_by is None:
        lead = f"▶️ **Press play now!** **{plain(party.title)}** is starting: everybody together, no skipping."
    else:
        lead = (
            f"▶️ **{plain(party.title)}** is on (I was offline at the start and am {int(late_by)} s late): "
            f"we're on track {current + 1}, so jump in there."
        )
    return f"{lead}\nPress **I'm here** so we know you came, and talk along in the thread."


def track_text(party: ListeningParty, index: int, *, missed: list[int], late_by: float | None) -> str:
    track = party.tracks[index]
    lines = [f"🎵 **Track {index + 1}/{len(party.tracks)}: {plain(track['title'])}** ({mmss(track['seconds'])})"]
    if track.get("note"):
        lines.append(f"> {clip(plain(str(track['note'])), 1500)}")
    if late_by is not None:
        lines.append(f"-# Posted {int(late_by)} s late: I was offline.")
    if missed:
        numbers = ", ".join(str(i + 1) for i in missed)
        lines.append(f"-# I was offline and skipped the prompts for track(s) {numbers}.")
    return clip("\n".join(lines), 2000)


def recap_embed(
    party: ListeningParty,
    *,
    attendees: int,
    busiest: tuple[int, int] | None,
    missed: list[int],
    ratings: dict[int, tuple[float, int]] | None = None,
    came_back: tuple[int, str] | None = None,
) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"🎉 That's a wrap: {party.title}", 256),
        description=clip(plain(party.closing_note), 4000) if party.closing_note else "Thanks for listening together!",
        colour=discord.Colour.gold(),
    )
    embed.add_field(name="Came", value=f"{attendees} member{'s' if attendees != 1 else ''} pressed I'm here")
    if busiest is not None:
        index, messages = busiest
        embed.add_field(
            name="Busiest track",
            value=clip(f"{index + 1}. {plain(party.tracks[index]['title'])} ({messages} messages)", FIELD_MAX),
        )
    else:
        embed.add_field(name="Busiest track", value="A quiet one: nobody wrote in the thread.")
    if came_back is not None:
        number, previous = came_back
        embed.add_field(
            name="Came back",
            value=clip(f"{number} of the {attendees} here were also at the last party, {plain(previous)}.", FIELD_MAX),
        )
    if ratings:
        embed.add_field(name="Ratings", value=ratings_text(party, ratings), inline=False)
        favourite = fan_favourite(ratings)
        average, number = ratings[favourite]
        embed.add_field(
            name="Fan favourite",
            value=clip(
                f"{favourite + 1}. {plain(party.tracks[favourite]['title'])}: ★ {average:.1f} "
                f"({number} rating{'s' if number != 1 else ''})",
                FIELD_MAX,
            ),
        )
    if missed:
        embed.add_field(
            name="Missed",
            value=f"I was offline for the prompts of track(s) {', '.join(str(i + 1) for i in missed)}.",
            inline=False,
        )
    return embed


def ratings_text(party: ListeningParty, ratings: dict[int, tuple[float, int]]) -> str:
    """Each track's average stars and count, in tracklist order."""
    lines = []
    for index, track in enumerate(party.tracks):
        title = clip(plain(str(track["title"])), 60)
        if index in ratings:
            average, number = ratings[index]
            lines.append(f"{index + 1}. {title}: ★ {average:.1f} ({number})")
        else:
            lines.append(f"{index + 1}. {title}: no ratings")
    return clip("\n".join(lines), FIELD_MAX)


def fan_favourite(ratings: dict[int, tuple[float, int]]) -> int:
    """The best-rated track: highest average, then most ratings, then the earlier track."""
    return min(ratings, key=lambda index: (-ratings[index][0], -ratings[index][1], index))


def now_text(party: ListeningParty, now: datetime) -> str:
    """For a late joiner: which track plays and how far in it is."""
    status = PartyStatus(party.status)
    if status == PartyStatus.CANCELLED:
        return f"“{plain(party.title)}” was cancelled."
    if status == PartyStatus.ENDED:
        return f"“{plain(party.title)}” is over. Catch the next one!"
    index = party.track_at(now)
    if index is None or status == PartyStatus.SCHEDULED:
        return f"“{plain(party.title)}” starts {format_dt(party.starts_at, 'R')} ({format_dt(party.starts_at, 'F')})."
    if index >= len(party.tracks):
        return f"“{plain(party.title)}” has just finished; the recap is coming."
    track = party.tracks[index]
    into = int((now - party.track_starts()[index]).total_seconds())
    thread = f" Talk along in <#{party.thread_id}>." if party.thread_id else ""
    return (
        f"🎵 Now playing in **{plain(party.title)}**: track {index + 1}/{len(party.tracks)}, "
        f"**{plain(track['title'])}**, {mmss(into)} of {mmss(track['seconds'])} in. "
        f"Skip to there and press play!{thread}"
    )


def list_line(party: ListeningParty) -> str:
    live = " 🔴 live" if party.status == PartyStatus.LIVE else ""
    return (
        f"**#{party.id} {plain(party.title)}**{live}: {format_dt(party.starts_at, 'F')} "
        f"({format_dt(party.starts_at, 'R')}), {len(party.tracks)} tracks"
    )


# How the party actions read in the mod log and /settings audit.
AUDIT_TITLES = {
    "party.schedule": "Listening party scheduled",
    "party.edit": "Listening party changed",
    "party.cancel": "Listening party cancelled",
    "party.start_now": "Listening party started early",
}


# This feature's own server settings and what a new server starts with (registered in cog_load).
SETTING_DEFAULTS = (
    SettingDefault(
        "reminder_offsets_minutes", list(DEFAULT_REMINDER_OFFSETS_MINUTES), "Party reminders (minutes before)"
    ),
)
