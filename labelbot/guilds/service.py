"""Reading and changing server and member settings; the caller owns the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.guilds.models import GuildSettings, MemberSettings, guild_defaults

# The channels a moderator can point the bot at, by the name used in commands and the column that keeps it.
CHANNEL_KINDS: dict[str, str] = {
    "announcements": "announcements_channel_id",
    "parties": "parties_channel_id",
    "collab_board": "collab_board_channel_id",
    "events": "events_channel_id",
    "mod_log": "mod_log_channel_id",
    "dates": "dates_channel_id",
}
ROLE_KINDS: dict[str, str] = {
    "moderator": "moderator_role_id",
    "artist": "artist_role_id",
    "all_releases": "all_releases_role_id",
}
TOGGLES: dict[str, str] = {
    "release_approval": "release_approval",
    "collab_approval": "collab_approval",
    "artists_create_events": "artists_create_events",
    "tier_keep_lower": "tier_keep_lower",
    "web_page": "web_page",
    "catalogue_anniversaries": "catalogue_anniversaries",
}


async def get_guild_settings(session: AsyncSession, guild_id: int) -> GuildSettings:
    """Return the server's settings, storing the defaults first if it has none yet."""
    settings = await session.get(GuildSettings, guild_id)
    if settings is not None:
        return settings
    # Two first commands of a new server may race; the loser's insert does nothing and both read one row.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values: dict[str, Any] = {"guild_id": guild_id, **guild_defaults()}
    await session.execute(insert(GuildSettings).values(values).on_conflict_do_nothing(index_elements=["guild_id"]))
    settings = await session.get(GuildSettings, guild_id)
    assert settings is not None
    return settings


async def peek_guild_settings(session: AsyncSession, guild_id: int) -> GuildSettings:
    """Return the server's settings without writing anything (defaults, unsaved, when there are none)."""
    settings = await session.get(GuildSettings, guild_id)
    return settings if settings is not None else GuildSettings(guild_id=guild_id)


async def member_zone(session: AsyncSession, user_id: int, guild_id: int) -> str:
    """The IANA zone to read a member's times in: their own if they set one, else the server's."""
    own = await session.get(MemberSettings, user_id)
    if own is not None and own.timezone:
        return own.timezone
    return (await peek_guild_settings(session, guild_id)).timezone


async def own_zone(session: AsyncSession, user_id: int) -> str | None:
    """The zone a member chose for themselves, if any."""
    own = await session.get(MemberSettings, user_id)
    return own.timezone if own is not None else None


async def set_own_zone(session: AsyncSession, user_id: int, zone: str | None) -> str | None:
    """Store (or with None, forget) a member's own zone; return the previous one."""
    own = await session.get(MemberSettings, user_id)
    before = own.timezone if own is not None else None
    if own is None:
        if zone is not None:
            session.add(MemberSettings(user_id=user_id, timezone=zone))
    else:
        own.timezone = zone
    await session.flush()
    return before
