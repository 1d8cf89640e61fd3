"""/party: schedule, change and follow listening parties; the thread listener that feeds the recap."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncSession

from bot.artists.models import Artist
from bot.artists.service import reload_artist
from bot.artists.transformers import ManagedArtistOption
from bot.calendar import CalendarEntry
from bot.client import LabelBot
from bot.db.base import utcnow
from bot.errors import BotLacksPermissions, InvalidInput, NotAllowed, NotFound
from bot.gatherings import GatheringFeature, install, lifecycle, native, rsvp, uninstall
from bot.guilds.service import member_zone, peek_guild_settings
from bot.interactions import defer, guild_of, reply
from bot.models.parties import CLOSING_NOTE_MAX, DESCRIPTION_MAX, TITLE_MAX, ListeningParty, PartyStatus
from bot.permissions import is_moderator, manages_artist, require_artist_access, require_moderator
from bot.text import clip, plain
from bot.timeparse import format_dt, parse_when, parse_zone
from cogs.parties import _jobs as jobs
from cogs.parties import _render as render
from cogs.parties import _repository as repository
from cogs.parties import _service as service
from cogs.parties._views import HereButton, RsvpButton, here_view

log = logging.getLogger(__name__)

CHOICES_MAX = 25
NEW_THREAD_AGE = timedelta(minutes=1)
MODAL_TITLE_MAX = 45


@dataclass
class ScheduleRequest:
    """What /party schedule was given, kept while the member fills in the modal."""

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


@dataclass(frozen=True)
class _Thread:
    party_id: int
    starts_at: datetime
    durations: tuple[int, ...]

    def track_at(self, moment: datetime) -> int:
        elapsed = (moment - self.starts_at).total_seconds()
        offset = 0
        for index, seconds in enumerate(self.durations):
            offset += seconds
            if elapsed < offset:
                return max(index, 0)
        return max(len(self.durations) - 1, 0)


class PartyModal(discord.ui.Modal):
    """Tracklist, the artist's per-track notes and the closing note."""

    def __init__(self, cog: PartiesCog, request: ScheduleRequest, *, title: str, tracklist: str | None) -> None:
        super().__init__(title=clip(f"Party: {title}", MODAL_TITLE_MAX), timeout=900)
        self.cog = cog
        self.request = request
        self.tracklist: discord.ui.TextInput[PartyModal] = discord.ui.TextInput(
            label="Tracklist: one per line, “Title - 3:45”",
            custom_id="tracklist",
            style=discord.TextStyle.paragraph,
            default=tracklist,
            max_length=4000,
        )
        self.notes: discord.ui.TextInput[PartyModal] = discord.ui.TextInput(
            label="Artist's note per track (one line each)",
            custom_id="notes",
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=4000,
        )
        self.closing: discord.ui.TextInput[PartyModal] = discord.ui.TextInput(
            label="Closing note (shown in the recap)",
            custom_id="closing",
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=CLOSING_NOTE_MAX,
        )
        for item in (self.tracklist, self.notes, self.closing):
            self.add_item(item)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await self.cog.finish_schedule(
            interaction,
            self.request,
            tracklist=self.tracklist.value,
            notes=self.notes.value,
            closing_note=self.closing.value,
        )

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception) -> None:  # type: ignore[override]
        from bot.tree import handle_interaction_error

        await handle_interaction_error(interaction, error, source=self)


class PartiesCog(commands.Cog, name="Parties"):
    """Listening parties: everybody presses play together, track by track, with the artist's notes."""

    party = app_commands.Group(name="party", description="Listening parties: everybody presses play together.")

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot
        self.feature = GatheringFeature(
            kind=service.KIND,
            noun="listening party",
            render_card=render.render_card,
            reminder_text=render.reminder_text,
        )
        # Threads seen in this process: the party behind them, or None for threads of nothing.
        self._threads: dict[int, _Thread | None] = {}

    async def cog_load(self) -> None:
        install(self.bot, self.feature)
        lifecycle.register(self.bot, service.KIND, service.discard_rows)
        jobs.register(self.bot)
        self.bot.add_dynamic_items(RsvpButton, HereButton)
        self.bot.features.calendar.add_source("parties", calendar_entries)
        self.bot.features.audit_titles.add(render.AUDIT_TITLES)

    async def cog_unload(self) -> None:
        self.bot.features.audit_titles.remove(render.AUDIT_TITLES)
        self.bot.features.calendar.remove_source("parties")
        self.bot.remove_dynamic_items(RsvpButton, HereButton)
        jobs.unregister(self.bot)
        lifecycle.unregister(self.bot, service.KIND)
        uninstall(self.bot, self.feature)

    # -- thread talk, counted for the recap -------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_party_thread_opened(self, thread_id: int, party: ListeningParty) -> None:
        self._threads[thread_id] = _Thread(party.id, party.starts_at, tuple(party.durations))

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None or message.author.bot or not isinstance(message.channel, discord.Thread):
            return
        thread_id = message.channel.id
        if thread_id not in self._threads:
            async with self.bot.sessionmaker() as session:
                party = await repository.by_thread(session, thread_id)
            if party is not None:
                self._threads[thread_id] = _Thread(party.id, party.starts_at, tuple(party.durations))
            elif utcnow() - discord.utils.snowflake_time(thread_id) > NEW_THREAD_AGE:
                # A thread just opened may be a party's whose record another process is still writing.
                self._threads[thread_id] = None
        known = self._threads.get(thread_id)
        if known is None:
            return
        async with self.bot.sessionmaker.begin() as session:
            await repository.record_thread_message(
                session,
                party_id=known.party_id,
                message_id=message.id,
                track_index=known.track_at(message.created_at),
                author_id=message.author.id,
            )

    # -- autocomplete -----------------------------------------------------------------------------------------

    async def party_autocomplete(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker() as session:
            parties = await repository.search_open(session, interaction.guild_id, current, limit=CHOICES_MAX)
        return [app_commands.Choice(name=clip(f"#{p.id} {p.title}", 100), value=str(p.id)) for p in parties]

    async def release_autocomplete(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        from bot.catalog.queries import search_releases

        async with self.bot.sessionmaker() as session:
            releases = await search_releases(session, interaction.guild_id, current, limit=CHOICES_MAX)
            return [
                app_commands.Choice(name=clip(f"{r.artist.name} – {r.title}", 100), value=str(r.id)) for r in releases
            ]

    # -- /party schedule --------------------------------------------------------------------------------------

    @party.command(name="schedule")
    @app_commands.autocomplete(release=release_autocomplete)
    async def schedule(
        self,
        interaction: discord.Interaction[LabelBot],
        start: str,
        title: app_commands.Range[str, 1, TITLE_MAX] | None = None,
        release: str | None = None,
        tracklist: str | None = None,
        notes: bool = False,
        artist: ManagedArtistOption | None = None,
        channel: discord.StageChannel | discord.VoiceChannel | None = None,
        capacity: int | None = None,
        description: app_commands.Range[str, 1, DESCRIPTION_MAX] | None = None,
        reminders: str | None = None,
        zone: str | None = None,
    ) -> None:
        """Schedule a listening party for a release or a tracklist of your own.

        Args:
            start: When it starts, e.g. "friday 8pm", "2026-12-04 18:00", "in 2h".
            title: The party's name (a release party takes the release's title).
            release: The release to play (its tracklist is used).
            tracklist: Tracks with durations, "Intro - 1:30 | Song - 3:45"; leave out to type them in a form.
            notes: Open a form for the artist's note on each track and a closing note.
            artist: The artist hosting it (artists host their own; moderators any).
            channel: A stage or voice channel to listen together in.
            capacity: How many can say Going before a waitlist starts (0 to 10,000).
            description: What the party is about.
            reminders: When to remind, e.g. "24h, 1h, 10m" (default: the server's), or "none".
            zone: The time zone of the start (default: yours, else the server's).
        """
        request = ScheduleRequest(
            title=title,
            release=release,
            start=start,
            tracklist=tracklist,
            artist=artist,
            channel=channel,
            capacity=capacity,
            description=description,
            reminders=reminders,
            zone=zone,
        )
        if notes or (tracklist is None and release is None):
            # The form must be the first answer, so check what can be checked quickly before opening it.
            async with self.bot.sessionmaker() as session:
                shown_title, release_tracks = await self._precheck(interaction, session, request)
            modal = PartyModal(self, request, title=shown_title, tracklist=tracklist or release_tracks)
            await interaction.response.send_modal(modal)
            return
        await self.finish_schedule(interaction, request, tracklist=tracklist, notes=None, closing_note=None)

    async def _precheck(
        self, interaction: discord.Interaction[LabelBot], session: AsyncSession, request: ScheduleRequest
    ) -> tuple[str, str | None]:
        """Refuse early what the form would not fix; return the title to show and the release's tracklist."""
        guild = guild_of(interaction)
        zone = parse_zone(request.zone) if request.zone else await member_zone(session, interaction.user.id, guild.id)
        parse_when(request.start, zone=zone, earliest=service.MIN_LEAD)
        service.parse_capacity(request.capacity)
        service.parse_offsets(request.reminders)
        release = await self._release(session, guild.id, request.release) if request.release else None
        await self._authorize(interaction, session, release.artist if release else request.artist)
        release_tracks = None
        if release is not None and release.tracks and all(t.duration_seconds for t in release.tracks):
            release_tracks = "\n".join(
                f"{t.title} - {render.mmss(int(t.duration_seconds or 0))}"
                for t in sorted(release.tracks, key=lambda t: t.position)
            )
        title = request.title or (release.title if release else None)
        if not title:
            raise InvalidInput("Give the party a title, or pick a release to play.")
        return title, release_tracks

    async def _release(self, session: AsyncSession, guild_id: int, value: str) -> Any:
        from bot.catalog.queries import get_release

        release = await get_release(session, int(value), guild_id) if value.isdigit() else None
        if release is None:
            raise NotFound("There is no such release in this server; pick one from the list.")
        return release

    async def _authorize(
        self, interaction: discord.Interaction[LabelBot], session: AsyncSession, artist: Artist | None
    ) -> None:
        """Artists schedule for themselves, moderators for anyone; a party with no artist is a moderator's."""
        if artist is None:
            await require_moderator(interaction, session)
        else:
            await require_artist_access(interaction, session, artist)

    async def finish_schedule(
        self,
        interaction: discord.Interaction[Any],
        request: ScheduleRequest,
        *,
        tracklist: str | None,
        notes: str | None,
        closing_note: str | None,
    ) -> None:
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker() as session:
            draft = await self._draft(interaction, session, guild, request, tracklist, notes, closing_note)
        party = await create_party(self.bot, guild, draft)
        await reply(
            interaction,
            f"Scheduled **{plain(party.title)}** for {format_dt(party.starts_at, 'F')} "
            f"({format_dt(party.starts_at, 'R')}): the card is in <#{party.text_channel_id}> and the event is in "
            "the server's event list.",
        )

    async def _draft(
        self,
        interaction: discord.Interaction[Any],
        session: AsyncSession,
        guild: discord.Guild,
        request: ScheduleRequest,
        tracklist: str | None,
        notes: str | None,
        closing_note: str | None,
    ) -> service.PartyDraft:
        """Read and check everything the member gave; nothing is written here."""
        zone = parse_zone(request.zone) if request.zone else await member_zone(session, interaction.user.id, guild.id)
        starts = parse_when(request.start, zone=zone, earliest=service.MIN_LEAD)
        capacity = service.parse_capacity(request.capacity)
        offsets = service.parse_offsets(request.reminders)
        release = await self._release(session, guild.id, request.release) if request.release else None
        artist = release.artist if release is not None else request.artist
        if artist is not None and release is None:
            artist = await reload_artist(session, artist)
        await self._authorize(interaction, session, artist)
        if tracklist and tracklist.strip():
            tracks = service.parse_tracklist(tracklist)
        elif release is not None:
            if not release.tracks or not all(t.duration_seconds for t in release.tracks):
                raise InvalidInput(
                    f"“{plain(release.title)}” has no tracklist with durations; give one in `tracklist`."
                )
            tracks = [
                service.Track(t.title, int(t.duration_seconds))
                for t in sorted(release.tracks, key=lambda t: t.position)
            ]
        else:
            raise InvalidInput('Give the tracklist, one track per line like "Intro - 1:30", or pick a release.')
        tracks = service.attach_notes(tracks, notes)
        title = service.clean_text(request.title or (release.title if release else None), TITLE_MAX, "title")
        if not title:
            raise InvalidInput("Give the party a title, or pick a release to play.")
        settings = await peek_guild_settings(session, guild.id)
        text_channel = guild.get_channel(settings.parties_channel_id) if settings.parties_channel_id else None
        if text_channel is None:
            text_channel = interaction.channel if isinstance(interaction.channel, discord.TextChannel) else None
        return service.PartyDraft(
            guild_id=guild.id,
            host_id=interaction.user.id,
            title=title,
            starts_at=starts.at,
            zone=starts.zone,
            tracks=tracks,
            text_channel=service.check_text_channel(text_channel),
            voice_channel=request.channel,
            capacity=capacity,
            description=service.clean_text(request.description, DESCRIPTION_MAX, "description"),
            closing_note=service.clean_text(closing_note, CLOSING_NOTE_MAX, "closing note"),
            reminder_offsets=offsets,
            release_id=release.id if release is not None else None,
            artist_id=artist.id if artist is not None else None,
        )

    # -- changes ----------------------------------------------------------------------------------------------

    async def _require_host_access(
        self, interaction: discord.Interaction[LabelBot], session: AsyncSession, party: ListeningParty
    ) -> None:
        """Moderators, the party's host, and the managers of its artist may change it."""
        member = interaction.user
        assert isinstance(member, discord.Member)
        if party.host_id == member.id:
            return
        settings = await peek_guild_settings(session, member.guild.id)
        owners = self.bot.settings.discord.owner_ids
        if is_moderator(member, settings, owners):
            return
        if party.artist_id is not None:
            artist = await session.get(Artist, party.artist_id)
            if artist is not None and await manages_artist(session, member, artist, owners):
                return
        raise NotAllowed("Only the party's host, its artist's managers and moderators can change it.")

    async def _party_for_change(self, interaction: discord.Interaction[LabelBot], value: str) -> ListeningParty:
        guild = guild_of(interaction)
        async with self.bot.sessionmaker() as session:
            found = await repository.get_in_guild(session, guild.id, _party_id(value))
            if found is None:
                raise NotFound("There is no such listening party in this server; pick one from the list.")
            await self._require_host_access(interaction, session, found)
        return found

    @party.command(name="edit")
    @app_commands.autocomplete(party=party_autocomplete)
    async def edit(
        self,
        interaction: discord.Interaction[LabelBot],
        party: str,
        start: str | None = None,
        title: app_commands.Range[str, 1, TITLE_MAX] | None = None,
        capacity: int | None = None,
        no_limit: bool = False,
        description: app_commands.Range[str, 1, DESCRIPTION_MAX] | None = None,
        reminders: str | None = None,
        zone: str | None = None,
    ) -> None:
        """Change a party that hasn't started: everything moves with it, and those who answered are told.

        Args:
            party: The party to change.
            start: The new start, e.g. "saturday 9pm".
            title: A new title.
            capacity: A new capacity (0 to 10,000); a bigger one lets waiting members in.
            no_limit: Remove the capacity limit.
            description: A new description.
            reminders: New reminder times, e.g. "1h, 10m", or "none".
            zone: The time zone of the new start.
        """
        await defer(interaction)
        found = await self._party_for_change(interaction, party)
        async with self.bot.sessionmaker() as session:
            meant = parse_zone(zone) if zone else await member_zone(session, interaction.user.id, found.guild_id)
        changes = service.PartyChanges(
            title=service.clean_text(title, TITLE_MAX, "title"),
            capacity=service.parse_capacity(capacity),
            clear_capacity=no_limit,
            description=service.clean_text(description, DESCRIPTION_MAX, "description"),
            reminder_offsets=service.parse_offsets(reminders),
        )
        if start is not None:
            parsed = parse_when(start, zone=meant, earliest=service.MIN_LEAD)
            changes.starts_at, changes.zone = parsed.at, parsed.zone
        async with self.bot.sessionmaker.begin() as session:
            edited, gathering = await service.edit_party(
                self.bot, session, found.id, found.guild_id, interaction.user.id, changes
            )
        # Discord's copy follows once the edit is committed: no transaction waits on Discord.
        await service.mirror_edit(self.bot, edited, gathering)
        await reply(
            interaction,
            f"Updated **{plain(edited.title)}**: it starts {format_dt(edited.starts_at, 'F')} "
            f"({format_dt(edited.starts_at, 'R')}). Those who answered are being told.",
        )

    @party.command(name="cancel")
    @app_commands.autocomplete(party=party_autocomplete)
    async def cancel(self, interaction: discord.Interaction[LabelBot], party: str) -> None:
        """Cancel a party: its event is cancelled, its card says so and those who answered are told.

        Args:
            party: The party to cancel.
        """
        await defer(interaction)
        found = await self._party_for_change(interaction, party)
        async with self.bot.sessionmaker.begin() as session:
            cancelled = await service.cancel_party(self.bot, session, found.id, found.guild_id, interaction.user.id)
        await reply(interaction, f"Cancelled **{plain(cancelled.title)}**; those who answered are being told.")

    @party.command(name="start-now")
    @app_commands.autocomplete(party=party_autocomplete)
    async def start_now(self, interaction: discord.Interaction[LabelBot], party: str) -> None:
        """Start a scheduled party right now.

        Args:
            party: The party to start.
        """
        await defer(interaction)
        found = await self._party_for_change(interaction, party)
        async with self.bot.sessionmaker.begin() as session:
            started = await service.start_now(self.bot, session, found.id, found.guild_id, interaction.user.id)
        await reply(interaction, f"Starting **{plain(started.title)}** now: press play!")

    # -- reading ----------------------------------------------------------------------------------------------

    @party.command(name="list")
    async def list_parties(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Show the upcoming and running listening parties."""
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker() as session:
            parties = await repository.upcoming(session, guild.id, limit=CHOICES_MAX)
        if not parties:
            await reply(interaction, "No listening parties are coming up. Schedule one with /party schedule!")
            return
        lines: list[str] = []
        for party in parties:
            line = render.list_line(party)
            if len("\n".join([*lines, line])) > 4000:
                break
            lines.append(line)
        embed = discord.Embed(title="Upcoming listening parties", description="\n".join(lines))
        await reply(interaction, embed=embed)

    @party.command(name="info")
    @app_commands.autocomplete(party=party_autocomplete)
    async def info(self, interaction: discord.Interaction[LabelBot], party: str) -> None:
        """Show a party's details: when, tracklist, who's going.

        Args:
            party: The party to show.
        """
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker() as session:
            found, gathering = await service.load(session, guild.id, _party_id(party))
            content = await render.card_content(self.bot, session, found, gathering)
            mine = await rsvp.get_rsvp(session, gathering.id, interaction.user.id)
        if mine is not None:
            where = "on the waitlist" if mine.waitlisted else mine.answer
            content.embed.add_field(name="Your answer", value=str(where), inline=False)
        await reply(interaction, embed=content.embed)

    @party.command(name="now")
    @app_commands.autocomplete(party=party_autocomplete)
    async def now(self, interaction: discord.Interaction[LabelBot], party: str | None = None) -> None:
        """Late? See which track is playing and how far in, to catch up.

        Args:
            party: The party (default: the one running now, else the next one).
        """
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker() as session:
            if party is not None:
                found = await repository.get_in_guild(session, guild.id, _party_id(party))
            else:
                upcoming = await repository.upcoming(session, guild.id, limit=CHOICES_MAX)
                running = [p for p in upcoming if p.status == PartyStatus.LIVE]
                found = (running or upcoming)[0] if upcoming else None
        if found is None:
            raise NotFound("No listening party is running or coming up.")
        view = here_view(found.id) if found.status == PartyStatus.LIVE else None
        await reply(interaction, render.now_text(found, utcnow()), view=view)


def _party_id(value: str) -> int:
    digits = value.strip().lstrip("#")
    if not digits.isdigit():
        raise NotFound("There is no such listening party; pick one from the list.")
    return int(digits)


async def calendar_entries(session: AsyncSession, guild_id: int, since: datetime) -> list[CalendarEntry]:
    """The server's parties for the label calendar."""
    entries = []
    for party in await repository.since(session, guild_id, since):
        entries.append(
            CalendarEntry(
                uid=f"party-{party.id}@labelbot",
                kind="party",
                title=f"Listening party: {party.title}",
                starts_at=party.starts_at,
                ends_at=party.ends_at,
                zone=party.zone,
                description=party.description or "",
                location=f"https://discord.com/channels/{party.guild_id}/{party.voice_channel_id or party.text_channel_id}",
                cancelled=party.status == PartyStatus.CANCELLED,
                updated_at=party.updated_at,
            )
        )
    return entries


async def create_party(bot: LabelBot, guild: discord.Guild, draft: service.PartyDraft) -> ListeningParty:
    """Create the party, its native event, its card and its timeline; on any failure none of them remain.

    Read, then talk to Discord, then write: the rows and the intent go in first, Discord is asked with no
    session open, and the outcome is recorded in one short transaction (or everything is taken back).
    """
    native.check_place(guild, service.native_place(draft.voice_channel, draft.text_channel))
    await native.ensure_room(bot, guild.id)
    async with bot.sessionmaker.begin() as session:
        party, gathering = await service.add_party(bot, session, draft)
        content = await render.card_content(bot, session, party, gathering)
    done = lifecycle.Mirror()
    try:
        await lifecycle.create_native(
            bot,
            gathering.id,
            guild.id,
            done,
            name=party.title,
            description=service.native_description(party),
            starts_at=party.starts_at,
            ends_at=party.ends_at,
            place=service.native_place(draft.voice_channel, draft.text_channel),
            reason=f"Listening party scheduled by {draft.host_id}",
        )
        try:
            done.card = await draft.text_channel.send(
                embed=content.embed, view=content.view, allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.Forbidden:
            raise BotLacksPermissions(
                f"Discord didn't let me post the party card in {draft.text_channel.mention}; check my permissions "
                "there. Nothing was created."
            ) from None
        async with bot.sessionmaker.begin() as session:
            party = await service.finish_creation(bot, session, guild.id, party.id, done, draft.host_id)
    except BaseException:
        await done.undo(bot, guild.id)
        await lifecycle.discard(bot, gathering.id, service.discard_rows)
        raise
    return party
