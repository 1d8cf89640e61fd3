"""What every feature needs to know about artists: finding them, who manages them, what info shows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists import repository
from labelbot.artists.models import Artist
from labelbot.errors import NotFound
from labelbot.text import plain


def no_such_artist(name: str) -> NotFound:
    """The refusal for a name that matches no artist of the server."""
    shown = plain(" ".join(name.split())[:100])
    return NotFound(f"There is no artist called “{shown}” in this server.")


async def find_artist(session: AsyncSession, guild_id: int, name: str) -> Artist:
    """The artist on the server's roster with this name (any case), or a NotFound saying so."""
    artist = await repository.active_by_name(session, guild_id, name)
    if artist is None:
        raise no_such_artist(name)
    return artist


async def reload_artist(session: AsyncSession, artist: Artist) -> Artist:
    """The artist again, in this session (a transformer resolved it in its own), or NotFound if it was removed."""
    current = await repository.get_active(session, artist.guild_id, artist.id)
    if current is None:
        raise no_such_artist(artist.name)
    return current


def fan_count(guild: discord.Guild, artist: Artist) -> int | None:
    """Members holding the artist's fan role, when the bot knows every member (it usually does not)."""
    if artist.fan_role_id is None:
        return 0
    role = guild.get_role(artist.fan_role_id)
    # Without the members intent the cache holds only members seen lately; a count from it would be a guess.
    if role is None or not guild.chunked:
        return None
    return len(role.members)


# -- the info sections ------------------------------------------------------------------------------------
# /artist info shows what other features know about the artist (upcoming releases, listening parties).
# A feature adds its section from its cog's cog_load with `bot.features.artist_info.add("Upcoming releases", provider)`
# and removes it in cog_unload; the provider returns the field's text, or None to leave the section out.

InfoProvider = Callable[[AsyncSession, Artist], Awaitable[str | None]]


@dataclass(frozen=True)
class InfoSection:
    title: str
    provider: InfoProvider


class ArtistInfoSections:
    """The sections other features show in /artist info, in the order they were added."""

    def __init__(self) -> None:
        self._sections: dict[str, InfoSection] = {}

    def add(self, title: str, provider: InfoProvider) -> None:
        """Show a section (an embed field) with this title in /artist info; replaces one of the same title."""
        self._sections[title] = InfoSection(title, provider)

    def remove(self, title: str) -> None:
        """Stop showing a section in /artist info."""
        self._sections.pop(title, None)

    def sections(self) -> list[InfoSection]:
        return list(self._sections.values())
