"""/dashboard, and the routes of the label's public page and the moderators' dashboard."""

from __future__ import annotations

import logging
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import discord
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler
from discord import app_commands
from discord.ext import commands

from labelbot.client import LabelBot
from labelbot.db.base import utcnow
from labelbot.features.web_pages import _service
from labelbot.features.web_pages._cache import CachedPage, PageCache
from labelbot.features.web_pages._render import (
    SETTING_DEFAULTS,
    atom_feed,
    calendar_document,
    csv_document,
    json_document,
    until_text,
)
from labelbot.guilds.models import GuildSettings
from labelbot.interactions import defer, guild_of, reply
from labelbot.permissions import moderator_only
from labelbot.web.requests import parse_snowflake

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
JINJA = web.AppKey("web_pages_jinja", jinja2.Environment)
COOKIE = "labelbot_dashboard"
# A busy homepage reads the database at most this often per server (and at once after a change in this process).
CACHE_SECONDS = 30.0
NO_PAGE = "This label has no public page."
# Scripts and styles only from our own static files; covers from anywhere on the web.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src https: http: data:; "
    "connect-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
)


class WebPagesCog(commands.Cog, name="Web pages"):
    """The label's public page (opt-in with /settings web-page) and the moderators' dashboard."""

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot
        self.cache = PageCache(CACHE_SECONDS)

    async def cog_load(self) -> None:
        app = self.bot.web.app
        if JINJA not in app:
            aiohttp_jinja2.setup(
                app,
                app_key=JINJA,
                loader=jinja2.FileSystemLoader(HERE / "templates"),
                autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                undefined=jinja2.StrictUndefined,
                filters={"until": until_text},
            )
        if "web_static" not in app.router.named_resources():
            app.router.add_static("/static/web/", HERE / "static", name="web_static")
        for method, path, handler in self._routes():
            self.bot.web.route(method, path, handler)
        self.cache.watch()
        self.bot.features.settings.add("web_pages", *SETTING_DEFAULTS)

    async def cog_unload(self) -> None:
        self.cache.unwatch()
        self.bot.features.settings.remove("web_pages")
        for method, path, _ in self._routes():
            self.bot.web.unroute(method, path)

    def _routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", r"/label/{guild_id:\d+}", self.public_page),
            ("GET", r"/label/{guild_id:\d+}/artists/{artist_id:\d+}", self.artist_page),
            ("GET", r"/label/{guild_id:\d+}/releases.atom", self.atom),
            ("GET", r"/label/{guild_id:\d+}/releases.json", self.json),
            ("GET", r"/label/{guild_id:\d+}/calendar.ics", self.calendar),
            ("GET", r"/dashboard/open/{token:[A-Za-z0-9_\-]{20,100}}", self.sign_in_page),
            ("POST", r"/dashboard/open/{token:[A-Za-z0-9_\-]{20,100}}", self.sign_in),
            ("GET", r"/dashboard/{guild_id:\d+}", self.dashboard_page),
            ("GET", r"/dashboard/{guild_id:\d+}/{table:[a-z]+}.csv", self.dashboard_csv),
        ]

    # -- /dashboard ---------------------------------------------------------------------------------------------

    @app_commands.command(name="dashboard")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @moderator_only()
    async def dashboard_command(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Get a private link to the moderators' dashboard (charts and tables; works once, for 10 minutes)."""
        guild = guild_of(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            token = await _service.issue_link(session, guild.id, interaction.user.id)
        await reply(
            interaction,
            f"Your dashboard link (only for you; it works once, within 10 minutes):\n<{self.base_url()}/dashboard/open/{token}>",
        )

    def base_url(self) -> str:
        settings = self.bot.settings.web
        base = settings.public_url or f"http://{settings.host}:{self.bot.web.port or settings.port}"
        return base.rstrip("/")

    # -- the public page ----------------------------------------------------------------------------------------

    def _channel_is_public(self, guild_id: int, channel_id: int | None) -> bool:
        guild = self.bot.get_guild(guild_id)
        channel = guild.get_channel(channel_id) if guild is not None and channel_id is not None else None
        if guild is None or channel is None:
            return False
        return channel.permissions_for(guild.default_role).view_channel

    async def _cached(self, request: web.Request, variant: str, content_type: str, build: Any) -> web.StreamResponse:
        """Answer from the cache (304 when the browser has it), building the page first when it is stale."""
        guild_id = parse_snowflake(request.match_info["guild_id"])
        if guild_id is None:
            raise web.HTTPNotFound(text=NO_PAGE)
        page = self.cache.get(guild_id, variant)
        if page is None:
            version = self.cache.version(guild_id)
            async with self.bot.sessionmaker() as session:
                settings = await session.get(GuildSettings, guild_id)
                if settings is None or not settings.web_page:
                    raise web.HTTPNotFound(text=NO_PAGE)
                guild = self.bot.get_guild(guild_id)
                name = guild.name if guild is not None else "Label"
                data = await _service.label_page(session, guild_id, name, self._channel_is_public)
            body = build(data)
            if body is None:
                raise web.HTTPNotFound(text="No such artist on this label.")
            page = self.cache.put(guild_id, variant, body, content_type, data.last_modified, version)
        return self._conditional(request, page, embed=variant.endswith(":embed"))

    def _conditional(self, request: web.Request, page: CachedPage, *, embed: bool) -> web.StreamResponse:
        headers = {
            "ETag": page.etag,
            "Last-Modified": format_datetime(page.last_modified.astimezone(UTC), usegmt=True),
            "Cache-Control": f"public, max-age={int(CACHE_SECONDS)}",
            "Content-Security-Policy": self._csp(embed),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        }
        if _not_modified(request, page):
            return web.Response(status=304, headers=headers)
        return web.Response(body=page.body, headers={**headers, "Content-Type": page.content_type})

    def _csp(self, embed: bool) -> str:
        origins = self.bot.settings.web.embed_origins
        ancestors = " ".join(origins) if embed and origins else "'none'"
        return CSP.format(ancestors=ancestors)

    def _html(self, request: web.Request, template: str, **context: Any) -> bytes:
        embed = request.query.get("embed") == "1"
        text = aiohttp_jinja2.render_string(
            template, request, {"embed": embed, "base": self.base_url(), "now": utcnow(), **context}, app_key=JINJA
        )
        return text.encode()

    async def public_page(self, request: web.Request) -> web.StreamResponse:
        """The label's page: upcoming releases, parties and events, and the catalogue by artist."""
        embed = request.query.get("embed") == "1"
        return await self._cached(
            request,
            "page:embed" if embed else "page",
            "text/html; charset=utf-8",
            lambda data: self._html(request, "label.html", page=data),
        )

    async def artist_page(self, request: web.Request) -> web.StreamResponse:
        artist_id = parse_snowflake(request.match_info["artist_id"])
        embed = request.query.get("embed") == "1"

        def build(data: _service.LabelPage) -> bytes | None:
            artist = data.artist(artist_id) if artist_id is not None else None
            return None if artist is None else self._html(request, "artist.html", page=data, artist=artist)

        return await self._cached(
            request, f"artist:{artist_id}" + (":embed" if embed else ""), "text/html; charset=utf-8", build
        )

    async def atom(self, request: web.Request) -> web.StreamResponse:
        return await self._cached(
            request, "atom", "application/atom+xml; charset=utf-8", lambda data: atom_feed(data, self.base_url())
        )

    async def json(self, request: web.Request) -> web.StreamResponse:
        return await self._cached(request, "json", "application/json", json_document)

    async def calendar(self, request: web.Request) -> web.StreamResponse:
        return await self._cached(
            request, "ics", "text/calendar; charset=utf-8", lambda data: calendar_document(data, self.base_url())
        )

    # -- the dashboard ------------------------------------------------------------------------------------------

    def _private_headers(self) -> dict[str, str]:
        return {
            "Cache-Control": "no-store",
            "Content-Security-Policy": CSP.format(ancestors="'none'"),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }

    def _private_page(self, request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
        body = self._html(request, template, **context)
        headers = {**self._private_headers(), "Content-Type": "text/html; charset=utf-8"}
        return web.Response(body=body, status=status, headers=headers)

    async def sign_in_page(self, request: web.Request) -> web.Response:
        """Show a button that spends the link: a link preview fetching the address must not spend it."""
        async with self.bot.sessionmaker() as session:
            usable = await _service.link_usable(session, request.match_info["token"])
        if not usable:
            return self._refused(request)
        return self._private_page(request, "sign_in.html", action=request.path)

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        async with self.bot.sessionmaker.begin() as session:
            opened = await _service.open_session(session, request.match_info["token"])
        if opened is None:
            return self._refused(request)
        cookie, guild_id = opened
        # A plain 303 response (aiohttp deprecates returning its HTTPException classes), with the cookie on it.
        response = web.Response(status=303, headers={**self._private_headers(), "Location": f"/dashboard/{guild_id}"})
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(_service.SESSION_LIFETIME.total_seconds()),
            path="/dashboard",
            httponly=True,
            secure=request.secure or self.base_url().startswith("https://"),
            samesite="Strict",
        )
        return response

    def _refused(self, request: web.Request) -> web.Response:
        return self._private_page(
            request,
            "refused.html",
            status=403,
            message="This dashboard link was already used or has expired. Run /dashboard in Discord for a new one.",
        )

    async def _signed_in_guild(self, request: web.Request) -> int | None:
        guild_id = parse_snowflake(request.match_info["guild_id"])
        async with self.bot.sessionmaker() as session:
            allowed = await _service.session_guild(session, request.cookies.get(COOKIE))
        return guild_id if guild_id is not None and allowed == guild_id else None

    async def dashboard_page(self, request: web.Request) -> web.Response:
        guild_id = await self._signed_in_guild(request)
        if guild_id is None:
            return self._private_page(
                request, "refused.html", status=401, message="Sign in with a fresh link from /dashboard in Discord."
            )
        async with self.bot.sessionmaker() as session:
            sections = await _service.dashboard(session, guild_id, self.bot.features.dashboard)
        guild = self.bot.get_guild(guild_id)
        return self._private_page(
            request, "dashboard.html", sections=sections, guild_id=guild_id, name=guild.name if guild else "Label"
        )

    async def dashboard_csv(self, request: web.Request) -> web.Response:
        guild_id = await self._signed_in_guild(request)
        if guild_id is None:
            raise web.HTTPUnauthorized(text="Sign in with a fresh link from /dashboard in Discord.")
        async with self.bot.sessionmaker() as session:
            sections = await _service.dashboard(session, guild_id, self.bot.features.dashboard)
        name = request.match_info["table"]
        table = next((t for section in sections for t in section.tables if t.name == name), None)
        if table is None:
            raise web.HTTPNotFound(text="No such table.")
        return web.Response(
            body=csv_document(table),
            headers={
                **self._private_headers(),
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{name}-{guild_id}.csv"',
            },
        )


def _not_modified(request: web.Request, page: CachedPage) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or page.etag in tags
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return page.last_modified.replace(microsecond=0) <= since
    return False
