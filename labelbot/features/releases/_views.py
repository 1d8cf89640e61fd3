"""Buttons and modals of releases: the preview's Schedule / Edit / Discard, Approve / Reject, the details modal."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.context import MemberContext, member_context
from labelbot.errors import Conflict
from labelbot.features.releases import _repository as repository
from labelbot.features.releases import _service as service
from labelbot.features.releases._parsing import (
    LinkInput,
    TrackInput,
    check_description,
    check_title,
    format_tracklist,
    parse_links,
    parse_tracklist,
)
from labelbot.features.releases._render import Post, announcement, status_line
from labelbot.interactions import defer, reply
from labelbot.links import format_links
from labelbot.text import defuse, plain
from labelbot.timeparse import format_dt, parse_when
from labelbot.tree import handle_interaction_error
from labelbot.ui.dynamic import PersistentItem
from labelbot.ui.layout import close_with_note

if TYPE_CHECKING:
    from labelbot.client import LabelBot

WHEN_FORMAT = "%Y-%m-%d %H:%M"
# The part under which the request about a held change of an announced release is remembered.
CHANGE_REQUEST = "approval-change"

log = logging.getLogger(__name__)


# -- the preview ------------------------------------------------------------------------------------------------


def preview_parts(
    context: MemberContext, release: Release, *, intro: str | None = None, manager: bool = True
) -> discord.ui.LayoutView:
    """The announcement exactly as it will be posted, then a note on where the release stands, then the controls."""
    settings = context.settings
    post = announcement(
        release,
        artist_name=release.artist.name,
        fan_role_id=release.artist.fan_role_id,
        all_releases_role_id=settings.all_releases_role_id,
        accent=release.artist.accent_colour,
    )
    note = [status_line(release)]
    controls: list[discord.ui.Item[Any]] = []
    status = release.release_status
    if status is ReleaseStatus.DRAFT:
        needs_approval = context.release_needs_approval
        note.append(
            "-# This is exactly the announcement that will be posted. "
            + (
                "Schedule sends it to the moderators for approval."
                if needs_approval
                else "Schedule it to go out on time."
            )
        )
        controls.append(ScheduleButton(release.id))
        controls.append(EditButton(release.id))
        controls.append(DiscardButton(release.id))
    elif status is not ReleaseStatus.CANCELLED:
        controls.append(EditButton(release.id))
    box: discord.ui.Container[Any] = discord.ui.Container(accent_colour=discord.Colour.light_grey())
    box.add_item(discord.ui.TextDisplay("\n".join(note)))
    if release.suggested_cover_url and not release.cover_url and status is not ReleaseStatus.CANCELLED:
        title = f" ({defuse(release.suggested_title)[:200]})" if release.suggested_title else ""
        box.add_item(
            discord.ui.Section(
                f"**Cover found on your link**\n[This image]({release.suggested_cover_url}){title}",
                accessory=discord.ui.Thumbnail(release.suggested_cover_url),
            )
        )
        controls.append(UseCoverButton(release.id))
    return post.layout(before=[intro] if intro else [], after=[box], controls=controls if manager else [])


async def send_preview(
    interaction: discord.Interaction[LabelBot], context: MemberContext, release: Release, *, intro: str | None = None
) -> None:
    """Show the member the release as it will be posted (from what the step already read; no database)."""
    await reply(interaction, view=preview_parts(context, release, intro=intro), ephemeral=True)


async def send_saved(
    interaction: discord.Interaction[LabelBot], context: MemberContext, release: Release, *, held: bool
) -> None:
    """After a member's change: where the release stands now, and the announcement as it is (or would be)."""
    status = release.release_status
    shown = release
    if held:
        intro = (
            "Sent to the moderators: the posted announcement keeps showing the approved version until one of them "
            "approves this change:"
        )
        shown = service.proposed(release)
    elif status is ReleaseStatus.ANNOUNCED:
        intro = "Saved; the posted announcement is being updated to match:"
    elif status is ReleaseStatus.SCHEDULED:
        intro = f"Saved and rescheduled for {format_dt(release.release_at, 'F')}:"
    elif status is ReleaseStatus.DRAFT:
        intro = "Saved as a draft; press Schedule to send it (for approval, where the server asks for it):"
    else:
        intro = "Saved:"
    await send_preview(interaction, context, shown, intro=intro)


def edit_form(context: MemberContext, release: Release) -> DetailsModal:
    """The details form, filled in with what the member would change: their held change, if one waits."""
    if release.pending_edit and context.release_needs_approval:
        return DetailsModal.for_release(service.proposed(release))
    return DetailsModal.for_release(release)


async def _release_for(
    interaction: discord.Interaction[LabelBot], session: AsyncSession, release_id: int
) -> tuple[MemberContext, Release]:
    """The member's context and the release they may act on, read in the step's one session."""
    context = await member_context(interaction, session)
    release = await service.load_release(session, context.guild_id, release_id)
    context.require_artist_access(release.artist)
    return context, release


class _ReleaseButton(PersistentItem[discord.ui.Button[Any]], template=r"(?!)"):
    """A persistent release button keyed `release:<action>:<id>`; each subclass has its own template."""

    action = ""
    label = ""
    style = discord.ButtonStyle.secondary

    def __init__(self, release_id: int) -> None:
        super().__init__(
            discord.ui.Button(label=self.label, style=self.style, custom_id=f"release:{self.action}:{release_id}")
        )
        self.release_id = release_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Any:
        return cls(int(match["id"]))


class ScheduleButton(_ReleaseButton, template=r"release:schedule:(?P<id>\d+)"):
    action = "schedule"
    label = "Schedule"
    style = discord.ButtonStyle.success

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await defer(interaction)
        async with interaction.client.sessionmaker.begin() as session:
            context, release = await _release_for(interaction, session, self.release_id)
            status = await service.submit(
                interaction.client,
                session,
                release,
                settings=context.settings,
                actor_id=interaction.user.id,
                actor_is_moderator=context.is_moderator,
            )
            when = format_dt(release.release_at)
        if status is ReleaseStatus.AWAITING_APPROVAL:
            text = "Sent to the moderators for approval; you'll get a DM when they decide."
        else:
            text = f"Scheduled: **{defuse(release.title)}** goes out {when}."
        await reply(interaction, text, ephemeral=True)


class EditButton(_ReleaseButton, template=r"release:edit:(?P<id>\d+)"):
    action = "edit"
    label = "Edit"

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        async with interaction.client.sessionmaker() as session:
            context, release = await _release_for(interaction, session, self.release_id)
        await interaction.response.send_modal(edit_form(context, release))


class DiscardButton(_ReleaseButton, template=r"release:discard:(?P<id>\d+)"):
    action = "discard"
    label = "Discard"
    style = discord.ButtonStyle.danger

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await defer(interaction)
        async with interaction.client.sessionmaker.begin() as session:
            _, release = await _release_for(interaction, session, self.release_id)
            await service.discard(interaction.client, session, release, actor_id=interaction.user.id)
        await reply(interaction, "Discarded; nothing was scheduled.", ephemeral=True)


class UseCoverButton(_ReleaseButton, template=r"release:cover:(?P<id>\d+)"):
    action = "cover"
    label = "Use this cover"
    style = discord.ButtonStyle.primary

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await defer(interaction)
        async with interaction.client.sessionmaker.begin() as session:
            context, release = await _release_for(interaction, session, self.release_id)
            held = await service.use_suggested_cover(
                interaction.client,
                session,
                release,
                settings=context.settings,
                actor_id=interaction.user.id,
                needs_approval=context.release_needs_approval,
            )
            release = await service.load_release(session, release.guild_id, release.id)
        await send_saved(interaction, context, release, held=held)


# -- approval -----------------------------------------------------------------------------------------------------


async def _moderated_release(
    interaction: discord.Interaction[LabelBot], session: AsyncSession, release_id: int
) -> tuple[MemberContext, Release]:
    """The moderator's context and the release they decide on; anyone else is refused."""
    context = await member_context(interaction, session)
    context.require_moderator()
    return context, await service.load_release(session, interaction.guild_id or 0, release_id)


async def _close_request(
    interaction: discord.Interaction[Any], release_id: int, outcome: str, *, part: str = "approval"
) -> None:
    """Edit the approval request in the mod log: the outcome in words, no buttons (best effort)."""
    async with interaction.client.sessionmaker() as session:
        posted = await repository.message_of(session, release_id, part)
    if posted is None:
        return
    channel = interaction.client.get_channel(posted.channel_id)
    if not isinstance(channel, discord.TextChannel | discord.Thread):
        return
    try:
        await close_with_note(channel.get_partial_message(posted.message_id), outcome)
    except discord.HTTPException:
        log.warning("Could not mark the approval request of release %s", release_id, exc_info=True)


class ApproveButton(_ReleaseButton, template=r"release:approve:(?P<id>\d+)"):
    action = "approve"
    label = "Approve"
    style = discord.ButtonStyle.success

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await defer(interaction)
        async with interaction.client.sessionmaker.begin() as session:
            context, release = await _moderated_release(interaction, session, self.release_id)
            await service.approve(
                interaction.client, session, release, settings=context.settings, moderator_id=interaction.user.id
            )
            when = format_dt(release.release_at)
        await _close_request(
            interaction, self.release_id, f"**Approved** by {interaction.user.mention}; it goes out {when}."
        )
        await reply(interaction, f"Approved: **{defuse(release.title)}** goes out {when}.", ephemeral=True)


class RejectButton(_ReleaseButton, template=r"release:reject:(?P<id>\d+)"):
    action = "reject"
    label = "Reject"
    style = discord.ButtonStyle.danger

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        async with interaction.client.sessionmaker() as session:
            _, release = await _moderated_release(interaction, session, self.release_id)
            if release.release_status is not ReleaseStatus.AWAITING_APPROVAL:
                raise Conflict(f"This release is {release.release_status.label}, not waiting for approval.")
        await interaction.response.send_modal(RejectModal(self.release_id))


class _ReasonModal(discord.ui.Modal):
    """A moderator's rejection: the reason the artist is shown, and the note the mod log's request ends with."""

    reason: discord.ui.TextInput[_ReasonModal] = discord.ui.TextInput(
        label="Why? (the artist sees this)",
        custom_id="reason",
        style=discord.TextStyle.paragraph,
        max_length=1000,
        min_length=3,
    )

    def outcome(self, interaction: discord.Interaction[Any]) -> str:
        return f"**Rejected** by {interaction.user.mention}: {defuse(' '.join(self.reason.value.split()))}"

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        await handle_interaction_error(interaction, error)


class RejectModal(_ReasonModal, title="Reject this release"):
    def __init__(self, release_id: int) -> None:
        super().__init__(custom_id=f"release:rejectmodal:{release_id}")
        self.release_id = release_id

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await defer(interaction)
        async with interaction.client.sessionmaker.begin() as session:
            _, release = await _moderated_release(interaction, session, self.release_id)
            await service.reject(
                interaction.client, session, release, moderator_id=interaction.user.id, reason=self.reason.value
            )
        await _close_request(interaction, self.release_id, self.outcome(interaction))
        await reply(interaction, "Rejected; the artist has been told why.", ephemeral=True)


class _HeldChangeButton(_ReleaseButton, template=r"(?!)"):
    """A button of the request about a held change, keyed `release:<action>:<id>:<token>` (that version of it)."""

    def __init__(self, release_id: int, token: str) -> None:
        # Past _ReleaseButton's __init__: discord.py checks the custom_id against the template at once.
        PersistentItem.__init__(
            self,
            discord.ui.Button(
                label=self.label, style=self.style, custom_id=f"release:{self.action}:{release_id}:{token}"
            ),
        )
        self.release_id = release_id
        self.token = token

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Any:
        return cls(int(match["id"]), match["token"])


class ApproveChangeButton(_HeldChangeButton, template=r"release:approve-change:(?P<id>\d+):(?P<token>[0-9a-f]{8})"):
    action = "approve-change"
    label = "Approve the change"
    style = discord.ButtonStyle.success

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await defer(interaction)
        async with interaction.client.sessionmaker.begin() as session:
            _, release = await _moderated_release(interaction, session, self.release_id)
            await service.approve_edit(
                interaction.client, session, release, moderator_id=interaction.user.id, token=self.token
            )
        await _close_request(
            interaction,
            self.release_id,
            f"**Approved** by {interaction.user.mention}; the announcement shows the change now.",
            part=CHANGE_REQUEST,
        )
        await reply(
            interaction,
            f"Approved: the announcement of **{plain(release.title)}** is being updated to show the change.",
            ephemeral=True,
        )


class RejectChangeButton(_HeldChangeButton, template=r"release:reject-change:(?P<id>\d+):(?P<token>[0-9a-f]{8})"):
    action = "reject-change"
    label = "Reject the change"
    style = discord.ButtonStyle.danger

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        async with interaction.client.sessionmaker() as session:
            _, release = await _moderated_release(interaction, session, self.release_id)
            if not release.pending_edit or release.pending_edit.get("token") != self.token:
                raise Conflict("This change was already decided or replaced, so there is nothing to reject here.")
        await interaction.response.send_modal(RejectChangeModal(self.release_id, self.token))


class RejectChangeModal(_ReasonModal, title="Reject this change"):
    def __init__(self, release_id: int, token: str) -> None:
        super().__init__(custom_id=f"release:rejectchangemodal:{release_id}:{token}")
        self.release_id = release_id
        self.token = token

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await defer(interaction)
        async with interaction.client.sessionmaker.begin() as session:
            _, release = await _moderated_release(interaction, session, self.release_id)
            await service.reject_edit(
                interaction.client,
                session,
                release,
                moderator_id=interaction.user.id,
                token=self.token,
                reason=self.reason.value,
            )
        await _close_request(interaction, self.release_id, self.outcome(interaction), part=CHANGE_REQUEST)
        await reply(
            interaction, "Rejected; the announcement stays as it was, and the artist has been told why.", ephemeral=True
        )


def change_approval_view(release_id: int, token: str, post: Post, request: str) -> discord.ui.LayoutView:
    """The request about a held change, the proposed version's card, then Approve / Reject."""
    return post.layout(
        before=[request], controls=[ApproveChangeButton(release_id, token), RejectChangeButton(release_id, token)]
    )


def approval_view(release_id: int, post: Post, request: str) -> discord.ui.LayoutView:
    """The request in the mod log, the release's card as it would be posted, then Approve / Reject."""
    return post.layout(before=[request], controls=[ApproveButton(release_id), RejectButton(release_id)])


# -- the details modal -------------------------------------------------------------------------------------------


DraftHandler = Callable[[discord.Interaction[Any], str | None, list[LinkInput], list[TrackInput]], Awaitable[None]]


class DetailsModal(discord.ui.Modal):
    """Description, links and tracklist (and, when editing, title and time) of a release."""

    def __init__(
        self,
        *,
        title: str,
        on_details: DraftHandler | None = None,
        release: Release | None = None,
    ) -> None:
        super().__init__(title=title[:45], timeout=900)
        self.on_details = on_details
        self.release_id = release.id if release is not None else None
        self.release_title: discord.ui.TextInput[DetailsModal] | None = None
        self.when: discord.ui.TextInput[DetailsModal] | None = None
        self.when_default = ""
        if release is not None:
            self.release_title = discord.ui.TextInput(
                label="Title", custom_id="title", max_length=100, default=release.title
            )
            local = release.release_at.astimezone(ZoneInfo(release.zone))
            self.when_default = f"{local.strftime(WHEN_FORMAT)} {release.zone}"
            self.when = discord.ui.TextInput(
                label="Release time", custom_id="when", max_length=100, default=self.when_default, required=True
            )
            self.add_item(self.release_title)
            self.add_item(self.when)
        self.description: discord.ui.TextInput[DetailsModal] = discord.ui.TextInput(
            label="Description",
            custom_id="description",
            style=discord.TextStyle.paragraph,
            max_length=2000,
            required=False,
            default=release.description if release is not None else None,
        )
        self.links: discord.ui.TextInput[DetailsModal] = discord.ui.TextInput(
            label="Links, one per line: Bandcamp https://…",
            custom_id="links",
            style=discord.TextStyle.paragraph,
            max_length=4000,
            required=False,
            placeholder="Bandcamp https://…\nSpotify https://…",
            default=format_links([LinkInput(link.label, link.url) for link in release.links]) if release else None,
        )
        self.tracklist: discord.ui.TextInput[DetailsModal] = discord.ui.TextInput(
            label="Tracklist, one per line: 1. Title 3:45",
            custom_id="tracklist",
            style=discord.TextStyle.paragraph,
            max_length=4000,
            required=False,
            placeholder="1. Opening 3:45\n2. Night Drive 4:10",
            default=format_tracklist([TrackInput(t.title, t.duration_seconds) for t in release.tracks])
            if release
            else None,
        )
        self.add_item(self.description)
        self.add_item(self.links)
        self.add_item(self.tracklist)

    @classmethod
    def for_release(cls, release: Release) -> DetailsModal:
        return cls(title=f"Edit: {release.title}", release=release)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        # Read everything before deferring or storing: bad input answers with one sentence and stores nothing.
        description = check_description(self.description.value)
        links = parse_links(self.links.value)
        tracks = parse_tracklist(self.tracklist.value)
        if self.on_details is not None:
            await self.on_details(interaction, description, links, tracks)
            return
        assert self.release_id is not None
        assert self.release_title is not None
        assert self.when is not None
        changes = service.ReleaseChanges(
            title=check_title(self.release_title.value),
            description=description,
            clear_description=description is None,
            links=links,
            tracks=tracks,
        )
        if self.when.value.strip() != self.when_default:
            # Read before deferring, so a time that doesn't parse answers with one sentence; the context is kept.
            parsed = parse_when(self.when.value, zone=(await member_context(interaction)).zone)
            changes.release_at, changes.zone = parsed.at, parsed.zone
        await defer(interaction)
        async with interaction.client.sessionmaker.begin() as session:
            context, release = await _release_for(interaction, session, self.release_id)
            held = await service.edit(
                interaction.client,
                session,
                release,
                changes,
                settings=context.settings,
                actor_id=interaction.user.id,
                needs_approval=context.release_needs_approval,
            )
            release = await service.load_release(session, release.guild_id, release.id)
        await send_saved(interaction, context, release, held=held)

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        await handle_interaction_error(interaction, error, source=self)


PERSISTENT_ITEMS: tuple[type[_ReleaseButton], ...] = (
    ScheduleButton,
    EditButton,
    DiscardButton,
    UseCoverButton,
    ApproveButton,
    RejectButton,
    ApproveChangeButton,
    RejectChangeButton,
)


def when_text(at: datetime, zone: str) -> str:
    return f"{at.astimezone(ZoneInfo(zone)).strftime(WHEN_FORMAT)} {zone}"
