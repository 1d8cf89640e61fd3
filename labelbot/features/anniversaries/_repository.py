"""Queries of catalogue dates: who opted in, a server's releases and roster, and the posts taken for a day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from labelbot.artists.models import Artist
from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.guilds.models import GuildSettings
from labelbot.models.anniversaries import CatalogueDatePost, LabelDate


async def guilds_with_dates(session: AsyncSession) -> list[int]:
    """Servers that opted in to anniversaries or keep label dates: the ones whose mornings are scheduled."""
    opted = await session.scalars(select(GuildSettings.guild_id).where(GuildSettings.catalogue_anniversaries.is_(True)))
    keeping = await session.scalars(select(LabelDate.guild_id).distinct())
    return sorted({*opted, *keeping})


async def label_dates(session: AsyncSession, guild_id: int) -> list[LabelDate]:
    rows = await session.scalars(select(LabelDate).where(LabelDate.guild_id == guild_id).order_by(LabelDate.id))
    return list(rows)


async def announced_releases(session: AsyncSession, guild_id: int) -> list[Release]:
    """The server's releases that came out, with their artist and links."""
    rows = await session.scalars(
        select(Release)
        .where(Release.guild_id == guild_id, Release.status == ReleaseStatus.ANNOUNCED)
        .options(selectinload(Release.artist), selectinload(Release.links))
        .order_by(Release.release_at, Release.id)
    )
    return list(rows)


async def roster(session: AsyncSession, guild_id: int) -> list[Artist]:
    rows = await session.scalars(
        select(Artist).where(Artist.guild_id == guild_id, Artist.removed_at.is_(None)).order_by(Artist.name_key)
    )
    return list(rows)


async def take_post(
    session: AsyncSession, *, guild_id: int, kind: str, key: int, on_date: date, job_id: int, channel_id: int
) -> CatalogueDatePost:
    """Take the (server, kind, key, day) post for this job, or return whoever took it first."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = {
        "guild_id": guild_id,
        "kind": kind,
        "key": key,
        "on_date": on_date,
        "job_id": job_id,
        "channel_id": channel_id,
    }
    await session.execute(
        insert(CatalogueDatePost)
        .values(values)
        .on_conflict_do_nothing(index_elements=["guild_id", "kind", "key", "on_date"])
    )
    taken = await session.scalar(
        select(CatalogueDatePost)
        .where(
            CatalogueDatePost.guild_id == guild_id,
            CatalogueDatePost.kind == kind,
            CatalogueDatePost.key == key,
            CatalogueDatePost.on_date == on_date,
        )
        .execution_options(populate_existing=True)
    )
    assert taken is not None
    return taken
