"""A base for gathering buttons: a DynamicItem whose errors go through the one error pipeline.

It is what `bot.ui.dynamic.PersistentItem` means to be; that class cannot be imported as committed (a DynamicItem
subclass must pass a template, see the report of issue 7), so gatherings keep this copy until it can.
"""

from __future__ import annotations

from typing import Any, TypeVar

import discord

from bot.tree import handle_interaction_error

ItemT = TypeVar("ItemT", bound=discord.ui.Item[Any])


class GatheringItem(discord.ui.DynamicItem[ItemT], template=r"(?!)"):
    """Subclasses give their own template; `run` does the work, its errors reach the member."""

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await self.run(interaction)
        except Exception as error:
            await handle_interaction_error(interaction, error)

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        """Do what the component is for."""
        raise NotImplementedError
