"""Bringing a gathering up on Discord without holding a transaction: intent, Discord, then record or undo.

A gathering's native event and its card must agree with its rows, but no session may stay open while Discord
answers (on SQLite every other click would wait behind a slow route). So the creator writes the rows first
together with an "abandon" job (`expect_creation`), talks to Discord with no session open, and records the
result in one short transaction that also cancels the job (`creation_finished`), or undoes everything
(`Mirror.undo` and `discard`). If the process dies in between, the abandon job comes due and takes the
half-made gathering back: the native event (its id is recorded the moment Discord answers), and the rows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.db.base import utcnow
from labelbot.gatherings import native
from labelbot.gatherings.models import Gathering, NativeStatus
from labelbot.jobs import JobContext, MissedRule, ScheduledJob

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)

# Long enough for any creation to finish (a 429 wait, a slow route, discord.py's retries), short enough that a
# crashed one is cleaned up before anybody wonders.
CREATION_GRACE = timedelta(minutes=5)

# Deletes the feature's own rows of a gathering that was never finished (the gathering row is deleted after it).
Discard = Callable[[AsyncSession, Gathering], Awaitable[None]]


def abandon_job(kind: str) -> str:
    return f"{kind}.abandon"


def abandon_key(gathering: Gathering) -> str:
    return f"{gathering.kind}:{gathering.ref_id}:creating"


@dataclass
class Mirror:
    """What was made on Discord while bringing a gathering up, so a failure can take it all back."""

    native_event_id: int | None = None
    card: discord.Message | None = None
    thread: discord.Thread | None = None
    # A native event that was there before (reused by a recurring series) is not deleted by an undo.
    kept_native: bool = False

    async def undo(self, bot: LabelBot, guild_id: int) -> None:
        """Delete what was made, newest first; what is already gone is fine, and nothing here raises."""
        if self.thread is not None:
            try:
                await self.thread.delete()
            except discord.HTTPException:
                log.warning("Could not delete thread %s while undoing", self.thread.id, exc_info=True)
        if self.card is not None:
            try:
                await self.card.delete()
            except discord.HTTPException:
                log.warning("Could not delete card %s while undoing", self.card.id, exc_info=True)
        if self.native_event_id is not None and not self.kept_native:
            try:
                await native.delete_native_event(bot, guild_id, self.native_event_id)
            except discord.HTTPException:
                log.warning("Could not delete native event %s while undoing", self.native_event_id, exc_info=True)


async def expect_creation(bot: LabelBot, session: AsyncSession, gathering: Gathering) -> None:
    """The intent, in the caller's transaction that writes the rows: undo it all unless it is finished in time."""
    await bot.jobs.schedule(
        session,
        abandon_job(gathering.kind),
        {"gathering_id": gathering.id},
        utcnow() + CREATION_GRACE,
        guild_id=gathering.guild_id,
        key=abandon_key(gathering),
    )


async def create_native(bot: LabelBot, gathering_id: int, guild_id: int, done: Mirror, **details: Any) -> int:
    """Create the native event, and note its id at once (short transaction) so a crash can't leave it unknown."""
    event_id = await native.create_native_event(bot, guild_id, **details)
    done.native_event_id = event_id
    async with bot.sessionmaker.begin() as session:
        gathering = await session.get(Gathering, gathering_id)
        if gathering is not None:
            gathering.native_event_id = event_id
    return event_id


async def creation_finished(bot: LabelBot, session: AsyncSession, gathering: Gathering, done: Mirror) -> None:
    """Record what Discord made on the gathering and call the abandon job off (the caller's short transaction)."""
    assert done.card is not None
    gathering.native_event_id = done.native_event_id
    gathering.native_status = NativeStatus.SCHEDULED if done.native_event_id is not None else None
    gathering.card_channel_id = done.card.channel.id
    gathering.card_message_id = done.card.id
    await bot.jobs.cancel(session, abandon_key(gathering))


async def discard(bot: LabelBot, gathering_id: int, feature_rows: Discard, *, from_abandon_job: bool = False) -> None:
    """Delete a gathering that was never finished, with the feature's rows and every job it had."""
    async with bot.sessionmaker.begin() as session:
        gathering = await session.get(Gathering, gathering_id)
        if gathering is None:
            return
        if not from_abandon_job:
            # An undo leaves nothing behind, not even the intent (the abandon job finishes its own row itself).
            await session.execute(delete(ScheduledJob).where(ScheduledJob.key == abandon_key(gathering)))
        await bot.jobs.cancel_prefix(session, f"{gathering.kind}:{gathering.ref_id}:")
        await feature_rows(session, gathering)
        await session.execute(delete(Gathering).where(Gathering.id == gathering_id))


async def _abandon(bot: LabelBot, feature_rows: Discard, ctx: JobContext) -> dict[str, Any] | None:
    gathering_id = int(ctx.payload["gathering_id"])
    async with bot.sessionmaker() as session:
        gathering = await session.get(Gathering, gathering_id)
    if gathering is None:
        return {"skipped": "gone"}
    if gathering.card_message_id is not None:
        return {"skipped": "finished"}
    if gathering.native_event_id is not None:
        await native.delete_native_event(bot, gathering.guild_id, gathering.native_event_id)
    await discard(bot, gathering_id, feature_rows, from_abandon_job=True)
    log.warning("Took back %s %s, whose creation never finished", gathering.kind, gathering.ref_id)
    return {"abandoned": gathering_id}


def register(bot: LabelBot, kind: str, feature_rows: Discard) -> None:
    """Register the kind's abandon job (from the cog's cog_load)."""

    async def abandon(ctx: JobContext) -> dict[str, Any] | None:
        return await _abandon(bot, feature_rows, ctx)

    # A creation that never finished is taken back whenever the bot sees it, however late.
    bot.jobs.register(abandon_job(kind), abandon, missed=MissedRule.RUN_LATE)


def unregister(bot: LabelBot, kind: str) -> None:
    bot.jobs.unregister(abandon_job(kind))
