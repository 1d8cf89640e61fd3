"""Giving and taking roles by id, paced by the rate-limit headers Discord sends, so a big sync never meets a 429.

discord.py paces requests too, but it learns a bucket only per route (adding and removing a role are two routes
sharing one bucket), and it does not let a background sync leave room for fans clicking at the same time. So
the role changes of this feature go through here: one request at a time per server, the `X-RateLimit-*` headers
of each answer read, and background work stopping `RESERVE` requests short of the limit in every window so a
fan's click never waits. A 429 anyway (another process sharing the token) is waited out for the `retry_after`
Discord gives, then retried: never blindly.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import urllib.parse
from dataclasses import dataclass, field

import aiohttp

log = logging.getLogger(__name__)

# Requests of each window that background work leaves to members' own clicks.
RESERVE = 2
# Waits are stretched by this much past the reset Discord announced, against clock and rounding drift.
RESET_MARGIN_SECONDS = 0.02
RESET_MARGIN_RATIO = 0.05
MAX_RATE_LIMITED_RETRIES = 5
SERVER_ERROR_RETRIES = 3


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
class _Bucket:
    """What the last answer said about the server's role bucket."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    limit: int | None = None
    remaining: int | None = None
    resets_at: float = 0.0  # loop time

    def refresh(self, now: float) -> None:
        if self.remaining is not None and now >= self.resets_at:
            self.remaining = self.limit

    def wait_for(self, now: float, reserve: int) -> float:
        """Seconds to wait before a request that must leave `reserve` requests of the window unused."""
        self.refresh(now)
        if self.remaining is None or self.remaining > reserve:
            return 0.0
        # With a tiny limit, background work still gets one request per window.
        if reserve and self.limit is not None and self.limit <= reserve and self.remaining > 0:
            return 0.0
        return max(self.resets_at - now, 0.0)


@dataclass
class RoleRequestStats:
    requests: int = 0
    rate_limited: int = 0
    waited_seconds: float = 0.0


class RoleRequests:
    """PUT/DELETE /guilds/{guild}/members/{member}/roles/{role}, paced per server by the headers."""

    def __init__(self, session: aiohttp.ClientSession, api_base: str, token: str, user_agent: str) -> None:
        self._session = session
        self._api_base = api_base.rstrip("/")
        self._headers = {"Authorization": f"Bot {token}", "User-Agent": user_agent}
        self._buckets: dict[int, _Bucket] = {}
        self.stats = RoleRequestStats()

    def _bucket(self, guild_id: int) -> _Bucket:
        bucket = self._buckets.get(guild_id)
        if bucket is None:
            bucket = self._buckets[guild_id] = _Bucket()
        return bucket

    async def add(
        self, guild_id: int, user_id: int, role_id: int, *, reason: str, background: bool = False
    ) -> RoleOutcome:
        return await self._change("PUT", guild_id, user_id, role_id, reason=reason, background=background)

    async def remove(
        self, guild_id: int, user_id: int, role_id: int, *, reason: str, background: bool = False
    ) -> RoleOutcome:
        return await self._change("DELETE", guild_id, user_id, role_id, reason=reason, background=background)

    async def _change(
        self, method: str, guild_id: int, user_id: int, role_id: int, *, reason: str, background: bool
    ) -> RoleOutcome:
        loop = asyncio.get_running_loop()
        bucket = self._bucket(guild_id)
        reserve = RESERVE if background else 0
        url = f"{self._api_base}/guilds/{guild_id}/members/{user_id}/roles/{role_id}"
        headers = {**self._headers, "X-Audit-Log-Reason": urllib.parse.quote(reason[:400], safe=" ")}
        rate_limited = 0
        server_errors = 0
        while True:
            # Background work waits outside the lock, so a member's click can go first meanwhile.
            while background and (delay := bucket.wait_for(loop.time(), reserve)) > 0:
                await self._sleep(delay + self._margin(delay))
            async with bucket.lock:
                delay = bucket.wait_for(loop.time(), reserve)
                if delay > 0:
                    if background:
                        continue
                    await self._sleep(delay + self._margin(delay))
                    bucket.refresh(loop.time())
                if bucket.remaining is not None:
                    bucket.remaining -= 1
                self.stats.requests += 1
                async with self._session.request(method, url, headers=headers) as response:
                    self._read_headers(bucket, response, loop.time())
                    status = response.status
                    body = await self._json(response)
                if status == 429:
                    rate_limited += 1
                    self.stats.rate_limited += 1
                    retry_after = float(str(body.get("retry_after") or response.headers.get("Retry-After") or 1))
                    log.warning(
                        "Role change in guild %s met a 429 (%s scope); waiting %.2f s as Discord asked",
                        guild_id,
                        response.headers.get("X-RateLimit-Scope", "?"),
                        retry_after,
                    )
                    if rate_limited > MAX_RATE_LIMITED_RETRIES:
                        raise RoleRequestFailed("Discord kept rate-limiting role changes", status=429)
                    bucket.remaining = 0
                    bucket.resets_at = max(bucket.resets_at, loop.time() + retry_after)
                    continue
            if status in (200, 204):
                return RoleOutcome.DONE
            code = body.get("code")
            if status == 404 and code == 10007:
                return RoleOutcome.MEMBER_GONE
            if status == 404 and code == 10011:
                return RoleOutcome.ROLE_GONE
            if status >= 500 and server_errors < SERVER_ERROR_RETRIES:
                server_errors += 1
                await self._sleep(0.5 * server_errors)
                continue
            raise RoleRequestFailed(f"Discord answered {status} {body.get('message', '')}".strip(), status=status)

    @staticmethod
    def _margin(delay: float) -> float:
        return RESET_MARGIN_SECONDS + delay * RESET_MARGIN_RATIO

    async def _sleep(self, seconds: float) -> None:
        self.stats.waited_seconds += seconds
        await asyncio.sleep(seconds)

    @staticmethod
    def _read_headers(bucket: _Bucket, response: aiohttp.ClientResponse, now: float) -> None:
        headers = response.headers
        try:
            if "X-RateLimit-Limit" in headers:
                bucket.limit = int(headers["X-RateLimit-Limit"])
            if "X-RateLimit-Remaining" in headers:
                bucket.remaining = int(headers["X-RateLimit-Remaining"])
            if "X-RateLimit-Reset-After" in headers:
                bucket.resets_at = now + float(headers["X-RateLimit-Reset-After"])
        except ValueError:
            log.warning("Unreadable rate-limit headers on a role change: %s", dict(headers))

    @staticmethod
    async def _json(response: aiohttp.ClientResponse) -> dict[str, object]:
        if response.content_type != "application/json":
            return {}
        try:
            data = await response.json()
        except (aiohttp.ContentTypeError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
