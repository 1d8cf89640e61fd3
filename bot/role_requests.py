"""Giving and taking roles by id through discord.py's HTTP client, with background work leaving room for clicks.

discord.py paces each role bucket by Discord's headers and the bot's pacer (bot.pacing) keeps every request within
the global limit, so there is no REST client of this feature's own. What discord.py can't do is let a background
sync leave room for fans clicking at the same time: background changes wait here, before discord.py sees them,
until the server's role bucket (as the pacer read it from the last answer) has more than `reserve` requests left.
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass

import discord
from discord.http import HTTPClient

from bot.pacing import Pacer

log = logging.getLogger(__name__)

# Requests of each window background work leaves to members' own clicks: one always (a plain pick is one request),
# two while members have clicked lately (a swap is an add and a remove). More would slow a sync for nobody.
RESERVE_QUIET = 1
RESERVE_BUSY = 2
BUSY_FOR_SECONDS = 60.0
UNKNOWN_MEMBER = 10007
UNKNOWN_ROLE = 10011


class RoleOutcome(enum.Enum):
    DONE = "done"
    MEMBER_GONE = "member_gone"
    ROLE_GONE = "role_gone"


class RoleRequestFailed(Exception):
    """Discord refused the change (missing permissions, role above the bot's) or kept failing."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class RoleRequestStats:
    requests: int = 0
    background: int = 0


class RoleRequests:
    """PUT/DELETE /guilds/{guild}/members/{member}/roles/{role} through the bot's own HTTP client."""

    def __init__(self, http: HTTPClient, pacer: Pacer) -> None:
        self._http = http
        self._pacer = pacer
        self._clicked_at: dict[int, float] = {}
        self.stats = RoleRequestStats()

    async def add(
        self, guild_id: int, user_id: int, role_id: int, *, reason: str, background: bool = False
    ) -> RoleOutcome:
        return await self._change(True, guild_id, user_id, role_id, reason=reason, background=background)

    async def remove(
        self, guild_id: int, user_id: int, role_id: int, *, reason: str, background: bool = False
    ) -> RoleOutcome:
        return await self._change(False, guild_id, user_id, role_id, reason=reason, background=background)

    def _reserve(self, guild_id: int) -> int:
        clicked = self._clicked_at.get(guild_id)
        busy = clicked is not None and time.monotonic() - clicked < BUSY_FOR_SECONDS
        return RESERVE_BUSY if busy else RESERVE_QUIET

    async def _change(
        self, add: bool, guild_id: int, user_id: int, role_id: int, *, reason: str, background: bool
    ) -> RoleOutcome:
        if background:
            await self._pacer.leave_room_for_roles(guild_id, self._reserve(guild_id))
            self.stats.background += 1
        else:
            self._clicked_at[guild_id] = time.monotonic()
        self.stats.requests += 1
        send = self._http.add_role if add else self._http.remove_role
        try:
            await send(guild_id, user_id, role_id, reason=reason)
        except discord.NotFound as error:
            if error.code == UNKNOWN_MEMBER:
                return RoleOutcome.MEMBER_GONE
            if error.code == UNKNOWN_ROLE:
                return RoleOutcome.ROLE_GONE
            raise RoleRequestFailed(f"Discord answered 404 {error.text}".strip(), status=404) from error
        except discord.RateLimited as error:
            raise RoleRequestFailed(f"Discord asked to wait {error.retry_after:.0f} s", status=429) from error
        except discord.HTTPException as error:
            raise RoleRequestFailed(
                f"Discord answered {error.status} {error.text}".strip(), status=error.status
            ) from error
        return RoleOutcome.DONE
