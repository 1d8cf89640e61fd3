"""The Discord side of the board: posting requests (forum post with tags, or embed with a thread), DMs, archiving."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import discord

from labelbot.channels import get_or_fetch_channel
from labelbot.errors import BotLacksPermissions, Conflict
from labelbot.features.collabs._render import request_embed
from labelbot.features.collabs._service import skill_key
from labelbot.jobs import JobContext, send_once
from labelbot.models.collabs import CollabRequest, CollabSkill

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
# Discord's limits: 20 tags on a forum, 5 applied to one post.
FORUM_TAG_LIMIT = 20
APPLIED_TAG_LIMIT = 5
# A week; the longest auto-archive Discord offers.
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080

Board = discord.ForumChannel | discord.TextChannel

NO_BOARD = "No collab board is set yet; a moderator can set one with /settings channel collab_board."


async def board(bot: LabelBot, channel_id: int | None) -> Board:
    """The server's collab board, or one sentence saying why there is none."""
    if channel_id is None:
        raise Conflict(NO_BOARD)
    channel = await get_or_fetch_channel(bot, channel_id)
    if channel is None:
        raise Conflict("The collab board channel is gone or hidden from me; a moderator can set a new one.")
    if not isinstance(channel, discord.ForumChannel | discord.TextChannel):
        raise Conflict("The collab board must be a forum or a text channel; a moderator can set another one.")
    return channel


async def forum_tags(forum: discord.ForumChannel, skills: Sequence[CollabSkill]) -> list[discord.ForumTag]:
    """The forum's tags for these skills, created as needed while the forum has room (20 tags at most)."""
    existing = {skill_key(tag.name): tag for tag in forum.available_tags}
    missing = [skill for skill in skills if skill_key(skill.name) not in existing]
    room = FORUM_TAG_LIMIT - len(forum.available_tags)
    if missing and room > 0:
        new_tags = [discord.ForumTag(name=skill.name[:20]) for skill in missing[:room]]
        try:
            edited = await forum.edit(available_tags=[*forum.available_tags, *new_tags])
        except discord.Forbidden as error:
            raise BotLacksPermissions(f"I need Manage Channels on {forum.mention} to add skill tags.") from error
        tags = edited.available_tags if edited is not None else forum.available_tags
        existing = {skill_key(tag.name): tag for tag in tags}
    chosen = [existing[skill_key(skill.name)] for skill in skills if skill_key(skill.name) in existing]
    return chosen[:APPLIED_TAG_LIMIT]


@dataclass(frozen=True)
class Posted:
    board_channel_id: int
    is_forum: bool
    message_id: int
    thread_id: int


async def publish(
    bot: LabelBot, channel: Board, request: CollabRequest, skills: Sequence[CollabSkill], view: discord.ui.View
) -> Posted:
    """Post the request on the board with its buttons: a forum post tagged with its skills, or an embed with a thread."""
    embed = request_embed(request, skills)
    name = request.title[:100]
    try:
        if isinstance(channel, discord.ForumChannel):
            tags = await forum_tags(channel, skills)
            created = await channel.create_thread(
                name=name,
                embed=embed,
                view=view,
                applied_tags=tags,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                allowed_mentions=NO_MENTIONS,
            )
            return Posted(channel.id, True, created.message.id, created.thread.id)
        message = await channel.send(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
        try:
            thread = await message.create_thread(name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES)
        except discord.HTTPException:
            await _delete_quietly(message)
            raise
        return Posted(channel.id, False, message.id, thread.id)
    except discord.Forbidden as error:
        raise BotLacksPermissions(
            f"I can't post in {channel.mention}; I need Send Messages and Create Public Threads there."
        ) from error


async def unpublish(bot: LabelBot, posted: Posted) -> None:
    """Take a post down again (a later step failed)."""
    try:
        if posted.is_forum:
            await bot.http.delete_channel(posted.thread_id)
        else:
            await bot.http.delete_channel(posted.thread_id)
            await bot.http.delete_message(posted.board_channel_id, posted.message_id)
    except discord.HTTPException:
        log.warning("Could not take down the post of a failed collab request", exc_info=True)


async def _delete_quietly(message: discord.Message) -> None:
    try:
        await message.delete()
    except discord.HTTPException:
        log.warning("Could not delete message %s", message.id, exc_info=True)


async def refresh_post(
    bot: LabelBot,
    request: CollabRequest,
    skills: Sequence[CollabSkill],
    *,
    archive: bool,
    view: discord.ui.View | None = None,
    note: str | None = None,
    ctx: JobContext | None = None,
) -> None:
    """Show the request's state on its post; with `archive`, drop the buttons, post `note` and archive the thread.

    `view` is the post's buttons when it stays open (the board knows nothing of the feature's components).

    From a job (`ctx`), the note is posted once whatever retries happen.
    """
    if request.board_channel_id is None or request.message_id is None:
        return
    parent_id = request.thread_id if request.board_is_forum and request.thread_id else request.board_channel_id
    message = bot.get_partial_messageable(parent_id).get_partial_message(request.message_id)
    try:
        await message.edit(
            embed=request_embed(request, skills),
            view=None if archive else view,
            allowed_mentions=NO_MENTIONS,
        )
    except discord.NotFound:
        log.info("The post of collab request %s is gone", request.id)
    if not archive or request.thread_id is None:
        return
    thread = await get_or_fetch_channel(bot, request.thread_id)
    if not isinstance(thread, discord.Thread):
        return
    try:
        if note and not thread.archived:
            if ctx is not None:
                await send_once(thread, ctx, "note", allowed_mentions=NO_MENTIONS, content=note)
            else:
                await thread.send(note, allowed_mentions=NO_MENTIONS)
        if not thread.archived or (request.board_is_forum and not thread.locked):
            await thread.edit(archived=True, locked=request.board_is_forum)
    except discord.HTTPException:
        log.warning("Could not archive the thread of collab request %s", request.id, exc_info=True)


async def dm(bot: LabelBot, user_id: int, **kwargs: Any) -> discord.Message | None:
    """Send a DM; None when the member's DMs are closed to the bot."""
    kwargs.setdefault("allowed_mentions", NO_MENTIONS)
    try:
        user = bot.get_user(user_id) or await bot.fetch_user(user_id)
        return await user.send(**kwargs)
    except discord.Forbidden:
        return None
    except discord.NotFound:
        return None
