"""The collab board's buttons, selects and modal, and what happens when members use them.

Buttons on posts, DMs and the mod log are DynamicItems keyed by ids, so they work after any restart. Their flows
(posting, answering, introductions, closing, reviewing, reporting) check everything before they write, and take
back what they did on Discord if a later step fails.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.audit.service import record as audit_record
from labelbot.channels import get_or_fetch_channel
from labelbot.context import member_context
from labelbot.errors import Conflict, NotAllowed, NotFound, TryAgainLater
from labelbot.features.collabs import _repository as repo
from labelbot.features.collabs import _service as service
from labelbot.features.collabs._board import (
    NO_MENTIONS,
    THREAD_ARCHIVE_MINUTES,
    Posted,
    board,
    dm,
    publish,
    refresh_post,
    unpublish,
)
from labelbot.features.collabs._render import own_profile_embed, profile_embed, request_embed
from labelbot.guilds.models import GuildSettings
from labelbot.guilds.service import peek_guild_settings
from labelbot.interactions import defer, reply
from labelbot.models.collabs import CollabRequest, CollabSkill, InterestStatus, RequestStatus
from labelbot.permissions import MODERATORS_ONLY
from labelbot.text import clip, plain
from labelbot.timeparse import format_dt, parse_when
from labelbot.tree import handle_interaction_error
from labelbot.ui.dynamic import PersistentItem
from labelbot.ui.owned import OwnedView

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)

ALERTS = "collab.alerts"
WARN = "collab.warn"
EXPIRE = "collab.expire"


def _bot(interaction: discord.Interaction[Any]) -> LabelBot:
    return cast("LabelBot", interaction.client)


async def moderator_of(interaction: discord.Interaction[Any], session: AsyncSession, guild_id: int) -> bool:
    """Whether the member is a moderator of the request's server (never in DMs), from the interaction's context."""
    user = interaction.user
    if not isinstance(user, discord.Member) or user.guild.id != guild_id:
        return False
    return (await member_context(interaction, session)).is_moderator


async def _request_on_board(
    session: AsyncSession, interaction: discord.Interaction[Any], request_id: int
) -> CollabRequest:
    """The request a board button names, only if it is in the server the button was pressed in.

    The id comes from the member's client, so it may name another server's request.
    """
    if interaction.guild_id is None:
        raise NotFound("That button only works on the collab board.")
    return await service.get_request(session, request_id, interaction.guild_id)


def post_link(request: CollabRequest) -> str:
    target = request.thread_id or request.board_channel_id
    return f"https://discord.com/channels/{request.guild_id}/{target}" if target else "the board"


def job_key(request_id: int, what: str) -> str:
    return f"collab:{request_id}:{what}"


# -- posting --------------------------------------------------------------------------------------------------


async def submit_post(
    interaction: discord.Interaction[Any], context: PostContext, *, title: str, needed: str, genre: str, deadline: str
) -> None:
    """The modal of /collab post was sent: check it all, store the request, then post it or queue it for review."""
    bot = _bot(interaction)
    await defer(interaction)
    parsed = parse_when(deadline, zone=context.zone) if deadline.strip() else None
    draft = service.check_draft(
        title=title,
        needed=needed,
        genre=genre,
        deadline_at=parsed.at if parsed else None,
        deadline_zone=parsed.zone if parsed else None,
        compensation=context.compensation,
        skill_ids=context.skill_ids,
        lifetime=context.lifetime,
    )
    async with bot.sessionmaker.begin() as session:
        settings = await peek_guild_settings(session, context.guild_id)
        await service.check_may_post(
            session,
            context.guild_id,
            interaction.user.id,
            max_open=settings.collab_max_open,
            daily_posts=settings.collab_daily_posts,
        )
        current = {skill.id for skill in await service.skills(session, context.guild_id)}
        if not set(draft.skill_ids) <= current:
            raise Conflict("One of those skills was just removed from the list; post again.")
        needs_approval = settings.collab_approval
        if needs_approval:
            mod_log = await _mod_log(bot, settings)
            if mod_log is None:
                raise Conflict("Collab requests need approval here, but no mod-log channel is set; ask a moderator.")
            channel = None
        else:
            channel = await board(bot, settings.collab_board_channel_id)
        request = await service.create_request(
            session,
            draft,
            guild_id=context.guild_id,
            poster_id=interaction.user.id,
            needs_approval=needs_approval,
            origin_channel_id=context.origin_channel_id,
        )
        skills = await service.request_skills(session, request.id)
    try:
        if needs_approval:
            assert mod_log is not None
            message = await mod_log.send(
                f"New collab request from <@{request.poster_id}> waiting for approval.",
                embed=request_embed(request, skills),
                view=approval_view(request.id),
                allowed_mentions=NO_MENTIONS,
            )
            async with bot.sessionmaker.begin() as session:
                stored = await service.get_request(session, request.id)
                stored.approval_message_id = message.id
            await reply(interaction, f"“{plain(clip(draft.title, 100))}” went to the moderators for approval.")
            return
        assert channel is not None
        request = await go_live(bot, request, channel, skills)
    except BaseException:
        async with bot.sessionmaker.begin() as session:
            leftover = await session.get(CollabRequest, request.id)
            if leftover is not None:
                await session.delete(leftover)
        raise
    await reply(interaction, f"Posted: {post_link(request)}")


async def go_live(
    bot: LabelBot,
    request: CollabRequest,
    channel: discord.ForumChannel | discord.TextChannel,
    skills: Sequence[CollabSkill],
    *,
    expect: RequestStatus = RequestStatus.OPEN,
) -> CollabRequest:
    """Post the request on the board, start its life (warning and expiry jobs) and queue matching alerts."""
    posted = await publish(bot, channel, request, skills, post_view(request.id))
    try:
        return await _start_life(bot, request.id, posted, expect)
    except BaseException:
        await unpublish(bot, posted)
        raise


async def _start_life(bot: LabelBot, request_id: int, posted: Posted, expect: RequestStatus) -> CollabRequest:
    async with bot.sessionmaker.begin() as session:
        request = await service.get_request(session, request_id)
        if request.status != expect:
            raise Conflict("Someone else answered this request meanwhile.")
        warn_at, expires_at = service.mark_published(
            request,
            board_channel_id=posted.board_channel_id,
            is_forum=posted.is_forum,
            message_id=posted.message_id,
            thread_id=posted.thread_id,
        )
        payload = {"request_id": request.id}
        await bot.jobs.schedule(
            session, WARN, payload, warn_at, guild_id=request.guild_id, key=job_key(request.id, "warn")
        )
        await bot.jobs.schedule(
            session, EXPIRE, payload, expires_at, guild_id=request.guild_id, key=job_key(request.id, "expire")
        )
        settings = await peek_guild_settings(session, request.guild_id)
        recipients = await service.choose_alerts(session, request, settings.collab_daily_alerts)
        if recipients:
            await bot.jobs.schedule(
                session, ALERTS, payload, request.published_at or expires_at, guild_id=request.guild_id,
                key=job_key(request.id, "alerts"),
            )  # fmt: skip
        return request


async def _mod_log(bot: LabelBot, settings: GuildSettings) -> discord.abc.Messageable | None:
    if settings.mod_log_channel_id is None:
        return None
    channel = await get_or_fetch_channel(bot, settings.mod_log_channel_id)
    return channel if isinstance(channel, discord.abc.Messageable) else None


# -- moderation -----------------------------------------------------------------------------------------------


async def review_request(interaction: discord.Interaction[Any], request_id: int, *, approve: bool) -> None:
    """Approve (post it) or reject a request waiting in the mod log."""
    bot = _bot(interaction)
    await defer(interaction)
    async with bot.sessionmaker.begin() as session:
        request = await service.get_request(session, request_id)
        if not await moderator_of(interaction, session, request.guild_id):
            raise NotAllowed(MODERATORS_ONLY)
        settings = (await member_context(interaction, session)).settings
        if request.status != RequestStatus.PENDING_APPROVAL:
            raise Conflict("This request was already reviewed.")
        skills = await service.request_skills(session, request.id)
        if approve:
            channel = await board(bot, settings.collab_board_channel_id)
        else:
            service.close(request, status=RequestStatus.REJECTED, actor_id=interaction.user.id, filled_by=None)
            await audit_record(
                bot, session, guild_id=request.guild_id, actor_id=interaction.user.id, action="collab.reject",
                target=request.title, before={"status": "pending_approval"}, after={"status": "rejected"},
            )  # fmt: skip
    if approve:
        request = await go_live(bot, request, channel, skills, expect=RequestStatus.PENDING_APPROVAL)
        async with bot.sessionmaker.begin() as session:
            await audit_record(
                bot, session, guild_id=request.guild_id, actor_id=interaction.user.id, action="collab.approve",
                target=request.title, before={"status": "pending_approval"}, after={"status": "open"},
            )  # fmt: skip
        outcome = f"Approved by <@{interaction.user.id}>: {post_link(request)}"
        told = f"Your collab request “{plain(clip(request.title, 100))}” was approved and is on the board: {post_link(request)}"
    else:
        outcome = f"Rejected by <@{interaction.user.id}>."
        told = f"Your collab request “{plain(clip(request.title, 100))}” wasn't approved by the moderators this time."
    if interaction.message is not None:
        try:
            await interaction.message.edit(content=outcome, view=None, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("Could not update the approval message of collab request %s", request_id, exc_info=True)
    await dm(bot, request.poster_id, content=told)
    await reply(interaction, "Approved and posted." if approve else "Rejected; I've told the poster.")


async def report(interaction: discord.Interaction[Any], request_id: int) -> None:
    """Send the request to the mod log, once per member."""
    bot = _bot(interaction)
    await defer(interaction)
    async with bot.sessionmaker() as session:
        request = await _request_on_board(session, interaction, request_id)
        settings = await peek_guild_settings(session, request.guild_id)
        skills = await service.request_skills(session, request.id)
    mod_log = await _mod_log(bot, settings)
    if mod_log is None:
        raise Conflict("There's no mod-log channel to report to; tell a moderator directly.")
    # The report is written first (it refuses a second one), then posted; a post that fails takes it back.
    async with bot.sessionmaker.begin() as session:
        await service.add_report(session, request, interaction.user.id)
    try:
        await mod_log.send(
            f"Collab request #{request.id} was reported by <@{interaction.user.id}>: {post_link(request)}",
            embed=request_embed(request, skills),
            allowed_mentions=NO_MENTIONS,
        )
    except BaseException:
        async with bot.sessionmaker.begin() as session:
            await service.remove_report(session, request.id, interaction.user.id)
        raise
    await reply(interaction, "Thanks; the moderators have been told.")


# -- introductions --------------------------------------------------------------------------------------------


async def _display_name(bot: LabelBot, guild_id: int, user_id: int) -> str:
    guild = bot.get_guild(guild_id)
    member = guild.get_member(user_id) if guild is not None else None
    if member is None and guild is not None:
        try:
            member = await guild.fetch_member(user_id)
        except discord.HTTPException:
            member = None
    if member is not None:
        return member.display_name
    user = bot.get_user(user_id)
    return user.display_name if user is not None else "A member"


async def interest(interaction: discord.Interaction[Any], request_id: int) -> None:
    """Tell the poster someone is interested (DM, else a note in the post's thread); share no contact yet."""
    bot = _bot(interaction)
    await defer(interaction)
    async with bot.sessionmaker.begin() as session:
        request = await _request_on_board(session, interaction, request_id)
        answer = await service.register_interest(session, request, interaction.user.id)
        profile = await service.load_profile(session, request.guild_id, interaction.user.id)
    name = await _display_name(bot, request.guild_id, interaction.user.id)
    try:
        sent = await dm(
            bot,
            request.poster_id,
            content=f"Someone is interested in your collab request “{plain(clip(request.title, 100))}”. "
            "Accept to open a private thread with them, or decline politely.",
            embed=profile_embed(profile, name, with_links=False),
            view=answer_view(answer.id),
        )
        if sent is None:
            thread = await get_or_fetch_channel(bot, request.thread_id) if request.thread_id else None
            if not isinstance(thread, discord.Thread):
                raise TryAgainLater("I couldn't reach the poster just now; try again later.")
            await thread.send(
                f"<@{request.poster_id}>, a member is interested in your request. Only you can see who.",
                view=review_view(answer.id),
                allowed_mentions=discord.AllowedMentions(users=[discord.Object(request.poster_id)]),
            )
    except BaseException:
        async with bot.sessionmaker.begin() as session:
            leftover = await session.get(type(answer), answer.id)
            if leftover is not None:
                await session.delete(leftover)
        raise
    await reply(interaction, "Thanks! I've told the poster. If they accept, you'll both get a private thread to talk.")


async def review_interest(interaction: discord.Interaction[Any], interest_id: int) -> None:
    """The poster (DMs closed) opens an answer in the post's thread: see the profile privately and decide."""
    bot = _bot(interaction)
    await defer(interaction)
    async with bot.sessionmaker() as session:
        answer, request = await service.pending_interest(session, interest_id, interaction.user.id)
        profile = await service.load_profile(session, request.guild_id, answer.user_id)
    name = await _display_name(bot, request.guild_id, answer.user_id)
    await reply(
        interaction,
        f"Interested in “{plain(clip(request.title, 100))}”:",
        embed=profile_embed(profile, name, with_links=False),
        view=answer_view(interest_id),
    )


async def answer(interaction: discord.Interaction[Any], interest_id: int, *, accept: bool) -> None:
    """The poster accepts (a private thread for the two) or declines (a polite note) a member's interest."""
    bot = _bot(interaction)
    await defer(interaction)
    async with bot.sessionmaker.begin() as session:
        pending, request = await service.pending_interest(session, interest_id, interaction.user.id)
        await service.answer(session, interest_id, InterestStatus.ACCEPTED if accept else InterestStatus.DECLINED)
        respondent_id = pending.user_id
    title = plain(clip(request.title, 100))
    if not accept:
        await dm(
            bot,
            respondent_id,
            content=f"Thanks for offering to help with “{title}”. The poster has gone another way this time; "
            "keep an eye on the board for the next one!",
        )
        await _drop_buttons(interaction)
        await reply(interaction, "Declined; I've let them know politely.")
        return
    try:
        where = await _introduce(bot, request, respondent_id)
    except BaseException:
        async with bot.sessionmaker.begin() as session:
            reverted = await repo.interest(session, interest_id)
            if reverted is not None:
                reverted.status = InterestStatus.PENDING
                reverted.answered_at = None
        raise
    async with bot.sessionmaker.begin() as session:
        stored = await repo.interest(session, interest_id)
        if stored is not None and isinstance(where, discord.Thread):
            stored.thread_id = where.id
    place = where.mention if isinstance(where, discord.Thread) else "your DMs"
    await dm(
        bot,
        respondent_id,
        content=f"Good news: <@{request.poster_id}> accepted your interest in “{title}”. Talk it over in {place}.",
    )
    await _drop_buttons(interaction)
    await reply(interaction, f"Accepted; talk it over with <@{respondent_id}> in {place}.")


async def _introduce(bot: LabelBot, request: CollabRequest, respondent_id: int) -> discord.Thread | None:
    """A private thread with exactly the two members; when there is nowhere to open one, a DM to each."""
    async with bot.sessionmaker() as session:
        poster_profile = await service.load_profile(session, request.guild_id, request.poster_id)
        respondent_profile = await service.load_profile(session, request.guild_id, respondent_id)
    poster_name = await _display_name(bot, request.guild_id, request.poster_id)
    respondent_name = await _display_name(bot, request.guild_id, respondent_id)
    embeds = [profile_embed(poster_profile, poster_name), profile_embed(respondent_profile, respondent_name)]
    both = discord.AllowedMentions(users=[discord.Object(request.poster_id), discord.Object(respondent_id)])
    parent = None
    for candidate in (request.board_channel_id, request.origin_channel_id):
        channel = await get_or_fetch_channel(bot, candidate) if candidate else None
        if isinstance(channel, discord.TextChannel):
            parent = channel
            break
    intro = (
        f"<@{request.poster_id}> meet <@{respondent_id}>: you're both here about "
        f"“{plain(clip(request.title, 100))}”. This thread is private to the two of you."
    )
    if parent is None:
        # No text channel to hold a private thread (a forum board, posted from elsewhere): introduce by DM.
        await dm(
            bot, request.poster_id, content=f"You accepted <@{respondent_id}>; DM them to talk it over.", embeds=embeds
        )
        await dm(bot, respondent_id, content=f"<@{request.poster_id}> would like to talk; DM them.", embeds=embeds)
        return None
    thread = await parent.create_thread(
        name=clip(f"Collab: {request.title}", 100),
        type=discord.ChannelType.private_thread,
        invitable=False,
        auto_archive_duration=THREAD_ARCHIVE_MINUTES,
    )
    try:
        await thread.add_user(discord.Object(request.poster_id))
        await thread.add_user(discord.Object(respondent_id))
        await thread.send(intro, embeds=embeds, allowed_mentions=both)
    except BaseException:
        try:
            await thread.delete()
        except discord.HTTPException:
            log.warning("Could not delete the half-made intro thread %s", thread.id, exc_info=True)
        raise
    return thread


async def _drop_buttons(interaction: discord.Interaction[Any]) -> None:
    message = interaction.message
    if message is None or message.flags.ephemeral:
        return
    try:
        await message.edit(view=None)
    except discord.HTTPException:
        log.info("Could not remove the answer buttons of message %s", message.id)


# -- closing and extending ------------------------------------------------------------------------------------


async def close(
    interaction: discord.Interaction[Any], request_id: int, *, filled_by: int | None = None, guild_id: int | None = None
) -> CollabRequest:
    """Close a request (filled by someone, or not): poster or moderators; archive its post."""
    bot = _bot(interaction)
    async with bot.sessionmaker.begin() as session:
        request = await service.get_request(session, request_id, guild_id)
        is_mod = await moderator_of(interaction, session, request.guild_id)
        service.may_close(request, interaction.user.id, is_mod)
        if filled_by is not None and filled_by == request.poster_id:
            raise Conflict("Name the member who filled the request, not yourself.")
        was_pending = request.status == RequestStatus.PENDING_APPROVAL
        service.close(
            request,
            status=RequestStatus.FILLED if filled_by is not None else RequestStatus.CLOSED,
            actor_id=interaction.user.id,
            filled_by=filled_by,
        )
        await bot.jobs.cancel_prefix(session, f"collab:{request.id}:")
        if is_mod and request.poster_id != interaction.user.id:
            await audit_record(
                bot, session, guild_id=request.guild_id, actor_id=interaction.user.id, action="collab.close",
                target=request.title, before={"status": "open"}, after={"status": request.status},
            )  # fmt: skip
        skills = await service.request_skills(session, request.id)
    if not was_pending:
        note = "This request was filled and is closed." if filled_by else "This request is closed."
        await refresh_post(bot, request, skills, archive=True, note=note)
    return request


async def close_by_button(interaction: discord.Interaction[Any], request_id: int) -> None:
    await defer(interaction)
    # In a DM (the expiry warning) there is no server to compare; only the poster may close from there.
    request = await close(interaction, request_id, guild_id=interaction.guild_id)
    await reply(
        interaction,
        f"Closed “{plain(clip(request.title, 100))}”. To record who filled it, use /collab close with filled_by.",
    )


async def extend(interaction: discord.Interaction[Any], request_id: int) -> None:
    """The poster keeps a request open for another full term."""
    bot = _bot(interaction)
    await defer(interaction)
    async with bot.sessionmaker.begin() as session:
        # Pressed in a DM (the expiry warning) there is no server to compare; only the poster may extend anyway.
        request = await service.get_request(session, request_id, interaction.guild_id)
        warn_at, expires_at = service.extend(request, interaction.user.id)
        payload = {"request_id": request.id}
        await bot.jobs.schedule(
            session, WARN, payload, warn_at, guild_id=request.guild_id, key=job_key(request.id, "warn")
        )
        await bot.jobs.schedule(
            session, EXPIRE, payload, expires_at, guild_id=request.guild_id, key=job_key(request.id, "expire")
        )
        skills = await service.request_skills(session, request.id)
    await refresh_post(bot, request, skills, archive=False, view=post_view(request.id))
    await _drop_buttons(interaction)
    await reply(interaction, f"Kept open until {format_dt(expires_at, 'F')} ({format_dt(expires_at, 'R')}).")


# -- profiles -------------------------------------------------------------------------------------------------


async def save_skills(interaction: discord.Interaction[Any], guild_id: int, skill_ids: list[int]) -> None:
    bot = _bot(interaction)
    async with bot.sessionmaker.begin() as session:
        await service.set_member_skills(session, guild_id, interaction.user.id, skill_ids)
        profile = await service.load_profile(session, guild_id, interaction.user.id)
    name = getattr(interaction.user, "display_name", "Your")
    await interaction.response.edit_message(
        content="Saved your skills.", embed=own_profile_embed(profile, name), allowed_mentions=NO_MENTIONS
    )


# -- components -------------------------------------------------------------------------------------------------


class CollabButton(PersistentItem[discord.ui.Button[Any]], template=r"collab:(?!)"):
    """A persistent button `collab:<action>:<id>`; this base's template matches nothing and is never registered."""

    action: ClassVar[str] = ""
    label: ClassVar[str] = ""
    style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    def __init__(self, target_id: int) -> None:
        super().__init__(
            discord.ui.Button(label=self.label, style=self.style, custom_id=f"collab:{self.action}:{target_id}")
        )
        self.target_id = target_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["id"]))


class InterestButton(CollabButton, template=r"collab:interest:(?P<id>\d+)"):
    action = "interest"
    label = "I'm interested"
    style = discord.ButtonStyle.success

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await interest(interaction, self.target_id)


class CloseButton(CollabButton, template=r"collab:close:(?P<id>\d+)"):
    action = "close"
    label = "Close"

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await close_by_button(interaction, self.target_id)


class ReportButton(CollabButton, template=r"collab:report:(?P<id>\d+)"):
    action = "report"
    label = "Report"
    style = discord.ButtonStyle.danger

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await report(interaction, self.target_id)


class ExtendButton(CollabButton, template=r"collab:extend:(?P<id>\d+)"):
    action = "extend"
    label = "Keep it open"
    style = discord.ButtonStyle.success

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await extend(interaction, self.target_id)


class _YesNoButton(CollabButton, template=r"collab:(?!)"):
    """One half of a yes/no pair: `yes` says which half, `decide` takes the answer."""

    yes: ClassVar[bool] = True

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await self.decide(interaction, self.target_id, self.yes)

    @staticmethod
    async def decide(interaction: discord.Interaction[Any], target_id: int, yes: bool) -> None:
        raise NotImplementedError


class _ReviewButton(_YesNoButton, template=r"collab:(?!)"):
    """A moderator's Approve / Reject of a held request."""

    @staticmethod
    async def decide(interaction: discord.Interaction[Any], target_id: int, yes: bool) -> None:
        await review_request(interaction, target_id, approve=yes)


class _AnswerButton(_YesNoButton, template=r"collab:(?!)"):
    """The poster's Accept / Decline of an interested member."""

    @staticmethod
    async def decide(interaction: discord.Interaction[Any], target_id: int, yes: bool) -> None:
        await answer(interaction, target_id, accept=yes)


class ApproveButton(_ReviewButton, template=r"collab:approve:(?P<id>\d+)"):
    action = "approve"
    label = "Approve"
    style = discord.ButtonStyle.success


class RejectButton(_ReviewButton, template=r"collab:reject:(?P<id>\d+)"):
    action = "reject"
    label = "Reject"
    style = discord.ButtonStyle.danger
    yes = False


class AcceptButton(_AnswerButton, template=r"collab:accept:(?P<id>\d+)"):
    action = "accept"
    label = "Accept"
    style = discord.ButtonStyle.success


class DeclineButton(_AnswerButton, template=r"collab:decline:(?P<id>\d+)"):
    action = "decline"
    label = "Decline"
    yes = False


class ReviewButton(CollabButton, template=r"collab:review:(?P<id>\d+)"):
    action = "review"
    label = "See who it is"
    style = discord.ButtonStyle.primary

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await review_interest(interaction, self.target_id)


DYNAMIC_ITEMS: tuple[type[CollabButton], ...] = (
    InterestButton,
    CloseButton,
    ReportButton,
    ExtendButton,
    ApproveButton,
    RejectButton,
    AcceptButton,
    DeclineButton,
    ReviewButton,
)


def _view(*items: discord.ui.Item[Any]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def post_view(request_id: int) -> discord.ui.View:
    return _view(InterestButton(request_id), CloseButton(request_id), ReportButton(request_id))


def warning_view(request_id: int) -> discord.ui.View:
    return _view(ExtendButton(request_id), CloseButton(request_id))


def approval_view(request_id: int) -> discord.ui.View:
    return _view(ApproveButton(request_id), RejectButton(request_id))


def answer_view(interest_id: int) -> discord.ui.View:
    return _view(AcceptButton(interest_id), DeclineButton(interest_id))


def review_view(interest_id: int) -> discord.ui.View:
    return _view(ReviewButton(interest_id))


@dataclass(frozen=True)
class PostContext:
    """What /collab post collected before the modal: the skills, the compensation and how long it stays open."""

    guild_id: int
    skill_ids: tuple[int, ...]
    compensation: str
    lifetime: timedelta
    zone: str
    origin_channel_id: int | None


class PostModal(discord.ui.Modal, title="New collab request"):
    """Title, what is needed, genre/references and deadline of a request."""

    request_title: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
        label="Title", custom_id="title", placeholder="Looking for a mixing engineer", max_length=100
    )
    needed: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
        label="What is needed",
        custom_id="needed",
        style=discord.TextStyle.paragraph,
        placeholder="A mix for a 4-track EP, stems ready…",
        max_length=1000,
    )
    genre: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
        label="Genre / references",
        custom_id="genre",
        placeholder="Dream pop; think Beach House",
        required=False,
        max_length=200,
    )
    deadline: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
        label="Deadline (optional)",
        custom_id="deadline",
        placeholder="2026-12-20 or next friday",
        required=False,
        max_length=100,
    )

    def __init__(self, context: PostContext) -> None:
        super().__init__(timeout=900)
        self.context = context

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await submit_post(
            interaction,
            self.context,
            title=self.request_title.value,
            needed=self.needed.value,
            genre=self.genre.value,
            deadline=self.deadline.value,
        )

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        await handle_interaction_error(interaction, error, source=self)


class SkillPicker(OwnedView):
    """A member's private picker of their own skills."""

    def __init__(self, owner_id: int, guild_id: int, skills: Sequence[CollabSkill], chosen: set[int]) -> None:
        super().__init__(owner_id, timeout=600)
        self.guild_id = guild_id
        options = [
            discord.SelectOption(label=skill.name[:100], value=str(skill.id), default=skill.id in chosen)
            for skill in skills[:25]
        ]
        self.select: discord.ui.Select[SkillPicker] = discord.ui.Select(
            placeholder="Pick your skills",
            min_values=0,
            max_values=max(1, len(options)),
            options=options or [discord.SelectOption(label="No skills yet", value="0")],
            disabled=not options,
            custom_id=f"collab:profile-skills:{owner_id}",
        )
        self.select.callback = self._picked  # type: ignore[method-assign]
        self.add_item(self.select)

    async def _picked(self, interaction: discord.Interaction[Any]) -> None:
        await save_skills(interaction, self.guild_id, [int(value) for value in self.select.values])
