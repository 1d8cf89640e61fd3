"""What each feature shows on the moderators' dashboard, as plain data: features register, the web page draws.

A feature adds a source in its `cog_load` (and removes it in `cog_unload`); the dashboard asks every source, in
one read-only session, for its section. A feature switched off (`features.disabled`) or unloaded shows nothing, and
the dashboard's package never learns another feature's tables. Charts are described, not drawn: bars or weekly
lines of numbers, which the web page turns into SVG. A source that fails costs only its own section: its error is
logged, its reads are rolled back to a savepoint, and the page shows "This section could not be loaded" there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)
UNAVAILABLE = "This section could not be loaded."
GROWTH_WEEKS = 12


@dataclass(frozen=True)
class BarFigures:
    """A bar chart: one bar per (label, value)."""

    title: str
    values: list[tuple[str, float]]


@dataclass(frozen=True)
class LineFigures:
    """A line chart: one line per series, one point per label (oldest first)."""

    title: str
    labels: list[str]
    series: dict[str, list[int]]


@dataclass
class DashboardTable:
    """One table: shown on the page, and downloadable as CSV under `name` (lowercase letters only)."""

    name: str
    title: str
    headers: list[str]
    rows: list[list[object]] = field(default_factory=list)


@dataclass
class DashboardSection:
    title: str
    charts: list[BarFigures | LineFigures] = field(default_factory=list)
    tables: list[DashboardTable] = field(default_factory=list)
    note: str | None = None


# Given a session, a server and "now", the feature's section (None: nothing to show for this server).
DashboardSource = Callable[[AsyncSession, int, datetime], Awaitable[DashboardSection | None]]


class DashboardSections:
    """Every registered section, in the order given by each source's `order` (then its name)."""

    def __init__(self) -> None:
        self._sources: dict[str, tuple[int, DashboardSource, str]] = {}

    def add(self, name: str, source: DashboardSource, *, order: int = 100, title: str | None = None) -> None:
        """Register a source; `title` heads its section should it fail (by default, from its name)."""
        self._sources[name] = (order, source, title or name.replace("_", " ").capitalize())

    def remove(self, name: str) -> None:
        self._sources.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._sources

    async def collect(self, session: AsyncSession, guild_id: int, now: datetime) -> list[DashboardSection]:
        found: list[DashboardSection] = []
        for name, (_, source, title) in sorted(self._sources.items(), key=lambda item: (item[1][0], item[0])):
            try:
                # A savepoint: a failed query leaves the session usable (PostgreSQL aborts the whole transaction).
                async with session.begin_nested():
                    section = await source(session, guild_id, now)
            except Exception:
                log.exception("The dashboard section %r failed for server %s", name, guild_id)
                found.append(DashboardSection(title, note=UNAVAILABLE))
                continue
            if section is not None:
                found.append(section)
        return found


def weeks(now: datetime, count: int = GROWTH_WEEKS) -> list[datetime]:
    """The starts of the last `count` weeks, oldest first, the last one containing now."""
    return [now - WEEK * (count - index) for index in range(1, count + 1)]


def week_label(start: datetime) -> str:
    return start.strftime("%d %b")


def cumulative(times: list[datetime], starts: list[datetime]) -> list[int]:
    """How many of `times` happened before the end of each week."""
    return [sum(1 for at in times if at < start + WEEK) for start in starts]


def per_week(times: list[datetime], starts: list[datetime]) -> list[int]:
    """How many of `times` happened within each week."""
    return [sum(1 for at in times if start <= at < start + WEEK) for start in starts]
