"""Registering a feature's gathering jobs: card refreshes, notices and reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.gatherings.cards import refresh_card
from bot.gatherings.fanout import run_fan_out
from bot.gatherings.feature import GatheringFeature, forget, remember
from bot.jobs import JobContext, MissedRule

if TYPE_CHECKING:
    from bot.client import LabelBot


def install(bot: LabelBot, feature: GatheringFeature) -> None:
    """Register the feature's card-refresh, notice and reminder jobs (call from the cog's cog_load)."""
    remember(bot, feature)

    async def refresh(ctx: JobContext) -> dict[str, Any] | None:
        return await refresh_card(bot, feature, ctx)

    async def notice(ctx: JobContext) -> dict[str, Any] | None:
        return await run_fan_out(bot, feature, ctx)

    bot.jobs.register(feature.card_job, refresh, missed=MissedRule.RUN_LATE)
    bot.jobs.register(feature.notice_job, notice, missed=MissedRule.RUN_LATE, grace=timedelta(hours=1))
    # A reminder means nothing once its moment is gone (the bot was down): skipped, and recorded as such.
    bot.jobs.register(feature.remind_job, notice, missed=MissedRule.SKIP, grace=timedelta(minutes=1))


def uninstall(bot: LabelBot, feature: GatheringFeature) -> None:
    for kind in (feature.card_job, feature.notice_job, feature.remind_job):
        bot.jobs.unregister(kind)
    forget(bot, feature)
