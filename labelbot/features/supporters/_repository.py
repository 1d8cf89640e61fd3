"""Queries of the supporters feature; takes the caller's session, never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.features.supporters._parsing import name_key, new_code_key
from labelbot.models.drops import DropSignup
from labelbot.models.supporters import (
    ClaimCode,
    ClaimMiss,
    EarlyWindow,
    SupporterGrant,
    SupporterKey,
    SupporterOrder,
    SupporterPerk,
    SupporterStanding,
)


async def perk_by_name(session: AsyncSession, guild_id: int, name: str) -> SupporterPerk | None:
    found: SupporterPerk | None = await session.scalar(
        select(SupporterPerk).where(SupporterPerk.guild_id == guild_id, SupporterPerk.name_key == name_key(name))
    )
    return found


async def perks(session: AsyncSession, guild_id: int, artist_id: int | None = None) -> list[SupporterPerk]:
    """The server's perks (only the artist's, when one is given)."""
    query = select(SupporterPerk).where(SupporterPerk.guild_id == guild_id)
    if artist_id is not None:
        query = query.where(SupporterPerk.artist_id == artist_id)
    rows = await session.scalars(query.order_by(SupporterPerk.name_key))
    return list(rows)


async def search_perks(session: AsyncSession, guild_id: int, current: str, limit: int = 25) -> list[str]:
    pattern = f"%{name_key(current)}%"
    rows = await session.scalars(
        select(SupporterPerk.name)
        .where(SupporterPerk.guild_id == guild_id, SupporterPerk.name_key.like(pattern))
        .order_by(SupporterPerk.name_key)
        .limit(limit)
    )
    return list(rows)


async def perk_with_role(session: AsyncSession, guild_id: int, role_id: int) -> SupporterPerk | None:
    found: SupporterPerk | None = await session.scalar(
        select(SupporterPerk).where(SupporterPerk.guild_id == guild_id, SupporterPerk.role_id == role_id).limit(1)
    )
    return found


async def order(session: AsyncSession, guild_id: int, order_id: str) -> SupporterOrder | None:
    found: SupporterOrder | None = await session.scalar(
        select(SupporterOrder).where(SupporterOrder.guild_id == guild_id, SupporterOrder.order_id == order_id)
    )
    return found


async def grant_of_order(session: AsyncSession, order_row_id: int) -> SupporterGrant | None:
    found: SupporterGrant | None = await session.scalar(
        select(SupporterGrant).where(SupporterGrant.order_row_id == order_row_id)
    )
    return found


async def code_by_hash(session: AsyncSession, guild_id: int, digest: str) -> ClaimCode | None:
    found: ClaimCode | None = await session.scalar(
        select(ClaimCode).where(ClaimCode.guild_id == guild_id, ClaimCode.code_sha256 == digest).with_for_update()
    )
    return found


def _live(now: datetime) -> ColumnElement[bool]:
    """Grants not revoked and not over (renewals starting later count: they follow on without a gap)."""
    return and_(
        SupporterGrant.revoked_at.is_(None),
        or_(SupporterGrant.expires_at.is_(None), SupporterGrant.expires_at > now),
    )


async def live_grants(
    session: AsyncSession, guild_id: int, user_id: int, perk_id: int, now: datetime
) -> list[SupporterGrant]:
    """The member's grants of the perk that are not revoked and not over (some may start later: renewals)."""
    rows = await session.scalars(
        select(SupporterGrant)
        .where(
            SupporterGrant.guild_id == guild_id,
            SupporterGrant.user_id == user_id,
            SupporterGrant.perk_id == perk_id,
            _live(now),
        )
        .order_by(SupporterGrant.starts_at)
    )
    return list(rows)


async def member_grants(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> list[SupporterGrant]:
    rows = await session.scalars(
        select(SupporterGrant)
        .where(SupporterGrant.guild_id == guild_id, SupporterGrant.user_id == user_id, _live(now))
        .order_by(SupporterGrant.perk_id, SupporterGrant.starts_at)
    )
    return list(rows)


async def standing(session: AsyncSession, perk_id: int, user_id: int) -> SupporterStanding | None:
    return await session.get(SupporterStanding, (perk_id, user_id))


async def code_key(session: AsyncSession, guild_id: int) -> str:
    """The server's code key, made on first use."""
    found = await session.get(SupporterKey, guild_id)
    if found is None:
        found = SupporterKey(guild_id=guild_id, code_key=new_code_key())
        session.add(found)
        await session.flush()
    return found.code_key


async def misses_since(session: AsyncSession, guild_id: int, user_id: int, since: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(ClaimMiss)
        .where(ClaimMiss.guild_id == guild_id, ClaimMiss.user_id == user_id, ClaimMiss.at > since)
    )
    return int(count or 0)


async def role_handed_out_as(session: AsyncSession, guild_id: int, role_id: int) -> str | None:
    """How the supporters feature hands this role out, for /settings' refusal sentence."""
    perk = await perk_with_role(session, guild_id, role_id)
    return None if perk is None else f"as the supporter perk “{perk.name}”"


async def perk_figures(
    session: AsyncSession, perk: SupporterPerk, now: datetime, month_start: datetime, month_end: datetime
) -> dict[str, object]:
    """One perk's figures for /supporters stats."""
    live = _live(now)
    active = await session.scalar(
        select(func.count(func.distinct(SupporterGrant.user_id))).where(SupporterGrant.perk_id == perk.id, live)
    )
    new = await session.scalar(
        select(func.count())
        .select_from(SupporterGrant)
        .where(SupporterGrant.perk_id == perk.id, SupporterGrant.created_at >= month_start)
    )
    expiring = await session.scalar(
        select(func.count())
        .select_from(SupporterGrant)
        .where(
            SupporterGrant.perk_id == perk.id,
            SupporterGrant.revoked_at.is_(None),
            SupporterGrant.expires_at >= month_start,
            SupporterGrant.expires_at < month_end,
        )
    )
    issued = await session.scalar(select(func.count()).select_from(ClaimCode).where(ClaimCode.perk_id == perk.id))
    redeemed = await session.scalar(
        select(func.count())
        .select_from(ClaimCode)
        .where(ClaimCode.perk_id == perk.id, ClaimCode.redeemed_at.is_not(None))
    )
    return {
        "perk": perk.name,
        "active": int(active or 0),
        "new_this_month": int(new or 0),
        "expiring_this_month": int(expiring or 0),
        "codes_issued": int(issued or 0),
        "codes_redeemed": int(redeemed or 0),
    }


async def drop_signups(session: AsyncSession, guild_id: int) -> int:
    """Members who pressed Notify me on a drop (the drops feature's table; counted here for the label's figures)."""
    count = await session.scalar(select(func.count()).select_from(DropSignup).where(DropSignup.guild_id == guild_id))
    return int(count or 0)


async def grant_times(session: AsyncSession, guild_id: int) -> list[tuple[int, datetime]]:
    """(member, when) of every grant of the server, oldest first (the dashboard's supporter growth)."""
    rows = await session.execute(
        select(SupporterGrant.user_id, SupporterGrant.created_at)
        .where(SupporterGrant.guild_id == guild_id)
        .order_by(SupporterGrant.created_at, SupporterGrant.id)
    )
    return [(int(user_id), at) for user_id, at in rows]


async def coming_releases(session: AsyncSession, guild_id: int, now: datetime, current: str) -> list[Release]:
    """Scheduled releases still to be announced, for the early window's autocomplete."""
    rows = await session.scalars(
        select(Release)
        .where(
            Release.guild_id == guild_id,
            Release.status == ReleaseStatus.SCHEDULED,
            Release.release_at > now,
            Release.title.ilike(f"%{current.strip()}%"),
        )
        .order_by(Release.release_at)
        .limit(25)
    )
    return list(rows)


async def early_window(session: AsyncSession, release_id: int, perk_id: int) -> EarlyWindow | None:
    found: EarlyWindow | None = await session.scalar(
        select(EarlyWindow).where(EarlyWindow.release_id == release_id, EarlyWindow.perk_id == perk_id)
    )
    return found


async def early_windows(
    session: AsyncSession, guild_id: int, *, unclosed: bool = False, current: str = "", limit: int | None = None
) -> list[tuple[EarlyWindow, Release, SupporterPerk]]:
    """The server's early windows with their release and perk, by opening time (only those still to close, when
    `unclosed`; only releases whose title holds `current`)."""
    query = (
        select(EarlyWindow, Release, SupporterPerk)
        .join(Release, Release.id == EarlyWindow.release_id)
        .join(SupporterPerk, SupporterPerk.id == EarlyWindow.perk_id)
        .where(EarlyWindow.guild_id == guild_id)
    )
    if unclosed:
        query = query.where(EarlyWindow.closed_at.is_(None))
    if current.strip():
        query = query.where(Release.title.ilike(f"%{current.strip()}%"))
    query = query.order_by(EarlyWindow.opens_at, EarlyWindow.id)
    if limit is not None:
        query = query.limit(limit)
    rows = await session.execute(query)
    return [(window, release, perk) for window, release, perk in rows]


async def release_windows(session: AsyncSession, release_id: int) -> list[EarlyWindow]:
    """A release's early windows (to follow it when it moves)."""
    rows = await session.scalars(select(EarlyWindow).where(EarlyWindow.release_id == release_id))
    return list(rows)
