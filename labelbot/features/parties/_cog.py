"""/party: schedule, change and follow listening parties; the thread listener that feeds the recap."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists.models import Artist
from labelbot.artists.transformers import ManagedArtistOption
from labelbot.calendar import CalendarEntry
from labelbot.client import LabelBot
from labelbot.context import member_context
from labelbot.db.base import utcnow
from labelbot.errors import NotAllowed, NotFound
from labelbot.features.parties import _dashboard as dashboard
from labelbot.features.parties import _jobs as jobs
from labelbot.features.parties import _render as render
from labelbot.features.parties import _repository as repository
from labelbot.features.parties import _service as service
from labelbot.features.parties._views import (
    HereButton,
    PartyModal,
    RateButton,
    RsvpButton,
    card_content,
    create_party,
    here_view,
    render_card,
    schedule_party,
)
from labelbot.gatherings import GatheringFeature, install, lifecycle, rsvp, uninstall
from labelbot.interactions import defer, guild_of, reply
from labelbot.models.parties import DESCRIPTION_MAX, TITLE_MAX, ListeningParty, PartyStatus
from labelbot.text import clip, plain
from labelbot.timeparse import format_dt, parse_when, parse_zone
from labelbot.ui.paginator import Paginator, pages_of_lines
from labelbot.zone_option import zone_autocomplete

log = logging.getLogger(__name__)

CHOICES_MAX = 25
NEW_THREAD_AGE = timedelta(minutes=1)


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


class PartiesCog(commands.Cog, name="Parties"):
    """Listening parties: everybody presses play together, track by track, with the artist's notes."""

    party = app_commands.Group(name="party", description="Listening parties: everybody presses play together.")

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot
        self.feature = GatheringFeature(
            kind=service.KIND,
            noun="listening party",
            render_card=render_card,
            reminder_text=render.reminder_text,
        )
        # Threads seen in this process: the party behind them, or None for threads of nothing.
        self._threads: dict[int, _Thread | None] = {}

    async def cog_load(self) -> None:
        install(self.bot, self.feature)
        lifecycle.register(self.bot, service.KIND, service.discard_rows)
        jobs.register(self.bot)
        self.bot.add_dynamic_items(RsvpButton, HereButton, RateButton)
        self.bot.features.calendar.add_source("parties", calendar_entries)
        self.bot.features.audit_titles.add(render.AUDIT_TITLES)
        self.bot.features.dashboard.add(dashboard.NAME, dashboard.section, order=dashboard.ORDER)
        self.bot.features.settings.add("parties", *render.SETTING_DEFAULTS)

    async def cog_unload(self) -> None:
        self.bot.features.dashboard.remove(dashboard.NAME)
        self.bot.features.audit_titles.remove(render.AUDIT_TITLES)
        self.bot.features.settings.remove("parties")
        self.bot.features.calendar.remove_source("parties")
        self.bot.remove_dynamic_items(RsvpButton, HereButton, RateButton)
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

    async def past_party_autocomplete(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker() as session:
            parties = await repository.search_past(session, interaction.guild_id, current, limit=CHOICES_MAX)
        return [
            app_commands.Choice(name=clip(f"#{p.id} {p.title} ({p.starts_at:%Y-%m-%d})", 100), value=str(p.id))
            for p in parties
        ]

    async def release_autocomplete(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        from labelbot.catalog.queries import search_releases

        async with self.bot.sessionmaker() as session:
            releases = await search_releases(session, interaction.guild_id, current, limit=CHOICES_MAX)
            return [
                app_commands.Choice(name=clip(f"{r.artist.name} – {r.title}", 100), value=str(r.id)) for r in releases
            ]

    # -- /party schedule --------------------------------------------------------------------------------------

    @party.command(name="schedule")
    @app_commands.autocomplete(release=release_autocomplete, zone=zone_autocomplete)
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
        capacity: app_commands.Range[int, 0, service.CAPACITY_MAX] | None = None,
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
        request = service.ScheduleRequest(
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
                shown_title, release_tracks = await service.precheck(interaction, session, request)
            modal = PartyModal(request, title=shown_title, tracklist=tracklist or release_tracks)
            await interaction.response.send_modal(modal)
            return
        await schedule_party(interaction, request, tracklist=tracklist, notes=None, closing_note=None)

    @party.command(name="replay")
    @app_commands.autocomplete(party=past_party_autocomplete, zone=zone_autocomplete)
    async def replay(
        self,
        interaction: discord.Interaction[LabelBot],
        party: str,
        start: str,
        reminders: str | None = None,
        zone: str | None = None,
    ) -> None:
        """Run a past party again: its tracklist and notes, with fresh answers and reminders.

        Args:
            party: The past party to replay.
            start: When the replay starts, e.g. "friday 8pm", "in 2h".
            reminders: When to remind, e.g. "24h, 1h, 10m" (default: the original's), or "none".
            zone: The time zone of the start (default: yours, else the server's).
        """
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker() as session:
            draft = await service.read_replay(
                interaction, session, _party_id(party), start=start, zone=zone, reminders=reminders
            )
        created = await create_party(self.bot, guild, draft)
        await reply(interaction, f"🔁 A replay of party #{draft.replay_of}. {render.scheduled_text(created)}")

    # -- changes ----------------------------------------------------------------------------------------------

    async def _require_host_access(
        self, interaction: discord.Interaction[LabelBot], session: AsyncSession, party: ListeningParty
    ) -> None:
        """Moderators, the party's host, and the managers of its artist may change it."""
        context = await member_context(interaction, session)
        if party.host_id == context.user_id or context.is_moderator:
            return
        if party.artist_id is not None:
            artist = await session.get(Artist, party.artist_id)
            if artist is not None and context.manages(artist):
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
    @app_commands.autocomplete(party=party_autocomplete, zone=zone_autocomplete)
    async def edit(
        self,
        interaction: discord.Interaction[LabelBot],
        party: str,
        start: str | None = None,
        title: app_commands.Range[str, 1, TITLE_MAX] | None = None,
        capacity: app_commands.Range[int, 0, service.CAPACITY_MAX] | None = None,
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
        # The member's context was loaded when their access to the party was checked.
        meant = parse_zone(zone) if zone else (await member_context(interaction)).zone
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
    async def list_parties(self, interaction: discord.Interaction[LabelBot], past: bool = False) -> None:
        """Show the upcoming and running listening parties, or the past ones with their recaps.

        Args:
            past: Show the parties that have ended, latest first, with links to their recaps.
        """
        await defer(interaction)
        guild = guild_of(interaction)
        if past:
            async with self.bot.sessionmaker() as session:
                ended = await repository.past(session, guild.id)
                came = await repository.attendance_counts(session, [p.id for p in ended])
            pages = pages_of_lines(
                "Past listening parties",
                [render.past_line(p, came.get(p.id, 0)) for p in ended],
                empty="No listening party has ended yet. Schedule one with /party schedule!",
            )
            await Paginator(interaction.user.id, pages).send(interaction)
            return
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
            mine = await rsvp.get_rsvp(session, gathering.id, interaction.user.id)
            where = None if mine is None else ("on the waitlist" if mine.waitlisted else str(mine.answer))
            after = (f"**Your answer:** {where}",) if where is not None else ()
            content = await card_content(session, found, gathering, after=after)
        await reply(interaction, view=content.view)

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
