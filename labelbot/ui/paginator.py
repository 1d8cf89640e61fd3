"""Page through a long list with buttons; only the member who asked can turn the pages."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence
from typing import Any

import discord

from labelbot.interactions import NO_MENTIONS, reply
from labelbot.ui.owned import OwnedView

# Well inside an embed description's 4096 characters and the 6000 of a whole message.
PAGE_CHARACTERS = 3800


def pages_of_lines(
    title: str,
    lines: Sequence[str],
    *,
    per_page: int = 10,
    empty: str = "Nothing here yet.",
    colour: discord.Colour | None = None,
) -> list[discord.Embed]:
    """Embeds of up to `per_page` lines each, never over Discord's description limit."""
    pages: list[list[str]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = line if len(line) <= PAGE_CHARACTERS else line[: PAGE_CHARACTERS - 1] + "…"
        if current and (len(current) >= per_page or size + len(line) + 1 > PAGE_CHARACTERS):
            pages.append(current)
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current or not pages:
        pages.append(current)
    return [discord.Embed(title=title[:256], description="\n".join(page) or empty, colour=colour) for page in pages]


class Paginator(OwnedView):
    """Previous / page counter / next buttons over a list of embeds."""

    def __init__(self, owner_id: int, pages: list[discord.Embed], *, timeout: float = 300.0) -> None:
        super().__init__(owner_id, timeout=timeout)
        if not pages:
            raise ValueError("a paginator needs at least one page")
        self.pages = pages
        self.index = 0
        token = secrets.token_hex(6)
        self.previous_page.custom_id = f"pages:{token}:previous"
        self.counter.custom_id = f"pages:{token}:counter"
        self.next_page.custom_id = f"pages:{token}:next"
        self._update_buttons()

    def _update_buttons(self) -> None:
        total = len(self.pages)
        for number, page in enumerate(self.pages, start=1):
            page.set_footer(text=f"Page {number} of {total}")
        self.previous_page.disabled = self.index == 0
        self.next_page.disabled = self.index >= total - 1
        self.counter.label = f"{self.index + 1} / {total}"

    @property
    def page(self) -> discord.Embed:
        return self.pages[self.index]

    async def _show(self, interaction: discord.Interaction[Any]) -> None:
        self._update_buttons()
        await interaction.response.edit_message(embed=self.page, view=self, allowed_mentions=NO_MENTIONS)

    @discord.ui.button(label="◀", style=discord.ButtonStyle.secondary)
    async def previous_page(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Paginator]) -> None:
        self.index = max(0, self.index - 1)
        await self._show(interaction)

    @discord.ui.button(label="1 / 1", style=discord.ButtonStyle.secondary, disabled=True)
    async def counter(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Paginator]) -> None:
        await interaction.response.defer()

    @discord.ui.button(label="▶", style=discord.ButtonStyle.secondary)
    async def next_page(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Paginator]) -> None:
        self.index = min(len(self.pages) - 1, self.index + 1)
        await self._show(interaction)

    async def on_timeout(self) -> None:
        self.disable_all()
        if self.message is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=self)

    async def send(self, interaction: discord.Interaction[Any], *, ephemeral: bool = True) -> None:
        """Show the first page (and the buttons only when there is more than one page)."""
        if len(self.pages) == 1:
            await reply(interaction, embed=self.page, ephemeral=ephemeral)
            self.stop()
            return
        self.message = await reply(interaction, embed=self.page, view=self, ephemeral=ephemeral, wait=True)
        if self.message is None:
            self.message = await interaction.original_response()
