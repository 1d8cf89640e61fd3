"""Persistent buttons and selects whose errors reach the member like a command's would."""

from __future__ import annotations

from typing import Any, TypeVar

import discord

from labelbot.tree import handle_interaction_error, interaction_name

ItemT = TypeVar("ItemT", bound=discord.ui.Item[Any])


class PersistentItem(discord.ui.DynamicItem[ItemT], template=r"(?!)"):
    """A DynamicItem whose `run` gets the one error pipeline (discord.py would only log the error).

    discord.py demands a template on every DynamicItem class; this base's matches nothing and is never
    registered. Subclasses give their own, e.g. `template=r"party:rsvp:(?P<party_id>\\d+)"`.
    """

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await self.run(interaction)
        except Exception as error:
            await handle_interaction_error(interaction, error, source=self)
        else:
            interaction.client.dispatch("component_completion", interaction, interaction_name(interaction, self))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        """Do what the component is for."""
        raise NotImplementedError
