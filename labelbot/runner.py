"""The composition root: build everything the bot needs, run it, tear it down in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable

import aiohttp
import discord
import yarl

from labelbot import __version__
from labelbot.client import LabelBot
from labelbot.config import Settings
from labelbot.db import create_engine, create_sessionmaker, guard, migrate
from labelbot.db.failures import describe_database_failure
from labelbot.jobs import JobQueue
from labelbot.notices import (
    announce_schema_newer,
    announce_with_rest_only,
    migration_failed_text,
    mod_log_channels,
    notice_embed,
)
from labelbot.pacing import Pacer
from labelbot.registry import FeatureRegistry
from labelbot.web import WebServer

log = logging.getLogger(__name__)


class SchemaOutOfDate(Exception):
    """auto_migrate is off and the database is behind the code."""


def point_discord_at(settings: Settings) -> None:
    """Send REST and gateway traffic where the settings say (a proxy, or the fake Discord in tests)."""
    discord.http.Route.BASE = settings.discord.api_base
    if settings.discord.gateway_url:
        # discord.py falls back to this with a fixed shard range and after INVALID_SESSION.
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord.gateway_url)


class MigrationFailed(Exception):
    """A migration failed on a database that answers; the moderators are told, then the bot stops."""

    def __init__(self, error: BaseException, mod_log_channel_ids: list[int]) -> None:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        super().__init__(
            f"The database migration failed ({detail[:300]}): restore the backup taken before the update "
            "(`labelbot restore FILE --yes`) or run the previous version, then report the error."
        )
        self.error = error
        self.mod_log_channel_ids = mod_log_channel_ids


async def prepare_database(settings: Settings) -> set[str]:
    """Migrate the schema, or refuse to start on an out-of-date one when auto_migrate is off.

    Return the database's revisions this code does not know (a newer version migrated it), which it leaves alone.
    """
    engine = create_engine(settings.database.url)
    try:
        newer = await migrate.unknown_revisions(engine)
        if newer:
            log.warning("The database schema (%s) is newer than this code knows; not migrating", sorted(newer))
            return newer
        if settings.database.auto_migrate:
            try:
                await migrate.upgrade(engine)
            except Exception as error:
                if describe_database_failure(error, settings.database.url) is not None:
                    raise  # unreachable or unwritable: the CLI says so in one sentence
                log.debug("Migration failed", exc_info=True)
                try:
                    channels = await mod_log_channels(engine)
                except Exception:  # the notice is best effort; the failure itself is what the operator must see
                    channels = []
                raise MigrationFailed(error, channels) from error
        elif not await migrate.is_up_to_date(engine):
            raise SchemaOutOfDate(
                "The database schema is out of date and database.auto_migrate is false. "
                "Run `labelbot db upgrade` first."
            )
        return set()
    finally:
        await engine.dispose()


def build_bot(
    settings: Settings, *, run_jobs: bool = True, sync_commands: bool = True, serve_web: bool = True
) -> LabelBot:
    """Build the engine, sessions, HTTP session, job queue and feature registry, and hand them to the bot."""
    engine = create_engine(settings.database.url, echo=settings.database.echo)
    sessionmaker = create_sessionmaker(engine)
    http_session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
    pacer = Pacer(settings.discord.api_base, global_limit=(settings.discord.global_requests_per_second, 1.0))
    discord_settings = settings.discord
    # A process of a cluster (a fixed shard range) claims the jobs of its own servers first.
    shards = (
        (discord_settings.shard_count, discord_settings.shard_ids)
        if discord_settings.shard_count is not None and discord_settings.shard_ids is not None
        else None
    )
    jobs = JobQueue(
        sessionmaker,
        settings.jobs,
        worker_id=f"{socket.gethostname()}:{os.getpid()}:{id(engine):x}",
        shards=shards,
    )
    return LabelBot(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        http_session=http_session,
        jobs=jobs,
        pacer=pacer,
        web=WebServer(settings.web if serve_web else settings.web.model_copy(update={"enabled": False})),
        features=FeatureRegistry(),
        run_jobs=run_jobs,
        sync_commands=sync_commands,
    )


async def dispose(bot: LabelBot) -> None:
    """Close what build_bot opened, in reverse order (the bot itself is closed first by its owner)."""
    await bot.http_session.close()
    await bot.engine.dispose()


async def run_bot(
    settings: Settings,
    *,
    on_ready: Callable[[LabelBot], Awaitable[None]] | None = None,
    handle_signals: bool = True,
    own_process: bool = True,
) -> None:
    """Run the bot until it is closed (SIGTERM/SIGINT, or `bot.close()`).

    `own_process=False` where several bots share a process (the tests): its heap is then not the bot's to freeze.
    """
    assert settings.discord.token is not None, "checked by the CLI"
    point_discord_at(settings)
    guard.configure(settings.database.session_guard)
    token = settings.discord.token.get_secret_value()
    try:
        newer = await prepare_database(settings)
    except MigrationFailed as failure:
        embed = notice_embed(
            "The update could not migrate the database", migration_failed_text(failure.error, __version__)
        )
        await announce_with_rest_only(token, failure.mod_log_channel_ids, embed)
        raise
    bot = build_bot(settings)
    bot.freeze_heap_once_started = own_process
    loop = asyncio.get_running_loop()
    tasks: dict[str, asyncio.Task[None]] = {}  # references keep the tasks alive

    def request_stop(signame: str) -> None:
        if "close" not in tasks:
            log.info("Received %s, shutting down", signame)
            tasks["close"] = loop.create_task(bot.close())

    async def announce_ready(callback: Callable[[LabelBot], Awaitable[None]]) -> None:
        await bot.wait_until_ready()
        await callback(bot)

    installed: list[signal.Signals] = []
    for signum in (signal.SIGTERM, signal.SIGINT) if handle_signals else ():
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, request_stop, signum.name)
            installed.append(signum)
    try:
        async with bot:
            if on_ready is not None:
                tasks["ready"] = loop.create_task(announce_ready(on_ready))
            if newer:
                tasks["schema"] = loop.create_task(announce_ready(lambda ready: announce_schema_newer(ready, newer)))
            await bot.start(token)
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        await dispose(bot)
        log.info("Stopped")
