"""Queries of the web pages; they take a session and never commit.

Only the core's tables: other features give their dashboard figures through `bot.features.dashboard`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists.models import Artist
from labelbot.catalog.models import Release, ReleaseLink, ReleaseStatus
from labelbot.gatherings.models import Gathering, GatheringRsvp
from labelbot.jobs import JobStatus, ScheduledJob
from labelbot.models.web_pages import DashboardLink, DashboardSession

PUBLIC_STATUSES = (ReleaseStatus.SCHEDULED, ReleaseStatus.ANNOUNCED)
FAILURES_SHOWN = 25


# -- the public page --------------------------------------------------------------------------------------------


async def public_releases(session: AsyncSession, guild_id: int) -> Sequence[Release]:
    """Scheduled and announced releases of artists on the roster, by date (drafts and pending ones never)."""
    rows = await session.scalars(
        select(Release)
        .join(Artist, Artist.id == Release.artist_id)
        .where(Release.guild_id == guild_id, Release.status.in_(PUBLIC_STATUSES), Artist.removed_at.is_(None))
        .order_by(Release.release_at, Release.id)
    )
    return rows.all()


async def links_of(session: AsyncSession, release_ids: Sequence[int]) -> dict[int, list[ReleaseLink]]:
    found: dict[int, list[ReleaseLink]] = {release_id: [] for release_id in release_ids}
    if not release_ids:
        return found
    rows = await session.scalars(
        select(ReleaseLink).where(ReleaseLink.release_id.in_(release_ids)).order_by(ReleaseLink.position)
    )
    for link in rows:
        found[link.release_id].append(link)
    return found


async def roster(session: AsyncSession, guild_id: int) -> Sequence[Artist]:
    rows = await session.scalars(
        select(Artist).where(Artist.guild_id == guild_id, Artist.removed_at.is_(None)).order_by(Artist.name_key)
    )
    return rows.all()


async def upcoming_gatherings(session: AsyncSession, guild_id: int, now: datetime) -> Sequence[Gathering]:
    rows = await session.scalars(
        select(Gathering)
        .where(Gathering.guild_id == guild_id, Gathering.ends_at >= now, Gathering.cancelled_at.is_(None))
        .order_by(Gathering.starts_at, Gathering.id)
    )
    return rows.all()


# -- dashboard sign-in ------------------------------------------------------------------------------------------


async def redeem_link(session: AsyncSession, digest: str, now: datetime) -> DashboardLink | None:
    """Mark the link used if it is unused and in time; None when it was not (a second use, too late, unknown).

    One UPDATE with the conditions in its WHERE: two tabs opening the link at once cannot both win.
    """
    result: Any = await session.execute(
        update(DashboardLink)
        .where(DashboardLink.token_digest == digest, DashboardLink.used_at.is_(None), DashboardLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return await session.get(DashboardLink, digest)


async def live_session(session: AsyncSession, digest: str, now: datetime) -> DashboardSession | None:
    found = await session.get(DashboardSession, digest)
    return found if found is not None and found.expires_at > now else None


async def forget_expired(session: AsyncSession, now: datetime) -> None:
    for model in (DashboardLink, DashboardSession):
        await session.execute(
            model.__table__.delete().where(model.__table__.c.expires_at <= now)  # type: ignore[attr-defined]
        )


# -- dashboard figures ------------------------------------------------------------------------------------------


async def pipeline(session: AsyncSession, guild_id: int) -> list[tuple[Release, str]]:
    """Every release not cancelled, with its artist's name, by date."""
    rows = await session.execute(
        select(Release, Artist.name)
        .join(Artist, Artist.id == Release.artist_id)
        .where(Release.guild_id == guild_id, Release.status != ReleaseStatus.CANCELLED)
        .order_by(Release.release_at, Release.id)
    )
    return [(release, name) for release, name in rows]


async def job_counts(session: AsyncSession, guild_id: int) -> list[tuple[str, str, int]]:
    rows = await session.execute(
        select(ScheduledJob.kind, ScheduledJob.status, func.count())
        .where(ScheduledJob.guild_id == guild_id)
        .group_by(ScheduledJob.kind, ScheduledJob.status)
        .order_by(ScheduledJob.kind, ScheduledJob.status)
    )
    return [(kind, status, int(count)) for kind, status, count in rows]


async def failed_jobs(session: AsyncSession, guild_id: int) -> Sequence[ScheduledJob]:
    rows = await session.scalars(
        select(ScheduledJob)
        .where(ScheduledJob.guild_id == guild_id, ScheduledJob.status == JobStatus.FAILED)
        .order_by(ScheduledJob.updated_at.desc())
        .limit(FAILURES_SHOWN)
    )
    return rows.all()


async def gatherings_since(session: AsyncSession, guild_id: int, since: datetime) -> Sequence[Gathering]:
    rows = await session.scalars(
        select(Gathering)
        .where(Gathering.guild_id == guild_id, Gathering.ends_at >= since)
        .order_by(Gathering.starts_at, Gathering.id)
    )
    return rows.all()


async def rsvp_counts(session: AsyncSession, gathering_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    if not gathering_ids:
        return {}
    rows = await session.execute(
        select(GatheringRsvp.gathering_id, GatheringRsvp.answer, func.count())
        .where(GatheringRsvp.gathering_id.in_(gathering_ids), GatheringRsvp.waitlisted.is_(False))
        .group_by(GatheringRsvp.gathering_id, GatheringRsvp.answer)
    )
    return {(gathering_id, answer): int(count) for gathering_id, answer, count in rows}
