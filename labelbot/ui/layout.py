"""Components V2 building blocks every feature's cards share: link rows, clipping to Discord's limits, closing."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import discord

log = logging.getLogger(__name__)

# https://discord.com/developers/docs/components/reference: 40 components and 4000 characters of Text Display
# in one message; an action row holds five buttons.
MAX_COMPONENTS = 40
MAX_TEXT = 4000
BUTTONS_PER_ROW = 5
MAX_LINK_ROWS = 2


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def link_rows(links: Iterable[tuple[str, str]]) -> list[discord.ui.ActionRow[Any]]:
    """Link buttons, five to a row, two rows at most (what a card has room for)."""
    rows: list[discord.ui.ActionRow[Any]] = []
    for index, (label, url) in enumerate(list(links)[: BUTTONS_PER_ROW * MAX_LINK_ROWS]):
        if index % BUTTONS_PER_ROW == 0:
            rows.append(discord.ui.ActionRow())
        rows[-1].add_item(discord.ui.Button(style=discord.ButtonStyle.link, label=clip(label, 80), url=url))
    return rows


def controls_row(items: Iterable[discord.ui.Item[Any]]) -> discord.ui.ActionRow[Any] | None:
    """The buttons a member acts with, in one row under the card (None when there are none)."""
    row: discord.ui.ActionRow[Any] = discord.ui.ActionRow()
    for item in items:
        row.add_item(item)
    return row if row.children else None


def text_of(view: discord.ui.LayoutView) -> str:
    """Every Text Display of a layout, in order (for the limit check and for replies that quote a card)."""
    return "\n".join(item.content for item in view.walk_children() if isinstance(item, discord.ui.TextDisplay))


def _has_controls(item: discord.ui.Item[Any]) -> bool:
    return isinstance(item, discord.ui.ActionRow) and any(
        not (isinstance(child, discord.ui.Button) and child.url) for child in item.children
    )


async def close_with_note(message: discord.PartialMessage, note: str) -> None:
    """Take a request's buttons off and add a line saying how it ended; the card itself stays as it was."""
    current = await message.fetch()
    if not current.flags.components_v2:
        await message.edit(
            content=f"{current.content}\n\n{note}"[:2000], view=None, allowed_mentions=discord.AllowedMentions.none()
        )
        return
    old = discord.ui.LayoutView.from_message(current, timeout=None)
    view = discord.ui.LayoutView(timeout=None)
    for item in old.children:
        if not _has_controls(item):
            view.add_item(item)
    view.add_item(discord.ui.TextDisplay(clip(note, 500)))
    await message.edit(view=view, allowed_mentions=discord.AllowedMentions.none())
