"""Registering a feature's gathering jobs: card refreshes, notices and reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.gatherings.cards import refresh_card, request_card_refresh
from labelbot.gatherings.fanout import run_fan_out
from labelbot.gatherings.feature import GatheringFeature
from labelbot.gatherings.models import Gathering, GatheringRsvp
from labelbot.gatherings.rsvp import fill_from_waitlist
from labelbot.jobs import JobContext, MissedRule
from labelbot.privacy import AfterCommit

if TYPE_CHECKING:
    from labelbot.client import LabelBot


def install(bot: LabelBot, feature: GatheringFeature) -> None:
    """Register the feature's card-refresh, notice and reminder jobs (call from the cog's cog_load)."""
    bot.features.gatherings.add(feature)

    async def refresh(ctx: JobContext) -> dict[str, Any] | None:
        return await refresh_card(bot, feature, ctx)

    async def notice(ctx: JobContext) -> dict[str, Any] | None:
        return await run_fan_out(bot, feature, ctx)

    bot.jobs.register(feature.card_job, refresh, missed=MissedRule.RUN_LATE)
    bot.jobs.register(feature.notice_job, notice, missed=MissedRule.RUN_LATE, grace=timedelta(hours=1))
    # A reminder means nothing once its moment is gone (the bot was down): skipped, and recorded as such.
    bot.jobs.register(feature.remind_job, notice, missed=MissedRule.SKIP, grace=timedelta(minutes=1))

    async def forget_answers(session: AsyncSession, guild_id: int, user_id: int) -> AfterCommit | None:
        await forget_member_answers(bot, session, feature.kind, guild_id, user_id)
        return None

    bot.features.privacy.add_forget_hook(f"gatherings:{feature.kind}", forget_answers)


async def forget_member_answers(bot: LabelBot, session: AsyncSession, kind: str, guild_id: int, user_id: int) -> None:
    """Drop a forgotten member's answers: a seat they held goes to the first member waiting, cards follow."""
    gatherings = list(
        await session.scalars(
            select(Gathering)
            .join(GatheringRsvp, GatheringRsvp.gathering_id == Gathering.id)
            .where(Gathering.kind == kind, Gathering.guild_id == guild_id, GatheringRsvp.user_id == user_id)
        )
    )
    if not gatherings:
        return
    await session.execute(
        delete(GatheringRsvp).where(
            GatheringRsvp.user_id == user_id, GatheringRsvp.gathering_id.in_([g.id for g in gatherings])
        )
    )
    for gathering in gatherings:
        if not gathering.cancelled:
            await fill_from_waitlist(session, gathering)
        await request_card_refresh(bot, session, gathering)


def uninstall(bot: LabelBot, feature: GatheringFeature) -> None:
    for kind in (feature.card_job, feature.notice_job, feature.remind_job):
        bot.jobs.unregister(kind)
    bot.features.privacy.remove_forget_hook(f"gatherings:{feature.kind}")
    bot.features.gatherings.remove(feature.kind)
