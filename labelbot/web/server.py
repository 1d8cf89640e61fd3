"""The aiohttp server the bot runs beside the gateway connection."""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import math
import secrets
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client.aiohttp import make_aiohttp_handler
from sqlalchemy import func, select, text

from labelbot.config import WebSettings
from labelbot.jobs import JobStatus, ScheduledJob

if TYPE_CHECKING:
    from labelbot.client import LabelBot

from labelbot.db.outage import is_database_outage

log = logging.getLogger(__name__)

DATABASE_PROBE_TIMEOUT = 2.0
# Pending work older than this means the scheduler is behind (the sweep runs every few seconds).
SCHEDULER_LAG_LIMIT = 60.0
# What a client is told to wait when the database does not answer: long enough for a restart or failover.
DATABASE_RETRY_AFTER_SECONDS = 30


@web.middleware
async def answer_failures(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A database outage is a 503 with Retry-After; any other surprise a plain 500 with a reference in the log."""
    # The route's pattern, not the path: a calendar path carries the feed's secret, which stays out of the log.
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "?"
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as error:
        if is_database_outage(error):
            log.warning("Database unreachable while serving %s %s: %r", request.method, route, error)
            return web.json_response(
                {"ok": False, "error": "the database is not answering; try again shortly"},
                status=503,
                headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
            )
        reference = secrets.token_hex(4)
        log.exception("Unexpected error serving %s %s (reference %s)", request.method, route, reference)
        return web.json_response({"ok": False, "error": "internal error", "reference": reference}, status=500)


async def _gone(request: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound


class WebServer:
    """Owns the aiohttp application; features serve their routes with `route` in their cog_load."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self.app = web.Application(middlewares=[answer_failures])
        # What each feature route answers with now; the route itself stays on the (frozen once started) router.
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self._bot: LabelBot | None = None
        self._exposition: Handler | None = None
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/livez", self.livez)
        # With a metrics address, /metrics is served there only, never beside the public routes.
        self.metrics_app: web.Application | None = None
        self._metrics_runner: web.AppRunner | None = None
        self.metrics_port: int | None = None
        if settings.metrics_port is not None:
            self.metrics_app = web.Application(middlewares=[answer_failures])
            self.metrics_app.router.add_get("/metrics", self.metrics)
        else:
            self.app.router.add_get("/metrics", self.metrics)

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Serve `handler` at `method path` (GET answers HEAD too); a later call for the same route replaces it.

        aiohttp freezes the router once the server runs, so a route is added once and looks its handler up on each
        request: an extension that reloads hands in its new handler, one that unloads leaves a 404 behind.
        """
        key = (method, path)
        if key not in self._handlers:
            dispatch = functools.partial(self._dispatch, key)
            self.app.router.add_route(method, path, dispatch)
            if method == "GET":
                self.app.router.add_route("HEAD", path, dispatch)
        self._handlers[key] = handler

    def unroute(self, method: str, path: str) -> None:
        """Stop serving the route (it answers 404 until a handler is routed to it again)."""
        if (method, path) in self._handlers:
            self._handlers[(method, path)] = _gone

    async def _dispatch(self, key: tuple[str, str], request: web.Request) -> web.StreamResponse:
        return await self._handlers[key](request)

    @property
    def bot(self) -> LabelBot:
        assert self._bot is not None, "the web server is not started"
        return self._bot

    async def start(self, bot: LabelBot) -> None:
        """Serve on web.host:web.port (port 0 picks a free one, for tests)."""
        if not self.settings.enabled:
            return
        self._bot = bot
        # No lingering: a request whose body was not read (refused early, or too slow) has its connection closed
        # right after the answer, instead of aiohttp draining a body that may never come for another 10 s.
        self._runner = web.AppRunner(self.app, access_log=None, lingering_time=0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1]) if self._runner.addresses else self.settings.port
        log.info("Web server listening on http://%s:%s", self.settings.host, self.port)
        if self.metrics_app is not None and self.settings.metrics_port is not None:
            self._metrics_runner = web.AppRunner(self.metrics_app, access_log=None, lingering_time=0)
            await self._metrics_runner.setup()
            host = self.settings.metrics_host or self.settings.host
            await web.TCPSite(self._metrics_runner, host, self.settings.metrics_port).start()
            addresses = self._metrics_runner.addresses
            self.metrics_port = int(addresses[0][1]) if addresses else self.settings.metrics_port
            log.info("Metrics served on http://%s:%s/metrics", host, self.metrics_port)

    async def stop(self) -> None:
        if self._metrics_runner is not None:
            await self._metrics_runner.cleanup()
            self._metrics_runner = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def livez(self, request: web.Request) -> web.Response:
        """200 while the process answers at all: what an orchestrator restarts on, unlike /healthz.

        A bot that is reconnecting to the gateway or waiting for its database is not ready (/healthz 503) but is
        alive; restarting it would only lose the reconnect it is already doing.
        """
        return web.json_response({"ok": True, "uptime_seconds": round(self.bot.uptime_seconds, 1)})

    async def healthz(self, request: web.Request) -> web.Response:
        """200 when the database answers, the gateway is connected and scheduled work is on time; else 503."""
        bot = self.bot
        checks: dict[str, object] = {}
        healthy = True

        started = time.perf_counter()
        try:
            async with asyncio.timeout(DATABASE_PROBE_TIMEOUT), bot.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
        except Exception as error:  # any failure means "not reachable" to a health probe
            healthy = False
            checks["database"] = {"ok": False, "error": type(error).__name__}

        latency = bot.latency
        connected = bot.is_ready() and not bot.is_closed() and math.isfinite(latency)
        checks["gateway"] = {"ok": connected, "latency_ms": round(latency * 1000, 1) if connected else None}
        healthy &= connected

        if checks["database"].get("ok"):  # type: ignore[attr-defined]
            lag = await self._scheduler_lag(datetime.now(UTC))
            checks["scheduler"] = {"ok": lag < SCHEDULER_LAG_LIMIT, "lag_seconds": round(lag, 3)}
            healthy &= lag < SCHEDULER_LAG_LIMIT
        return web.json_response({"ok": healthy, "checks": checks}, status=200 if healthy else 503)

    async def _scheduler_lag(self, now: datetime) -> float:
        """Seconds the oldest due-but-unclaimed job has waited (0 when nothing is waiting)."""
        async with self.bot.sessionmaker() as session:
            oldest = await session.scalar(
                select(func.min(ScheduledJob.due_at)).where(
                    ScheduledJob.status == JobStatus.PENDING, ScheduledJob.due_at <= now
                )
            )
        if oldest is None:
            return 0.0
        if oldest.tzinfo is None:  # SQLite aggregates come back without the column type's conversion
            oldest = oldest.replace(tzinfo=UTC)
        return max(0.0, (now - oldest).total_seconds())

    async def metrics(self, request: web.Request) -> web.StreamResponse:
        """Prometheus text format; 401 without the bearer token when web.metrics_token is set."""
        token = self.settings.metrics_token
        if token is not None:
            given = request.headers.get("Authorization", "")
            expected = f"Bearer {token.get_secret_value()}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return web.json_response(
                    {"ok": False, "error": "a bearer token is required"},
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        bot = self.bot
        if math.isfinite(bot.latency):
            bot.metrics.gateway_latency.set(bot.latency)
        # The client library's own handler: it answers OpenMetrics to a scraper that asks for it (Accept), the
        # classic text format otherwise, and `?name[]=` filters.
        if self._exposition is None:
            self._exposition = make_aiohttp_handler(bot.metrics.registry)
        return await self._exposition(request)
