"""How many members hold each role, from Discord's role member-count endpoint: counts without the members intent."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.http import Route

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)


async def role_member_counts(bot: LabelBot, guild_id: int) -> dict[int, int] | None:
    """{role id: members holding it} for the server, or None when Discord would not say (shown as "—").

    The cache cannot count: without the members intent it holds only members seen lately.
    """
    try:
        answer = await bot.http.request(Route("GET", "/guilds/{guild_id}/roles/member-counts", guild_id=guild_id))
    except discord.HTTPException as error:
        log.info("No role member counts for guild %s: %s", guild_id, error)
        return None
    if not isinstance(answer, dict):
        return None
    return {int(role_id): int(count) for role_id, count in answer.items()}
