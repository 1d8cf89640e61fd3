"""Telling the members who answered: reminders and notices, in the channel (mentions split) and by DM (capped)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.db.base import utcnow
from labelbot.gatherings import rsvp
from labelbot.gatherings.cards import card_channel
from labelbot.gatherings.feature import GatheringFeature
from labelbot.gatherings.models import Answer, Gathering, GatheringRsvp
from labelbot.jobs import JobContext
from labelbot.jobs.sending import recorded_message_id, send_once

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)

CONTENT_LIMIT = 2000
# Mentions per channel message: enough to reach everyone in few posts, few enough that one post is not a wall.
MENTIONS_PER_MESSAGE = 50
# Discord's error code for "Cannot send messages to this user" (closed DMs, blocked, no shared server).
CANNOT_DM = 50007

# Who a notice goes to.
AUDIENCE_REMINDER = "reminder"  # Going (with a seat) and Maybe in the channel; DMs to those who asked
AUDIENCE_ANSWERED = "answered"  # everyone who did not say Can't (changes, cancellation)
AUDIENCE_USERS = "users"  # the listed members, by DM first (e.g. promoted from the waitlist)


def split_mentions(header: str, user_ids: Sequence[int], *, per_message: int = MENTIONS_PER_MESSAGE) -> list[str]:
    """The header, then the mentions, split into messages within Discord's length and a sane mention count."""
    header = header[:CONTENT_LIMIT]
    messages: list[str] = []
    current = header
    in_current = 0
    for user_id in user_ids:
        mention = f"<@{user_id}>"
        separator = "\n" if current == header and current else " "
        if in_current >= per_message or len(current) + len(separator) + len(mention) > CONTENT_LIMIT:
            messages.append(current)
            current, in_current, separator = "", 0, ""
        current = f"{current}{separator}{mention}" if current else mention
        in_current += 1
    if current:
        messages.append(current)
    return messages


def reminder_key(gathering: Gathering, seconds: int) -> str:
    return f"{gathering.kind}:{gathering.ref_id}:remind:{seconds}"


async def schedule_reminders(
    bot: LabelBot, session: AsyncSession, gathering: Gathering, offsets_seconds: Sequence[int]
) -> list[datetime]:
    """(Re)schedule the reminders, given in seconds ahead of the start; those already past are not scheduled."""
    await bot.jobs.cancel_prefix(session, f"{gathering.kind}:{gathering.ref_id}:remind:")
    now = utcnow()
    scheduled = []
    for seconds in sorted(set(offsets_seconds), reverse=True):
        due = gathering.starts_at - timedelta(seconds=seconds)
        if due <= now:
            continue
        await bot.jobs.schedule(
            session,
            f"{gathering.kind}.remind",
            {"gathering_id": gathering.id, "audience": AUDIENCE_REMINDER, "seconds": seconds},
            due,
            guild_id=gathering.guild_id,
            key=reminder_key(gathering, seconds),
        )
        scheduled.append(due)
    return scheduled


async def cancel_reminders(bot: LabelBot, session: AsyncSession, gathering: Gathering) -> None:
    await bot.jobs.cancel_prefix(session, f"{gathering.kind}:{gathering.ref_id}:remind:")


async def schedule_notice(
    bot: LabelBot,
    session: AsyncSession,
    gathering: Gathering,
    *,
    name: str,
    text: str,
    audience: str = AUDIENCE_ANSWERED,
    user_ids: Sequence[int] = (),
) -> None:
    """Tell members something about the gathering (moved, cancelled, promoted), as a job in the caller's transaction.

    `name` makes the notice unique (e.g. "edit:3"): the same name is sent once.
    """
    await bot.jobs.schedule(
        session,
        f"{gathering.kind}.notice",
        {"gathering_id": gathering.id, "audience": audience, "text": text, "user_ids": [int(u) for u in user_ids]},
        utcnow(),
        guild_id=gathering.guild_id,
        key=f"{gathering.kind}:{gathering.ref_id}:notice:{name}",
    )


async def run_fan_out(bot: LabelBot, feature: GatheringFeature, ctx: JobContext) -> dict[str, Any] | None:
    """Post the notice or reminder: channel messages with mentions, then DMs to those who asked for them."""
    payload = ctx.payload
    audience = str(payload.get("audience", AUDIENCE_ANSWERED))
    async with bot.sessionmaker() as session:
        gathering = await session.get(Gathering, int(payload["gathering_id"]))
        if gathering is None:
            return {"skipped": "gone"}
        if audience == AUDIENCE_REMINDER:
            if gathering.cancelled or utcnow() >= gathering.starts_at:
                return {"skipped": "started or cancelled"}
            text = feature.reminder_text(gathering, int(payload.get("seconds", 0)))
            in_channel = await rsvp.members(session, gathering.id, [Answer.GOING, Answer.MAYBE])
            dm_candidates = [r for r in await rsvp.all_answers(session, gathering.id) if r.wants_dm]
        elif audience == AUDIENCE_USERS:
            text = str(payload.get("text", ""))
            wanted = {int(u) for u in payload.get("user_ids", [])}
            dm_candidates = [r for r in await rsvp.all_answers(session, gathering.id) if r.user_id in wanted]
            in_channel = []
        else:
            text = str(payload.get("text", ""))
            answered = [r for r in await rsvp.all_answers(session, gathering.id) if r.answer != Answer.CANT]
            in_channel = [r for r in answered if r.answer != Answer.REMIND]
            dm_candidates = [r for r in answered if r.wants_dm]
    summary: dict[str, Any] = {"mentioned": 0, "dms": 0, "dms_closed": 0, "dms_capped": 0}
    undelivered: list[int] = []
    if dm_candidates:
        undelivered = await _send_dms(bot, ctx, gathering, text, dm_candidates, summary)
    # For a personal notice, those the bot could not reach by DM are told in the channel instead.
    in_channel_ids = undelivered if audience == AUDIENCE_USERS else [r.user_id for r in in_channel]
    if in_channel_ids or audience != AUDIENCE_USERS:
        channel = await card_channel(bot, gathering)
        if channel is not None:
            for index, content in enumerate(split_mentions(text, in_channel_ids)):
                mentioned = [u for u in in_channel_ids if f"<@{u}>" in content]
                await send_once(
                    channel,
                    ctx,
                    f"channel:{index}",
                    content=content,
                    allowed_mentions=discord.AllowedMentions(
                        everyone=False, roles=False, users=[discord.Object(u) for u in mentioned]
                    ),
                )
                summary["mentioned"] += len(mentioned)
    return summary


async def dm_members(
    bot: LabelBot, ctx: JobContext, gathering: Gathering, text: str, recipients: list[GatheringRsvp]
) -> dict[str, Any]:
    """DM these members once each, within the gathering's cap and skipping closed DMs; say what happened."""
    summary: dict[str, Any] = {"dms": 0, "dms_closed": 0, "dms_capped": 0}
    await _send_dms(bot, ctx, gathering, text, recipients, summary)
    return summary


async def _send_dms(
    bot: LabelBot,
    ctx: JobContext,
    gathering: Gathering,
    text: str,
    recipients: list[GatheringRsvp],
    summary: dict[str, Any],
) -> list[int]:
    """DM each recipient once, within the gathering's cap; return whom no DM reached."""
    undelivered: list[int] = []
    for recipient in recipients:
        part = f"dm:{recipient.user_id}"
        if recorded_message_id(ctx, part) is not None:
            summary["dms"] += 1
            continue
        if recipient.dm_closed_at is not None:
            summary["dms_closed"] += 1
            undelivered.append(recipient.user_id)
            continue
        if not await _take_dm_slot(bot, gathering.id):
            summary["dms_capped"] += 1
            undelivered.append(recipient.user_id)
            continue
        try:
            channel = await bot.create_dm(discord.Object(recipient.user_id))
            await send_once(channel, ctx, part, content=text, allowed_mentions=discord.AllowedMentions.none())
        except discord.Forbidden as error:
            log.info("DMs of %s are closed (%s); not trying again for %s", recipient.user_id, error.code, gathering.id)
            await _dm_closed(bot, recipient.id)
            await _give_back_dm_slot(bot, gathering.id)
            summary["dms_closed"] += 1
            undelivered.append(recipient.user_id)
            continue
        summary["dms"] += 1
    return undelivered


async def _take_dm_slot(bot: LabelBot, gathering_id: int) -> bool:
    async with bot.sessionmaker.begin() as session:
        taken = await session.execute(
            update(Gathering)
            .where(Gathering.id == gathering_id, Gathering.dms_sent < Gathering.dm_cap)
            .values(dms_sent=Gathering.dms_sent + 1)
            .execution_options(synchronize_session=False)
        )
    return bool(getattr(taken, "rowcount", 0))


async def _give_back_dm_slot(bot: LabelBot, gathering_id: int) -> None:
    async with bot.sessionmaker.begin() as session:
        await session.execute(
            update(Gathering)
            .where(Gathering.id == gathering_id, Gathering.dms_sent > 0)
            .values(dms_sent=Gathering.dms_sent - 1)
            .execution_options(synchronize_session=False)
        )


async def _dm_closed(bot: LabelBot, rsvp_id: int) -> None:
    async with bot.sessionmaker.begin() as session:
        await session.execute(
            update(GatheringRsvp)
            .where(GatheringRsvp.id == rsvp_id)
            .values(dm_closed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
