"""The /artist commands (members and managers) and /artist-admin (moderators)."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from labelbot.artists import repository
from labelbot.artists.models import Artist
from labelbot.artists.service import fan_count, reload_artist
from labelbot.artists.transformers import ArtistOption, ManagedArtistOption
from labelbot.client import LabelBot
from labelbot.errors import BotLacksPermissions, InvalidInput, NotAllowed
from labelbot.features.artists._service import (
    ArtistDraft,
    add_artist,
    clean_bio,
    clean_name,
    edit_artist,
    ensure_name_free,
    ensure_role_unused,
    fan_role_of,
    link_manager,
    parse_colour,
    parse_genres,
    parse_links,
    remove_artist,
    unlink_manager,
)
from labelbot.guilds.models import GuildSettings
from labelbot.guilds.service import peek_guild_settings
from labelbot.interactions import bot_member, defer, guild_of, member_of, reply
from labelbot.permissions import (
    is_moderator,
    moderator_group,
    moderator_only,
    require_artist_access,
    require_moderator,
    role_refusal,
)
from labelbot.role_counts import role_member_counts
from labelbot.ui.confirm import Option, ask
from labelbot.ui.paginator import Paginator, pages_of_lines

log = logging.getLogger(__name__)

FIELD_MAX = 1024
ARTISTS_PER_PAGE = 10
KEEP_ROLE = "keep_role"
DELETE_ROLE = "delete_role"
MODERATOR_FIELDS = "Only moderators can rename an artist or change its fan role or colour."


def _name(artist: Artist) -> str:
    return discord.utils.escape_markdown(artist.name)


def _fit(lines: list[str], limit: int = FIELD_MAX) -> str:
    """Join lines into one embed field's value, leaving out the last ones (and saying so) if they don't fit."""
    shown: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        more = f"…and {len(lines) - index} more"
        if size + len(line) + 1 + len(more) > limit:
            shown.append(more)
            break
        shown.append(line)
        size += len(line) + 1
    return "\n".join(shown) or "—"


ROLE_GRANTS = "artists"


def _check_fan_role(role: discord.Role, me: discord.Member, settings: GuildSettings) -> None:
    refusal = role_refusal(role, me, settings)
    if refusal is not None:
        raise InvalidInput(refusal)


async def _undo_role(role: discord.Role) -> None:
    try:
        await role.delete(reason="Labelbot: the artist it was made for was not saved")
    except discord.HTTPException:
        log.exception("Could not delete fan role %s after a failed /artist-admin add", role.id)


# How the roster's actions read in the mod log and /settings audit.
AUDIT_TITLES = {
    "artist.add": "Artist added",
    "artist.edit": "Artist edited",
    "artist.link": "Manager linked",
    "artist.unlink": "Manager unlinked",
    "artist.remove": "Artist removed",
}


class ArtistsCog(commands.Cog, name="Artists"):
    """The label's artists: profiles, fan roles, and the members who manage them."""

    # Members browse and managers edit under /artist; moderators keep the roster under /artist-admin, hidden from
    # members (see labelbot.permissions.moderator_group).
    artist_group = app_commands.Group(name="artist", description="The label's artists.", guild_only=True)
    admin_group = moderator_group("artist", "Keep the label's roster (moderators).")

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        # Fans get an artist's fan role (from panels), so it can't become the moderator or artist role.
        self.bot.features.role_grants.add_source(ROLE_GRANTS, fan_role_of)
        self.bot.features.audit_titles.add(AUDIT_TITLES)

    async def cog_unload(self) -> None:
        self.bot.features.role_grants.remove_source(ROLE_GRANTS)
        self.bot.features.audit_titles.remove(AUDIT_TITLES)

    # -- moderators --------------------------------------------------------------------------------------------

    @admin_group.command(name="add")
    @moderator_only()
    async def add(
        self,
        interaction: discord.Interaction[LabelBot],
        name: str,
        bio: str | None = None,
        genres: str | None = None,
        links: str | None = None,
        fan_role: discord.Role | None = None,
    ) -> None:
        """Add an artist to the roster, with a fan role I create or one you pick.

        Args:
            name: The artist's name, as fans know it.
            bio: A few lines about the artist.
            genres: Genres separated by commas, e.g. "synthwave, ambient".
            links: Links like "Bandcamp https://…", separated by commas (http or https, up to 10).
            fan_role: An existing role for the artist's fans; leave it out and I create one named after them.
        """
        guild = guild_of(interaction)
        await defer(interaction)
        draft = ArtistDraft.parse(name, bio, genres, links)
        me = await bot_member(interaction)
        if fan_role is None and not me.guild_permissions.manage_roles:
            raise BotLacksPermissions(
                "I need the Manage Roles permission to create a fan role; grant it, or pick an existing fan_role."
            )
        # Everything that can refuse is checked before the role exists, so a refusal leaves no trace.
        async with self.bot.sessionmaker() as session:
            if fan_role is not None:
                _check_fan_role(fan_role, me, await peek_guild_settings(session, guild.id))
            await ensure_name_free(session, guild.id, draft.name)
            if fan_role is not None:
                await ensure_role_unused(session, guild.id, fan_role.id)
        created: discord.Role | None = None
        if fan_role is None:
            try:
                created = await guild.create_role(
                    name=draft.name,
                    permissions=discord.Permissions.none(),
                    mentionable=False,
                    reason=f"Labelbot: fan role of {draft.name}, added by {interaction.user}",
                )
            except discord.Forbidden:
                raise BotLacksPermissions(
                    "Discord didn't let me create the fan role; check that I have Manage Roles."
                ) from None
        role = fan_role or created
        assert role is not None
        try:
            async with self.bot.sessionmaker.begin() as session:
                artist = await add_artist(
                    self.bot,
                    session,
                    guild_id=guild.id,
                    actor_id=interaction.user.id,
                    draft=draft,
                    fan_role_id=role.id,
                    fan_role_created_by_bot=created is not None,
                )
        except BaseException:
            # Not saved (a duplicate that raced in, the database went away): the role made for it goes too.
            if created is not None:
                await _undo_role(created)
            raise
        made = "I created its fan role" if created is not None else "Its fan role is"
        await reply(interaction, f"**{_name(artist)}** is on the roster. {made} {role.mention}.")

    @admin_group.command(name="link")
    @moderator_only()
    async def link(
        self, interaction: discord.Interaction[LabelBot], artist: ArtistOption, member: discord.Member
    ) -> None:
        """Link a member to an artist as one of its managers (a member may manage several artists).

        Args:
            artist: The artist.
            member: The member who may act for the artist.
        """
        guild_of(interaction)
        await defer(interaction)
        if member.bot:
            raise InvalidInput("Bots can't manage artists.")
        async with self.bot.sessionmaker.begin() as session:
            current = await reload_artist(session, artist)
            await link_manager(self.bot, session, current, actor_id=interaction.user.id, user_id=member.id)
        await reply(interaction, f"{member.mention} now manages **{_name(current)}**.")

    @admin_group.command(name="unlink")
    @moderator_only()
    async def unlink(
        self, interaction: discord.Interaction[LabelBot], artist: ArtistOption, member: discord.Member
    ) -> None:
        """Unlink a member from an artist they manage.

        Args:
            artist: The artist.
            member: The member to unlink.
        """
        guild_of(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            current = await reload_artist(session, artist)
            await unlink_manager(self.bot, session, current, actor_id=interaction.user.id, user_id=member.id)
        await reply(interaction, f"{member.mention} no longer manages **{_name(current)}**.")

    @admin_group.command(name="remove")
    @moderator_only()
    async def remove(self, interaction: discord.Interaction[LabelBot], artist: ArtistOption) -> None:
        """Take an artist off the roster; I ask first, and its history is kept.

        Args:
            artist: The artist to remove.
        """
        guild = guild_of(interaction)
        role = guild.get_role(artist.fan_role_id) if artist.fan_role_id is not None else None
        if artist.fan_role_created_by_bot and role is not None:
            options = [
                Option("Remove, keep the fan role", KEEP_ROLE, discord.ButtonStyle.primary),
                Option("Remove and delete the fan role", DELETE_ROLE),
            ]
            about_role = f" I created its fan role {role.mention}; keep it, or delete it along?"
        else:
            options = [Option("Remove", KEEP_ROLE)]
            about_role = f" Its fan role {role.mention} stays." if role is not None else ""
        question = (
            f"Remove **{_name(artist)}** from the roster? Its profile and history are kept for the audit trail, "
            f"but nobody can pick it any more.{about_role}"
        )
        answer, click = await ask(interaction, question, options)
        if click is None:
            return  # timed out; ask() said so
        if answer is None:
            await click.edit_original_response(
                content="Nothing was removed.", allowed_mentions=discord.AllowedMentions.none()
            )
            return
        async with self.bot.sessionmaker.begin() as session:
            # Checked again: the moderator role may have changed while the question was open.
            await require_moderator(interaction, session)
            current = await reload_artist(session, artist)
            delete_role = answer == DELETE_ROLE and current.fan_role_created_by_bot and role is not None
            await remove_artist(self.bot, session, current, actor_id=interaction.user.id, delete_fan_role=delete_role)
        note = ""
        if delete_role and role is not None:
            # After the commit: a deleted role can't be brought back if saving failed.
            try:
                await role.delete(reason=f"Labelbot: {current.name} was removed by {interaction.user}")
                note = " Its fan role was deleted."
            except discord.HTTPException:
                log.warning("Could not delete fan role %s of removed artist %s", role.id, current.id, exc_info=True)
                note = f" I couldn't delete its fan role {role.mention}, though; delete it in the server settings."
        await click.edit_original_response(
            content=f"**{_name(current)}** was removed from the roster.{note}",
            allowed_mentions=discord.AllowedMentions.none(),
        )

    # -- artists' managers and moderators ----------------------------------------------------------------------

    @artist_group.command(name="edit")
    async def edit(
        self,
        interaction: discord.Interaction[LabelBot],
        artist: ManagedArtistOption,
        name: str | None = None,
        bio: str | None = None,
        genres: str | None = None,
        links: str | None = None,
        fan_role: discord.Role | None = None,
        colour: str | None = None,
    ) -> None:
        """Change an artist's profile: its managers may change bio, genres and links; moderators everything.

        Args:
            artist: The artist.
            name: A new name (moderators only).
            bio: A new bio; "-" empties it.
            genres: Genres separated by commas; replaces the list, "-" empties it.
            links: Links like "Bandcamp https://…", separated by commas; replaces the list, "-" empties it.
            fan_role: Another existing role as the fan role (moderators only).
            colour: The accent colour of the artist's release cards, like #E95420; "-" for the label's (moderators).
        """
        guild = guild_of(interaction)
        await defer(interaction)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = clean_name(name)
        if bio is not None:
            changes["bio"] = clean_bio(bio)
        if genres is not None:
            changes["genres"] = parse_genres(genres)
        if links is not None:
            changes["links"] = parse_links(links)
        if fan_role is not None:
            changes["fan_role_id"] = fan_role.id
        if colour is not None:
            changes["accent_colour"] = parse_colour(colour)
        if not changes:
            raise InvalidInput("Tell me what to change: name, bio, genres, links, fan_role or colour.")
        if fan_role is not None:
            me = await bot_member(interaction)
            async with self.bot.sessionmaker() as session:
                _check_fan_role(fan_role, me, await peek_guild_settings(session, guild.id))
        note = ""
        async with self.bot.sessionmaker.begin() as session:
            current = await reload_artist(session, artist)
            await require_artist_access(interaction, session, current)
            if changes.keys() & {"name", "fan_role_id", "accent_colour"} and not is_moderator(
                member_of(interaction),
                await peek_guild_settings(session, guild.id),
                self.bot.settings.discord.owner_ids,
            ):
                raise NotAllowed(MODERATOR_FIELDS)
            old_role_id = current.fan_role_id
            bot_made_role = current.fan_role_created_by_bot
            changed = await edit_artist(self.bot, session, current, actor_id=interaction.user.id, changes=changes)
        # The bot's own fan role follows the artist's name once the rename is saved (no transaction waits on it).
        role = guild.get_role(old_role_id) if old_role_id is not None else None
        if "name" in changed and "fan_role_id" not in changed and bot_made_role and role is not None:
            try:
                await role.edit(name=current.name, reason=f"Labelbot: artist renamed by {interaction.user}")
            except discord.HTTPException:
                note = f" I couldn't rename its fan role {role.mention} to match."
        if not changed:
            await reply(interaction, f"Nothing changed: **{_name(current)}** already has those values.")
            return
        fields = ", ".join(field.removesuffix("_id").replace("_", " ") for field in changed)
        if "fan_role_id" in changed and old_role_id is not None:
            note += f" The old fan role <@&{old_role_id}> was kept; delete it yourself if nobody needs it."
        await reply(interaction, f"Updated **{_name(current)}**: {fields}.{note}")

    # -- everyone ----------------------------------------------------------------------------------------------

    @artist_group.command(name="list")
    async def list_artists(self, interaction: discord.Interaction[LabelBot]) -> None:
        """List the label's artists."""
        guild = guild_of(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker() as session:
            artists = await repository.list_active(session, guild.id)
            managers = await repository.managers_by_artist(session, [artist.id for artist in artists])
        lines = []
        for artist in artists:
            parts = [f"**{_name(artist)}**"]
            if artist.genres:
                parts.append(discord.utils.escape_markdown(", ".join(artist.genres)))
            if artist.fan_role_id is not None:
                parts.append(f"fans: <@&{artist.fan_role_id}>")
            count = len(managers.get(artist.id, []))
            parts.append(f"{count} manager{'s' if count != 1 else ''}")
            lines.append(" · ".join(parts))
        pages = pages_of_lines(
            f"Artists of {guild.name}",
            lines,
            per_page=ARTISTS_PER_PAGE,
            empty="No artists yet; moderators add them with /artist-admin add.",
            colour=discord.Colour.blurple(),
        )
        await Paginator(interaction.user.id, pages).send(interaction)

    @artist_group.command(name="info")
    async def info(self, interaction: discord.Interaction[LabelBot], artist: ArtistOption) -> None:
        """Show an artist's profile: bio, genres, links, managers and fans.

        Args:
            artist: The artist.
        """
        guild = guild_of(interaction)
        await defer(interaction)
        extra: list[tuple[str, str]] = []
        async with self.bot.sessionmaker() as session:
            current = await reload_artist(session, artist)
            managers = await repository.manager_ids(session, current.id)
            # Other features (releases, listening parties) add what they know about the artist.
            for section in self.bot.features.artist_info.sections():
                try:
                    text = await section.provider(session, current)
                except Exception:
                    log.exception("Artist info section %r failed", section.title)
                    continue
                if text:
                    extra.append((section.title, text))
        fans = fan_count(guild, current)
        if fans is None and current.fan_role_id is not None:
            counts = await role_member_counts(self.bot, guild.id)
            fans = counts.get(current.fan_role_id, 0) if counts is not None else None
        await reply(interaction, embed=artist_embed(guild, current, managers, extra, fans=fans))


def artist_embed(
    guild: discord.Guild,
    artist: Artist,
    managers: list[int],
    extra: list[tuple[str, str]],
    *,
    fans: int | None = None,
) -> discord.Embed:
    """The profile of an artist; mentions in it never ping."""
    embed = discord.Embed(title=artist.name, description=artist.bio or "No bio yet.", colour=discord.Colour.blurple())
    embed.add_field(
        name="Genres", value=_fit([discord.utils.escape_markdown(", ".join(artist.genres))]) if artist.genres else "—"
    )
    if artist.fan_role_id is not None:
        role_text = f"<@&{artist.fan_role_id}>" if guild.get_role(artist.fan_role_id) else "deleted"
    else:
        role_text = "none"
    embed.add_field(name="Fan role", value=role_text)
    count = fans if fans is not None else fan_count(guild, artist)
    embed.add_field(name="Fans", value=str(count) if count is not None else "—")
    links = [f"[{discord.utils.escape_markdown(link['label'])}]({link['url']})" for link in artist.links]
    embed.add_field(name="Links", value=_fit(links), inline=False)
    embed.add_field(name="Managers", value=_fit([f"<@{user_id}>" for user_id in managers]), inline=False)
    for title, text in extra[:20]:
        embed.add_field(name=title[:256], value=_fit(text.splitlines()), inline=False)
    embed.set_footer(text="Added")
    embed.timestamp = artist.created_at
    return embed
