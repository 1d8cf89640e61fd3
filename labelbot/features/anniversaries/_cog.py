"""Catalogue dates: schedule each opted-in server's mornings; the commands live under /settings (settings cog)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from discord.ext import commands

from labelbot.client import LabelBot
from labelbot.db.base import utcnow
from labelbot.db.outage import log_failure
from labelbot.features.anniversaries import _jobs as jobs
from labelbot.features.anniversaries import _repository as repository
from labelbot.features.anniversaries import _service as service
from labelbot.guilds.service import peek_guild_settings

log = logging.getLogger(__name__)

ENSURE_RETRY_SECONDS = 60


class AnniversariesCog(commands.Cog, name="Anniversaries"):
    """Silent posts on releases' anniversaries and on the label's own dates, each morning in the server's zone."""

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot
        self._tasks: set[asyncio.Task[None]] = set()

    async def cog_load(self) -> None:
        jobs.register(self.bot)
        if self.bot.is_ready():
            self._spawn(self.ensure_all())

    async def cog_unload(self) -> None:
        jobs.unregister(self.bot)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def ensure_all(self) -> None:
        """Give every opted-in server its day job for today (a restart, or the first start after an upgrade).

        Only servers this process has: one that removed the bot keeps its dates for the grace period, unposted.
        """
        async with self.bot.sessionmaker() as session:
            guild_ids = await repository.guilds_with_dates(session)
        for guild_id in guild_ids:
            if self.bot.get_guild(guild_id) is not None:
                await self.ensure(guild_id)

    async def ensure(self, guild_id: int) -> None:
        async with self.bot.sessionmaker.begin() as session:
            settings = await peek_guild_settings(session, guild_id)
            if not (settings.catalogue_anniversaries or await repository.label_dates(session, guild_id)):
                return
            await service.ensure_today(self.bot, session, guild_id, settings.timezone, utcnow())

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # The database may be away at start: warn (no traceback) and try again until the days are scheduled.
        while True:
            try:
                await self.ensure_all()
            except Exception:
                log_failure(log, "Could not schedule the catalogue dates of today; trying again in a minute")
                await asyncio.sleep(ENSURE_RETRY_SECONDS)
            else:
                return

    @commands.Cog.listener()
    async def on_catalogue_dates_changed(self, guild_id: int) -> None:
        await self.ensure(guild_id)
