"""What parties look like in Discord: the card, the live posts, the recap, listings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import discord
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists.models import Artist
from labelbot.catalog.models import Release
from labelbot.gatherings import rsvp
from labelbot.gatherings.models import Gathering
from labelbot.guilds.models import DEFAULT_REMINDER_OFFSETS_MINUTES
from labelbot.models.parties import ListeningParty, PartyStatus
from labelbot.registry import SettingDefault
from labelbot.text import clip, plain
from labelbot.timeparse import format_dt
from labelbot.ui.layout import controls_row

FIELD_MAX = 1024
# A card's Text Display budget (4000 in a message): the description and the tracklist take the most of it.
DESCRIPTION_ROOM = 1000
TRACKLIST_ROOM = 1800
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


@dataclass(frozen=True)
class CardLooks:
    """What a card shows besides the party itself: the artist's accent colour, the release's cover, the original."""

    accent: int | None = None
    cover_url: str | None = None
    # (id, title, first played) of the party this one replays.
    replay_of: tuple[int, str, datetime] | None = None


async def card_looks(session: AsyncSession, party: ListeningParty) -> CardLooks:
    """The artist's accent colour and the release's cover, read once per card."""
    accent = cover = None
    if party.artist_id is not None:
        accent = await session.scalar(select(Artist.accent_colour).where(Artist.id == party.artist_id))
    if party.release_id is not None:
        cover = await session.scalar(select(Release.cover_url).where(Release.id == party.release_id))
    replay_of = None
    if party.replay_of_id is not None:
        row = (
            await session.execute(
                select(ListeningParty.id, ListeningParty.title, ListeningParty.starts_at).where(
                    ListeningParty.id == party.replay_of_id
                )
            )
        ).one_or_none()
        replay_of = (int(row[0]), str(row[1]), row[2]) if row is not None else None
    return CardLooks(accent=accent, cover_url=cover, replay_of=replay_of)


def card_heading(party: ListeningParty) -> str:
    return {
        PartyStatus.SCHEDULED: "🎧 Listening party",
        PartyStatus.LIVE: "🔴 Listening party: live now",
        PartyStatus.ENDED: "Listening party: over",
        PartyStatus.CANCELLED: "❌ Listening party: cancelled",
    }[PartyStatus(party.status)]


async def card_layout(
    session: AsyncSession,
    party: ListeningParty,
    gathering: Gathering,
    *,
    controls: Iterable[discord.ui.Item[Any]] = (),
    after: Iterable[str] = (),
) -> discord.ui.LayoutView:
    """The party's card (Components V2) as things stand: when, what plays, how many are going, then its buttons.

    One container: the heading and facts (the release's cover beside them), the description, the answers, the
    tracklist and a footer; lines in `after` (e.g. a member's own answer) follow it, then the controls.
    """
    status = PartyStatus(party.status)
    looks = await card_looks(session, party)
    counts = await rsvp.counts(session, gathering.id)
    facts = [
        f"## {clip(f'{card_heading(party)}: {plain(party.title)}', 250)}",
        f"**Starts:** {format_dt(party.starts_at, 'F')} ({format_dt(party.starts_at, 'R')})",
        f"**Length:** {mmss(int(party.length.total_seconds()))}",
    ]
    if party.voice_channel_id:
        facts.append(f"**Listen together in:** <#{party.voice_channel_id}>")
    if looks.replay_of is not None:
        number, title, first = looks.replay_of
        facts.append(f"**Replay of:** #{number} {clip(plain(title), 100)}, first played {format_dt(first, 'D')}")
    going = f"{counts.going}" if gathering.capacity is None else f"{counts.going} / {gathering.capacity}"
    if counts.waitlisted:
        going += f" (+{counts.waitlisted} waiting)"
    answers = [f"**Going:** {going}", f"**Maybe:** {counts.maybe}", f"**Reminded by DM:** {counts.remind}"]
    if party.thread_id and status == PartyStatus.LIVE:
        answers.append(f"**Talk about it:** <#{party.thread_id}>")
    accent = looks.accent if looks.accent is not None else COLOURS[status].value
    if status in (PartyStatus.ENDED, PartyStatus.CANCELLED):
        accent = COLOURS[status].value
    container: discord.ui.Container[Any] = discord.ui.Container(accent_colour=accent)
    top = "\n".join(facts)
    if looks.cover_url:
        container.add_item(discord.ui.Section(top, accessory=discord.ui.Thumbnail(looks.cover_url)))
    else:
        container.add_item(discord.ui.TextDisplay(top))
    if party.description:
        container.add_item(discord.ui.TextDisplay(clip(plain(party.description), DESCRIPTION_ROOM)))
    container.add_item(discord.ui.Separator())
    container.add_item(discord.ui.TextDisplay("\n".join(answers)))
    container.add_item(discord.ui.TextDisplay(f"**Tracklist**\n{tracklist_text(party, limit=TRACKLIST_ROOM) or '—'}"))
    container.add_item(discord.ui.TextDisplay(f"-# Party #{party.id} · /party now tells you what's playing"))
    view = discord.ui.LayoutView(timeout=None)
    view.add_item(container)
    for line in after:
        view.add_item(discord.ui.TextDisplay(clip(line, 300)))
    row = controls_row(controls)
    if row is not None:
        view.add_item(row)
    return view


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


def voice_refused_text(party: ListeningParty, what: str = "status") -> str:
    if what == "pin":
        return (
            f"📌 I can't pin the card of **{plain(party.title)}** in <#{party.text_channel_id}> while it's live: I need "
            "the **Pin Messages** permission there. The party goes on without it; I won't ask again for it."
        )
    if what == "stage":
        return (
            f"🎙️ I can't open the stage in <#{party.voice_channel_id}> for **{plain(party.title)}**: I need the "
            "**Manage Channels**, **Mute Members** and **Move Members** permissions there (a stage moderator's). "
            "The party goes on without it; I won't ask again for it."
        )
    return (
        f"🔇 I can't show what's playing in <#{party.voice_channel_id}> for **{plain(party.title)}**: I need the "
        "**Set Voice Channel Status** permission there. The party goes on without it; I won't ask again for it."
    )


def stage_topic(party: ListeningParty) -> str:
    return clip(f"Listening party: {plain(party.title)}", 120)


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
    replay_of: tuple[int, str, str | None] | None = None,
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
    if replay_of is not None:
        number, title, url = replay_of
        name = clip(f"#{number} {plain(title)}", 200)
        embed.add_field(
            name="Replay of",
            value=f"[{name}]({url}): the original's recap" if url else f"{name} (no link to its recap)",
            inline=False,
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


def recap_url(party: ListeningParty) -> str | None:
    if party.recap_message_id is None:
        return None
    return f"https://discord.com/channels/{party.guild_id}/{party.text_channel_id}/{party.recap_message_id}"


def past_line(party: ListeningParty, came: int) -> str:
    """A party that ended, for /party list past: when, what, who came, and its recap."""
    url = recap_url(party)
    parts = [
        f"**#{party.id} {plain(party.title)}**: {format_dt(party.starts_at, 'D')}",
        f"{len(party.tracks)} tracks",
        f"{came} came",
    ]
    if party.replay_of_id is not None:
        parts.append(f"replay of #{party.replay_of_id}")
    parts.append(f"[recap]({url})" if url else "no recap")
    return " · ".join(parts)


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
