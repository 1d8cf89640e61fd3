"""Persistent buttons and selects whose errors reach the member like a command's would."""

from __future__ import annotations

from typing import Any, TypeVar

import discord

from bot.tree import handle_interaction_error

ItemT = TypeVar("ItemT", bound=discord.ui.Item[Any])


class PersistentItem(discord.ui.DynamicItem[ItemT]):
    """A DynamicItem whose `run` gets the one error pipeline (discord.py would only log the error)."""

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await self.run(interaction)
        except Exception as error:
            await handle_interaction_error(interaction, error)

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        """Do what the component is for."""
        raise NotImplementedError
