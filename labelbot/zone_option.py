"""The one autocomplete for a time-zone option, so every command that takes a zone offers the same list."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from labelbot.timeparse import zone_choices

if TYPE_CHECKING:
    from labelbot.client import LabelBot


async def zone_autocomplete(interaction: discord.Interaction[LabelBot], current: str) -> list[app_commands.Choice[str]]:
    """IANA zones matching what the member has typed so far (popular ones when nothing yet)."""
    return [app_commands.Choice(name=zone, value=zone) for zone in zone_choices(current)]
