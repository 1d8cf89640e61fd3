"""What the collab board keeps of a member, and how it lets go of it: /profile delete, forget-me, shared links."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import discord
from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.features.collabs import _repository as repo
from labelbot.models.collabs import (
    CollabAlert,
    CollabInterest,
    CollabMemberSkill,
    CollabProfile,
    CollabRequest,
    InterestStatus,
)
from labelbot.privacy import AfterCommit

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)


async def delete_profile(session: AsyncSession, guild_id: int, user_id: int) -> bool:
    """Remove the member's profile in the server: bio, links, alert choice, skills, the alerts they got."""
    removed = 0
    for model in (CollabAlert, CollabMemberSkill, CollabProfile):
        result = await session.execute(delete(model).where(model.guild_id == guild_id, model.user_id == user_id))
        removed += max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
    return removed > 0


async def links_shared(session: AsyncSession, guild_id: int, owner_id: int, viewer_id: int) -> bool:
    """Whether the owner's contact reached the viewer: only an accepted introduction between the two shares it."""
    if owner_id == viewer_id:
        return True
    between = or_(
        and_(CollabRequest.poster_id == owner_id, CollabInterest.user_id == viewer_id),
        and_(CollabRequest.poster_id == viewer_id, CollabInterest.user_id == owner_id),
    )
    query = select(
        exists().where(
            CollabInterest.request_id == CollabRequest.id,
            CollabRequest.guild_id == guild_id,
            CollabInterest.status == InterestStatus.ACCEPTED,
            between,
        )
    )
    return bool(await session.scalar(query))


async def forget_member(bot: LabelBot, session: AsyncSession, guild_id: int, user_id: int) -> AfterCommit | None:
    """Before a member's requests are erased: stop their jobs, and take their posts off the board once committed."""
    posts: list[tuple[int | None, int | None, bool]] = []
    for request in await repo.requests_of(session, guild_id, user_id, limit=10_000):
        await bot.jobs.cancel_prefix(session, f"collab:{request.id}:")
        if request.board_channel_id is None:
            continue
        if not request.board_is_forum:
            posts.append((request.board_channel_id, request.message_id, False))
        # The post's thread (a forum post is its thread): deleting it takes the talk under the post too.
        posts.append((request.thread_id, None, True))
    if not posts:
        return None

    async def take_down() -> None:
        for channel_id, message_id, whole_channel in posts:
            if channel_id is None:
                continue
            # Already gone (deleted by hand, archived and pruned) is fine: the point is that it is gone.
            with contextlib.suppress(discord.NotFound):
                if whole_channel:
                    await bot.http.delete_channel(channel_id)
                elif message_id is not None:
                    await bot.http.delete_message(channel_id, message_id)

    return take_down
