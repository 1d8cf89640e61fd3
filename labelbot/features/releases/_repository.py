"""Queries of releases that only this feature needs; takes the caller's session and never commits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.catalog.models import Release, ReleaseMessage, ReleaseStatus
from labelbot.catalog.queries import search_releases
from labelbot.db.base import utcnow

EDITABLE = (ReleaseStatus.DRAFT, ReleaseStatus.AWAITING_APPROVAL, ReleaseStatus.SCHEDULED, ReleaseStatus.ANNOUNCED)


async def choices(
    session: AsyncSession, guild_id: int, text: str, *, artist_ids: Collection[int] | None, limit: int = 25
) -> list[Release]:
    """Releases a member may pick (of the artists they manage; all for moderators, artist_ids None)."""
    return await search_releases(session, guild_id, text, limit=limit, statuses=EDITABLE, artist_ids=artist_ids)


async def count_upcoming(session: AsyncSession, guild_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Release)
        .where(
            Release.guild_id == guild_id,
            Release.status == ReleaseStatus.SCHEDULED,
            Release.release_at >= utcnow(),
        )
    )
    return int(count or 0)


async def message_of(session: AsyncSession, release_id: int, part: str) -> ReleaseMessage | None:
    return await session.get(ReleaseMessage, (release_id, part))


async def remember_message(session: AsyncSession, release_id: int, part: str, channel_id: int, message_id: int) -> None:
    """Record (or replace) the message a release produced for `part`."""
    existing = await session.get(ReleaseMessage, (release_id, part))
    if existing is None:
        session.add(ReleaseMessage(release_id=release_id, part=part, channel_id=channel_id, message_id=message_id))
    else:
        existing.channel_id = channel_id
        existing.message_id = message_id
    await session.flush()


async def announcements_near(
    session: AsyncSession, artist_id: int, other_than: int, start: datetime, end: datetime
) -> list[Release]:
    """The artist's other releases announced after `start`, or scheduled to be announced before `end`."""
    rows = await session.scalars(
        select(Release).where(
            Release.artist_id == artist_id,
            Release.id != other_than,
            or_(
                Release.announced_at > start,
                and_(Release.status == ReleaseStatus.SCHEDULED, Release.release_at < end),
            ),
        )
    )
    return list(rows)
