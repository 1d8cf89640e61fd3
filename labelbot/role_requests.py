"""Giving and taking roles by id through discord.py's HTTP client, with background work leaving room for clicks.

discord.py paces each role bucket by Discord's headers and the bot's pacer (labelbot.pacing) keeps every request within
the global limit, so there is no REST client of this feature's own. What discord.py can't do is let a background
sync leave room for fans clicking at the same time, so background changes wait here, before discord.py sees them:

- a click jumps the queue: while a member's change is waiting or on the wire, background changes of that server
  hold back, so the click gets the next free request of the role bucket, not the one after a sync's backlog;
- the last `RESERVE` requests of each window stay free for a click that may come, but only until the window's
  reset is `CLICK_BUDGET_SECONDS` away: from then on a click would be answered within the budget anyway (it
  waits for the reset), so the sync takes them. A sync thus uses every request of every window (before: two of
  each ten were held back the whole minute after a click, 1.25x the minimum by design), and a click never waits
  longer than the budget for the role bucket.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass

import discord
from discord.http import HTTPClient

from labelbot.pacing import Pacer, rate_limit_patience

log = logging.getLogger(__name__)

# Requests of a window kept for a member's click (a swap is an add and a remove) until its reset is near.
RESERVE = 2
# How long a click may wait for the role bucket: well inside the 1.5 s a member should see an answer in.
CLICK_BUDGET_SECONDS = 1.0
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

    def __init__(self, http: HTTPClient, pacer: Pacer, *, click_budget: float = CLICK_BUDGET_SECONDS) -> None:
        self._http = http
        self._pacer = pacer
        self._click_budget = click_budget
        self._clicks_waiting: dict[int, int] = {}
        self._no_clicks: dict[int, asyncio.Event] = {}
        self.stats = RoleRequestStats()

    async def add(
        self, guild_id: int, user_id: int, role_id: int, *, reason: str, background: bool = False
    ) -> RoleOutcome:
        return await self._change(True, guild_id, user_id, role_id, reason=reason, background=background)

    async def remove(
        self, guild_id: int, user_id: int, role_id: int, *, reason: str, background: bool = False
    ) -> RoleOutcome:
        return await self._change(False, guild_id, user_id, role_id, reason=reason, background=background)

    def _quiet(self, guild_id: int) -> asyncio.Event:
        event = self._no_clicks.get(guild_id)
        if event is None:
            event = self._no_clicks[guild_id] = asyncio.Event()
            event.set()
        return event

    async def _background_turn(self, guild_id: int) -> None:
        """Wait until no click of the server is waiting and the role bucket has a request background work may use."""
        quiet = self._quiet(guild_id)
        while True:
            await quiet.wait()
            await self._pacer.leave_room_for_roles(guild_id, RESERVE, spare_within=self._click_budget)
            if quiet.is_set():
                return
            # A click came in while this one waited for the bucket: it goes first.
            self._pacer.role_bucket(guild_id).give_back()

    async def _change(
        self, add: bool, guild_id: int, user_id: int, role_id: int, *, reason: str, background: bool
    ) -> RoleOutcome:
        if background:
            await self._background_turn(guild_id)
            self.stats.background += 1
            return await self._send(add, guild_id, user_id, role_id, reason=reason)
        self._clicks_waiting[guild_id] = self._clicks_waiting.get(guild_id, 0) + 1
        self._quiet(guild_id).clear()
        try:
            self._pacer.role_bucket(guild_id).take()
            return await self._send(add, guild_id, user_id, role_id, reason=reason)
        finally:
            self._clicks_waiting[guild_id] -= 1
            if not self._clicks_waiting[guild_id]:
                del self._clicks_waiting[guild_id]
                self._quiet(guild_id).set()

    async def _send(self, add: bool, guild_id: int, user_id: int, role_id: int, *, reason: str) -> RoleOutcome:
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
            if rate_limit_patience.get() is not None:
                # In a job (the tier sync): the job engine hands the job back until the wait is over.
                raise
            raise RoleRequestFailed(f"Discord asked to wait {error.retry_after:.0f} s", status=429) from error
        except discord.HTTPException as error:
            raise RoleRequestFailed(
                f"Discord answered {error.status} {error.text}".strip(), status=error.status
            ) from error
        return RoleOutcome.DONE
