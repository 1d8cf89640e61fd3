"""Who may do what: the one place that decides, so every feature refuses the same way.

The levels, from everyone to the fewest:
- fan: any member of the server (the default; nothing to check);
- artist-of(artist): a member linked to the artist as a manager, or a moderator;
- moderator: Manage Server or Administrator, the server's configured moderator role, the server owner,
  or a bot owner (`discord.owner_ids` in the config);
- owner: the server owner or a bot owner.

Commands declare what they need: `@moderator_only()` for a whole command, `require_artist_access(...)`
once the artist is known. `default_member_permissions` is only a hint for Discord's client and may be
changed by any server admin, so the check is always made again when the command runs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.artists.models import Artist, ArtistManager
from bot.errors import NotAllowed
from bot.guilds.models import GuildSettings
from bot.guilds.service import peek_guild_settings
from bot.interactions import member_of

if TYPE_CHECKING:
    from bot.client import LabelBot

T = TypeVar("T")

MODERATORS_ONLY = "Only moderators (Manage Server or the moderator role) can do that."
OWNERS_ONLY = "Only the server owner can do that."

# Permissions that make a role too powerful for the bot to hand out or to let members pick.
DANGEROUS_PERMISSIONS: tuple[str, ...] = (
    "administrator",
    "manage_guild",
    "manage_roles",
    "manage_channels",
    "manage_webhooks",
    "ban_members",
    "kick_members",
    "mention_everyone",
)


def _owner_ids(member: discord.Member, owner_ids: Collection[int] | None) -> Collection[int]:
    if owner_ids is not None:
        return owner_ids
    client = member._state._get_client()
    return getattr(client, "owner_ids", None) or ()


def is_owner(member: discord.Member, owner_ids: Collection[int] | None = None) -> bool:
    """The server owner, or one of the bot's owners."""
    return member.id == member.guild.owner_id or member.id in _owner_ids(member, owner_ids)


def is_moderator(member: discord.Member, settings: GuildSettings, owner_ids: Collection[int] | None = None) -> bool:
    """Manage Server or Administrator, the configured moderator role, the server owner or a bot owner.

    `owner_ids` defaults to the bot's configured owners.
    """
    permissions = member.guild_permissions
    if permissions.administrator or permissions.manage_guild:
        return True
    # What Discord computed for this interaction, in case the role cache lags behind.
    resolved = member.resolved_permissions
    if resolved is not None and (resolved.administrator or resolved.manage_guild):
        return True
    if settings.moderator_role_id is not None and any(role.id == settings.moderator_role_id for role in member.roles):
        return True
    return is_owner(member, owner_ids)


async def require_moderator(interaction: discord.Interaction[LabelBot], session: AsyncSession) -> GuildSettings:
    """Refuse anyone but a moderator; return the server's settings."""
    member = member_of(interaction)
    settings = await peek_guild_settings(session, member.guild.id)
    if not is_moderator(member, settings, interaction.client.settings.discord.owner_ids):
        raise NotAllowed(MODERATORS_ONLY)
    return settings


async def is_artist_manager(session: AsyncSession, user_id: int, artist_id: int) -> bool:
    """Whether the member is linked to the artist as a manager."""
    found = await session.scalar(
        select(ArtistManager.user_id).where(ArtistManager.artist_id == artist_id, ArtistManager.user_id == user_id)
    )
    return found is not None


async def manages_artist(
    session: AsyncSession, member: discord.Member, artist: Artist, owner_ids: Collection[int] | None = None
) -> bool:
    """Whether the member may act for the artist: a moderator, or one of the artist's linked managers."""
    if artist.guild_id != member.guild.id:
        return False
    settings = await peek_guild_settings(session, member.guild.id)
    if is_moderator(member, settings, owner_ids):
        return True
    return await is_artist_manager(session, member.id, artist.id)


async def require_artist_access(
    interaction: discord.Interaction[LabelBot], session: AsyncSession, artist: Artist
) -> None:
    """Refuse anyone but the artist's managers and moderators."""
    member = member_of(interaction)
    if not await manages_artist(session, member, artist, interaction.client.settings.discord.owner_ids):
        raise NotAllowed(f"Only {artist.name}'s managers and moderators can do that.")


async def require_owner(interaction: discord.Interaction[LabelBot]) -> None:
    """Refuse anyone but the server owner or a bot owner."""
    if not is_owner(member_of(interaction), interaction.client.settings.discord.owner_ids):
        raise NotAllowed(OWNERS_ONLY)


def moderator_only() -> Callable[[T], T]:
    """Declare a command moderator-only; checked when it runs, whatever Discord's client shows."""

    async def predicate(interaction: discord.Interaction[LabelBot]) -> bool:
        async with interaction.client.sessionmaker() as session:
            await require_moderator(interaction, session)
        return True

    return app_commands.check(predicate)


def dangerous_permissions(permissions: discord.Permissions) -> list[str]:
    """The dangerous permissions among these, in words ("manage roles")."""
    return [name.replace("_", " ") for name in DANGEROUS_PERMISSIONS if getattr(permissions, name)]


def role_refusal(role: discord.Role, me: discord.Member) -> str | None:
    """Why the bot must not hand out this role (give it to members or let them pick it), or None if it may."""
    if role.is_default():
        return "@everyone can't be used as a role here."
    if role.managed:
        return f"{role.mention} is managed by an integration, so I can't give it to anyone."
    if not me.guild_permissions.manage_roles:
        return "I need the Manage Roles permission to give out roles."
    if role >= me.top_role:
        return f"{role.mention} is at or above my highest role, so I can't give it out; move my role above it."
    dangerous = dangerous_permissions(role.permissions)
    if dangerous:
        return f"{role.mention} has powerful permissions ({', '.join(dangerous)}), so I won't hand it out."
    return None
