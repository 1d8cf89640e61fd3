"""Queries of the drops feature; takes the caller's session, never commits."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models.drops import Drop, DropSettings, DropSignup


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
