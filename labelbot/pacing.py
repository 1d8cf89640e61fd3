"""Pacing requests to Discord in the bot itself, so nothing is sent only to be answered 429.

Two limits matter when the bot fans out (the embargo minute of fifty label servers, a tier sync of thousands):
5 messages per 5 s per channel and 50 requests per second per token. discord.py learns a bucket only from the
answers and meets the global limit only as a 429 (a 2,500-post run met 55), so the bot paces itself:

- `Pacer.channel(channel_id)`: job sends (labelbot.jobs.sending.send_once) hold a slot of the channel's window around
  the REST call, so a job waits for its channel before it is sent, not after a 429.
- a global window wrapped around every REST request of discord.py's HTTP client, hooked through its public
  `http_trace` (an aiohttp TraceConfig whose request-start signal is awaited before the request goes out), so
  role changes, fetches and edits count too. Interaction answers are exempt, as they are on Discord.
- role buckets per server, read from the headers of discord.py's answers, so background role work (the tier
  sync) can leave room for members' own clicks without a REST client of its own.

Why not `aiolimiter` (a kept leaky bucket): a leaky bucket of capacity C and rate r lets C + r*per requests into a
window of `per` seconds, and Discord counts in fixed windows. To never exceed 50 it must run at capacity 1
(49/s, and 4 messages per 5 s per channel: 2.2x the minimum for ten posts). A sliding log of the last `limit`
requests is exact and short: a request goes out only when fewer than `limit` were sent and answered less than
`per` ago, counted from each answer's arrival (so a request that lingered on the wire cannot make the next window
start early). Clusters sharing a token send through a REST proxy instead (see ARCHITECTURE.md).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord

log = logging.getLogger(__name__)

# Discord's limits: https://discord.com/developers/docs/topics/rate-limits
CHANNEL_MESSAGES = (5, 5.0)
GLOBAL_REQUESTS = (50, 1.0)
# Past each window, against timer granularity.
MARGIN_SECONDS = 0.005
# How long a 429 may keep the current task waiting. The job worker sets it around each handler: a longer wait fails
# the request with discord.RateLimited and the job comes back once it is over, instead of holding a worker slot.
# Not discord.py's client-wide `max_ratelimit_timeout`: that one also refuses, before sending, every request of a
# bucket whose window is longer (the second crosspost of the hour, in a 10-per-hour bucket with 9 left).
rate_limit_patience: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "labelbot_rate_limit_patience", default=None
)
# Two answers whose announced resets are this close speak of the same window of a bucket.
SAME_WINDOW_SECONDS = 0.02
# A request that never reported back (it cannot, but a leak would shrink the window for good) counts this long.
FORGET_IN_FLIGHT_SECONDS = 120.0
# Interaction answers and follow-ups are not bound by the global limit.
EXEMPT_PATHS = re.compile(r"/(interactions|webhooks)/")
ROLE_PATH = re.compile(r"/guilds/(\d+)/members/\d+/roles/\d+$")
MESSAGES_PATH = re.compile(r"/channels/(\d+)/messages$")


class SlidingWindow:
    """At most `limit` requests in any `per` seconds, each counted until `per` after its answer came back."""

    def __init__(self, limit: int, per: float, *, one_at_a_time: bool = False) -> None:
        if limit < 1 or per <= 0:
            raise ValueError("a window needs a positive limit and length")
        self.limit = limit
        self.per = per
        self.one_at_a_time = one_at_a_time
        self._in_flight: dict[int, float] = {}
        self._answered: collections.deque[float] = collections.deque()
        self._next_ticket = 0
        # One waiter at a time, in arrival order: later requests never overtake earlier ones.
        self._queue = asyncio.Lock()
        self._changed = asyncio.Event()
        self._waiting = 0
        self.waited_seconds = 0.0

    def expected_wait(self) -> float:
        """Roughly how long a request joining the queue now would wait (whole windows ahead of it)."""
        ahead = self._waiting + len(self._in_flight) + len(self._answered)
        return (ahead // self.limit) * self.per

    def _used(self, now: float) -> tuple[int, float | None]:
        """How many slots count now, and when the oldest answered one stops counting."""
        while self._answered and self._answered[0] <= now - self.per:
            self._answered.popleft()
        for ticket, started in list(self._in_flight.items()):
            if started < now - FORGET_IN_FLIGHT_SECONDS:
                del self._in_flight[ticket]
        frees_at = self._answered[0] + self.per + MARGIN_SECONDS if self._answered else None
        return len(self._in_flight) + len(self._answered), frees_at

    async def acquire(self) -> int:
        """Wait for a slot; return the ticket to release once the answer is back."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        self._waiting += 1
        try:
            async with self._queue:
                while True:
                    now = loop.time()
                    used, frees_at = self._used(now)
                    if used < self.limit and not (self.one_at_a_time and self._in_flight):
                        ticket = self._next_ticket
                        self._next_ticket += 1
                        self._in_flight[ticket] = now
                        self.waited_seconds += now - began
                        return ticket
                    self._changed.clear()
                    # Wait for the oldest answer to age out, or for an in-flight request to come back.
                    timeout = None if frees_at is None or used < self.limit else max(frees_at - now, 0.0)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), timeout)
        finally:
            self._waiting -= 1

    def answered(self) -> None:
        """Count the oldest request in flight as answered now (its answer arrived before its caller got it back)."""
        if self._in_flight:
            self.release(min(self._in_flight))

    def release(self, ticket: int) -> None:
        if self._in_flight.pop(ticket, None) is not None:
            self._answered.append(asyncio.get_running_loop().time())
            self._changed.set()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        ticket = await self.acquire()
        try:
            yield
        finally:
            self.release(ticket)


@dataclass
class RoleBucket:
    """What the last answer said about a server's role bucket (adding and removing a role share it)."""

    limit: int | None = None
    remaining: int | None = None
    resets_at: float = 0.0  # loop time

    def refresh(self, now: float) -> None:
        if self.remaining is not None and now >= self.resets_at:
            self.remaining = self.limit

    def wait_for(self, now: float, reserve: int, spare_within: float = 0.0) -> float:
        """Seconds to wait before a request that must leave `reserve` requests of the window unused.

        The reserved requests are free for anyone once the window resets within `spare_within` seconds.
        """
        self.refresh(now)
        if self.remaining is None or self.remaining > reserve:
            return 0.0
        if self.remaining > 0:
            # With a tiny limit, background work still gets one request per window.
            if self.limit is not None and self.limit <= reserve:
                return 0.0
            return max(self.resets_at - spare_within - now, 0.0)
        return max(self.resets_at - now, 0.0)

    def take(self) -> None:
        """Count a request about to go out, so work waiting beside it can't see the same free request."""
        if self.remaining is not None and self.remaining > 0:
            self.remaining -= 1

    def give_back(self) -> None:
        """Undo `take` for a request that was not sent after all."""
        if self.remaining is not None and self.limit is not None and self.remaining < self.limit:
            self.remaining += 1


@dataclass
class PacingStats:
    paced_requests: int = 0
    rate_limited: int = 0


class Pacer:
    """The bot's one pacer: per-channel message windows, the global window, and role buckets per server."""

    def __init__(
        self,
        api_base: str,
        *,
        global_limit: tuple[int, float] = GLOBAL_REQUESTS,
        channel_limit: tuple[int, float] = CHANNEL_MESSAGES,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.global_window = SlidingWindow(*global_limit)
        self._channel_limit = channel_limit
        self._channels: dict[int, SlidingWindow] = {}
        self._roles: dict[int, RoleBucket] = {}
        self.stats = PacingStats()

    # -- per channel ------------------------------------------------------------------------------------------

    def channel(self, channel_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold one of the channel's message slots around a send."""
        window = self._channels.get(channel_id)
        if window is None:
            if len(self._channels) > 10_000:
                self._forget_idle_channels()
            # One message at a time per channel: sent together, discord.py's own bucket (which counts requests still
            # on the wire against the window's remaining) held one of every five back to the next window.
            window = self._channels[channel_id] = SlidingWindow(*self._channel_limit, one_at_a_time=True)
        return window.slot()

    def channel_wait(self, channel_id: int) -> float:
        """Roughly how long a message to this channel would wait for its window now."""
        window = self._channels.get(channel_id)
        return window.expected_wait() if window is not None else 0.0

    def _forget_idle_channels(self) -> None:
        for channel_id, window in list(self._channels.items()):
            if not window._queue.locked() and not window._in_flight:
                del self._channels[channel_id]

    # -- role buckets -----------------------------------------------------------------------------------------

    def role_bucket(self, guild_id: int) -> RoleBucket:
        bucket = self._roles.get(guild_id)
        if bucket is None:
            bucket = self._roles[guild_id] = RoleBucket()
        return bucket

    async def leave_room_for_roles(self, guild_id: int, reserve: int, *, spare_within: float = 0.0) -> None:
        """Wait until the server's role bucket has more than `reserve` requests left in its window, or has any left
        and resets within `spare_within` seconds.

        For background work: members clicking a role panel meanwhile find the reserved requests free.
        """
        loop = asyncio.get_running_loop()
        bucket = self.role_bucket(guild_id)
        while True:
            delay = bucket.wait_for(loop.time(), reserve, spare_within)
            if delay <= 0:
                break
            # Stretched a little past the announced reset, against clock and rounding drift.
            await asyncio.sleep(delay + MARGIN_SECONDS + delay * 0.02)
        # Count the request now: several background tasks must not all see the same last free slot.
        bucket.take()

    # -- the HTTP hook ------------------------------------------------------------------------------------------

    def trace_config(self) -> aiohttp.TraceConfig:
        """The hook for discord.py's `http_trace`: every REST request waits for the global window first."""
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._on_request_start)
        config.on_request_end.append(self._on_request_end)
        config.on_request_exception.append(self._on_request_exception)
        return config

    def _paced(self, url: str) -> bool:
        return url.startswith(self.api_base) and not EXEMPT_PATHS.search(url, len(self.api_base))

    async def _on_request_start(
        self, _session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestStartParams
    ) -> None:
        if self._paced(str(params.url)):
            context.labelbot_ticket = await self.global_window.acquire()
            self.stats.paced_requests += 1

    async def _on_request_end(
        self, _session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        self._done(context)
        response = params.response
        if response.status == 429:
            self.stats.rate_limited += 1
            patience = rate_limit_patience.get()
            wait = _retry_after(response.headers)
            if wait is not None and "Via" not in response.headers:
                # Not Discord's (its 429s carry Via) but a REST proxy's refusal of a long wait (deploy/proxy):
                # discord.py would raise a bare HTTPException; the caller leaves and comes back after Retry-After.
                raise discord.RateLimited(wait)
            if patience is not None and wait is not None and wait > patience:
                # Raised here, discord.py neither sleeps nor retries: the caller (a job) leaves and comes back.
                raise discord.RateLimited(wait)
        path = params.url.path
        if params.method == "POST" and (match := MESSAGES_PATH.search(path)) is not None:
            # discord.py hands a send back only after sleeping out the bucket it exhausted; the window counts from
            # the answer, or the channel's next five would wait a window longer than Discord asks.
            window = self._channels.get(int(match.group(1)))
            if window is not None:
                window.answered()
        elif (match := ROLE_PATH.search(path)) is not None:
            self._read_role_headers(int(match.group(1)), response)

    async def _on_request_exception(
        self, _session: aiohttp.ClientSession, context: SimpleNamespace, _params: Any
    ) -> None:
        self._done(context)

    def _done(self, context: SimpleNamespace) -> None:
        ticket = getattr(context, "labelbot_ticket", None)
        if ticket is not None:
            self.global_window.release(ticket)
            context.labelbot_ticket = None

    def _read_role_headers(self, guild_id: int, response: aiohttp.ClientResponse) -> None:
        headers = response.headers
        bucket = self.role_bucket(guild_id)
        now = asyncio.get_running_loop().time()
        try:
            if "X-RateLimit-Limit" in headers:
                bucket.limit = int(headers["X-RateLimit-Limit"])
            resets_at = bucket.resets_at
            if "X-RateLimit-Reset-After" in headers:
                resets_at = now + float(headers["X-RateLimit-Reset-After"])
            if "X-RateLimit-Remaining" in headers:
                remaining = int(headers["X-RateLimit-Remaining"])
                if bucket.remaining is not None and abs(resets_at - bucket.resets_at) < SAME_WINDOW_SECONDS:
                    # An answer of the same window: requests counted since it left are still on their way.
                    remaining = min(remaining, bucket.remaining)
                bucket.remaining = remaining
            bucket.resets_at = resets_at
        except ValueError:
            log.warning("Unreadable rate-limit headers on a role change: %s", dict(headers))


def _retry_after(headers: Any) -> float | None:
    """Seconds a 429 asks to wait: the bucket's exact reset if given, else the whole seconds of Retry-After."""
    for name in ("X-RateLimit-Reset-After", "Retry-After"):
        if name in headers:
            try:
                return float(headers[name])
            except ValueError:
                continue
    return None
