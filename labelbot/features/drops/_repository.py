"""Queries of the drops feature; takes the caller's session, never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.models.drops import Drop, DropDm, DropDmWish, DropSettings, DropSignup


async def settings(session: AsyncSession, guild_id: int) -> DropSettings | None:
    return await session.get(DropSettings, guild_id)


async def drop(session: AsyncSession, guild_id: int, drop_id: int) -> Drop | None:
    found = await session.get(Drop, drop_id)
    return found if found is not None and found.guild_id == guild_id else None


async def recent(session: AsyncSession, guild_id: int, current: str, limit: int = 25) -> list[Drop]:
    rows = await session.scalars(
        select(Drop)
        .where(Drop.guild_id == guild_id, Drop.item.ilike(f"%{current.strip()}%"))
        .order_by(Drop.drop_at.desc(), Drop.id.desc())
        .limit(limit)
    )
    return list(rows)


async def signup(session: AsyncSession, guild_id: int, user_id: int) -> DropSignup | None:
    return await session.get(DropSignup, (guild_id, user_id))


async def signups(session: AsyncSession, guild_id: int) -> int:
    count = await session.scalar(select(func.count()).select_from(DropSignup).where(DropSignup.guild_id == guild_id))
    return int(count or 0)


async def role_handed_out_as(session: AsyncSession, guild_id: int, role_id: int) -> str | None:
    found = await settings(session, guild_id)
    return "as the drops role (Notify me)" if found is not None and found.role_id == role_id else None


async def upcoming(session: AsyncSession, guild_id: int, limit: int) -> list[Drop]:
    """Drops not announced yet, soonest first."""
    rows = await session.scalars(
        select(Drop)
        .where(Drop.guild_id == guild_id, Drop.announce_message_id.is_(None))
        .order_by(Drop.drop_at, Drop.id)
        .limit(limit)
    )
    return list(rows)


async def past(session: AsyncSession, guild_id: int, limit: int) -> list[Drop]:
    """Drops already announced, latest first."""
    rows = await session.scalars(
        select(Drop)
        .where(Drop.guild_id == guild_id, Drop.announce_message_id.is_not(None))
        .order_by(Drop.drop_at.desc(), Drop.id.desc())
        .limit(limit)
    )
    return list(rows)


async def dm_wish(session: AsyncSession, guild_id: int, user_id: int) -> DropDmWish | None:
    return await session.get(DropDmWish, (guild_id, user_id))


async def dm_wishes(session: AsyncSession, guild_id: int) -> list[DropDmWish]:
    rows = await session.scalars(
        select(DropDmWish).where(DropDmWish.guild_id == guild_id).order_by(DropDmWish.asked_at, DropDmWish.user_id)
    )
    return list(rows)


async def dms_since(session: AsyncSession, guild_id: int, user_id: int, since: datetime) -> list[datetime]:
    """When the member's drop DMs within the window were owed, oldest first (each spends one of the budget; one
    skipped because the member had left spends nothing)."""
    rows = await session.scalars(
        select(DropDm.at)
        .where(DropDm.guild_id == guild_id, DropDm.user_id == user_id, DropDm.at > since, DropDm.left_at.is_(None))
        .order_by(DropDm.at)
    )
    return list(rows)


async def dm_of(session: AsyncSession, drop_id: int, user_id: int) -> DropDm | None:
    found: DropDm | None = await session.scalar(
        select(DropDm).where(DropDm.drop_id == drop_id, DropDm.user_id == user_id)
    )
    return found


async def dms_spent_since(session: AsyncSession, guild_id: int, since: datetime) -> dict[int, int]:
    """Per member, the drop DMs owed to them within the window (what they spent of their budget)."""
    rows = await session.execute(
        select(DropDm.user_id, func.count())
        .where(DropDm.guild_id == guild_id, DropDm.at > since, DropDm.left_at.is_(None))
        .group_by(DropDm.user_id)
    )
    return {int(user_id): int(count) for user_id, count in rows}


async def dm_recipients(session: AsyncSession, drop_id: int) -> set[int]:
    return set(await session.scalars(select(DropDm.user_id).where(DropDm.drop_id == drop_id)))


async def dm_reach(session: AsyncSession, drop_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per drop, its DMs sent and those skipped because the member had left the server."""
    if not drop_ids:
        return {}
    rows = await session.execute(
        select(DropDm.drop_id, func.count(DropDm.message_id), func.count(DropDm.left_at))
        .where(DropDm.drop_id.in_(drop_ids))
        .group_by(DropDm.drop_id)
    )
    return {int(drop_id): (int(sent), int(left)) for drop_id, sent, left in rows}
