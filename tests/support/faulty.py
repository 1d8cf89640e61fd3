"""A test-only extension with commands that fail on purpose, to prove the error pipeline."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from labelbot.client import LabelBot
from labelbot.errors import InvalidInput


class Faulty(commands.Cog):
    @app_commands.command(name="boom")
    async def boom(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Fail with a bug."""
        raise RuntimeError("a bug the member must never see")

    @app_commands.command(name="refuse")
    async def refuse(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Fail the way bad input does."""
        raise InvalidInput("That date has already passed.")


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(Faulty())
