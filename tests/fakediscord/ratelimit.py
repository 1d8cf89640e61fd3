"""Rate-limit buckets shaped like Discord's (https://discord.com/developers/docs/topics/rate-limits).

Every bot request is counted in a per-route bucket keyed by its major parameter (channel,
guild or webhook) and in the global 50 requests/s limit. Answers always carry the
``X-RateLimit-*`` headers; when enforcement is on, a request over a limit gets a real 429
(``Retry-After``, ``X-RateLimit-Scope``, JSON ``{"message", "retry_after", "global"}`` and a
``Via`` header, which discord.py requires before it trusts a 429 as coming from Discord).

Windows are fixed: a bucket opens at its first request and resets ``per`` seconds later,
which is the model discord.py itself uses (``X-RateLimit-Reset-After``). ``scale`` shrinks
every window so tests of back-off finish quickly (the advertised numbers scale with it).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    per: float  # seconds

    @property
    def bucket_hash(self) -> str:
        # Discord's bucket ids are opaque hashes; derive stable ones from the name.
        return hashlib.sha1(self.name.encode()).hexdigest()[:32]


# Route template (with method) -> limit. Numbers are what Discord answers today for bots
# (per-channel message sends 5/5s; role add/remove 10/10s per guild; crosspost 10/h per channel).
# Routes without a known limit get their own bucket (per route template and major parameter),
# generous enough that ordinary test traffic never waits.
DEFAULT_LIMIT, DEFAULT_PER = 50, 1.0
LIMITS: dict[tuple[str, str], Limit] = {
    ("POST", "/channels/{channel_id}/messages"): Limit("messages.create", 5, 5.0),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): Limit("messages.edit", 5, 5.0),
    ("POST", "/channels/{channel_id}/messages/{message_id}/crosspost"): Limit("messages.crosspost", 10, 3600.0),
    ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me"): Limit("reactions", 1, 0.25),
    ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"): Limit("member.roles", 10, 10.0),
    ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"): Limit("member.roles", 10, 10.0),
}
GLOBAL = Limit("global", 50, 1.0)

# Interaction endpoints are not bound by the global limit (rate-limits doc: "Interaction endpoints
# are not bound to the bot's Global Rate Limit").
NO_GLOBAL_PREFIXES = ("/interactions/", "/webhooks/")


@dataclass
class _Window:
    limit: int
    per: float
    used: int = 0
    reset_at: float = 0.0

    def refresh(self, now: float) -> None:
        if now >= self.reset_at:
            self.used = 0
            self.reset_at = now + self.per


@dataclass
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    is_global: bool = False
    scope: str = "user"


class RateLimiter:
    def __init__(self, *, enforce: bool = False, scale: float = 1.0, global_limit: int = 50) -> None:
        self.enforce = enforce
        self.scale = scale
        self.global_limit = global_limit
        self._windows: dict[str, _Window] = {}
        self._global = _Window(global_limit, 1.0)
        self.limits: dict[tuple[str, str], Limit] = dict(LIMITS)

    def limit_for(self, method: str, template: str) -> Limit:
        lim = self.limits.get((method, template))
        if lim is None:
            lim = self.limits[(method, template)] = Limit(f"{method} {template}", DEFAULT_LIMIT, DEFAULT_PER)
        return lim

    def exhaust(self, method: str, template: str, major: str) -> None:
        """Use up a bucket (as another process sharing the token would)."""
        lim = self.limit_for(method, template)
        w = self._window(lim, major, time.monotonic())
        w.used = w.limit

    def _window(self, lim: Limit, major: str, now: float) -> _Window:
        key = f"{lim.bucket_hash}:{major}"
        w = self._windows.get(key)
        if w is None:
            w = self._windows[key] = _Window(lim.limit, lim.per * self.scale)
        w.per = lim.per * self.scale
        w.refresh(now)
        return w

    def check(self, method: str, template: str, path: str, major: str) -> Decision:
        now = time.monotonic()
        lim = self.limit_for(method, template)
        w = self._window(lim, major, now)
        counts_global = not path.startswith(NO_GLOBAL_PREFIXES)
        self._global.per = 1.0 * self.scale
        self._global.limit = self.global_limit
        self._global.refresh(now)

        if self.enforce and counts_global and self._global.used >= self._global.limit:
            retry = max(self._global.reset_at - now, 0.001)
            return Decision(
                False, self._429_headers(retry, "global", lim, w, now, is_global=True), retry, True, "global"
            )
        if self.enforce and w.used >= w.limit:
            retry = max(w.reset_at - now, 0.001)
            return Decision(False, self._429_headers(retry, "user", lim, w, now), retry, False, "user")

        w.used += 1
        if counts_global:
            self._global.used += 1
        return Decision(True, self._headers(lim, w, now))

    def _headers(self, lim: Limit, w: _Window, now: float) -> dict[str, str]:
        reset_after = max(w.reset_at - now, 0.0)
        return {
            "X-RateLimit-Limit": str(w.limit),
            "X-RateLimit-Remaining": str(max(w.limit - w.used, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": lim.bucket_hash,
        }

    def _429_headers(
        self, retry: float, scope: str, lim: Limit, w: _Window, now: float, *, is_global: bool = False
    ) -> dict[str, str]:
        headers = {} if is_global else self._headers(lim, w, now)
        headers.update(
            {
                # the header is whole seconds (rounded up); the body carries the exact float
                "Retry-After": str(max(1, math.ceil(retry))),
                "X-RateLimit-Scope": scope,
                "Via": "1.1 google",
            }
        )
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return headers
