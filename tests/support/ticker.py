"""A test-only extension: jobs of kind "test.tick" that each post one numbered message."""

from __future__ import annotations

from typing import Any

import discord
from discord.ext import commands

from labelbot.client import LabelBot
from labelbot.jobs import JobContext, send_once

KIND = "test.tick"


class Ticker(commands.Cog):
    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.jobs.register(KIND, self.tick)

    async def tick(self, ctx: JobContext) -> dict[str, Any] | None:
        channel = self.bot.get_partial_messageable(int(ctx.payload["channel_id"]))
        await send_once(
            channel, ctx, content=f"tick {ctx.payload['n']}", allowed_mentions=discord.AllowedMentions.none()
        )
        return None


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(Ticker(bot))
