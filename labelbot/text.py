"""Member-written text made safe to show, and text clipped to Discord's limits: one copy of each for every feature."""

from __future__ import annotations

import discord


def defuse(text: str) -> str:
    """Member text shown by the bot: mentions render as text, never as pings (allowed_mentions is the lock)."""
    return discord.utils.escape_mentions(text)


def plain(text: str) -> str:
    """Member text shown as written inside the bot's own formatting: no markdown surprises and no mentions."""
    return discord.utils.escape_markdown(defuse(text))


def clip(text: str, limit: int) -> str:
    """The text cut to `limit` characters, with an ellipsis saying it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
