"""/calendar link, /calendar-admin reset, and the feed route `GET /calendar/{guild_id}/{secret}.ics`."""

from __future__ import annotations

import logging
from datetime import datetime
from wsgiref.handlers import format_date_time

import discord
from aiohttp import web
from discord import app_commands
from discord.ext import commands

from labelbot.audit.service import record
from labelbot.client import LabelBot
from labelbot.db.base import utcnow
from labelbot.features.calendar import _service
from labelbot.interactions import defer, reply
from labelbot.permissions import moderator_group, require_moderator
from labelbot.web.requests import parse_snowflake

log = logging.getLogger(__name__)

NOT_FOUND = "No such calendar."
FEED_CACHE_SECONDS = 300
FEED_ROUTE = r"/calendar/{guild_id:\d+}/{secret:[A-Za-z0-9_\-]+}.ics"
AUDIT_TITLES = {"calendar.reset": "Calendar link reset"}


class CalendarCog(commands.Cog, name="Calendar"):
    """A private calendar feed of the label's releases, parties and events for any calendar app."""

    calendar_group = app_commands.Group(
        name="calendar",
        description="A private calendar feed of the label's releases, parties and events for any calendar app.",
        guild_only=True,
    )
    admin_group = moderator_group("calendar", "The server's calendar feed (moderators).")

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.web.route("GET", FEED_ROUTE, self.feed)
        self.bot.features.audit_titles.add(AUDIT_TITLES)

    async def cog_unload(self) -> None:
        self.bot.web.unroute("GET", FEED_ROUTE)
        self.bot.features.audit_titles.remove(AUDIT_TITLES)

    def base_url(self) -> str:
        web_settings = self.bot.settings.web
        if web_settings.public_url:
            return web_settings.public_url
        return f"http://{web_settings.host}:{self.bot.web.port or web_settings.port}"

    @calendar_group.command(name="link")
    async def link(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Get the server's private calendar link (releases, parties, events) for your calendar app."""
        assert interaction.guild_id is not None
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            secret = await _service.calendar_secret(session, interaction.guild_id)
        url = _service.feed_url(self.base_url(), interaction.guild_id, secret)
        await reply(
            interaction,
            f'Subscribe to this link in your calendar app ("add calendar from URL"):\n<{url}>\n'
            "It is private to this server: don't post it publicly. A moderator can change it with `/calendar-admin reset`.",
        )

    @admin_group.command(name="reset")
    async def reset(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Change the calendar link's secret (moderators); every link handed out before stops working."""
        assert interaction.guild_id is not None
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            await require_moderator(interaction, session)
            secret = await _service.rotate_calendar_secret(session, interaction.guild_id)
            await record(
                self.bot,
                session,
                guild_id=interaction.guild_id,
                actor_id=interaction.user.id,
                action="calendar.reset",
                target="calendar link",
                before=None,
                after={"secret": "changed"},
            )
        url = _service.feed_url(self.base_url(), interaction.guild_id, secret)
        await reply(interaction, f"The calendar link changed; the old one no longer works. The new one:\n<{url}>")

    async def feed(self, request: web.Request) -> web.Response:
        """The server's calendar as iCalendar; 404 for a wrong secret, the same as for a server that doesn't exist.

        An unchanged feed answers 304 to If-None-Match (its ETag) or If-Modified-Since, so calendar apps polling
        every few minutes cost a query, not a document.
        """
        guild_id = parse_snowflake(request.match_info["guild_id"])
        if guild_id is None:
            return web.Response(status=400, text="That is not a server id.")
        secret = request.match_info["secret"]
        guild = self.bot.get_guild(guild_id)
        name = guild.name if guild is not None else "Label calendar"
        now = utcnow()
        async with self.bot.sessionmaker.begin() as session:
            settings = await _service.settings_for_feed(session, guild_id, secret)
            if settings is None:
                return web.Response(status=404, text=NOT_FOUND)
            install = await _service.install_id(session)
            entries = await self.bot.features.calendar.entries(session, guild_id, now - _service.LOOK_BACK)
            zone = settings.timezone
            fingerprint = _service.feed_fingerprint(name, zone, entries, install)
            changed_at = await _service.feed_changed_at(session, guild_id, fingerprint, now)
        etag = f'"{fingerprint}"'
        headers = {
            "ETag": etag,
            "Last-Modified": format_date_time(changed_at.timestamp()),
            "Cache-Control": f"private, max-age={FEED_CACHE_SECONDS}",
        }
        if _unchanged(request, etag, changed_at):
            return web.Response(status=304, headers=headers)
        body = _service.build_feed(
            name, zone, entries, now=now, uid_of=lambda uid: _service.feed_uid(uid, guild_id, install)
        )
        return web.Response(
            body=body,
            headers={
                **headers,
                "Content-Type": "text/calendar; charset=utf-8",
                "Content-Disposition": f'inline; filename="calendar-{guild_id}.ics"',
            },
        )


def _unchanged(request: web.Request, etag: str, changed_at: datetime) -> bool:
    """RFC 9110 13.1: If-None-Match decides when present; otherwise If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = request.if_modified_since
    return since is not None and changed_at <= since
