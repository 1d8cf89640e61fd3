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


# Discord's error code for a user who is not a member of the server (never joined, or left).
UNKNOWN_MEMBER = 10007


async def still_member(http: discord.http.HTTPClient, guild_id: int, user_id: int) -> bool:
    """Whether the user is still in the server, asked through REST (no members intent, and in a cluster the server
    may be another process's); a DM alone cannot tell, since it reaches anyone who shares another server."""
    try:
        await http.get_member(guild_id, user_id)
    except discord.NotFound as error:
        if error.code == UNKNOWN_MEMBER:
            return False
        raise
    return True
