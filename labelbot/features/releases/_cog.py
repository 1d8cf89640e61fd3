"""/release: create, schedule, edit, cancel and list release announcements."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists.models import Artist
from labelbot.artists.repository import managed_by
from labelbot.artists.service import reload_artist
from labelbot.artists.transformers import ManagedArtistOption
from labelbot.calendar import CalendarEntry
from labelbot.catalog.models import Release, ReleaseKind, ReleaseStatus
from labelbot.catalog.queries import artist_upcoming, releases_since, search_releases, upcoming_releases
from labelbot.client import LabelBot
from labelbot.context import member_context
from labelbot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from labelbot.features.releases import _intake as intake
from labelbot.features.releases import _jobs as jobs
from labelbot.features.releases import _repository as repository
from labelbot.features.releases import _service as service
from labelbot.features.releases._parsing import (
    LinkInput,
    TrackInput,
    check_cover_attachment,
    check_cover_url,
    check_title,
    parse_teasers,
)
from labelbot.features.releases._previews import fetch_preview
from labelbot.features.releases._render import AUDIT_TITLES, COLOUR, SETTING_DEFAULTS
from labelbot.features.releases._views import (
    PERSISTENT_ITEMS,
    DetailsModal,
    edit_form,
    preview_parts,
    send_preview,
    send_saved,
)
from labelbot.guilds.service import member_zone
from labelbot.interactions import defer, reply
from labelbot.text import plain
from labelbot.timeparse import TimeParseError, describe, format_dt, parse_when
from labelbot.ui.confirm import Option, ask
from labelbot.ui.paginator import Paginator, pages_of_lines

KIND_CHOICES = [app_commands.Choice(name=kind.label, value=kind.value) for kind in ReleaseKind]
LIST_LIMIT = 100
PREVIEW_LINKS = 3


def _cover(cover: discord.Attachment | None, cover_url: str | None) -> str | None:
    if cover is not None and cover_url:
        raise InvalidInput("Give the cover either as an upload or as an address, not both.")
    if cover is not None:
        check_cover_attachment(cover.filename, cover.content_type)
        return cover.url
    if cover_url:
        return check_cover_url(cover_url)
    return None


def _choice_name(release: Release) -> str:
    name = f"{release.title} · {release.artist.name} · {release.release_status.label} · #{release.id}"
    return name if len(name) <= 100 else name[:99] + "…"


class ReleasesCog(commands.GroupCog, group_name="release", group_description="Release announcements"):
    """Schedule a drop once; it goes out at the embargo minute to the fans who asked."""

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot
        super().__init__()

    async def cog_load(self) -> None:
        jobs.register_jobs(self.bot)
        self.bot.add_dynamic_items(*PERSISTENT_ITEMS)
        self.bot.features.calendar.add_source("releases", self.calendar_entries)
        self.bot.features.artist_info.add("Upcoming releases", self.artist_section)
        self.bot.features.webhooks.register(intake.HOOK, intake.intake(self.bot))
        self.bot.features.audit_titles.add(AUDIT_TITLES)
        self.bot.features.settings.add("releases", *SETTING_DEFAULTS)

    async def cog_unload(self) -> None:
        self.bot.features.webhooks.unregister(intake.HOOK)
        self.bot.features.audit_titles.remove(AUDIT_TITLES)
        self.bot.features.settings.remove("releases")
        jobs.unregister_jobs(self.bot)
        self.bot.remove_dynamic_items(*PERSISTENT_ITEMS)
        self.bot.features.calendar.remove_source("releases")
        self.bot.features.artist_info.remove("Upcoming releases")

    # -- shared with other features ---------------------------------------------------------------------------

    async def calendar_entries(self, session: AsyncSession, guild_id: int, since: datetime) -> list[CalendarEntry]:
        """The server's scheduled, announced and cancelled releases from `since` on."""
        return [
            CalendarEntry(
                uid=f"release-{release.id}@labelbot",
                kind="release",
                title=f"{release.artist.name}: {release.title}",
                starts_at=release.release_at,
                zone=release.zone,
                description=release.description or "",
                url=release.links[0].url if release.links else None,
                cancelled=release.status == ReleaseStatus.CANCELLED,
                updated_at=release.updated_at,
            )
            for release in await releases_since(session, guild_id, since)
        ]

    async def artist_section(self, session: AsyncSession, artist: Artist) -> str | None:
        releases = await artist_upcoming(session, artist.id)
        if not releases:
            return None
        return "\n".join(f"**{plain(r.title)}** · {format_dt(r.release_at, 'F')}" for r in releases)

    # -- autocomplete -------------------------------------------------------------------------------------------

    async def _managed_ids(self, interaction: discord.Interaction[LabelBot], session: AsyncSession) -> list[int] | None:
        if not isinstance(interaction.user, discord.Member):
            return [artist.id for artist in await managed_by(session, interaction.guild_id or 0, interaction.user.id)]
        context = await member_context(interaction, session)
        if context.is_moderator:
            return None
        return sorted(context.managed_artist_ids)

    async def _editable_choices(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker() as session:
            ids = await self._managed_ids(interaction, session)
            releases = await repository.choices(session, interaction.guild_id, current, artist_ids=ids)
        return [app_commands.Choice(name=_choice_name(r), value=str(r.id)) for r in releases]

    async def _visible_choices(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker() as session:
            ids = await self._managed_ids(interaction, session)
            found = await search_releases(session, interaction.guild_id, current)
            if ids is None or ids:
                found += await repository.choices(session, interaction.guild_id, current, artist_ids=ids)
        unique = {release.id: release for release in found}
        ordered = sorted(unique.values(), key=lambda r: (r.release_at, r.id))[:25]
        return [app_commands.Choice(name=_choice_name(r), value=str(r.id)) for r in ordered]

    async def _when_choices(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if not current.strip() or interaction.guild_id is None:
            return []
        if isinstance(interaction.user, discord.Member):
            zone = (await member_context(interaction)).zone
        else:
            async with self.bot.sessionmaker() as session:
                zone = await member_zone(session, interaction.user.id, interaction.guild_id)
        try:
            parsed = parse_when(current, zone=zone)
        except TimeParseError:
            return []
        return [app_commands.Choice(name=describe(parsed), value=current[:100])]

    # -- commands -----------------------------------------------------------------------------------------------

    @app_commands.command(name="create")
    @app_commands.choices(kind=KIND_CHOICES)
    @app_commands.guild_only()
    async def create(
        self,
        interaction: discord.Interaction[LabelBot],
        artist: ManagedArtistOption,
        title: app_commands.Range[str, 1, 200],
        when: str,
        kind: app_commands.Choice[str] | None = None,
        cover: discord.Attachment | None = None,
        cover_url: str | None = None,
        teasers: str | None = None,
        thread: bool = False,
    ) -> None:
        """Prepare a release announcement; a form for the details and a preview follow.

        Args:
            artist: Whose release it is (artists you manage; moderators: any).
            title: The release's title (up to 100 characters).
            when: When it comes out, e.g. "friday 8pm", "2026-12-04 18:00", "in 2h" (your time zone).
            kind: Single, EP, album, mixtape, remix, live or other (default single).
            cover: The cover image, uploaded.
            cover_url: The cover image, as an address (instead of an upload).
            teasers: Countdown posts before it, e.g. "7d, 1d, 1h", or "none" (default: the server's).
            thread: Open a discussion thread under the announcement.
        """
        # Loaded with the artist option, in its session: the command itself reads nothing.
        context = await member_context(interaction)
        context.require_artist_access(artist)
        service.require_announcements(context.settings)
        if context.release_needs_approval and context.settings.mod_log_channel_id is None:
            raise NotAllowed(service.NO_MOD_LOG)
        clean_title = check_title(title)
        parsed = parse_when(when, zone=context.zone)
        cover_address = _cover(cover, cover_url)
        offsets = parse_teasers(teasers) if teasers is not None else None
        release_kind = ReleaseKind(kind.value) if kind is not None else ReleaseKind.SINGLE
        artist_id = artist.id

        async def with_details(
            modal_interaction: discord.Interaction[Any],
            description: str | None,
            links: list[LinkInput],
            tracks: list[TrackInput],
        ) -> None:
            await defer(modal_interaction)
            suggested_cover, suggested_title = None, None
            if cover_address is None and links and self.bot.settings.link_previews.enabled:
                suggested_cover, suggested_title = await self._suggest_cover(links)
            data = service.ReleaseInput(
                title=clean_title,
                kind=release_kind,
                release_at=parsed.at,
                zone=parsed.zone,
                cover_url=cover_address,
                teaser_offsets_minutes=offsets,
                description=description,
                links=links,
                tracks=tracks,
                discussion_thread=thread,
            )
            # The form is its own interaction, maybe minutes later: its context (and access) is read again, once.
            async with self.bot.sessionmaker.begin() as session:
                details_context = await member_context(modal_interaction, session)
                current = await reload_artist(session, artist)
                details_context.require_artist_access(current)
                release = await service.create_draft(
                    self.bot,
                    session,
                    settings=details_context.settings,
                    artist=current,
                    actor_id=modal_interaction.user.id,
                    data=data,
                    suggested_cover_url=suggested_cover,
                    suggested_title=suggested_title,
                )
                release = await service.load_release(session, details_context.guild_id, release.id)
            assert release.artist_id == artist_id
            await send_preview(modal_interaction, details_context, release)

        await interaction.response.send_modal(
            DetailsModal(title=f"New release: {clean_title}", on_details=with_details)
        )

    async def _suggest_cover(self, links: list[LinkInput]) -> tuple[str | None, str | None]:
        """The first OpenGraph image (and title) among the release's first links; nothing if none answers."""
        previews = await asyncio.gather(
            *(fetch_preview(link.url, self.bot.settings.link_previews) for link in links[:PREVIEW_LINKS])
        )
        for preview in previews:
            if preview is not None and preview.image:
                return preview.image, preview.title
        return None, None

    @create.autocomplete("when")
    async def _create_when(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._when_choices(interaction, current)

    @app_commands.command(name="edit")
    @app_commands.choices(kind=KIND_CHOICES)
    @app_commands.guild_only()
    async def edit(
        self,
        interaction: discord.Interaction[LabelBot],
        release: str,
        title: app_commands.Range[str, 1, 200] | None = None,
        when: str | None = None,
        kind: app_commands.Choice[str] | None = None,
        cover: discord.Attachment | None = None,
        cover_url: str | None = None,
        teasers: str | None = None,
        details: bool = False,
    ) -> None:
        """Change a release: before its time it is rescheduled; after it, the posted announcement is edited.

        Args:
            release: The release to change.
            title: A new title.
            when: A new release time (your time zone).
            kind: A new kind.
            cover: A new cover image, uploaded.
            cover_url: A new cover image, as an address.
            teasers: New countdown teasers, e.g. "1d, 1h", or "none".
            details: Open a form to change the title, time, description, links and tracklist.
        """
        release_id = service.parse_release_id(release)
        guild_id = interaction.guild_id or 0
        async with self.bot.sessionmaker() as session:
            context = await member_context(interaction, session)
            found = await service.load_release(session, guild_id, release_id)
            context.require_artist_access(found.artist)
        if details:
            if any(value is not None for value in (title, when, kind, cover, cover_url, teasers)):
                raise InvalidInput("Use either the details form or the other options, not both at once.")
            await interaction.response.send_modal(edit_form(context, found))
            return
        changes = service.ReleaseChanges(
            title=check_title(title) if title is not None else None,
            kind=ReleaseKind(kind.value) if kind is not None else None,
            cover_url=_cover(cover, cover_url),
            teaser_offsets_minutes=parse_teasers(teasers) if teasers is not None else None,
        )
        if when is not None:
            parsed = parse_when(when, zone=context.zone)
            changes.release_at, changes.zone = parsed.at, parsed.zone
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            current = await service.load_release(session, guild_id, release_id)
            context.require_artist_access(current.artist)
            held = await service.edit(
                self.bot,
                session,
                current,
                changes,
                settings=context.settings,
                actor_id=interaction.user.id,
                needs_approval=context.release_needs_approval,
            )
            current = await service.load_release(session, guild_id, release_id)
        await send_saved(interaction, context, current, held=held)

    @app_commands.command(name="cancel")
    @app_commands.guild_only()
    async def cancel(self, interaction: discord.Interaction[LabelBot], release: str) -> None:
        """Cancel a release: nothing more is posted, and an announcement already out is marked cancelled.

        Args:
            release: The release to cancel.
        """
        release_id = service.parse_release_id(release)
        guild_id = interaction.guild_id or 0
        async with self.bot.sessionmaker() as session:
            context = await member_context(interaction, session)
            found = await service.load_release(session, guild_id, release_id)
            context.require_artist_access(found.artist)
        if found.release_status is ReleaseStatus.CANCELLED:
            raise Conflict("This release is already cancelled.")
        question = f"Cancel **{plain(found.title)}** by **{plain(found.artist.name)}**? " + (
            "Its announcement is already out; it will be marked cancelled."
            if found.release_status is ReleaseStatus.ANNOUNCED
            else "Nothing more will be posted for it."
        )
        answer, click = await ask(interaction, question, [Option("Cancel the release", "yes")])
        if answer is None or click is None:
            return
        async with self.bot.sessionmaker.begin() as session:
            current = await service.load_release(session, guild_id, release_id)
            # The confirming click is a later interaction: access is read again for it.
            (await member_context(click, session)).require_artist_access(current.artist)
            announced = await service.cancel(self.bot, session, current, actor_id=interaction.user.id)
        text = (
            "Cancelled; the announcement is being marked cancelled."
            if announced
            else "Cancelled; nothing more will be posted for it."
        )
        await interaction.edit_original_response(content=text, view=None)

    @app_commands.command(name="announce-now")
    @app_commands.guild_only()
    async def announce_now(self, interaction: discord.Interaction[LabelBot], release: str) -> None:
        """Post a scheduled release's announcement right now instead of at its time.

        Artists' managers wait out the server's announce cooldown between two announcements of one artist;
        moderators don't.

        Args:
            release: The release to announce.
        """
        release_id = service.parse_release_id(release)
        guild_id = interaction.guild_id or 0
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            context = await member_context(interaction, session)
            current = await service.load_release(session, guild_id, release_id)
            context.require_artist_access(current.artist)
            await service.announce_now(
                self.bot,
                session,
                current,
                settings=context.settings,
                actor_id=interaction.user.id,
                cooldown_applies=not context.is_moderator,
            )
        await reply(interaction, f"Announcing **{plain(current.title)}** now.", ephemeral=True)

    @app_commands.command(name="list")
    @app_commands.guild_only()
    async def list_upcoming(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Show the releases scheduled to come out, soonest first."""
        await defer(interaction)
        async with self.bot.sessionmaker() as session:
            releases = await upcoming_releases(session, interaction.guild_id or 0, limit=LIST_LIMIT)
        lines = [
            f"**{plain(r.title)}** by {plain(r.artist.name)} · {r.release_kind.label} · "
            f"{format_dt(r.release_at, 'F')} ({format_dt(r.release_at, 'R')}) · #{r.id}"
            for r in releases
        ]
        pages = pages_of_lines(
            "Upcoming releases", lines, per_page=10, empty="Nothing is scheduled yet.", colour=COLOUR
        )
        await Paginator(interaction.user.id, pages).send(interaction)

    @app_commands.command(name="info")
    @app_commands.guild_only()
    async def info(self, interaction: discord.Interaction[LabelBot], release: str) -> None:
        """Show a release as it is (or will be) announced, and where it stands.

        Args:
            release: The release to show.
        """
        release_id = service.parse_release_id(release)
        await defer(interaction)
        async with self.bot.sessionmaker() as session:
            context = await member_context(interaction, session)
            found = await service.load_release(session, interaction.guild_id or 0, release_id)
        manager = context.manages(found.artist)
        if not manager and found.release_status in (ReleaseStatus.DRAFT, ReleaseStatus.AWAITING_APPROVAL):
            raise NotFound("There is no such release in this server.")
        await reply(interaction, view=preview_parts(context, found, manager=manager), ephemeral=True)

    @edit.autocomplete("release")
    @cancel.autocomplete("release")
    @announce_now.autocomplete("release")
    async def _editable(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._editable_choices(interaction, current)

    @info.autocomplete("release")
    async def _visible(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._visible_choices(interaction, current)

    @edit.autocomplete("when")
    async def _edit_when(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._when_choices(interaction, current)
