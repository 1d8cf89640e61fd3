"""Who follows a release when its time moves: features register, the releases feature tells them.

A follower runs in the transaction that moves the release (earlier or later, or announced now), so what it
schedules is committed with the move or not at all: exactly once, across restarts, with no event to lose.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.catalog.models import Release

# Given the caller's session and the release at its new time.
ReleaseFollower = Callable[[AsyncSession, Release], Awaitable[None]]


class ReleaseMoves:
    """Every follower of release moves, by name (one per feature)."""

    def __init__(self) -> None:
        self._followers: dict[str, ReleaseFollower] = {}

    def add(self, name: str, follower: ReleaseFollower) -> None:
        self._followers[name] = follower

    def remove(self, name: str) -> None:
        self._followers.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._followers

    async def moved(self, session: AsyncSession, release: Release) -> None:
        """The release's time changed: each follower catches up, in this session (a failure fails the move)."""
        for name in sorted(self._followers):
            await self._followers[name](session, release)
