"""SQL of the collab board; every function takes the caller's session and never commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.models.collabs import (
    ACTIVE_STATUSES,
    CollabAlert,
    CollabInterest,
    CollabMemberSkill,
    CollabProfile,
    CollabReport,
    CollabRequest,
    CollabRequestSkill,
    CollabSkill,
    InterestStatus,
    RequestStatus,
)


async def all_skills(session: AsyncSession, guild_id: int) -> list[CollabSkill]:
    """Every skill row of the server, removed ones included."""
    rows = await session.scalars(select(CollabSkill).where(CollabSkill.guild_id == guild_id).order_by(CollabSkill.id))
    return list(rows)


async def skills_by_ids(session: AsyncSession, skill_ids: Iterable[int]) -> list[CollabSkill]:
    ids = list(skill_ids)
    if not ids:
        return []
    rows = await session.scalars(select(CollabSkill).where(CollabSkill.id.in_(ids)).order_by(CollabSkill.name))
    return list(rows)


async def member_skill_ids(session: AsyncSession, guild_id: int, user_id: int) -> list[int]:
    rows = await session.scalars(
        select(CollabMemberSkill.skill_id).where(
            CollabMemberSkill.guild_id == guild_id, CollabMemberSkill.user_id == user_id
        )
    )
    return list(rows)


async def replace_member_skills(session: AsyncSession, guild_id: int, user_id: int, skill_ids: Sequence[int]) -> None:
    await session.execute(
        delete(CollabMemberSkill).where(CollabMemberSkill.guild_id == guild_id, CollabMemberSkill.user_id == user_id)
    )
    session.add_all(CollabMemberSkill(guild_id=guild_id, user_id=user_id, skill_id=s) for s in dict.fromkeys(skill_ids))
    await session.flush()


async def profile(session: AsyncSession, guild_id: int, user_id: int) -> CollabProfile | None:
    return await session.get(CollabProfile, (guild_id, user_id))


async def request(session: AsyncSession, request_id: int) -> CollabRequest | None:
    return await session.get(CollabRequest, request_id)


async def request_skill_ids(session: AsyncSession, request_id: int) -> list[int]:
    rows = await session.scalars(select(CollabRequestSkill.skill_id).where(CollabRequestSkill.request_id == request_id))
    return list(rows)


async def posted_since(session: AsyncSession, guild_id: int, poster_id: int, since: datetime) -> list[datetime]:
    """When the member's requests posted since `since` were made, oldest first (closed and rejected ones too)."""
    rows = await session.scalars(
        select(CollabRequest.created_at)
        .where(
            CollabRequest.guild_id == guild_id,
            CollabRequest.poster_id == poster_id,
            CollabRequest.created_at >= since,
        )
        .order_by(CollabRequest.created_at)
    )
    return list(rows)


async def count_active(session: AsyncSession, guild_id: int, poster_id: int) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(CollabRequest)
        .where(
            CollabRequest.guild_id == guild_id,
            CollabRequest.poster_id == poster_id,
            CollabRequest.status.in_(ACTIVE_STATUSES),
        )
    )
    return int(found or 0)


async def open_requests(
    session: AsyncSession, guild_id: int, *, skill_id: int | None = None, genre: str | None = None
) -> list[CollabRequest]:
    stmt = select(CollabRequest).where(CollabRequest.guild_id == guild_id, CollabRequest.status == RequestStatus.OPEN)
    if skill_id is not None:
        stmt = stmt.where(
            CollabRequest.id.in_(select(CollabRequestSkill.request_id).where(CollabRequestSkill.skill_id == skill_id))
        )
    if genre:
        stmt = stmt.where(func.lower(CollabRequest.genre).contains(genre.lower(), autoescape=True))
    rows = await session.scalars(stmt.order_by(CollabRequest.published_at.desc(), CollabRequest.id.desc()))
    return list(rows)


async def requests_of(session: AsyncSession, guild_id: int, poster_id: int, *, limit: int = 100) -> list[CollabRequest]:
    rows = await session.scalars(
        select(CollabRequest)
        .where(CollabRequest.guild_id == guild_id, CollabRequest.poster_id == poster_id)
        .order_by(CollabRequest.created_at.desc(), CollabRequest.id.desc())
        .limit(limit)
    )
    return list(rows)


async def interest(session: AsyncSession, interest_id: int) -> CollabInterest | None:
    return await session.get(CollabInterest, interest_id)


async def interest_of(session: AsyncSession, request_id: int, user_id: int) -> CollabInterest | None:
    return await session.scalar(
        select(CollabInterest).where(CollabInterest.request_id == request_id, CollabInterest.user_id == user_id)
    )


async def answer_interest(session: AsyncSession, interest_id: int, status: InterestStatus, at: datetime) -> bool:
    """Move a pending interest to `status`; False if it was answered meanwhile."""
    result = await session.execute(
        update(CollabInterest)
        .where(CollabInterest.id == interest_id, CollabInterest.status == InterestStatus.PENDING)
        .values(status=status, answered_at=at)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0))


async def matching_members(session: AsyncSession, guild_id: int, skill_ids: Sequence[int]) -> list[CollabProfile]:
    """Opted-in members having at least one of the skills."""
    rows = await session.scalars(
        select(CollabProfile)
        .where(
            CollabProfile.guild_id == guild_id,
            CollabProfile.alerts.is_(True),
            CollabProfile.user_id.in_(
                select(CollabMemberSkill.user_id).where(
                    CollabMemberSkill.guild_id == guild_id, CollabMemberSkill.skill_id.in_(list(skill_ids))
                )
            ),
        )
        .order_by(CollabProfile.user_id)
    )
    return list(rows)


async def alerts_since(
    session: AsyncSession, guild_id: int, user_ids: Sequence[int], since: datetime
) -> dict[int, int]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(CollabAlert.user_id, func.count())
        .where(
            CollabAlert.guild_id == guild_id, CollabAlert.user_id.in_(list(user_ids)), CollabAlert.created_at > since
        )
        .group_by(CollabAlert.user_id)
    )
    return {int(user_id): int(count) for user_id, count in rows.all()}


async def alerts_for(session: AsyncSession, request_id: int) -> list[CollabAlert]:
    rows = await session.scalars(
        select(CollabAlert).where(CollabAlert.request_id == request_id).order_by(CollabAlert.user_id)
    )
    return list(rows)


async def report(session: AsyncSession, request_id: int, reporter_id: int) -> CollabReport | None:
    return await session.get(CollabReport, (request_id, reporter_id))


# -- the moderators' dashboard ----------------------------------------------------------------------------------


async def request_history(session: AsyncSession, guild_id: int) -> list[tuple[datetime, str, datetime | None]]:
    """(opened, status, closed) of every request of the server, oldest first."""
    rows = await session.execute(
        select(CollabRequest.created_at, CollabRequest.status, CollabRequest.closed_at)
        .where(CollabRequest.guild_id == guild_id)
        .order_by(CollabRequest.created_at, CollabRequest.id)
    )
    return [(opened, str(status), closed) for opened, status, closed in rows]
