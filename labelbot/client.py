"""LabelBot: the Discord client, its extensions and its command sync."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import importlib
import json
import logging
import pkgutil
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from aiohttp import web
from discord.ext import commands
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from labelbot import timeparse
from labelbot.audit.service import post_job_failure, register_audit_jobs
from labelbot.channels import RestGuilds
from labelbot.db.batch import WriteBatcher
from labelbot.db.models import BotState
from labelbot.db.outage import log_failure
from labelbot.i18n import CatalogTranslator
from labelbot.interactions import NO_MENTIONS
from labelbot.metrics import Metrics
from labelbot.pacing import Pacer
from labelbot.privacy.guilds import register_guild_purge
from labelbot.registry import FeatureRegistry
from labelbot.tree import LabelTree
from labelbot.web import WebServer

if TYPE_CHECKING:
    from labelbot.config import Settings
    from labelbot.jobs import JobQueue, ScheduledJob

log = logging.getLogger(__name__)

# The job queue's start is tried again this long after a failure, doubling up to the maximum.
JOBS_START_RETRY_SECONDS = 1.0
JOBS_START_RETRY_MAX_SECONDS = 30.0


def intents() -> discord.Intents:
    """Only what the features need: no members, presences or message content (privileged and costly)."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.guild_messages = True  # counting messages in party threads for the recap
    chosen.guild_scheduled_events = True
    return chosen


FEATURES_PACKAGE = "labelbot.features"
# A process that claimed the command sync and went silent this long is taken to have died mid-sync.
SYNC_CLAIM_SECONDS = 120
# At shutdown, what members started (a command, a click, a listener) gets this long to record its outcome.
DRAIN_SECONDS = 5.0
# The names discord.py gives the tasks that run handlers: listeners, slash commands, view and modal callbacks.
HANDLER_TASKS = ("discord.py: ", "CommandTree-invoker", "discord-ui-view-dispatch-", "discord-ui-modal-dispatch-")


def find_extensions(package: str = FEATURES_PACKAGE) -> list[str]:
    """Every package under labelbot/features/ is an extension; modules starting with `_` never are.

    Found by name, like discord.py loads them: the core imports no feature.
    """
    root = importlib.import_module(package)
    return sorted(
        module.name
        for module in pkgutil.iter_modules(root.__path__, prefix=f"{package}.")
        if module.ispkg and not module.name.rsplit(".", 1)[-1].startswith("_")
    )


class LabelBot(commands.AutoShardedBot):
    """The bot. Everything it needs is handed in by the composition root (labelbot/runner.py)."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        http_session: aiohttp.ClientSession,
        jobs: JobQueue,
        web: WebServer,
        features: FeatureRegistry,
        pacer: Pacer | None = None,
        run_jobs: bool = True,
        sync_commands: bool = True,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            tree_cls=LabelTree,
            allowed_mentions=NO_MENTIONS,
            max_messages=None,
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            shard_count=settings.discord.shard_count,
            # discord.py's signature says list, but None (the default) means "all shards of this count".
            shard_ids=settings.discord.shard_ids,  # type: ignore[arg-type]
            owner_ids=set(settings.discord.owner_ids) or None,
            help_command=None,
            guild_ready_timeout=settings.discord.guild_ready_timeout,
            enable_debug_events=False,
            # Every REST request waits for the global window (labelbot.pacing), so the bot never meets a global 429.
            http_trace=(pacer := pacer or Pacer(settings.discord.api_base)).trace_config(),
        )
        self.pacer = pacer
        self.settings = settings
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.http_session = http_session
        self.jobs = jobs
        self.web = web
        self.features = features
        self.metrics = Metrics()
        # Clicks' short writes, committed together in a burst (labelbot/db/batch.py).
        self.batcher = WriteBatcher(sessionmaker)
        # What features remember between interactions in this process, by name: read caches of rows read at every
        # click but rarely written (labelbot/db/readcache.py), the time of a refresh known to be pending. Never the
        # store of record; one per bot, so two bots in one process (the tests) share nothing.
        self.memos: dict[str, Any] = {}
        # Servers other processes of a cluster serve, fetched through REST for the jobs run here.
        self.rest_guilds = RestGuilds()
        self._interaction_started: dict[int, float] = {}
        self.started_at = time.monotonic()
        self.run_jobs = run_jobs
        self.sync_on_setup = sync_commands
        self._jobs_started = False
        self._jobs_starter: asyncio.Task[None] | None = None
        # Set when the bot has its process to itself (`labelbot run`), not when tests run several in one.
        self.freeze_heap_once_started = False

    async def setup_hook(self) -> None:
        # dateparser loads its language data on first use (~300 ms); pay that now, not in a member's command.
        await asyncio.to_thread(timeparse.warm_up)
        # The audit trail's mod-log posts belong to the core: every feature records changes, whichever are enabled.
        register_audit_jobs(self)
        # So is purging a server that removed the bot: members' data must not outlive the server's consent.
        register_guild_purge(self)
        # Signed webhooks are the core's route; features register their intakes by name.
        self.web.route("POST", "/hooks/{name}", self._receive_hook)
        # Names and descriptions in each member's Discord language, from labelbot/locales (English when untranslated).
        await self.tree.set_translator(CatalogTranslator())
        disabled = {f"{FEATURES_PACKAGE}.{name}" for name in self.settings.features.disabled}
        for extension in [e for e in find_extensions() if e not in disabled] + self.settings.features.extra_extensions:
            await self.load_extension(extension)
        log.info("Loaded %d extensions", len(self.extensions))
        if self.sync_on_setup:
            await self.sync_commands_if_changed()
        # After the extensions, which add their routes (calendar feed, webhooks) to the app.
        await self.web.start(self)
        if self.run_jobs:
            # Kept on the bot: the event loop holds tasks only weakly.
            self._jobs_starter = self.loop.create_task(self._start_jobs_when_ready(), name="labelbot-start-jobs")

    async def _receive_hook(self, request: web.Request) -> web.Response:
        return await self.features.webhooks.receive(request, self.sessionmaker)

    async def _start_jobs_when_ready(self) -> None:
        # Handlers may read the guild cache (channels, roles), which is filled once the gateway is ready.
        await self.wait_until_ready()
        # A database away at that moment (a restart of PostgreSQL, a network blip) is waited out: given up on, the
        # bot would answer members but run no scheduled work until it was restarted.
        delay = JOBS_START_RETRY_SECONDS
        while not self.is_closed():
            try:
                await self.jobs.start(self)
            except Exception:
                log_failure(log, "Starting the job queue failed; trying again in %.0f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, JOBS_START_RETRY_MAX_SECONDS)
                continue
            self._jobs_started = True
            if self.freeze_heap_once_started:
                self._freeze_heap()
            return

    @staticmethod
    def _freeze_heap() -> None:
        """Keep what the start-up built (modules, mappers, the guild cache: ~200,000 objects) out of the collector.

        Python's full collections walk every tracked object: with the start-up's objects, each took 100-150 ms,
        landing in the middle of members' clicks (in a burst of 200 `/about`s, a third of the bot's CPU time).
        Frozen, they are never walked again; what is created later is collected as before.
        """
        gc.collect()
        gc.freeze()
        log.info("Start-up done: %d objects kept out of garbage collection", gc.get_freeze_count())

    async def close(self) -> None:
        # Stop taking scheduled work first, so running jobs finish or hand their claims back before Discord goes.
        # A queue still starting is stopped from starting: it would otherwise run on after the bot, beating and
        # claiming through a disposed engine (on SQLite, a second writer to the file the next start then trips on).
        if self._jobs_starter is not None and not self._jobs_starter.done():
            self._jobs_starter.cancel()
            await asyncio.gather(self._jobs_starter, return_exceptions=True)
        if self._jobs_started:
            self._jobs_started = False
            await self.jobs.stop()
        await self._drain_handlers()
        await self.batcher.close()
        await self.web.stop()
        await super().close()

    async def _drain_handlers(self) -> None:
        """Let running handlers finish, so none writes after the engine is disposed (it would reconnect).

        A handler records its outcome after it answered Discord (read, talk, write), so "the member saw the answer"
        does not mean "the row is written". One still running after DRAIN_SECONDS is cancelled: its transaction
        rolls back, as it would in a crash.
        """
        current = asyncio.current_task()
        running = {
            task for task in asyncio.all_tasks() if task is not current and task.get_name().startswith(HANDLER_TASKS)
        }
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=DRAIN_SECONDS)
        for task in late:
            task.cancel()
        if late:
            log.warning("Cancelled %d handler(s) still running at shutdown", len(late))
            await asyncio.wait(late, timeout=DRAIN_SECONDS)

    # -- command sync -----------------------------------------------------------------------------------------

    def _tree_payload(self, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
        return sorted(
            (command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)),
            key=lambda payload: (payload.get("type", 1), payload["name"]),
        )

    async def sync_commands_if_changed(self, *, force: bool = False) -> int:
        """Sync app commands where the tree differs from the last sync; return how many targets were synced."""
        targets: list[discord.Object | None] = [discord.Object(id=g) for g in self.settings.discord.guild_ids]
        for guild in targets:
            assert guild is not None
            self.tree.copy_global_to(guild=guild)
        if not targets:
            targets = [None]
        synced = 0
        for guild in targets:
            tree = self._tree_payload(guild)
            # A changed translation changes what Discord shows, so it syncs again too.
            translator = self.tree.translator
            catalogs = translator.fingerprint if isinstance(translator, CatalogTranslator) else None
            payload = json.dumps([tree, catalogs], sort_keys=True, default=str)
            digest = hashlib.sha256(payload.encode()).hexdigest()
            key = f"commands:{self.application_id}:{guild.id if guild else 'global'}"
            if not await self._claim_sync(key, digest, force=force):
                continue
            await self.tree.sync(guild=guild)
            async with self.sessionmaker.begin() as session:
                await session.merge(BotState(key=key, value=digest))
            synced += 1
            log.info("Synced app commands to %s", f"guild {guild.id}" if guild else "all servers")
        return synced

    async def _claim_sync(self, key: str, digest: str, *, force: bool) -> bool:
        """Whether this process syncs `key` now: once per cluster, however many processes start at once.

        Under a PostgreSQL advisory lock (SQLite has one writer anyway), a process that finds the tree unsynced
        writes "syncing:<digest>:<time>" before it syncs; the others read that and leave the sync to it. The marker
        of a process that died mid-sync goes stale after SYNC_CLAIM_SECONDS, and the next start syncs.
        """
        async with self.sessionmaker() as session, session.begin():
            if self.engine.dialect.name == "sqlite":
                # The write lock up front: a read that later turns into a write fails at once if another
                # connection (the CLI's `labelbot sync`) wrote in between.
                await session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            if self.engine.dialect.name == "postgresql":
                lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:7], "big")
                await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
            state = await session.get(BotState, key)
            if state is not None and not force:
                if state.value == digest:
                    return False
                marker = state.value.split(":")
                if (
                    len(marker) == 3
                    and marker[:2] == ["syncing", digest]
                    and time.time() - float(marker[2]) < SYNC_CLAIM_SECONDS
                ):
                    log.info("Another process of the cluster is syncing the app commands; leaving it to it")
                    return False
            await session.merge(BotState(key=key, value=f"syncing:{digest}:{time.time():.0f}"))
        return True

    async def last_synced(self) -> dict[str, str]:
        """The stored command-tree hashes, by target."""
        async with self.sessionmaker() as session:
            rows = await session.scalars(select(BotState).where(BotState.key.like("commands:%")))
            return {row.key: row.value for row in rows}

    # -- metrics ----------------------------------------------------------------------------------------------

    async def on_interaction(self, interaction: discord.Interaction[LabelBot]) -> None:
        if interaction.type is discord.InteractionType.application_command:
            self._interaction_started[interaction.id] = time.perf_counter()

    async def on_app_command_completion(
        self, interaction: discord.Interaction[LabelBot], command: discord.app_commands.Command[Any, ..., Any] | Any
    ) -> None:
        self._count_command(interaction, command.qualified_name, "ok")

    async def on_component_completion(self, interaction: discord.Interaction[LabelBot], name: str) -> None:
        self._count_command(interaction, name, "ok")

    async def on_interaction_failed(
        self, interaction: discord.Interaction[LabelBot], name: str, unexpected: bool
    ) -> None:
        self._count_command(interaction, name, "error" if unexpected else "refused")

    def _count_command(self, interaction: discord.Interaction[LabelBot], name: str, outcome: str) -> None:
        self.metrics.commands.labels(command=name, outcome=outcome).inc()
        started = self._interaction_started.pop(interaction.id, None)
        if started is not None:
            elapsed = time.perf_counter() - started
            self.metrics.interaction_latency.observe(elapsed)
            self.metrics.command_latency.labels(command=name).observe(elapsed)

    async def on_job_done(self, job: ScheduledJob) -> None:
        skipped = bool(job.result and job.result.get("skipped"))
        self.metrics.jobs.labels(kind=job.kind, outcome="skipped" if skipped else "done").inc()
        if job.finished_at is not None and not skipped:
            self.metrics.job_delay.labels(kind=job.kind).observe((job.finished_at - job.due_at).total_seconds())

    async def on_job_failed(self, job: ScheduledJob) -> None:
        self.metrics.jobs.labels(kind=job.kind, outcome="failed").inc()
        await post_job_failure(self, job)

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_at
