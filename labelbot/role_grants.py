"""The roles the bot hands out to members, as each feature knows them: features register, settings ask.

A role the bot gives to whoever asks (a panel button, a loyalty tier) must never carry power, so the moderator
and artist roles can't be one of them; /settings asks here before making a role either, without importing a feature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.errors import TryAgainLater
from labelbot.role_requests import RoleRequests

if TYPE_CHECKING:
    from labelbot.client import LabelBot

# Given a server and a role, how the feature hands that role out, in words ("on the role panel “Genres”"), or None.
RoleGrantSource = Callable[[AsyncSession, int, int], Awaitable[str | None]]


class RoleGrants:
    """Every registered way the bot hands out roles."""

    def __init__(self) -> None:
        self._sources: dict[str, RoleGrantSource] = {}
        self._requests: RoleRequests | None = None

    def requests(self, bot: LabelBot) -> RoleRequests:
        """The bot's one paced role changer (made on first use: the token is known only after login).

        One per bot, not per feature or per reload: its pacing is only right if every role change goes through it.
        """
        if self._requests is None:
            if bot.http.token is None:
                raise TryAgainLater("I'm not connected to Discord yet; try again in a moment.")
            self._requests = RoleRequests(bot.http, bot.pacer)
        return self._requests

    def add_source(self, name: str, source: RoleGrantSource) -> None:
        self._sources[name] = source

    def remove_source(self, name: str) -> None:
        self._sources.pop(name, None)

    async def handed_out_as(self, session: AsyncSession, guild_id: int, role_id: int) -> str | None:
        """How the bot hands this role out in the server (the first way found), or None if it doesn't."""
        for source in self._sources.values():
            found = await source(session, guild_id, role_id)
            if found is not None:
                return found
        return None
