"""The gathering's card: one message whose live count follows the answers, edited at a pace Discord accepts."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.channels import messageable_channel
from labelbot.db.base import utcnow
from labelbot.db.batch import transaction_note
from labelbot.gatherings.feature import GatheringFeature
from labelbot.gatherings.models import Gathering
from labelbot.jobs import JobContext, JobStatus

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)

# Answers arriving within this window share one edit. Discord allows about 5 messages per 5 s in a channel, and
# the card's channel also carries reminders and party posts, so the card takes at most one slot in 2.5 s.
CARD_EDIT_DELAY = timedelta(seconds=2.5)
_CARD_REFRESH_ENSURED = "card_refresh_ensured"


def card_key(gathering: Gathering) -> str:
    return f"{gathering.kind}:{gathering.ref_id}:card"


async def request_card_refresh(
    bot: LabelBot, session: AsyncSession, gathering: Gathering, *, now: bool = False
) -> None:
    """Ask for the card to be edited soon, in the caller's transaction; answers in a rush share one edit."""
    if gathering.card_message_id is None:
        return
    key = card_key(gathering)
    due = utcnow() + (timedelta(0) if now else CARD_EDIT_DELAY)
    # Keys whose edit this transaction already found or put pending: the clicks of a burst share one transaction
    # (labelbot/db/batch.py), and the edit they share cannot run before it commits.
    ensured: set[str] = transaction_note(session, _CARD_REFRESH_ENSURED, set)
    if not now:
        if key in ensured:
            return
        pending = await bot.jobs.get(session, key)
        if pending is not None and pending.status == JobStatus.PENDING:
            # An edit is already coming and will read the answers as they are then.
            ensured.add(key)
            return
    feature_kind = f"{gathering.kind}.card"
    await bot.jobs.schedule(
        session, feature_kind, {"gathering_id": gathering.id}, due, guild_id=gathering.guild_id, key=key
    )
    ensured.add(key)


async def card_channel(bot: LabelBot, gathering: Gathering) -> discord.abc.Messageable | None:
    if gathering.card_channel_id is None:
        return None
    return await messageable_channel(bot, gathering.card_channel_id)


async def refresh_card(bot: LabelBot, feature: GatheringFeature, ctx: JobContext) -> dict[str, Any] | None:
    """Edit the card to show the gathering as it is now."""
    async with bot.sessionmaker() as session:
        gathering = await session.get(Gathering, int(ctx.payload["gathering_id"]))
        if gathering is None or gathering.card_message_id is None:
            return {"skipped": "no card"}
        content = await feature.render_card(bot, session, gathering)
    if content is None:
        return {"skipped": "nothing to show"}
    channel = await card_channel(bot, gathering)
    if channel is None or not hasattr(channel, "get_partial_message"):
        return {"skipped": "card channel gone"}
    message = channel.get_partial_message(gathering.card_message_id)
    try:
        await message.edit(**content.message_kwargs())
    except discord.NotFound:
        log.info(
            "Card %s of %s %s was deleted; not editing it", gathering.card_message_id, gathering.kind, gathering.id
        )
        return {"skipped": "card deleted"}
    return None
