"""Queries of the web pages; they take a session and never commit.

The dashboard reads other features' tables through the shared metadata by name (a feature switched off, or not
installed, simply has no figures), so this package imports no other feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.artists.models import Artist
from bot.catalog.models import Release, ReleaseLink, ReleaseStatus
from bot.db import Base
from bot.gatherings.models import Gathering, GatheringRsvp
from bot.jobs import JobStatus, ScheduledJob
from bot.models.web_pages import DashboardLink, DashboardSession

PUBLIC_STATUSES = (ReleaseStatus.SCHEDULED, ReleaseStatus.ANNOUNCED)
FAILURES_SHOWN = 25


def feature_table(name: str) -> Table | None:
    """Another feature's table by name, when that feature is installed."""
    return Base.metadata.tables.get(name)


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
    return [(release, name) for release, name in rows.tuples()]


async def job_counts(session: AsyncSession, guild_id: int) -> list[tuple[str, str, int]]:
    rows = await session.execute(
        select(ScheduledJob.kind, ScheduledJob.status, func.count())
        .where(ScheduledJob.guild_id == guild_id)
        .group_by(ScheduledJob.kind, ScheduledJob.status)
        .order_by(ScheduledJob.kind, ScheduledJob.status)
    )
    return [(kind, status, int(count)) for kind, status, count in rows.tuples()]


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
    return {(gathering_id, answer): int(count) for gathering_id, answer, count in rows.tuples()}


async def party_check_ins(session: AsyncSession, gathering_ids: Sequence[int]) -> dict[int, int] | None:
    """Members who pressed "I'm here", by the party's gathering; None when listening parties are not installed."""
    parties, attendance = feature_table("listening_parties"), feature_table("party_attendance")
    if parties is None or attendance is None:
        return None
    if not gathering_ids:
        return {}
    rows = await session.execute(
        select(parties.c.gathering_id, func.count())
        .select_from(attendance.join(parties, parties.c.id == attendance.c.party_id))
        .where(parties.c.gathering_id.in_(gathering_ids))
        .group_by(parties.c.gathering_id)
    )
    return {int(gathering_id): int(count) for gathering_id, count in rows.tuples()}


async def attendance_times(session: AsyncSession, guild_id: int) -> list[tuple[int, datetime]] | None:
    """(member, when) of every party attended, oldest first: what loyalty tiers count."""
    table = feature_table("fan_party_attendance")
    if table is None:
        return None
    rows = await session.execute(
        select(table.c.user_id, table.c.attended_at).where(table.c.guild_id == guild_id).order_by(table.c.attended_at)
    )
    return [(int(user_id), at) for user_id, at in rows.tuples()]


async def tier_thresholds(session: AsyncSession, guild_id: int) -> list[tuple[int, int]]:
    """(role id, parties needed) of the server's loyalty tiers, lowest first."""
    table = feature_table("loyalty_tiers")
    if table is None:
        return []
    rows = await session.execute(
        select(table.c.role_id, table.c.threshold).where(table.c.guild_id == guild_id).order_by(table.c.threshold)
    )
    return [(int(role_id), int(threshold)) for role_id, threshold in rows.tuples()]


async def collab_requests(session: AsyncSession, guild_id: int) -> list[tuple[datetime, str, datetime | None]] | None:
    """(opened, status, closed) of every collab request; None when collabs are not installed."""
    table = feature_table("collab_requests")
    if table is None:
        return None
    rows = await session.execute(
        select(table.c.created_at, table.c.status, table.c.closed_at)
        .where(table.c.guild_id == guild_id)
        .order_by(table.c.created_at)
    )
    return [(opened, str(status), closed) for opened, status, closed in rows.tuples()]
