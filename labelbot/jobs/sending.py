"""Posting from job handlers so that a retry never posts the same message twice."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import discord

from labelbot.jobs.context import ComeBackLater, JobContext

log = logging.getLogger(__name__)

# Where send_once keeps, in the job's result, the id of the message it posted for each part.
MESSAGES_KEY = "messages"
# Discord rejects longer nonces.
NONCE_LENGTH = 25
# A job whose channel is booked further ahead than this goes back to the queue instead of waiting: it would hold a
# worker's slot and eat into its time limit (a thousand reminders to one channel take 1,000 s at 5 per 5 s).
MAX_CHANNEL_WAIT_SECONDS = 20.0


def job_nonce(ctx: JobContext, part: str = "", *, salt: str = "") -> str:
    """Return a nonce that is the same on every attempt of this run of the job for this part, and differs otherwise."""
    seed = f"labelbot:{ctx.id}:{ctx.generation}:{part}:{salt}".encode()
    # 12 bytes = 24 hex characters, within Discord's 25.
    return hashlib.blake2b(seed, digest_size=12).hexdigest()


def recorded_message_id(ctx: JobContext, part: str = "") -> int | None:
    """Return the id of the message an earlier attempt posted for `part`, if any."""
    messages = ctx.progress.get(MESSAGES_KEY) or {}
    recorded = messages.get(part)
    return int(recorded) if recorded is not None else None


async def send_once(
    channel: discord.abc.Messageable,
    ctx: JobContext,
    part: str = "",
    *,
    allowed_mentions: discord.AllowedMentions,
    **send_kwargs: Any,
) -> discord.Message:
    """Post `part` of this job once: an earlier attempt's message is fetched, not posted again.

    The nonce makes Discord answer a repeat within its dedupe window with the first message (discord.py sets
    enforce_nonce); the message id recorded in the job's result covers retries after that window. Recording it
    takes a connection of its own, so call this with no session open (SQLite's pool has only one).
    """
    if "nonce" in send_kwargs:
        raise TypeError("send_once chooses the nonce itself")
    salt = ""
    recorded = recorded_message_id(ctx, part)
    if recorded is not None:
        try:
            return await channel.fetch_message(recorded)
        except discord.NotFound:
            # Deleted since (by a moderator, say): post it again, under a nonce the deleted one did not use.
            log.warning("Message %s of job %s part %r is gone; posting it again", recorded, ctx.id, part)
            salt = str(recorded)
    nonce = job_nonce(ctx, part, salt=salt)
    channel_id = getattr(channel, "id", None)
    if ctx.pacer is not None and isinstance(channel_id, int):
        wait = ctx.pacer.channel_wait(channel_id)
        if wait > MAX_CHANNEL_WAIT_SECONDS:
            raise ComeBackLater(
                wait - MAX_CHANNEL_WAIT_SECONDS / 2, f"channel {channel_id} is booked {wait:.0f} s ahead"
            )
        # Wait for the channel's window here rather than be answered 429 (and hold discord.py's bucket) later.
        async with ctx.pacer.channel(channel_id):
            message = await channel.send(nonce=nonce, allowed_mentions=allowed_mentions, **send_kwargs)
    else:
        message = await channel.send(nonce=nonce, allowed_mentions=allowed_mentions, **send_kwargs)
    # Read the map after the send: parts sent concurrently must not overwrite each other's ids.
    messages = dict(ctx.progress.get(MESSAGES_KEY) or {})
    messages[part] = message.id
    await ctx.record_progress({MESSAGES_KEY: messages})
    return message
