"""Embeds and lines of the collab board."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from labelbot.features.collabs._service import COMPENSATIONS, Profile
from labelbot.models.collabs import CollabRequest, CollabSkill, RequestStatus
from labelbot.registry import SettingDefault
from labelbot.text import clip
from labelbot.timeparse import format_dt

STATUS_WORDS: dict[str, str] = {
    RequestStatus.PENDING_APPROVAL: "waiting for approval",
    RequestStatus.OPEN: "open",
    RequestStatus.FILLED: "filled",
    RequestStatus.CLOSED: "closed",
    RequestStatus.EXPIRED: "expired",
    RequestStatus.REJECTED: "rejected",
}


def skill_names(skills: Sequence[CollabSkill]) -> str:
    return ", ".join(skill.name for skill in skills) or "—"


def request_embed(request: CollabRequest, skills: Sequence[CollabSkill]) -> discord.Embed:
    """The board post of a request (and its preview in the approval queue)."""
    is_open = request.status in (RequestStatus.OPEN, RequestStatus.PENDING_APPROVAL)
    title = request.title if is_open else f"[{STATUS_WORDS.get(request.status, request.status)}] {request.title}"
    embed = discord.Embed(
        title=clip(title, 256),
        description=clip(request.needed, 4096),
        colour=discord.Colour.green() if is_open else discord.Colour.dark_grey(),
    )
    embed.add_field(name="Skills wanted", value=clip(skill_names(skills), 1024))
    embed.add_field(name="Compensation", value=COMPENSATIONS.get(request.compensation, request.compensation))
    embed.add_field(name="Posted by", value=f"<@{request.poster_id}>")
    if request.genre:
        embed.add_field(name="Genre / references", value=clip(request.genre, 1024), inline=False)
    if request.deadline_at is not None:
        embed.add_field(
            name="Deadline", value=f"{format_dt(request.deadline_at, 'F')} ({format_dt(request.deadline_at, 'R')})"
        )
    if is_open and request.expires_at is not None:
        embed.add_field(name="Open until", value=format_dt(request.expires_at, "R"))
    if request.status == RequestStatus.FILLED and request.filled_by_id is not None:
        embed.add_field(name="Filled by", value=f"<@{request.filled_by_id}>")
    embed.set_footer(text=f"Collab #{request.id} · {STATUS_WORDS.get(request.status, request.status)}")
    return embed


def profile_embed(profile: Profile, display_name: str, *, with_links: bool = True) -> discord.Embed:
    row = profile.row
    embed = discord.Embed(title=clip(f"{display_name}'s collab profile", 256), colour=discord.Colour.blurple())
    embed.add_field(name="Skills", value=clip(skill_names(profile.skills), 1024), inline=False)
    embed.add_field(name="Bio", value=clip(row.bio, 1024) if row is not None and row.bio else "—", inline=False)
    if with_links:
        embed.add_field(
            name="Links", value=clip(row.links, 1024) if row is not None and row.links else "—", inline=False
        )
    return embed


def own_profile_embed(profile: Profile, display_name: str) -> discord.Embed:
    embed = profile_embed(profile, display_name)
    row = profile.row
    if row is None or not row.alerts:
        alerts = "off"
    else:
        alerts = "by DM" if row.alert_via == "dm" else "in the board"
        if row.alert_via == "dm" and row.dms_closed:
            alerts += " (your DMs were closed, so for now in the board)"
    embed.add_field(name="Matching alerts", value=alerts, inline=False)
    return embed


def request_line(request: CollabRequest, skills: Sequence[CollabSkill]) -> str:
    where = (
        f"https://discord.com/channels/{request.guild_id}/{request.thread_id or request.board_channel_id}"
        if request.board_channel_id
        else None
    )
    title = discord.utils.escape_markdown(clip(request.title, 80))
    head = f"**#{request.id} [{title}]({where})**" if where else f"**#{request.id} {title}**"
    parts = [head, clip(skill_names(skills), 200), COMPENSATIONS.get(request.compensation, request.compensation)]
    if request.genre:
        parts.append(discord.utils.escape_markdown(clip(request.genre, 80)))
    if request.status != RequestStatus.OPEN:
        parts.append(STATUS_WORDS.get(request.status, request.status))
    elif request.expires_at is not None:
        parts.append(f"until {format_dt(request.expires_at, 'R')}")
    return " · ".join(parts)


# How the collab board's actions read in the mod log and /settings audit.
AUDIT_TITLES = {
    "collab.approve": "Collab request approved",
    "collab.reject": "Collab request rejected",
    "collab.close": "Collab request closed by a moderator",
    "collab.skill_add": "Collab skill added",
    "collab.skill_remove": "Collab skill removed",
}


# This feature's own server settings and what a new server starts with (registered in cog_load).
SETTING_DEFAULTS = (
    SettingDefault("collab_approval", False, "Collab requests wait for a moderator's approval"),
    SettingDefault("collab_expiry_days", 30, "Collab requests expire after (days)"),
    SettingDefault("collab_max_open", 3, "Open collab requests per member"),
    SettingDefault("collab_daily_alerts", 5, "Collab alerts per member a day"),
    SettingDefault("collab_daily_posts", 3, "New collab requests per member a day"),
)
