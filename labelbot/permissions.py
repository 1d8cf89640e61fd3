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

A feature whose commands serve both members and moderators keeps the members' ones under its own name (`/roles`)
and puts the moderators' ones in `moderator_group(...)`, `/<feature>-admin` (`/roles-admin`): Discord applies the
hint per top-level command, so a group mixing both would show to every member.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists.models import Artist, ArtistManager
from labelbot.errors import NotAllowed
from labelbot.guilds.models import GuildSettings
from labelbot.guilds.service import peek_guild_settings
from labelbot.interactions import member_of

if TYPE_CHECKING:
    from labelbot.client import LabelBot

T = TypeVar("T")

MODERATORS_ONLY = "Only moderators (Manage Server or the moderator role) can do that."
OWNERS_ONLY = "Only the server owner can do that."

# What moderator commands declare as default_member_permissions: Discord's client shows them to members holding it
# (a server admin may widen that per command, e.g. to the moderator role, in Server Settings > Integrations).
MODERATOR_HINT = discord.Permissions(manage_guild=True)

# The only permissions a role the bot hands out (on a panel, as a loyalty tier, as a fan role) may carry: taking
# part in the server as any member does. An allowlist, so a permission Discord adds later is refused until someone
# decides it is harmless. Left out on purpose, though @everyone often has them: Mention @everyone (pings the whole
# server), Send Text-to-Speech Messages (read aloud to everyone), Pin Messages and Bypass Slowmode (moderation),
# Create Events and Create Expressions (server-wide content), Priority Speaker, Set Voice Channel Status.
HARMLESS_PERMISSIONS = discord.Permissions(
    view_channel=True,
    read_message_history=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    create_private_threads=True,
    embed_links=True,
    attach_files=True,
    add_reactions=True,
    use_external_emojis=True,
    use_external_stickers=True,
    send_voice_messages=True,
    send_polls=True,
    use_application_commands=True,
    use_external_apps=True,
    use_embedded_activities=True,
    connect=True,
    speak=True,
    stream=True,
    use_voice_activation=True,
    request_to_speak=True,
    use_soundboard=True,
    use_external_sounds=True,
    change_nickname=True,
    create_instant_invite=True,
)

# Discord's own names for the permissions (lower case, to sit inside a sentence), so a moderator finds the toggle.
PERMISSION_WORDS: dict[str, str] = {
    "administrator": "administrator",
    "manage_guild": "manage server",
    "manage_roles": "manage roles",
    "manage_channels": "manage channels",
    "manage_webhooks": "manage webhooks",
    "manage_messages": "manage messages",
    "manage_nicknames": "manage nicknames",
    "manage_threads": "manage threads",
    "manage_events": "manage events",
    "manage_expressions": "manage expressions",
    "kick_members": "kick members",
    "ban_members": "ban members",
    "moderate_members": "timeout members",
    "mute_members": "mute members",
    "deafen_members": "deafen members",
    "move_members": "move members",
    "view_audit_log": "view audit log",
    "view_channel": "view channels",
    "send_messages": "send messages",
    "send_messages_in_threads": "send messages in threads",
    "embed_links": "embed links",
    "attach_files": "attach files",
    "read_message_history": "read message history",
    "add_reactions": "add reactions",
    "create_public_threads": "create public threads",
    "create_private_threads": "create private threads",
    "view_guild_insights": "view server insights",
    "view_creator_monetization_analytics": "view creator monetization analytics",
    "mention_everyone": "mention everyone",
    "send_tts_messages": "send text-to-speech messages",
    "priority_speaker": "priority speaker",
    "create_events": "create events",
    "create_expressions": "create expressions",
    "pin_messages": "pin messages",
    "bypass_slowmode": "bypass slowmode",
    "set_voice_channel_status": "set voice channel status",
}


# Every server-wide permission the bot uses, and what for: the invite link asks for exactly these, and /settings show
# names each one missing. Kept current with Discord: since 2026-02-23 pinning is Pin Messages (bit 51), no longer
# Manage Messages; creating events is Create Events; a voice channel's status line is Set Voice Channel Status.
# Send Polls is not asked for: no feature posts a poll.
BOT_PERMISSIONS: dict[str, str] = {
    "view_channel": "see the channels it posts in",
    "send_messages": "post announcements, parties and reminders",
    "send_messages_in_threads": "post in party and collab threads",
    "embed_links": "show release cards and panels",
    "attach_files": "attach covers and calendar files",
    "read_message_history": "find and edit its own posts",
    "add_reactions": "react to posts",
    "create_public_threads": "open party and discussion threads",
    "create_private_threads": "open private collab threads",
    "manage_threads": "archive collab posts and party threads",
    "manage_messages": "crosspost announcements",
    "pin_messages": "pin party cards",
    "manage_roles": "give fan roles and loyalty tiers",
    # Creating events, and editing or deleting its own (the only ones it touches): Manage Events is not needed.
    "create_events": "list parties and events in the server's events",
    "set_voice_channel_status": "show now playing on a party's voice channel",
    "connect": "check a party's voice channel is one it can use",
    # A stage instance (a stage party's topic) needs the bot to be a stage moderator: these three.
    "manage_channels": "open a stage party's stage",
    "mute_members": "open a stage party's stage",
    "move_members": "open a stage party's stage",
    # Lets the bot ping fan roles that members themselves cannot ping; every message still lists exactly which
    # roles it may mention, so @everyone is never pinged.
    "mention_everyone": "ping fan roles that are not mentionable",
}


def bot_permissions() -> discord.Permissions:
    """What the bot asks for in its invite link: every permission it uses."""
    return discord.Permissions(**dict.fromkeys(BOT_PERMISSIONS, True))


def permission_name(name: str) -> str:
    """A permission as Discord's client names it, e.g. "Pin Messages"."""
    return PERMISSION_WORDS.get(name, name.replace("_", " ")).title()


def missing_bot_permissions(granted: discord.Permissions) -> list[str]:
    """The permissions the bot uses but lacks, each named with what it is needed for."""
    if granted.administrator:
        return []
    return [f"{permission_name(name)} ({why})" for name, why in BOT_PERMISSIONS.items() if not getattr(granted, name)]


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


def moderator_group(feature: str, description: str) -> app_commands.Group:
    """A feature's moderators' commands, `/<feature>-admin`, hidden from members by Discord's client.

    Each command in it still checks (`@moderator_only()` or `require_moderator`): the hint is not a lock.
    """
    return app_commands.Group(
        name=f"{feature}-admin", description=description, guild_only=True, default_permissions=MODERATOR_HINT
    )


def powerful_permissions(permissions: discord.Permissions) -> list[str]:
    """The permissions among these that are not harmless, in words ("manage roles"), in Discord's order."""
    beyond = discord.Permissions(permissions.value & ~HARMLESS_PERMISSIONS.value)
    named = [PERMISSION_WORDS.get(name, name.replace("_", " ")) for name, granted in beyond if granted]
    # Bits newer than this discord.py has no name for; refused all the same.
    unknown = beyond.value & ~discord.Permissions.all().value
    return named + [f"permission bit {bit}" for bit in range(unknown.bit_length()) if unknown >> bit & 1]


def reserved_role_refusal(role_id: int, mention: str, settings: GuildSettings) -> str | None:
    """Why a role that is the server's moderator or artist role must not be handed out, or None."""
    if settings.moderator_role_id == role_id:
        return f"{mention} is this server's moderator role, so I won't hand it out."
    if settings.artist_role_id == role_id:
        return f"{mention} is this server's artist role, so I won't hand it out."
    return None


def role_refusal(role: discord.Role, me: discord.Member, settings: GuildSettings) -> str | None:
    """Why the bot must not hand out this role (give it to members or let them pick it), or None if it may.

    Asked again at every grant, not only when the role is set up: a role may gain a permission, or become the
    moderator role, after it went on a panel.
    """
    if role.is_default():
        return "@everyone can't be used as a role here."
    reserved = reserved_role_refusal(role.id, role.mention, settings)
    if reserved is not None:
        return reserved
    if role.managed:
        return f"{role.mention} is managed by an integration, so I can't give it to anyone."
    if not me.guild_permissions.manage_roles:
        return "I need the Manage Roles permission to give out roles."
    if role >= me.top_role:
        return f"{role.mention} is at or above my highest role, so I can't give it out; move my role above it."
    powerful = powerful_permissions(role.permissions)
    if powerful:
        return f"{role.mention} has powerful permissions ({', '.join(powerful)}), so I won't hand it out."
    return None
