"""Queries of artists and their managers; takes the caller's session and never commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists.models import Artist, ArtistManager


def name_key(name: str) -> str:
    """The form names are compared in: case-folded, runs of spaces collapsed."""
    return " ".join(name.split()).casefold()


async def active_by_name(session: AsyncSession, guild_id: int, name: str) -> Artist | None:
    """The artist on the server's roster with this name, whatever its case."""
    result = await session.scalar(
        select(Artist).where(
            Artist.guild_id == guild_id, Artist.name_key == name_key(name), Artist.removed_at.is_(None)
        )
    )
    return result


async def get_active(session: AsyncSession, guild_id: int, artist_id: int) -> Artist | None:
    """The artist with this id, if it belongs to the server and is still on the roster."""
    artist = await session.get(Artist, artist_id)
    if artist is None or artist.guild_id != guild_id or artist.removed_at is not None:
        return None
    return artist


async def search_active(
    session: AsyncSession, guild_id: int, text: str, *, limit: int = 25, managed_by: int | None = None
) -> list[Artist]:
    """Artists whose name starts with, then contains, what was typed (all of them, by name, for empty text)."""
    key = name_key(text)
    query = select(Artist).where(Artist.guild_id == guild_id, Artist.removed_at.is_(None))
    if managed_by is not None:
        query = query.where(Artist.id.in_(select(ArtistManager.artist_id).where(ArtistManager.user_id == managed_by)))
    if key:
        # Prefix matches first, then the rest, each alphabetically.
        query = query.where(Artist.name_key.contains(key, autoescape=True)).order_by(
            Artist.name_key.startswith(key, autoescape=True).desc()
        )
    rows = await session.scalars(query.order_by(Artist.name_key).limit(limit))
    return list(rows)


async def list_active(session: AsyncSession, guild_id: int) -> list[Artist]:
    """The server's roster, alphabetically."""
    rows = await session.scalars(
        select(Artist).where(Artist.guild_id == guild_id, Artist.removed_at.is_(None)).order_by(Artist.name_key)
    )
    return list(rows)


async def count_active(session: AsyncSession, guild_id: int) -> int:
    """How many artists are on the server's roster."""
    count = await session.scalar(
        select(func.count()).select_from(Artist).where(Artist.guild_id == guild_id, Artist.removed_at.is_(None))
    )
    return int(count or 0)


async def manager_ids(session: AsyncSession, artist_id: int) -> list[int]:
    """The members linked to the artist, in the order they were linked."""
    rows = await session.scalars(
        select(ArtistManager.user_id).where(ArtistManager.artist_id == artist_id).order_by(ArtistManager.added_at)
    )
    return list(rows)


async def managers_by_artist(session: AsyncSession, artist_ids: Sequence[int]) -> dict[int, list[int]]:
    """The members linked to each of these artists."""
    found: dict[int, list[int]] = {artist_id: [] for artist_id in artist_ids}
    if not artist_ids:
        return found
    rows = await session.execute(
        select(ArtistManager.artist_id, ArtistManager.user_id)
        .where(ArtistManager.artist_id.in_(artist_ids))
        .order_by(ArtistManager.added_at)
    )
    for artist_id, user_id in rows:
        found[artist_id].append(user_id)
    return found


async def managed_by(session: AsyncSession, guild_id: int, user_id: int) -> list[Artist]:
    """The artists on the server's roster that the member manages."""
    rows = await session.scalars(
        select(Artist)
        .join(ArtistManager, ArtistManager.artist_id == Artist.id)
        .where(Artist.guild_id == guild_id, Artist.removed_at.is_(None), ArtistManager.user_id == user_id)
        .order_by(Artist.name_key)
    )
    return list(rows)


async def get_manager(session: AsyncSession, artist_id: int, user_id: int) -> ArtistManager | None:
    """The link between an artist and a member, if there is one."""
    return await session.get(ArtistManager, (artist_id, user_id))
