"""Read-only queries of the release catalogue; take the caller's session, never write, never import discord."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from labelbot.artists.models import Artist
from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.db.base import utcnow

# What other features (parties, the calendar) may show: releases that are or will be public.
PUBLIC_STATUSES: tuple[ReleaseStatus, ...] = (ReleaseStatus.SCHEDULED, ReleaseStatus.ANNOUNCED)


def _loaded(query: Select[Release]) -> Select[Release]:
    return query.options(selectinload(Release.artist), selectinload(Release.tracks), selectinload(Release.links))


async def get_release(session: AsyncSession, release_id: int, guild_id: int) -> Release | None:
    """The release with this id in this server, with its artist, tracklist and links loaded."""
    release = await session.scalar(
        _loaded(select(Release).where(Release.id == release_id, Release.guild_id == guild_id)).execution_options(
            populate_existing=True
        )
    )
    return release


async def search_releases(
    session: AsyncSession,
    guild_id: int,
    text: str,
    *,
    limit: int = 25,
    upcoming_only: bool = False,
    statuses: Collection[ReleaseStatus] = PUBLIC_STATUSES,
    artist_ids: Collection[int] | None = None,
) -> list[Release]:
    """Releases whose title or artist name contains `text` (all of them for empty text), soonest first.

    By default only scheduled and announced ones; `upcoming_only` keeps those not out yet.
    """
    query = (
        select(Release)
        .join(Artist, Artist.id == Release.artist_id)
        .where(Release.guild_id == guild_id, Release.status.in_([str(status) for status in statuses]))
    )
    # NUL never matches a title, and PostgreSQL refuses it in a query parameter.
    words = " ".join(text.replace("\x00", "").split())
    if words:
        query = query.where(
            or_(
                Release.title.icontains(words, autoescape=True),
                Artist.name.icontains(words, autoescape=True),
            )
        )
    if upcoming_only:
        query = query.where(Release.release_at >= utcnow())
    if artist_ids is not None:
        query = query.where(Release.artist_id.in_(list(artist_ids)))
    rows = await session.scalars(_loaded(query.order_by(Release.release_at, Release.id).limit(limit)))
    return list(rows)


async def upcoming_releases(
    session: AsyncSession, guild_id: int, *, since: datetime | None = None, limit: int = 10, offset: int = 0
) -> list[Release]:
    """Scheduled releases not out yet, soonest first (a page of them), each with its artist: what a list line shows.

    Two queries, the page and its artists; tracklists and links (which a list never shows) stay unloaded. (Joining
    the artist in made PostgreSQL sort the server's every scheduled release before the limit: p50 7.8 -> 11 ms.)
    """
    rows = await session.scalars(
        select(Release)
        .options(selectinload(Release.artist))
        .where(
            Release.guild_id == guild_id,
            Release.status == ReleaseStatus.SCHEDULED,
            Release.release_at >= (since or utcnow()),
        )
        .order_by(Release.release_at, Release.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


async def releases_since(session: AsyncSession, guild_id: int, since: datetime) -> list[Release]:
    """Every public or cancelled release of the server out from `since` on (what a calendar shows)."""
    rows = await session.scalars(
        select(Release)
        .options(selectinload(Release.artist), selectinload(Release.links))
        .where(
            Release.guild_id == guild_id,
            Release.status.in_([*PUBLIC_STATUSES, ReleaseStatus.CANCELLED]),
            Release.release_at >= since,
        )
        .order_by(Release.release_at, Release.id)
    )
    return list(rows)


async def artist_upcoming(session: AsyncSession, artist_id: int, *, limit: int = 5) -> list[Release]:
    """An artist's scheduled releases not out yet, soonest first."""
    rows = await session.scalars(
        select(Release)
        .where(
            Release.artist_id == artist_id,
            Release.status == ReleaseStatus.SCHEDULED,
            Release.release_at >= utcnow(),
        )
        .order_by(Release.release_at)
        .limit(limit)
    )
    return list(rows)
