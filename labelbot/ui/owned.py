"""A view that only the member who opened it may use."""

from __future__ import annotations

from typing import Any

import discord

from labelbot.interactions import NO_MENTIONS
from labelbot.tree import handle_interaction_error

NOT_YOURS = "These buttons belong to the member who used the command; run it yourself to get your own."


class OwnedView(discord.ui.View):
    """Refuses everyone but its owner with one ephemeral sentence; errors go through the one pipeline."""

    def __init__(self, owner_id: int, *, timeout: float | None = 180.0) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(NOT_YOURS, ephemeral=True, allowed_mentions=NO_MENTIONS)
        return False

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await handle_interaction_error(interaction, error, source=item)

    def disable_all(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select):
                item.disabled = True
