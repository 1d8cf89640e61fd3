"""Members the bot does not cache: it runs without the members intent, so names come from the gateway on demand."""

from __future__ import annotations

from collections.abc import Iterable

import discord

# Discord answers a Request Guild Members for at most 100 user ids at a time.
QUERY_LIMIT = 100


async def display_names(guild: discord.Guild, user_ids: Iterable[int]) -> dict[int, str]:
    """The server display names of the members among `user_ids`; members who left are absent."""
    wanted = list(dict.fromkeys(user_ids))
    names: dict[int, str] = {}
    for start in range(0, len(wanted), QUERY_LIMIT):
        batch = wanted[start : start + QUERY_LIMIT]
        for member in await guild.query_members(user_ids=batch, limit=len(batch), cache=False):
            names[member.id] = member.display_name
    return names
