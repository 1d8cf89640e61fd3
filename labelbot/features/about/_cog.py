"""The /about command."""

from __future__ import annotations

import math

import discord
from discord import app_commands
from discord.ext import commands

from labelbot import __version__
from labelbot.client import LabelBot
from labelbot.db import database_kind
from labelbot.interactions import reply

README_HINT = "Setup, commands and configuration are in the README that ships with Labelbot."


def format_uptime(seconds: float) -> str:
    """Say how long the bot has run, e.g. "3 d 4 h", "5 min"."""
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 60 * 24)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{int(seconds)} s"


class AboutCog(commands.Cog, name="About"):
    """Version, health and features of this Labelbot."""

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot

    @app_commands.command(name="about")
    async def about(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Show what this bot is, how it is doing and what it can do."""
        bot = self.bot
        latency = bot.latency
        latency_text = "not measured yet" if math.isnan(latency) or math.isinf(latency) else f"{latency * 1000:.0f} ms"
        embed = discord.Embed(
            title="Labelbot",
            description=(
                "Release announcements, listening parties, fan roles and collaboration requests "
                "for independent record labels."
            ),
            colour=discord.Colour.blurple(),
        )
        embed.add_field(name="Version", value=__version__)
        embed.add_field(name="Uptime", value=format_uptime(bot.uptime_seconds))
        embed.add_field(name="Database", value=database_kind(bot.engine))
        embed.add_field(name="Gateway latency", value=latency_text)
        embed.add_field(name="Servers", value=str(len(bot.guilds)))
        features = [
            f"**{cog.qualified_name}**: {cog.description}"
            for cog in sorted(bot.cogs.values(), key=lambda c: c.qualified_name)
            if cog.description
        ]
        embed.add_field(name="What I can do", value="\n".join(features)[:1024] or "—", inline=False)
        embed.set_footer(text=README_HINT)
        await reply(interaction, embed=embed, ephemeral=True)
